package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/png"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"

	"github.com/tandem-cobrowse/tandem/internal/app"
)

// hostilePage tries everything a copy must not do in a participant's browser: run
// script, load from the provider, navigate, frame. It also changes itself after load.
const hostilePage = `<!doctype html><title>Hostile page</title>
<meta http-equiv="refresh" content="3600;url=/pwned-refresh">
<style>@import url(/pwned-import.css); .bg{background:url(/pwned-bg.png)} .js{background:url(javascript:fetch('/pwned-cssjs'))}</style>
<h1 id=marker>Hostile page</h1>
<img src=/pwned-img onerror="fetch('/pwned-onerror'); top.document.body.dataset.pwned = 'onerror'">
<svg onload="top.document.body.dataset.pwned = 'svg'"><script>top.document.body.dataset.pwned = 'svgscript'</script><rect width=10 height=10 /></svg>
<a id=js href="javascript:fetch('/pwned-link')">a link</a>
<iframe srcdoc="<script>top.fetch('/pwned-srcdoc');top.document.body.dataset.pwned = 'srcdoc'</script>"></iframe>
<div class="bg js" style="width:20px;height:20px;background-image:url('/pwned-inline.png')"></div>
<form action="/pwned-form"><input name=q value="q"><button>go</button></form>
<object data="/pwned-object"></object>
<p id=later>before</p>
<script>
addEventListener('load', () => setTimeout(() => {
	document.getElementById('later').innerHTML = 'after <img src=x onerror="top.document.body.dataset.late = 1;alert(1)"><b onclick="alert(2)">bold</b>';
	document.getElementById('later').setAttribute('onmouseover', 'alert(3)');
}, 200));
</script>`

// copyText is the text of a viewer's Page-mode copy.
func copyText(ctx context.Context) (string, error) {
	return chromedp.Run(ctx, chromedp.Evaluate[string](`(() => {
		const f = document.querySelector('.page-copy');
		return f && !f.hidden && f.contentDocument && f.contentDocument.body ? f.contentDocument.body.innerText : '';
	})()`))
}

func waitCopy(t *testing.T, ctx context.Context, who, want string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		s, err := copyText(ctx)
		if err == nil && strings.Contains(s, want) {
			return
		}
		if time.Now().After(deadline) {
			why, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById('toasts').innerText + ' | Page mode: ' + document.getElementById('mode-dom').getAttribute('aria-pressed')`))
			t.Fatalf("%s's copy never showed %q; it shows %q; the viewer says: %s", who, want, s, why)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func pageMode(t *testing.T, ctx context.Context, who string) {
	t.Helper()
	must(t, ctx, who+" switches to Page", chromedp.Click(chromedp.ID("mode-dom")),
		void(chromedp.Poll[bool](`document.getElementById('mode-dom').getAttribute('aria-pressed') === 'true'`,
			chromedp.WithPollingTimeout(20*time.Second))))
}

// TestPageModeIsInsulatedAndInert: participants in Page mode, behind a recording proxy,
// on the demo site and on a hostile page: nothing of the provider is ever contacted, and
// nothing of the page runs in their browsers, while the copy shows the page.
func TestPageModeIsInsulatedAndInert(t *testing.T) {
	execPath := chromiumOrSkip(t)
	hostile := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			http.NotFound(w, r) // what it embeds must not embed it again, without end
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, hostilePage)
	}))
	t.Cleanup(hostile.Close)
	srv := startServer(t, app.Config{DemoAddr: "127.0.0.1:0", AllowHosts: allowed(hostile)})
	demo := strings.TrimSuffix(srv.DemoURL(), "/")
	res, err := http.Post(srv.URL()+"/api/v1/sessions", "application/json", strings.NewReader(fmt.Sprintf(`{"url":%q}`, demo+"/")))
	if err != nil {
		t.Fatal(err)
	}
	var created struct {
		Links map[string]string `json:"links"`
	}
	if err := json.NewDecoder(res.Body).Decode(&created); err != nil || res.StatusCode != 201 {
		t.Fatalf("create: %d %v", res.StatusCode, err)
	}
	res.Body.Close()

	rec := newRecorder(t)
	browser := participantBrowser(t, execPath)
	host := proxiedTab(t, browser, rec, created.Links["host"])
	join(t, host, "Hana")
	waitFrame(t, host)
	pageMode(t, host, "the host")
	guest := proxiedTab(t, browser, rec, created.Links["guest"])
	join(t, guest, "Gus")
	pageMode(t, guest, "the guest")
	waitCopy(t, guest, "the guest", "Gear for every")
	waitCopy(t, host, "the host", "Gear for every")
	shot(t, guest, "page-mode-guest")

	for page, text := range map[string]string{"/login": "Sign in", "/long": "Field guide"} {
		goTo(t, host, demo+page)
		waitCopy(t, guest, "the guest", text)
	}
	goTo(t, host, hostile.URL+"/")
	waitCopy(t, guest, "the guest", "Hostile page")
	waitCopy(t, guest, "the guest", "after")
	waitCopy(t, host, "the host", "after")

	for who, ctx := range map[string]context.Context{"host": host, "guest": guest} {
		state, err := chromedp.Run(ctx, chromedp.Evaluate[map[string]any](`(() => {
			// The copy and the documents of its frames (same-origin frames of the page are
			// frames of the copy: with no address of their own and the copy's sandbox).
			const docs = [document.querySelector('.page-copy').contentDocument];
			for (let i = 0; i < docs.length; i++) for (const f of docs[i].querySelectorAll('iframe')) if (f.contentDocument) docs.push(f.contentDocument);
			const all = docs.flatMap((d) => Array.from(d.querySelectorAll('*')));
			return {
				pwned: document.body.dataset.pwned || document.body.dataset.late || '',
				scripts: all.filter((e) => e.matches('script, object, embed, meta, base') ||
					(e.tagName === 'IFRAME' && (e.hasAttribute('src') || e.hasAttribute('srcdoc') || e.getAttribute('sandbox') !== 'allow-same-origin'))).length,
				handlers: all.filter((e) => Array.from(e.attributes).some((a) => /^on/i.test(a.name))).length,
				jsURLs: all.filter((e) => Array.from(e.attributes).some((a) => /javascript:/i.test(a.value))).length,
				sandbox: document.querySelector('.page-copy').getAttribute('sandbox'),
			};
		})()`))
		if err != nil {
			t.Fatal(err)
		}
		if state["pwned"] != "" || state["scripts"] != float64(0) || state["handlers"] != float64(0) ||
			state["jsURLs"] != float64(0) || state["sandbox"] != "allow-same-origin" {
			t.Errorf("%s's copy: %v", who, state)
		}
	}
	// Hovering and clicking the copy's link runs nothing and navigates nowhere.
	must(t, guest, "the guest clicks in the copy", void(chromedp.Evaluate[bool](`(() => {
		const d = document.querySelector('.page-copy').contentDocument;
		d.getElementById('js').click();
		d.getElementById('later').dispatchEvent(new MouseEvent('mouseover', {bubbles: true}));
		return true;
	})()`)))
	waitCopy(t, guest, "the guest", "Hostile page")

	if n := rec.seen(strings.TrimPrefix(srv.URL(), "http://")); n == 0 {
		t.Fatal("the recorder saw no request to Tandem: the participants' traffic does not go through it")
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	for host, n := range rec.hosts {
		if host == strings.TrimPrefix(demo, "http://") || host == strings.TrimPrefix(hostile.URL, "http://") {
			t.Errorf("participants' browsers contacted the provider %s %d times; all hosts: %v", host, n, rec.hosts)
		}
	}
}

// TestPageModeFollowsTheController: what the controller types reaches the page, and the
// other participant's copy shows it.
func TestPageModeFollowsTheController(t *testing.T) {
	execPath := chromiumOrSkip(t)
	form := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		if r.URL.Path == "/inner" {
			// A same-origin frame: a DOM in the copy, typed into like the page.
			fmt.Fprint(w, `<!doctype html><style>body{margin:0;font:16px sans-serif} #fq{display:block;box-sizing:border-box;width:100%;height:50vh;font-size:20px}</style>
				<input id=fq><span>Framed words</span> <a id=fl href="/elsewhere">a framed link</a>`)
			return
		}
		fmt.Fprint(w, `<!doctype html><title>Form</title><style>body{margin:0;font:20px sans-serif}
			#q{position:fixed;left:0;top:0;width:100%;height:50%;font-size:40px}
			#fr{position:fixed;left:50%;top:50%;width:50%;height:25%;border:0}
			#hov{position:fixed;left:0;top:75%;width:100%;height:25%;background:#eee} #hov:hover{background:rgb(1, 2, 3)}</style>
			<input id=q placeholder="Search"><p style="position:fixed;top:60%">The copy is live</p><div id=hov>hover me</div>
			<iframe id=fr src="/inner"></iframe>`)
	}))
	t.Cleanup(form.Close)
	srv := startServer(t, app.Config{AllowHosts: allowed(form)})
	res, err := http.Post(srv.URL()+"/api/v1/sessions", "application/json", strings.NewReader(fmt.Sprintf(`{"url":%q}`, form.URL)))
	if err != nil {
		t.Fatal(err)
	}
	var created struct {
		Links map[string]string `json:"links"`
	}
	_ = json.NewDecoder(res.Body).Decode(&created)
	res.Body.Close()
	browser := participantBrowser(t, execPath)
	host := openTab(t, browser, created.Links["host"])
	join(t, host, "Hana")
	waitFrame(t, host)
	pageMode(t, host, "the host")
	waitCopy(t, host, "the host", "The copy is live")
	guest := openTab(t, browser, created.Links["guest"])
	join(t, guest, "Gus")
	pageMode(t, guest, "the guest")
	waitCopy(t, guest, "the guest", "The copy is live")

	// The host holds control: its click on the copy's field and its keys go to the tab.
	waitControlMine(t, host)
	clickAt(t, host, 0.5, 0.2)
	must(t, host, "the host types", chromedp.KeyEvent("hello"))
	eventually(t, "the guest's copy shows what the host typed", func() bool {
		v, err := chromedp.Run(guest, chromedp.Evaluate[string](`document.querySelector('.page-copy').contentDocument.getElementById('q').value`))
		return err == nil && v == "hello"
	})
	shot(t, guest, "page-mode-typed")

	// A same-origin frame is a frame of the copy, with its own document: it shows, and
	// the controller types into it through the copy like anywhere else.
	frameField := `(() => { const f = document.querySelector('.page-copy').contentDocument.getElementById('fr');
		const d = f && f.contentDocument; return d && d.getElementById('fq') ? [d.body.innerText, d.getElementById('fq').value] : ['', '']; })()`
	eventually(t, "the guest's copy shows the frame's document", func() bool {
		v, err := chromedp.Run(guest, chromedp.Evaluate[[]string](frameField))
		return err == nil && strings.Contains(v[0], "Framed words")
	})
	// The frame sits at 50–100% across and 50–75% down; its field fills its top half.
	clickAt(t, host, 0.75, 0.5625)
	must(t, host, "the host types into the frame", chromedp.KeyEvent("inframe"))
	eventually(t, "the guest's copy shows what the host typed in the frame", func() bool {
		v, err := chromedp.Run(guest, chromedp.Evaluate[[]string](frameField))
		return err == nil && v[1] == "inframe"
	})
	// The guest, not in control, presses the frame's link in its copy: nothing follows,
	// and it is told how to interact, as over the picture.
	must(t, guest, "the guest presses a link in the copy's frame", void(chromedp.Evaluate[bool](`(() => {
		const d = document.querySelector('.page-copy').contentDocument.getElementById('fr').contentDocument;
		d.getElementById('fl').click();
		return true;
	})()`)), chromedp.WaitVisible(chromedp.ID("hint")))
	shot(t, guest, "page-mode-frame")

	// The controller's pointer over an element: the copy follows the page's :hover style.
	box, err := chromedp.Run(host, chromedp.Evaluate[[]float64](`(() => { const r = document.getElementById('screen').getBoundingClientRect(); return [r.left, r.top, r.width, r.height]; })()`))
	if err != nil {
		t.Fatal(err)
	}
	for _, fy := range []float64{0.8, 0.85, 0.9} {
		must(t, host, "the host moves over the box", chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, box[0]+box[2]*0.5, box[1]+box[3]*fy))
	}
	eventually(t, "the guest's copy shows the hover style", func() bool {
		bg, err := chromedp.Run(guest, chromedp.Evaluate[string](`getComputedStyle(document.querySelector('.page-copy').contentDocument.getElementById('hov')).backgroundColor`))
		return err == nil && bg == "rgb(1, 2, 3)"
	})

	// The controller selects a word in the tab: the copy highlights it.
	must(t, host, "the host double-clicks a word", chromedp.MouseClickXY(box[0]+box[2]*0.02+8, box[1]+box[3]*0.62+10, chromedp.ClickCount(2)))
	eventually(t, "the guest's copy highlights the controller's selection", func() bool {
		s, err := chromedp.Run(guest, chromedp.Evaluate[string](`(() => {
			const w = document.querySelector('.page-copy').contentWindow;
			const h = w.CSS.highlights.get('tandem-selection');
			return h ? Array.from(h)[0].toString() : '';
		})()`))
		return err == nil && strings.TrimSpace(s) != ""
	})
}

// clickAt clicks the viewer's stage at a fraction of the picture's box.
func clickAt(t *testing.T, ctx context.Context, fx, fy float64) {
	t.Helper()
	box, err := chromedp.Run(ctx, chromedp.Evaluate[[]float64](`(() => { const r = document.getElementById('screen').getBoundingClientRect(); return [r.left, r.top, r.width, r.height]; })()`))
	if err != nil || len(box) != 4 {
		t.Fatalf("the picture's box: %v", err)
	}
	must(t, ctx, "click", void(chromedp.MouseClickXY(box[0]+box[2]*fx, box[1]+box[3]*fy)))
}

// wrapShot is a screenshot of the viewer's picture box.
func wrapShot(t *testing.T, ctx context.Context) image.Image {
	t.Helper()
	buf, err := chromedp.Run(ctx, chromedp.Screenshot(chromedp.ID("screen-wrap")))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	img, err := png.Decode(bytes.NewReader(buf))
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// difference compares two pictures of the same thing as a person glances at them: both
// reduced to 96×60 grey cells, the mean absolute difference of the cells, 0 to 1.
func difference(a, b image.Image) float64 {
	const w, h = 96, 60
	cells := func(img image.Image) []float64 {
		out := make([]float64, w*h)
		n := make([]float64, w*h)
		r := img.Bounds()
		for y := r.Min.Y; y < r.Max.Y; y++ {
			for x := r.Min.X; x < r.Max.X; x++ {
				cr, cg, cb, _ := img.At(x, y).RGBA()
				i := (y-r.Min.Y)*h/r.Dy()*w + (x-r.Min.X)*w/r.Dx()
				out[i] += (0.299*float64(cr) + 0.587*float64(cg) + 0.114*float64(cb)) / 65535
				n[i]++
			}
		}
		for i := range out {
			if n[i] > 0 {
				out[i] /= n[i]
			}
		}
		return out
	}
	ca, cb := cells(a), cells(b)
	sum := 0.0
	for i := range ca {
		sum += math.Abs(ca[i] - cb[i])
	}
	return sum / float64(len(ca))
}

// TestPageModeLooksLikeThePicture compares, for demo pages, the Page view with the
// Picture view of the same viewer: glanced at, they must be the same page. The limit,
// 0.05 of full contrast on average over 96×60 cells, is above what JPEG compression and
// sub-pixel text rendering leave (about 0.01 measured on these pages) and far below what
// a lost stylesheet, image or layout makes (0.1 and more).
func TestPageModeLooksLikeThePicture(t *testing.T) {
	execPath := chromiumOrSkip(t)
	srv := startServer(t, app.Config{DemoAddr: "127.0.0.1:0"})
	demo := strings.TrimSuffix(srv.DemoURL(), "/")
	res, err := http.Post(srv.URL()+"/api/v1/sessions", "application/json", strings.NewReader(fmt.Sprintf(`{"url":%q}`, demo+"/login")))
	if err != nil {
		t.Fatal(err)
	}
	var created struct {
		Links map[string]string `json:"links"`
	}
	_ = json.NewDecoder(res.Body).Decode(&created)
	res.Body.Close()
	browser := participantBrowser(t, execPath)
	host := openTab(t, browser, created.Links["host"])
	join(t, host, "Hana")
	waitFrame(t, host)
	for _, pg := range []struct{ path, text string }{{"/login", "Sign in"}, {"/long", "Field guide"}, {"/notes", "Message support"}, {"/checkout", "Checkout"}} {
		t.Run(pg.path, func(t *testing.T) {
			// The Page view, once its images and fonts are in.
			goTo(t, host, demo+pg.path)
			pageMode(t, host, "the host")
			waitCopy(t, host, "the host", pg.text)
			must(t, host, "the copy's images and fonts are in", void(chromedp.Poll[bool](`(() => {
				const d = document.querySelector('.page-copy').contentDocument;
				return Array.from(d.images).every((i) => i.complete) && d.fonts.status === 'loaded';
			})()`, chromedp.WithPollingTimeout(20*time.Second))))
			copy := wrapShot(t, host)
			// The picture of the same page: once the newest frame is drawn, the two agree.
			must(t, host, "Picture", chromedp.Click(chromedp.ID("mode-pixels")))
			var picture image.Image
			d := 1.0
			deadline := time.Now().Add(20 * time.Second)
			for d > 0.05 && time.Now().Before(deadline) {
				picture = wrapShot(t, host)
				d = difference(picture, copy)
			}
			t.Logf("%s: difference %.4f", pg.path, d)
			if os.Getenv("TANDEM_SHOTS") != "" {
				for name, img := range map[string]image.Image{"picture": picture, "page": copy} {
					var b bytes.Buffer
					_ = png.Encode(&b, img)
					_ = os.WriteFile(filepath.Join(os.Getenv("TANDEM_SHOTS"), "fidelity"+strings.ReplaceAll(pg.path, "/", "-")+"-"+name+".png"), b.Bytes(), 0o644)
				}
			}
			if d > 0.05 {
				t.Fatalf("the Page view of %s never looked like the picture: difference %.3f", pg.path, d)
			}
		})
	}
}
