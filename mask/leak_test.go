package mask

import (
	"context"
	"fmt"
	"image"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/tandem-cobrowse/tandem/internal/testenv"
	"github.com/tandem-cobrowse/tandem/renderer"
)

var (
	testBrowser *renderer.Browser
	browserErr  error
)

func TestMain(m *testing.M) {
	if _, err := renderer.FindChromium(""); err != nil {
		browserErr = err
	} else {
		testBrowser, browserErr = renderer.Start(context.Background(), renderer.Config{
			NoSandbox: os.Getuid() == 0,
			Logger:    slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
		})
	}
	code := m.Run()
	if testBrowser != nil {
		testBrowser.Close()
	}
	os.Exit(code)
}

func needBrowser(t *testing.T) *renderer.Browser {
	t.Helper()
	if browserErr != nil {
		testenv.Missing(t, "Chromium not available (%v)", browserErr)
	}
	return testBrowser
}

var defaultSelectors = []string{`[data-tandem-mask]`, `input[type=password]`, `input[autocomplete^="cc-"]`}

const head = `<!doctype html><style>html,body{margin:0;padding:0;background:#fff;font:16px sans-serif}
.m{background:#f0f;width:120px;height:60px}</style>`

// run opens page, tracks the default selectors, runs act while frames come,
// and checks every frame: painted with its own boxes, no magenta is left.
// It returns how many frames were known and how many came.
func run(t *testing.T, srv *httptest.Server, path string, act func(ctx context.Context, tab *renderer.Tab)) (known, total int) {
	t.Helper()
	b := needBrowser(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tab, err := b.NewTab(ctx, renderer.Viewport{Width: 480, Height: 360, DPR: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer tab.Close()
	if err := tab.SetMaskSelectors(ctx, defaultSelectors); err != nil {
		t.Fatal(err)
	}
	if err := tab.Navigate(ctx, srv.URL+path); err != nil {
		t.Fatal(err)
	}
	actx, stop := context.WithTimeout(ctx, 2*time.Second)
	defer stop()
	go act(actx, tab)
	// Keep every frame first, check after: a slow check would make the
	// newest-wins channel skip frames and hide what the run is about.
	var frames []renderer.Frame
	for actx.Err() == nil {
		select {
		case f := <-tab.Frames():
			frames = append(frames, f)
		case <-actx.Done():
		}
	}
	hostSaw := 0
	for _, f := range frames {
		total++
		if magenta(t, f.JPEG, image.Rectangle{}) > 0 {
			hostSaw++
		}
		if !f.MaskState().Known {
			continue
		}
		known++
		w, h, err := ImageSize(f.JPEG)
		if err != nil {
			t.Fatal(err)
		}
		out, ok, err := ForAudience(f, defaultSelectors, w, h, 80)
		if err != nil || !ok {
			t.Fatalf("frame %d: ok %v err %v", f.Seq, ok, err)
		}
		if n := magenta(t, out, image.Rectangle{}); n > 0 {
			os.WriteFile(fmt.Sprintf("/tmp/leak-%s-%d.jpg", strings.ReplaceAll(t.Name(), "/", "_"), f.Seq), out, 0o644)
			t.Errorf("frame %d (scroll %v,%v): %d magenta pixels after painting %v", f.Seq, f.ScrollX, f.ScrollY, n, f.MaskState().Boxes)
		}
	}
	if hostSaw == 0 {
		t.Fatalf("the unpainted frames never showed the magenta element (%d frames): the test sees nothing", total)
	}
	t.Logf("%d frames, %d known, %d showed magenta unpainted", total, known, hostSaw)
	return known, total
}

func serve(t *testing.T, pages map[string]string) *httptest.Server {
	mux := http.NewServeMux()
	for p, body := range pages {
		mux.HandleFunc(p, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			fmt.Fprint(w, body)
		})
	}
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

// wheel scrolls down and up. DeltaX is not 0: renderer.Wheel omits a zero
// delta, which Chromium refuses (reported to the lead).
func wheel(ctx context.Context, tab *renderer.Tab, dy float64) {
	for ctx.Err() == nil {
		for i := 0; i < 15 && ctx.Err() == nil; i++ {
			if err := tab.Wheel(ctx, renderer.WheelInput{X: 0.5, Y: 0.5, DeltaX: 0.01, DeltaY: dy}); err != nil && ctx.Err() == nil {
				slog.Warn("wheel", "err", err)
			}
			time.Sleep(30 * time.Millisecond)
		}
		dy = -dy
	}
}

func idle(ctx context.Context, _ *renderer.Tab) { <-ctx.Done() }

func TestNoMaskedPixelLeaks(t *testing.T) {
	long := `<div style="height:4000px;position:relative">` + func() string {
		var b strings.Builder
		for i := range 12 {
			fmt.Fprintf(&b, `<div class=m data-tandem-mask style="position:absolute;left:%dpx;top:%dpx"></div>`, 40+i*30, 100+i*300)
			fmt.Fprintf(&b, `<input type=password style="position:absolute;left:300px;top:%dpx;background:#f0f;border:0;width:100px;height:30px">`, 200+i*300)
		}
		return b.String()
	}() + `</div>`
	srv := serve(t, map[string]string{
		"/static": head + `<p>card</p><div class=m data-tandem-mask></div>
			<input type=password value=secret style="background:#f0f;border:0;width:150px;height:30px">
			<input autocomplete=cc-number style="background:#f0f;border:0;width:150px;height:30px">`,
		"/scroll": head + long,
		"/fixed": head + `<div class=m data-tandem-mask style="position:fixed;left:150px;top:100px"></div>` +
			`<div style="height:4000px;background:linear-gradient(#fff,#ccc)"></div>`,
		"/css": head + `<style>@keyframes mv{from{left:0;top:0}to{left:380px;top:300px}}</style>
			<div class=m data-tandem-mask style="position:absolute;animation:mv 1.3s linear infinite alternate"></div>`,
		"/raf": head + `<div id=b class=m data-tandem-mask style="position:absolute"></div><script>
			const b = document.getElementById('b');
			const step = (t) => { b.style.left = (180 + 170*Math.sin(t/300)) + 'px'; b.style.top = (150 + 140*Math.cos(t/250)) + 'px'; requestAnimationFrame(step); };
			requestAnimationFrame(step);</script>`,
		"/appear": head + `<div id=c></div><script>
			let n = 0;
			setInterval(() => { const d = document.createElement('div'); d.className = 'm'; d.dataset.tandemMask = '';
				d.style.cssText = 'position:absolute;left:' + (n*37 % 360) + 'px;top:' + (n*53 % 300) + 'px'; n++;
				document.getElementById('c').replaceChildren(d); }, 120);</script>`,
		"/inner-scroll": head + `<div id=sc style="position:fixed;inset:0;overflow:auto"><div style="height:4000px;position:relative">` + func() string {
			var b strings.Builder
			for i := range 12 {
				fmt.Fprintf(&b, `<div class=m data-tandem-mask style="position:absolute;left:%dpx;top:%dpx"></div>`, 40+i*30, 100+i*300)
			}
			return b.String()
		}() + `</div></div>`,
		"/iframe": head + `<div style="height:300px"></div><iframe src="/inner" style="border:0;width:400px;height:300px"></iframe><div style="height:3000px"></div>`,
		"/inner":  head + `<div style="height:100px"></div><div class=m data-tandem-mask></div>`,
		"/nav-a":  head + `<div class=m data-tandem-mask style="margin:20px"></div><script>setTimeout(() => location.href = '/nav-b', 800)</script>`,
		"/nav-b":  head + `<div class=m data-tandem-mask style="margin:200px 0 0 300px"></div><script>setTimeout(() => location.href = '/nav-a', 800)</script>`,
	})

	t.Run("static page", func(t *testing.T) {
		if known, _ := run(t, srv, "/static", idle); known == 0 {
			t.Fatal("no frame known")
		}
	})
	t.Run("page scrolled by the wheel", func(t *testing.T) {
		known, total := run(t, srv, "/scroll", func(ctx context.Context, tab *renderer.Tab) { wheel(ctx, tab, 120) })
		if known*2 < total {
			t.Fatalf("only %d of %d frames known while scrolling", known, total)
		}
	})
	t.Run("fixed element while scrolling", func(t *testing.T) {
		known, total := run(t, srv, "/fixed", func(ctx context.Context, tab *renderer.Tab) { wheel(ctx, tab, 150) })
		if known*2 < total {
			t.Fatalf("only %d of %d frames known while scrolling", known, total)
		}
	})
	t.Run("element moved by a CSS animation", func(t *testing.T) {
		if known, total := run(t, srv, "/css", idle); known*2 < total {
			t.Fatalf("only %d of %d frames known", known, total)
		}
	})
	t.Run("element moved by requestAnimationFrame", func(t *testing.T) {
		if known, total := run(t, srv, "/raf", idle); known*2 < total {
			t.Fatalf("only %d of %d frames known", known, total)
		}
	})
	t.Run("a scrolling element scrolled by the wheel", func(t *testing.T) {
		known, total := run(t, srv, "/inner-scroll", func(ctx context.Context, tab *renderer.Tab) { wheel(ctx, tab, 120) })
		if known*2 < total {
			t.Fatalf("only %d of %d frames known while scrolling", known, total)
		}
	})
	t.Run("elements inserted later", func(t *testing.T) {
		if known, _ := run(t, srv, "/appear", idle); known == 0 {
			t.Fatal("no frame known")
		}
	})
	t.Run("element in a same-origin iframe while scrolling", func(t *testing.T) {
		if known, _ := run(t, srv, "/iframe", func(ctx context.Context, tab *renderer.Tab) { wheel(ctx, tab, 100) }); known == 0 {
			t.Fatal("no frame known")
		}
	})
	t.Run("navigation between two pages", func(t *testing.T) {
		if known, _ := run(t, srv, "/nav-a", idle); known == 0 {
			t.Fatal("no frame known")
		}
	})
}
