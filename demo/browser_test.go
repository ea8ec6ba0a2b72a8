package demo

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/png"
	"net/http/httptest"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/tandem-cobrowse/tandem/internal/testenv"
)

// chromiumPath finds Chromium for the browser tests: TANDEM_CHROMIUM, then chromium on
// PATH, then /usr/bin/chromium. Without one the tests skip, except in CI.
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, c := range []string{os.Getenv("TANDEM_CHROMIUM"), "chromium", "/usr/bin/chromium"} {
		if c == "" {
			continue
		}
		if p, err := exec.LookPath(c); err == nil {
			return p
		}
	}
	testenv.Missing(t, "Chromium not found: install chromium or set TANDEM_CHROMIUM to run the browser tests")
	return ""
}

// TestInBrowser renders the site in headless Chromium and checks what only a browser
// can: the probe square as pixels, the page scripts, and the length of /long. It
// shares one browser and opens a fresh tab per subtest.
func TestInBrowser(t *testing.T) {
	execPath := chromiumPath(t)
	srv := httptest.NewServer(Handler(nil, Options{}))
	defer srv.Close()

	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(execPath),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.WindowSize(1280, 800),
	)
	if os.Geteuid() == 0 {
		opts = append(opts, chromedp.Flag("no-sandbox", true))
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	browserCtx, cancelBrowser := chromedp.NewContext(allocCtx)
	defer cancelBrowser()
	if err := chromedp.Do(browserCtx); err != nil { // starts the browser
		t.Fatalf("start Chromium: %v", err)
	}

	tab := func(t *testing.T, path string) context.Context {
		t.Helper()
		ctx, cancel := chromedp.NewContext(browserCtx)
		t.Cleanup(cancel)
		ctx, cancelTimeout := context.WithTimeout(ctx, 30*time.Second)
		t.Cleanup(cancelTimeout)
		if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+path)); err != nil {
			t.Fatalf("navigate to %s: %v", path, err)
		}
		return ctx
	}

	t.Run("the probe sits at its position and flips on mousedown and keydown", func(t *testing.T) {
		ctx := tab(t, "/animated")
		rect, err := chromedp.Run(ctx, chromedp.Evaluate[[]byte](
			`(() => { const r = document.getElementById("probe").getBoundingClientRect(); return {x: r.x, y: r.y, w: r.width, h: r.height}; })()`))
		if err != nil {
			t.Fatal(err)
		}
		var r struct{ X, Y, W, H float64 }
		if err := json.Unmarshal(rect, &r); err != nil {
			t.Fatal(err)
		}
		if r.X != ProbeX || r.Y != ProbeY || r.W != ProbeSize || r.H != ProbeSize {
			t.Fatalf("probe at %+v, want %d,%d size %d", r, ProbeX, ProbeY, ProbeSize)
		}
		// Scrolling must not move it: it is position: fixed.
		if err := chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](`window.scrollTo(0, 200)`)); err != nil {
			t.Fatal(err)
		}
		steps := []struct {
			name string
			act  chromedp.Action[chromedp.Void]
			want string
		}{
			{"start", nil, "black"},
			{"mousedown", chromedp.MouseClickXY(640, 500), "white"},
			{"keydown", chromedp.KeyEvent("a"), "black"},
			{"second mousedown", chromedp.MouseClickXY(300, 300), "white"},
		}
		for _, st := range steps {
			if st.act != nil {
				if err := chromedp.Do(ctx, st.act); err != nil {
					t.Fatalf("%s: %v", st.name, err)
				}
			}
			if _, err := chromedp.Run(ctx, chromedp.Poll[bool](fmt.Sprintf(`document.getElementById("probe").dataset.state === %q`, st.want),
				chromedp.WithPollingTimeout(10*time.Second))); err != nil {
				t.Fatalf("%s: probe state never became %s: %v", st.name, st.want, err)
			}
			if got := probePixel(t, ctx); got != st.want {
				t.Fatalf("%s: the probe's pixels are %s, want %s", st.name, got, st.want)
			}
		}
	})

	t.Run("the trail cam keeps animating", func(t *testing.T) {
		ctx := tab(t, "/animated")
		// Before the first animation frame the attribute may not be set yet.
		first, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById("hiker").getAttribute("transform") || ""`))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := chromedp.Run(ctx, chromedp.Poll[bool](fmt.Sprintf(`document.getElementById("hiker").getAttribute("transform") !== %q && document.getElementById("clock").textContent !== "--:--:--.---"`, first),
			chromedp.WithPollingTimeout(10*time.Second))); err != nil {
			t.Fatalf("the hiker never moved from %q: %v", first, err)
		}
	})

	t.Run("the paused trail cam stays still and its probe still flips", func(t *testing.T) {
		ctx := tab(t, "/animated?paused")
		if err := chromedp.Do(ctx, chromedp.MouseClickXY(640, 500)); err != nil {
			t.Fatal(err)
		}
		// The press's flip has run, and so has any animation frame queued before it.
		if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`document.getElementById("probe").dataset.state === "white"`,
			chromedp.WithPollingTimeout(10*time.Second))); err != nil {
			t.Fatalf("the probe did not flip: %v", err)
		}
		got, err := chromedp.Run(ctx, chromedp.Evaluate[string](
			`new Promise(r => requestAnimationFrame(() => requestAnimationFrame(() => r(document.getElementById("clock").textContent + " " + (document.getElementById("hiker").getAttribute("transform") || "none")))))`,
			chromedp.EvalAwaitPromise))
		if err != nil {
			t.Fatal(err)
		}
		if got != "paused none" {
			t.Fatalf("the paused trail cam shows clock and hiker %q, want %q", got, "paused none")
		}
	})

	t.Run("the field guide is at least eight screens long and its contents scroll", func(t *testing.T) {
		ctx := tab(t, "/long")
		screens, err := chromedp.Run(ctx, chromedp.Evaluate[float64](`document.documentElement.scrollHeight / window.innerHeight`))
		if err != nil {
			t.Fatal(err)
		}
		if screens < 8 {
			t.Fatalf("the page is %.1f screens long, want at least 8", screens)
		}
		if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`.toc a[href="#weather"]`))); err != nil {
			t.Fatal(err)
		}
		if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`window.scrollY > 4 * window.innerHeight`, chromedp.WithPollingTimeout(10*time.Second))); err != nil {
			t.Fatalf("following the contents did not scroll: %v", err)
		}
	})

	t.Run("the note counter counts characters as they are typed", func(t *testing.T) {
		ctx := tab(t, "/notes")
		if err := chromedp.Do(ctx, chromedp.SendKeys(chromedp.ID("message"), "héllo")); err != nil {
			t.Fatal(err)
		}
		if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`document.getElementById("message-count").textContent === "5 / 500"`,
			chromedp.WithPollingTimeout(10*time.Second))); err != nil {
			got, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById("message-count").textContent`))
			t.Fatalf("counter shows %q, want \"5 / 500\": %v", got, err)
		}
	})

	t.Run("dialog answers are written into the page", func(t *testing.T) {
		ctx := tab(t, "/alert")
		dialogs := chromedp.Events(ctx, page.JavascriptDialogOpening)
		go func() {
			for ev, err := range dialogs {
				if err != nil {
					return
				}
				// Answered from another goroutine: the click waits for the dialog to close.
				_, _ = chromedp.Call(ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{
					Accept: ev.Type != page.DialogTypeConfirm, PromptText: "Skye",
				})
			}
		}()
		for _, id := range []string{"btn-alert", "btn-confirm", "btn-prompt"} {
			if err := chromedp.Do(ctx, chromedp.Click(chromedp.ID(id))); err != nil {
				t.Fatalf("click %s: %v", id, err)
			}
		}
		want := "alert → closed\nconfirm → false\nprompt → \"Skye\""
		if _, err := chromedp.Run(ctx, chromedp.Poll[bool](fmt.Sprintf(`document.getElementById("dialog-results").innerText.trim() === %q`, want),
			chromedp.WithPollingTimeout(10*time.Second))); err != nil {
			got, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById("dialog-results").innerText`))
			t.Fatalf("results %q, want %q: %v", got, want, err)
		}
	})
}

// probePixel screenshots the viewport and names the colour at the probe's centre.
func probePixel(t *testing.T, ctx context.Context) string {
	t.Helper()
	buf, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(buf))
	if err != nil {
		t.Fatal(err)
	}
	return colourName(img, ProbeX+ProbeSize/2, ProbeY+ProbeSize/2)
}

func colourName(img image.Image, x, y int) string {
	r, g, b, _ := img.At(x, y).RGBA()
	switch {
	case r < 0x1000 && g < 0x1000 && b < 0x1000:
		return "black"
	case r > 0xf000 && g > 0xf000 && b > 0xf000:
		return "white"
	}
	return fmt.Sprintf("rgb(%d,%d,%d)", r>>8, g>>8, b>>8)
}
