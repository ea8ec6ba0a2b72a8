package renderer

import (
	"bytes"
	"errors"
	"fmt"
	"image/jpeg"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/target"
)

// page serves one HTML body at every path not handled otherwise.
func servePage(t *testing.T, body string, extra map[string]http.HandlerFunc) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	for p, h := range extra {
		mux.HandleFunc(p, h)
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, body)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

const plainStyle = `<style>html,body{margin:0;padding:0}</style>`

func TestFramesArriveForStaticPage(t *testing.T) {
	tab := newTestTab(t, Viewport{Width: 640, Height: 480, DPR: 1})
	srv := servePage(t, `<!doctype html>`+plainStyle+`<h1>static</h1>`, nil)
	navigate(t, tab, srv.URL+"/")

	var last uint64
	got := 0
	for got < 1 {
		select {
		case f := <-tab.Frames():
			if f.Seq <= last {
				t.Fatalf("seq %d after %d", f.Seq, last)
			}
			last = f.Seq
			if !bytes.HasPrefix(f.JPEG, []byte{0xFF, 0xD8}) {
				t.Fatalf("frame %d is not a JPEG", f.Seq)
			}
			if f.Width != 640 || f.Height != 480 {
				t.Fatalf("frame %d is %vx%v CSS px, want 640x480", f.Seq, f.Width, f.Height)
			}
			if f.Timestamp.IsZero() {
				t.Fatalf("frame %d has no timestamp", f.Seq)
			}
			got++
		case <-testCtx(t).Done():
			t.Fatal("no frame for a static page")
		}
	}
}

func TestClickReachesPage(t *testing.T) {
	tab := newTestTab(t, Viewport{Width: 640, Height: 480, DPR: 1})
	var clicks atomic.Int32
	srv := servePage(t, `<!doctype html>`+plainStyle+`
<button id=b style="position:absolute;left:100px;top:100px;width:200px;height:100px"
 onclick="fetch('/click',{method:'POST'})">click me</button>`, map[string]http.HandlerFunc{
		"/click": func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodPost {
				clicks.Add(1)
			}
		},
	})
	navigate(t, tab, srv.URL+"/")
	ctx := testCtx(t)
	x, y := 200.0/640, 150.0/480
	for _, m := range []MouseInput{
		{Action: "move", X: x, Y: y, Button: "none"},
		{Action: "down", X: x, Y: y, Button: "left", Buttons: 1, ClickCount: 1},
		{Action: "up", X: x, Y: y, Button: "left", ClickCount: 1},
	} {
		if err := tab.Mouse(ctx, m); err != nil {
			t.Fatalf("Mouse(%+v): %v", m, err)
		}
	}
	waitFor(t, "the click to reach the server", func() bool { return clicks.Load() == 1 })

	// A click outside the button does nothing.
	for _, a := range []string{"down", "up"} {
		if err := tab.Mouse(ctx, MouseInput{Action: a, X: 0.9, Y: 0.9, Button: "left", ClickCount: 1}); err != nil {
			t.Fatal(err)
		}
	}
	waitJS(t, tab, `1`, 1) // one round trip through the page
	if n := clicks.Load(); n != 1 {
		t.Fatalf("clicks = %d after a click beside the button, want 1", n)
	}
}

func key(action, k, code string, keyCode int, text string, mods int) KeyInput {
	return KeyInput{Action: action, Key: k, Code: code, KeyCode: keyCode, Text: text, Modifiers: mods}
}

func press(t *testing.T, tab *Tab, keys ...KeyInput) {
	t.Helper()
	for _, k := range keys {
		if err := tab.Key(testCtx(t), k); err != nil {
			t.Fatalf("Key(%+v): %v", k, err)
		}
	}
}

func TestTyping(t *testing.T) {
	tab := newTestTab(t, Viewport{Width: 640, Height: 480, DPR: 1})
	srv := servePage(t, `<!doctype html><input id=i autofocus>`, nil)
	navigate(t, tab, srv.URL+"/")
	evalJS[bool](t, tab, `document.getElementById('i').focus(), true`)
	ctx := testCtx(t)
	value := `document.getElementById('i').value`

	press(t, tab,
		key("down", "a", "KeyA", 65, "a", 0), key("up", "a", "KeyA", 65, "", 0),
		key("down", "B", "KeyB", 66, "B", ModShift), key("up", "B", "KeyB", 66, "", ModShift),
	)
	if err := tab.InsertText(ctx, "Grüße ü 日本"); err != nil {
		t.Fatal(err)
	}
	waitJS(t, tab, value, "aBGrüße ü 日本")

	press(t, tab, key("down", "Backspace", "Backspace", 8, "", 0), key("up", "Backspace", "Backspace", 8, "", 0))
	waitJS(t, tab, value, "aBGrüße ü 日")

	// Ctrl+A selects all, so the next character replaces everything.
	press(t, tab,
		key("down", "Control", "ControlLeft", 17, "", ModCtrl),
		key("down", "a", "KeyA", 65, "a", ModCtrl), key("up", "a", "KeyA", 65, "", ModCtrl),
		key("up", "Control", "ControlLeft", 17, "", 0),
	)
	waitJS(t, tab, `(() => { const i = document.getElementById('i'); return i.selectionStart === 0 && i.selectionEnd === i.value.length; })()`, true)
	sel, err := tab.SelectedText(ctx, nil)
	if err != nil || sel.Text != "aBGrüße ü 日" || sel.Masked {
		t.Fatalf("SelectedText = %+v, %v", sel, err)
	}
	press(t, tab, key("down", "x", "KeyX", 88, "x", 0), key("up", "x", "KeyX", 88, "", 0))
	waitJS(t, tab, value, "x")
}

func TestReleaseAllReleasesHeldInput(t *testing.T) {
	tab := newTestTab(t, Viewport{Width: 640, Height: 480, DPR: 1})
	srv := servePage(t, `<!doctype html>`+plainStyle+`<div style="width:100vw;height:100vh"></div><script>
window.log = [];
for (const e of ['keydown','keyup']) addEventListener(e, ev => log.push(e + ':' + ev.code));
for (const e of ['mousedown','mouseup']) addEventListener(e, ev => log.push(e + ':' + ev.button));
</script>`, nil)
	navigate(t, tab, srv.URL+"/")
	ctx := testCtx(t)
	press(t, tab, key("down", "Shift", "ShiftLeft", 16, "", ModShift))
	if err := tab.Mouse(ctx, MouseInput{Action: "down", X: 0.5, Y: 0.5, Button: "left", Buttons: 1, ClickCount: 1}); err != nil {
		t.Fatal(err)
	}
	keys, buttons := tab.Held()
	if len(keys) != 1 || len(buttons) != 1 {
		t.Fatalf("Held = %v %v, want one key and one button", keys, buttons)
	}
	if err := tab.ReleaseAll(ctx); err != nil {
		t.Fatal(err)
	}
	waitJS(t, tab, `log.join(',')`, "keydown:ShiftLeft,mousedown:0,keyup:ShiftLeft,mouseup:0")
	if keys, buttons := tab.Held(); len(keys)+len(buttons) != 0 {
		t.Fatalf("still held after ReleaseAll: %v %v", keys, buttons)
	}
}

func TestSetViewport(t *testing.T) {
	tab := newTestTab(t, Viewport{Width: 640, Height: 480, DPR: 1})
	srv := servePage(t, `<!doctype html><p>viewport</p>`, nil)
	navigate(t, tab, srv.URL+"/")
	if err := tab.SetViewport(testCtx(t), Viewport{Width: 900, Height: 500, DPR: 2}); err != nil {
		t.Fatal(err)
	}
	waitJS(t, tab, `window.innerWidth + 'x' + window.innerHeight + '@' + devicePixelRatio`, "900x500@2")
	// The screen is the participant's viewport too, not Chromium's headless one.
	waitJS(t, tab, `screen.width + 'x' + screen.height`, "900x500")
	waitFor(t, "a 900 px wide frame", func() bool {
		select {
		case f := <-tab.Frames():
			if f.Width != 900 || f.Height != 500 {
				return false
			}
			// The whole viewport is in the picture, at device pixels, though the tab's
			// window is smaller (chromium.go, screens.go).
			cfg, err := jpeg.DecodeConfig(bytes.NewReader(f.JPEG))
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Width != 1800 || cfg.Height != 1000 {
				t.Fatalf("the picture is %dx%d px, want 1800x1000", cfg.Width, cfg.Height)
			}
			return true
		default:
			return false
		}
	})
	g := tab.geom.Load()
	if g.w != 900 || g.h != 500 {
		t.Fatalf("input geometry = %vx%v, want the newest frame's 900x500", g.w, g.h)
	}
}

func TestNavigateRejectsOtherSchemes(t *testing.T) {
	tab := newTestTab(t, Viewport{Width: 640, Height: 480, DPR: 1})
	ctx := testCtx(t)
	for _, u := range []string{"file:///etc/passwd", "javascript:alert(1)", "chrome://version", "JavaScript:void(0)"} {
		if err := tab.Navigate(ctx, u); !errors.Is(err, ErrInvalidURL) {
			t.Errorf("Navigate(%q) = %v, want ErrInvalidURL", u, err)
		}
	}
	srv := servePage(t, `<!doctype html><title>upper</title>`, nil)
	upper := "HTTP://" + strings.TrimPrefix(srv.URL, "http://") + "/"
	if err := tab.Navigate(ctx, upper); err != nil {
		t.Fatalf("Navigate(%q): %v", upper, err)
	}
	waitEvent(t, tab, func(s PageState) bool { return s.URL == srv.URL+"/" && s.Title == "upper" })
}

func TestNavigationStateAndHistory(t *testing.T) {
	tab := newTestTab(t, Viewport{Width: 640, Height: 480, DPR: 1})
	srv := servePage(t, `<!doctype html><title>page</title><a id=h href="#frag">frag</a>`, nil)
	ctx := testCtx(t)
	navigate(t, tab, srv.URL+"/one")
	navigate(t, tab, srv.URL+"/two")
	waitEvent(t, tab, func(s PageState) bool { return s.URL == srv.URL+"/two" && s.CanGoBack && !s.CanGoForward && !s.Loading })
	if err := tab.GoBack(ctx); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, tab, func(s PageState) bool { return s.URL == srv.URL+"/one" && s.CanGoForward })
	if err := tab.GoForward(ctx); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, tab, func(s PageState) bool { return s.URL == srv.URL+"/two" })
	if err := tab.GoForward(ctx); !errors.Is(err, ErrNoHistory) {
		t.Fatalf("GoForward at the newest entry = %v, want ErrNoHistory", err)
	}
	// A same-document navigation is a PageState too.
	evalJS[bool](t, tab, `location.hash = 'frag', true`)
	waitEvent(t, tab, func(s PageState) bool { return s.URL == srv.URL+"/two#frag" })
	if err := tab.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, tab, func(s PageState) bool { return s.Loading })
}

func TestNavigationFailed(t *testing.T) {
	tab := newTestTab(t, Viewport{Width: 640, Height: 480, DPR: 1})
	srv := httptest.NewServer(http.NotFoundHandler())
	dead := srv.URL + "/"
	srv.Close() // nothing listens there now
	err := tab.Navigate(testCtx(t), dead)
	if !errors.Is(err, ErrNavigation) {
		t.Fatalf("Navigate to a closed port = %v, want ErrNavigation", err)
	}
	ev := waitEvent(t, tab, func(NavigationFailed) bool { return true })
	if ev.URL != dead || !strings.Contains(ev.Reason, "ERR_CONNECTION_REFUSED") {
		t.Fatalf("NavigationFailed = %+v", ev)
	}
}

func TestDialogs(t *testing.T) {
	tab := newTestTab(t, Viewport{Width: 640, Height: 480, DPR: 1})
	srv := servePage(t, `<!doctype html><title>dialogs</title>`, nil)
	navigate(t, tab, srv.URL+"/")
	ctx := testCtx(t)

	evalJS[bool](t, tab, `setTimeout(() => alert('hello'), 0), true`)
	d := waitEvent(t, tab, func(DialogOpened) bool { return true })
	if d.Kind != "alert" || d.Message != "hello" || d.ID == "" || d.ExpiresAt.IsZero() {
		t.Fatalf("DialogOpened = %+v", d)
	}
	if err := tab.AnswerDialog(ctx, "nope", true, ""); !errors.Is(err, ErrNoDialog) {
		t.Fatalf("answering an unknown dialog = %v, want ErrNoDialog", err)
	}
	if err := tab.AnswerDialog(ctx, d.ID, true, ""); err != nil {
		t.Fatal(err)
	}
	c := waitEvent(t, tab, func(DialogClosed) bool { return true })
	if c.ID != d.ID || c.Result != DialogAccepted {
		t.Fatalf("DialogClosed = %+v", c)
	}
	if err := tab.AnswerDialog(ctx, d.ID, true, ""); !errors.Is(err, ErrNoDialog) {
		t.Fatalf("answering a closed dialog = %v, want ErrNoDialog", err)
	}

	evalJS[bool](t, tab, `setTimeout(() => { window.answer = prompt('name?', 'def'); }, 0), true`)
	p := waitEvent(t, tab, func(DialogOpened) bool { return true })
	if p.Kind != "prompt" || p.DefaultPrompt != "def" || p.ID == d.ID {
		t.Fatalf("DialogOpened = %+v", p)
	}
	if err := tab.AnswerDialog(ctx, p.ID, true, "Ana"); err != nil {
		t.Fatal(err)
	}
	waitJS(t, tab, `window.answer`, "Ana")

	evalJS[bool](t, tab, `setTimeout(() => { window.ok = confirm('sure?'); }, 0), true`)
	cf := waitEvent(t, tab, func(DialogOpened) bool { return true })
	if err := tab.AnswerDialog(ctx, cf.ID, false, ""); err != nil {
		t.Fatal(err)
	}
	if c := waitEvent(t, tab, func(DialogClosed) bool { return true }); c.Result != DialogDismissed {
		t.Fatalf("DialogClosed = %+v, want dismissed", c)
	}
	waitJS(t, tab, `window.ok`, false)
}

func TestUnansweredDialogTimesOut(t *testing.T) {
	b := needBrowser(t)
	cfg := b.cfg
	cfg.DialogTimeout = 300 * 1e6 // 300ms
	tab, err := b.newTab(testCtx(t), Viewport{Width: 640, Height: 480, DPR: 1}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tab.Close() })
	srv := servePage(t, `<!doctype html><title>timeout</title>`, nil)
	navigate(t, tab, srv.URL+"/")
	evalJS[bool](t, tab, `setTimeout(() => { window.ok = confirm('sure?'); }, 0), true`)
	d := waitEvent(t, tab, func(DialogOpened) bool { return true })
	c := waitEvent(t, tab, func(DialogClosed) bool { return true })
	if c.ID != d.ID || c.Result != DialogTimeout {
		t.Fatalf("DialogClosed = %+v, want timeout of %s", c, d.ID)
	}
	waitJS(t, tab, `window.ok`, false)
	if err := tab.AnswerDialog(testCtx(t), d.ID, true, ""); !errors.Is(err, ErrNoDialog) {
		t.Fatalf("answering a timed-out dialog = %v, want ErrNoDialog", err)
	}
}

func TestDownloadRefused(t *testing.T) {
	tab := newTestTab(t, Viewport{Width: 640, Height: 480, DPR: 1})
	var served atomic.Int32
	srv := servePage(t, `<!doctype html><a id=d href="/file">file</a>`, map[string]http.HandlerFunc{
		"/file": func(w http.ResponseWriter, r *http.Request) {
			served.Add(1)
			w.Header().Set("Content-Type", "application/octet-stream")
			w.Header().Set("Content-Disposition", `attachment; filename="report.bin"`)
			w.Write(bytes.Repeat([]byte("x"), 1024))
		},
	})
	navigate(t, tab, srv.URL+"/")
	if err := tab.Navigate(testCtx(t), srv.URL+"/file"); err != nil {
		t.Fatalf("Navigate to a download: %v", err)
	}
	ev := waitEvent(t, tab, func(DownloadRefused) bool { return true })
	if ev.URL != srv.URL+"/file" || ev.Filename != "report.bin" {
		t.Fatalf("DownloadRefused = %+v", ev)
	}
	// The page stays where it was.
	waitJS(t, tab, `location.pathname`, "/")
}

func TestTabsDoNotShareCookies(t *testing.T) {
	var mu sync.Mutex
	seen := map[string]string{} // tab name → Cookie header of its /read
	srv := servePage(t, `<!doctype html>`, map[string]http.HandlerFunc{
		"/set": func(w http.ResponseWriter, r *http.Request) {
			http.SetCookie(w, &http.Cookie{Name: "who", Value: r.URL.Query().Get("v"), Path: "/"})
		},
		"/read": func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			seen[r.URL.Query().Get("tab")] = r.Header.Get("Cookie")
			mu.Unlock()
		},
	})
	one := newTestTab(t, Viewport{Width: 400, Height: 300, DPR: 1})
	two := newTestTab(t, Viewport{Width: 400, Height: 300, DPR: 1})
	navigate(t, one, srv.URL+"/set?v=one")
	navigate(t, one, srv.URL+"/read?tab=one")
	navigate(t, two, srv.URL+"/read?tab=two")
	mu.Lock()
	defer mu.Unlock()
	if seen["one"] != "who=one" {
		t.Fatalf("tab one sent Cookie %q, want who=one", seen["one"])
	}
	if seen["two"] != "" {
		t.Fatalf("tab two sent Cookie %q, want none", seen["two"])
	}
}

func TestTitleIsInPageState(t *testing.T) {
	tab := newTestTab(t, Viewport{Width: 640, Height: 480, DPR: 1})
	srv := servePage(t, `<!doctype html><title>first</title>`, nil)
	navigate(t, tab, srv.URL+"/")
	waitEvent(t, tab, func(s PageState) bool { return s.Title == "first" && !s.Loading })
}

func TestTitleChangedByScriptIsPageState(t *testing.T) {
	tab := newTestTab(t, Viewport{Width: 640, Height: 480, DPR: 1})
	srv := servePage(t, `<!doctype html><title>first</title>`, nil)
	navigate(t, tab, srv.URL+"/")
	waitEvent(t, tab, func(s PageState) bool { return s.Title == "first" })
	evalJS[bool](t, tab, `document.title = 'second', true`)
	waitEvent(t, tab, func(s PageState) bool { return s.Title == "second" })
	// The page's own scripts cannot see the binding.
	if got := evalJS[string](t, tab, `typeof tandemTitle`); got != "undefined" {
		t.Fatalf("typeof tandemTitle in the page = %q", got)
	}
}

func TestTouchAndComposition(t *testing.T) {
	tab := newTestTab(t, Viewport{Width: 400, Height: 600, DPR: 2, Mobile: true, Touch: true})
	srv := servePage(t, `<!doctype html>`+plainStyle+`<input id=i style="position:absolute;left:0;top:0;width:200px">
<div id=pad style="position:absolute;left:0;top:100px;width:400px;height:400px"></div><script>
window.log = [];
for (const e of ['touchstart','touchend','touchcancel']) pad.addEventListener(e, ev => log.push(e + ':' + ev.touches.length + ':' + Math.round((ev.changedTouches[0]||{}).clientY||0)));
</script>`, nil)
	navigate(t, tab, srv.URL+"/")
	ctx := testCtx(t)
	if err := tab.Touch(ctx, TouchInput{Action: "start", Touches: []TouchPoint{{ID: 0, X: 0.5, Y: 0.5}}}); err != nil {
		t.Fatal(err)
	}
	if err := tab.Touch(ctx, TouchInput{Action: "end"}); err != nil {
		t.Fatal(err)
	}
	if err := tab.Touch(ctx, TouchInput{Action: "start", Touches: []TouchPoint{{ID: 1, X: 0.5, Y: 0.25}}}); err != nil {
		t.Fatal(err)
	}
	if err := tab.ReleaseAll(ctx); err != nil { // ends the touch in progress
		t.Fatal(err)
	}
	waitJS(t, tab, `log.join(',')`, "touchstart:1:300,touchend:0:300,touchstart:1:150,touchcancel:0:150")

	evalJS[bool](t, tab, `document.getElementById('i').focus(), true`)
	if err := tab.Compose(ctx, "にほ", 2, 2); err != nil {
		t.Fatal(err)
	}
	waitJS(t, tab, `document.getElementById('i').value`, "にほ")
	if err := tab.InsertText(ctx, "日本"); err != nil {
		t.Fatal(err)
	}
	waitJS(t, tab, `document.getElementById('i').value`, "日本")
}

func TestVerticalWheelScrolls(t *testing.T) {
	tab := newTestTab(t, Viewport{Width: 640, Height: 480, DPR: 1})
	srv := servePage(t, `<!doctype html>`+plainStyle+`<div style="height:5000px;width:2000px">tall and wide</div>`, nil)
	navigate(t, tab, srv.URL+"/")
	// A purely vertical scroll has deltaX 0, which must still be sent.
	if err := tab.Wheel(testCtx(t), WheelInput{X: 0.5, Y: 0.5, DeltaY: 300}); err != nil {
		t.Fatal(err)
	}
	waitJS(t, tab, `String(scrollY > 0 && scrollX === 0)`, "true")
	if err := tab.Wheel(testCtx(t), WheelInput{X: 0.5, Y: 0.5, DeltaX: 200}); err != nil {
		t.Fatal(err)
	}
	waitJS(t, tab, `String(scrollX > 0)`, "true")
}

// TestDraggingSelectsAndDrags: moves while the button is down are drags, whatever the
// client put in the move (a viewer sends "none"): dragging over text selects it, a
// slider follows the pointer, and HTML5 drag and drop completes.
func TestDraggingSelectsAndDrags(t *testing.T) {
	tab := newTestTab(t, Viewport{Width: 640, Height: 480, DPR: 1})
	srv := servePage(t, `<!doctype html>`+plainStyle+`
<p id=p style="position:absolute;left:20px;top:20px;font:20px monospace;margin:0;white-space:nowrap">select these words please</p>
<input id=r type=range min=0 max=100 value=0 style="position:absolute;left:20px;top:200px;width:400px;margin:0">
<div id=src draggable=true style="position:absolute;left:20px;top:300px;width:100px;height:60px;background:#fc0">card</div>
<div id=dst style="position:absolute;left:300px;top:300px;width:200px;height:150px;background:#0cf">drop here</div>
<script>
src.addEventListener('dragstart', (e) => e.dataTransfer.setData('text/plain', 'card'));
dst.addEventListener('dragover', (e) => e.preventDefault());
dst.addEventListener('drop', (e) => { e.preventDefault(); document.title = 'dropped:' + e.dataTransfer.getData('text/plain'); });
</script>`, nil)
	navigate(t, tab, srv.URL+"/")
	ctx := testCtx(t)
	drag := func(x0, x1, y float64) {
		t.Helper()
		steps := []MouseInput{{Action: "move", X: x0 / 640, Y: y / 480, Button: "none"},
			{Action: "down", X: x0 / 640, Y: y / 480, Button: "left", Buttons: 1, ClickCount: 1}}
		for i := 1; i <= 8; i++ {
			steps = append(steps, MouseInput{Action: "move", X: (x0 + (x1-x0)*float64(i)/8) / 640, Y: y / 480, Button: "none"})
		}
		steps = append(steps, MouseInput{Action: "up", X: x1 / 640, Y: y / 480, Button: "left", ClickCount: 1})
		for _, m := range steps {
			if err := tab.Mouse(ctx, m); err != nil {
				t.Fatalf("Mouse(%+v): %v", m, err)
			}
		}
	}
	drag(22, 200, 30)
	waitJS(t, tab, `getSelection().toString().startsWith('select these')`, true)
	drag(22, 420, 208) // from the slider's start to its end
	waitJS(t, tab, `+document.getElementById('r').value > 90`, true)
	drag(70, 400, 330) // the card onto the drop zone
	waitJS(t, tab, `document.title`, "dropped:card")
}

// TestFramesSayWhenThePageHasPainted: the frames from between a page's arrival and its
// first paint show a blank tab; they are marked unpainted, and a painted picture of a
// page that then stays still follows by itself.
func TestFramesSayWhenThePageHasPainted(t *testing.T) {
	tab := newTestTab(t, Viewport{Width: 320, Height: 240, DPR: 1})
	srv := servePage(t, `<!doctype html><style>html,body{margin:0;height:100%;background:#d00}</style>`, nil)
	go tab.Navigate(testCtx(t), srv.URL+"/")
	for {
		select {
		case f := <-tab.Frames():
			if !f.Painted || !slices.Contains(f.Documents, srv.URL+"/") {
				continue
			}
			img, err := jpeg.Decode(bytes.NewReader(f.JPEG))
			if err != nil {
				t.Fatal(err)
			}
			r, g, b, _ := img.At(160, 120).RGBA()
			if r>>8 < 150 || g>>8 > 80 || b>>8 > 80 {
				t.Fatalf("the first painted picture's middle is rgb(%d,%d,%d), not the page's red", r>>8, g>>8, b>>8)
			}
			return
		case <-testCtx(t).Done():
			t.Fatal("no painted picture of a still page")
		}
	}
}

// TestTabsBringNoHiddenPages: a session's browser context holds its page and nothing
// else: the address bar's popups that Chromium would preload as WebUI pages, a renderer
// of their own per session, stay off.
func TestTabsBringNoHiddenPages(t *testing.T) {
	b := needBrowser(t)
	tab := newTestTab(t, Viewport{Width: 640, Height: 480, DPR: 1})
	inst, err := b.current()
	if err != nil {
		t.Fatal(err)
	}
	res, err := cdp.Call(testCtx(t), inst.cb, target.GetTargets, target.GetTargetsParams{Filter: target.Filter{{}}})
	if err != nil {
		t.Fatal(err)
	}
	pages := 0
	for _, ti := range res.TargetInfos {
		if ti.BrowserContextID != tab.bctxID {
			continue
		}
		switch ti.Type {
		case "page":
			pages++
		case "tab":
		default:
			t.Errorf("the tab's browser context holds a %s target at %s", ti.Type, ti.URL)
		}
	}
	if pages != 1 {
		t.Errorf("the tab's browser context holds %d pages, want 1", pages)
	}
}

// TestPicturesComeAtDevicePixels: a picture has its viewport's device pixels (up to 2x),
// and the page sees the participant's DPR.
func TestPicturesComeAtDevicePixels(t *testing.T) {
	tab := newTestTab(t, Viewport{Width: 640, Height: 480, DPR: 1})
	srv := servePage(t, `<!doctype html><meta name="viewport" content="width=device-width"><p>sharp</p>`, nil)
	navigate(t, tab, srv.URL+"/")
	for _, c := range []struct {
		vp   Viewport
		w, h int
	}{
		{Viewport{Width: 390, Height: 844, DPR: 2, Mobile: true, Touch: true}, 780, 1688},
		{Viewport{Width: 800, Height: 600, DPR: 1.25}, 1000, 750},
		// Above 2x, pictures come at 2x (screens.go).
		{Viewport{Width: 400, Height: 300, DPR: 3}, 800, 600},
		{Viewport{Width: 600, Height: 400, DPR: 0.5}, 300, 200},
		{Viewport{Width: 640, Height: 480, DPR: 1}, 640, 480},
	} {
		if err := tab.SetViewport(testCtx(t), c.vp); err != nil {
			t.Fatal(err)
		}
		waitJS(t, tab, `innerWidth + 'x' + innerHeight + '@' + devicePixelRatio`, fmt.Sprintf("%dx%d@%v", c.vp.Width, c.vp.Height, c.vp.DPR))
		waitFor(t, fmt.Sprintf("a %dx%d picture at DPR %v", c.w, c.h, c.vp.DPR), func() bool {
			select {
			case f := <-tab.Frames():
				cfg, err := jpeg.DecodeConfig(bytes.NewReader(f.JPEG))
				return err == nil && cfg.Width == c.w && cfg.Height == c.h
			default:
				return false
			}
		})
	}
}
