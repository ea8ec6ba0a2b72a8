package ui_test

import (
	"context"
	"encoding/json"
	"image/color"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"

	"github.com/tandem-cobrowse/tandem/ui"
)

func TestHandler(t *testing.T) {
	srv := httptest.NewServer(ui.Handler())
	defer srv.Close()

	get := func(method, path string, hdr map[string]string) (*http.Response, string) {
		t.Helper()
		req, _ := http.NewRequest(method, srv.URL+path, nil)
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res, string(b)
	}

	cases := []struct {
		name, path string
		status     int
		ctype      string
		contains   string
	}{
		{"start page at the root", "/", 200, "text/html", "Start co-browsing"},
		{"viewer for any session id", "/s/abc123", 200, "text/html", `src="/assets/js/viewer.js"`},
		{"viewer script", "/assets/js/viewer.js", 200, "text/javascript", "hello"},
		{"stylesheet", "/assets/css/app.css", 200, "text/css", ".stage"},
		{"icon", "/assets/icon.svg", 200, "image/svg+xml", "<svg"},
		{"viewer without id", "/s/", 404, "", ""},
		{"viewer with a sub path", "/s/abc/def", 404, "", ""},
		{"unknown asset", "/assets/js/nope.js", 404, "", ""},
		{"pages are not assets", "/assets/index.html", 404, "", ""},
		{"anything else", "/favicon.ico", 404, "", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res, body := get("GET", tc.path, nil)
			if res.StatusCode != tc.status {
				t.Fatalf("status %d, want %d", res.StatusCode, tc.status)
			}
			csp := res.Header.Get("Content-Security-Policy")
			for _, want := range []string{"default-src 'self'", "connect-src 'self' ws: wss:", "img-src 'self' blob: data:"} {
				if !strings.Contains(csp, want) {
					t.Errorf("CSP %q lacks %q", csp, want)
				}
			}
			if res.Header.Get("X-Content-Type-Options") != "nosniff" || res.Header.Get("Referrer-Policy") != "no-referrer" {
				t.Errorf("missing security headers: %v", res.Header)
			}
			if tc.status != 200 {
				return
			}
			if !strings.HasPrefix(res.Header.Get("Content-Type"), tc.ctype) {
				t.Errorf("Content-Type %q, want %q", res.Header.Get("Content-Type"), tc.ctype)
			}
			if res.Header.Get("Cache-Control") != "no-cache" {
				t.Errorf("Cache-Control %q", res.Header.Get("Cache-Control"))
			}
			if !strings.Contains(body, tc.contains) {
				t.Errorf("body lacks %q", tc.contains)
			}
		})
	}

	t.Run("revalidation with the ETag answers 304", func(t *testing.T) {
		res, _ := get("GET", "/assets/js/viewer.js", nil)
		etag := res.Header.Get("ETag")
		if etag == "" {
			t.Fatal("no ETag")
		}
		res, body := get("GET", "/assets/js/viewer.js", map[string]string{"If-None-Match": etag})
		if res.StatusCode != http.StatusNotModified || body != "" {
			t.Fatalf("status %d, body %d bytes", res.StatusCode, len(body))
		}
	})
	t.Run("only GET and HEAD", func(t *testing.T) {
		res, _ := get("POST", "/", nil)
		if res.StatusCode != http.StatusMethodNotAllowed {
			t.Fatalf("status %d", res.StatusCode)
		}
		res, body := get("HEAD", "/s/x", nil)
		if res.StatusCode != 200 || body != "" {
			t.Fatalf("HEAD: status %d, body %q", res.StatusCode, body)
		}
	})
}

// openViewer loads the viewer with a token, answers the name prompt and returns the
// connection and its hello.
func openViewer(t *testing.T, ctx context.Context, srv *httptest.Server, p *peer, token, name string) (*peerConn, msg) {
	t.Helper()
	run(t, ctx,
		chromedp.Navigate(srv.URL+"/s/s1#token="+token),
		chromedp.WaitVisible(chromedp.ID("join-name")),
		chromedp.SendKeys(chromedp.ID("join-name"), name),
		chromedp.Click(chromedp.CSS("#join-form button")),
	)
	c := p.accept(t)
	hello := c.expect(t, "hello", nil)
	if got := c.types(); got[0] != "hello" {
		t.Fatalf("first message %q, want hello", got[0])
	}
	return c, hello
}

type rect struct{ X, Y, W, H float64 }

func canvasRect(t *testing.T, ctx context.Context) rect {
	return eval[rect](t, ctx, `(() => { const r = document.getElementById('screen').getBoundingClientRect();
		return {X: r.left, Y: r.top, W: r.width, H: r.height}; })()`)
}

// joinWithFrame opens a viewer as me, sends welcome, state and one frame, and waits
// until the frame is on screen.
func joinWithFrame(t *testing.T, me person, controller string, others ...person) (context.Context, *peerConn) {
	t.Helper()
	ctx := newTab(t)
	srv, p := testServer(t, nil)
	c, _ := openViewer(t, ctx, srv, p, me.Role+"-token", me.Name)
	c.send(t, welcomeMsg(me, "resume-"+me.ID, me.Role == "host"))
	c.send(t, stateMsg(controller, nil, append([]person{me}, others...)...))
	c.sendFrame(t, 1, 1000, 625, solidJPEG(t, 400, 250, color.RGBA{30, 160, 90, 255}))
	waitJS(t, ctx, `!document.getElementById('screen-wrap').hidden && document.getElementById('screen').width > 0`)
	return ctx, c
}

func near(a, b float64) bool { return math.Abs(a-b) < 0.01 }

func TestViewerSendsHelloAndDrawsFrames(t *testing.T) {
	ctx := newTab(t)
	// A HiDPI screen: the canvas must have twice the backing pixels of its CSS size.
	run(t, ctx, chromedp.EmulateViewport(1280, 800, chromedp.EmulateScale(2)))
	srv, p := testServer(t, nil)
	c, hello := openViewer(t, ctx, srv, p, "tok-ABC_123", "Zoë")

	if hello.str("token") != "tok-ABC_123" || hello.str("name") != "Zoë" {
		t.Errorf("hello token %q name %q", hello.str("token"), hello.str("name"))
	}
	if hello.has("resume") {
		t.Errorf("first hello carries resume %q", hello.str("resume"))
	}
	vp := hello.obj("viewport")
	stage := eval[rect](t, ctx, `(() => { const s = document.getElementById('stage'); return {W: s.clientWidth, H: s.clientHeight}; })()`)
	if vp.num("width") != stage.W || vp.num("height") != stage.H || vp.num("dpr") != 2 {
		t.Errorf("viewport %v, stage %v×%v at dpr 2", vp, stage.W, stage.H)
	}
	if vp.num("width") < 600 || vp["mobile"] != false {
		t.Errorf("laptop viewport looks wrong: %v", vp)
	}
	if eval[string](t, ctx, `localStorage.getItem('tandem.name')`) != "Zoë" {
		t.Error("name not remembered")
	}

	c.send(t, welcomeMsg(guest, "r1", false))
	c.send(t, stateMsg(host.ID, nil, host, guest))
	waitJS(t, ctx, `document.querySelector('#status').textContent.includes('Live')`)
	if !eval[bool](t, ctx, `!document.getElementById('placeholder').hidden`) {
		t.Error("no placeholder before the first frame")
	}

	// A 4:3 tab in a wider stage: letterboxed, centred, aspect kept.
	c.sendFrame(t, 7, 800, 600, solidJPEG(t, 320, 240, color.RGBA{200, 40, 120, 255}))
	waitJS(t, ctx, `!document.getElementById('screen-wrap').hidden`)
	r := canvasRect(t, ctx)
	if !near(r.W/r.H, 800.0/600.0) {
		t.Errorf("picture %v×%v does not keep 4:3", r.W, r.H)
	}
	if r.W > stage.W+1 || r.H > stage.H+1 || (math.Abs(r.H-stage.H) > 1 && math.Abs(r.W-stage.W) > 1) {
		t.Errorf("picture %v×%v does not fill the stage %v×%v in one dimension", r.W, r.H, stage.W, stage.H)
	}
	st := eval[rect](t, ctx, `(() => { const r = document.getElementById('stage').getBoundingClientRect(); return {X: r.left, Y: r.top}; })()`)
	if math.Abs((r.X-st.X)*2+r.W-stage.W) > 2 || math.Abs((r.Y-st.Y)*2+r.H-stage.H) > 2 {
		t.Errorf("picture at %v,%v is not centred in the stage at %v,%v", r.X, r.Y, st.X, st.Y)
	}
	size := eval[rect](t, ctx, `(() => { const c = document.getElementById('screen'); return {W: c.width, H: c.height}; })()`)
	if math.Abs(size.W-2*r.W) > 1 || math.Abs(size.H-2*r.H) > 1 {
		t.Errorf("backing store %v×%v for CSS %v×%v at dpr 2", size.W, size.H, r.W, r.H)
	}
	px := eval[[]float64](t, ctx, `(() => { const c = document.getElementById('screen');
		return Array.from(c.getContext('2d').getImageData(c.width/2, c.height/2, 1, 1).data); })()`)
	want := []float64{200, 40, 120}
	for i := range want {
		if math.Abs(px[i]-want[i]) > 12 {
			t.Fatalf("centre pixel %v, want about %v", px, want)
		}
	}
	if !eval[bool](t, ctx, `document.getElementById('placeholder').hidden`) {
		t.Error("placeholder still shown after a frame")
	}

	// A newer frame replaces the picture; an older one that arrives late is skipped.
	c.sendFrame(t, 9, 800, 600, solidJPEG(t, 320, 240, color.RGBA{20, 60, 220, 255}))
	c.sendFrame(t, 8, 800, 600, solidJPEG(t, 320, 240, color.RGBA{250, 250, 0, 255}))
	waitJS(t, ctx, `(() => { const c = document.getElementById('screen');
		const d = c.getContext('2d').getImageData(c.width/2, c.height/2, 1, 1).data; return d[2] > 200 && d[0] < 40; })()`)
	c.send(t, map[string]any{"type": "pointer", "participant": host.ID, "x": 0.5, "y": 0.5, "visible": true}) // ordering barrier
	waitJS(t, ctx, `document.querySelector('.pointer .pointer-label')?.textContent === 'Hana Host'`)
	px = eval[[]float64](t, ctx, `(() => { const c = document.getElementById('screen');
		return Array.from(c.getContext('2d').getImageData(c.width/2, c.height/2, 1, 1).data); })()`)
	if px[0] > 100 {
		t.Errorf("stale frame 8 drawn over frame 9: %v", px)
	}
	// The pointer sits on the picture at the relayed normalised position.
	pt := eval[rect](t, ctx, `(() => { const r = document.querySelector('.pointer').getBoundingClientRect(); return {X: r.left, Y: r.top}; })()`)
	if math.Abs(pt.X-(r.X+r.W/2)) > 2 || math.Abs(pt.Y-(r.Y+r.H/2)) > 2 {
		t.Errorf("pointer at %v,%v; picture centre %v,%v", pt.X, pt.Y, r.X+r.W/2, r.Y+r.H/2)
	}

	// A resize tells the server the new viewport.
	run(t, ctx, chromedp.EmulateViewport(1000, 700, chromedp.EmulateScale(2)))
	m := c.expect(t, "viewport", func(m msg) bool { return m.num("width") < stage.W })
	now := eval[rect](t, ctx, `(() => { const s = document.getElementById('stage'); return {W: s.clientWidth, H: s.clientHeight}; })()`)
	if m.num("width") != now.W || m.num("height") != now.H || m.num("dpr") != 2 {
		t.Errorf("viewport %v after resize, stage %v×%v", m, now.W, now.H)
	}
}

func TestViewerInputInControl(t *testing.T) {
	ctx, c := joinWithFrame(t, agent, agent.ID, host)
	r := canvasRect(t, ctx)

	run(t, ctx, chromedp.MouseClickXY(r.X+0.25*r.W, r.Y+0.75*r.H))
	down := c.expect(t, "mouse", func(m msg) bool { return m.str("action") == "down" })
	up := c.expect(t, "mouse", func(m msg) bool { return m.str("action") == "up" })
	for _, m := range []msg{down, up} {
		if !near(m.num("x"), 0.25) || !near(m.num("y"), 0.75) || m.str("button") != "left" || m.num("clickCount") != 1 {
			t.Errorf("mouse %v, want left click at 0.25,0.75", m)
		}
	}
	if eval[string](t, ctx, `document.activeElement.id`) != "keys" {
		t.Fatal("a click on the stage did not focus the key sink")
	}

	t.Run("printable key", func(t *testing.T) {
		run(t, ctx, chromedp.KeyEvent("a"))
		d := c.expect(t, "key", func(m msg) bool { return m.str("action") == "down" })
		if d.str("key") != "a" || d.str("code") != "KeyA" || d.str("text") != "a" || d.num("keyCode") != 65 || d.num("modifiers") != 0 {
			t.Errorf("key down %v", d)
		}
		if u := c.expect(t, "key", nil); u.str("action") != "up" || u.str("key") != "a" {
			t.Errorf("key up %v", u)
		}
	})
	t.Run("Enter sends a carriage return", func(t *testing.T) {
		run(t, ctx, chromedp.KeyEvent("\r"))
		d := c.expect(t, "key", func(m msg) bool { return m.str("action") == "down" })
		if d.str("key") != "Enter" || d.str("text") != "\r" {
			t.Errorf("Enter %v", d)
		}
	})
	t.Run("Tab is sent and keeps focus on the stage", func(t *testing.T) {
		run(t, ctx, chromedp.KeyEvent("\t"))
		d := c.expect(t, "key", func(m msg) bool { return m.str("action") == "down" && m.str("key") == "Tab" })
		if d.str("text") != "" {
			t.Errorf("Tab text %q", d.str("text"))
		}
		if eval[string](t, ctx, `document.activeElement.id`) != "keys" {
			t.Error("Tab moved focus off the stage")
		}
	})
	t.Run("Ctrl+C sends the shortcut, which the server answers with the selection", func(t *testing.T) {
		run(t, ctx, chromedp.KeyEvent("c", chromedp.KeyModifiers(chromedp.ModifierCtrl)))
		d := c.expect(t, "key", func(m msg) bool { return m.str("action") == "down" && m.str("code") == "KeyC" })
		if d.num("modifiers") != 2 || d.str("text") != "" {
			t.Errorf("Ctrl+C %v", d)
		}
	})
	t.Run("non-ASCII text arrives as text", func(t *testing.T) {
		run(t, ctx, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := cdp.Call(ctx, tg, input.InsertText, input.InsertTextParams{Text: "Grüße 👋"})
			return err
		}))
		if m := c.expect(t, "text", nil); m.str("text") != "Grüße 👋" {
			t.Errorf("text %q", m.str("text"))
		}
	})
	t.Run("IME composition, then the committed text", func(t *testing.T) {
		run(t, ctx, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := cdp.Call(ctx, tg, input.ImeSetComposition, input.ImeSetCompositionParams{Text: "にほ", SelectionStart: 2, SelectionEnd: 2})
			return err
		}))
		m := c.expect(t, "composition", func(m msg) bool { return m.str("text") == "にほ" })
		if m.num("selectionStart") != 2 || m.num("selectionEnd") != 2 {
			t.Errorf("composition %v", m)
		}
		run(t, ctx, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := cdp.Call(ctx, tg, input.InsertText, input.InsertTextParams{Text: "日本"})
			return err
		}))
		if m := c.expect(t, "text", nil); m.str("text") != "日本" {
			t.Errorf("committed %q", m.str("text"))
		}
	})
	t.Run("wheel in pixels", func(t *testing.T) {
		run(t, ctx, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := cdp.Call(ctx, tg, input.DispatchMouseEvent, input.DispatchMouseEventParams{
				Type: input.DispatchMouseEventTypeMouseWheel, X: r.X + r.W/2, Y: r.Y + r.H/2, DeltaX: 30, DeltaY: 120,
			})
			return err
		}))
		m := c.expect(t, "wheel", nil)
		if m.num("deltaY") != 120 || m.num("deltaX") != 30 || !near(m.num("x"), 0.5) || !near(m.num("y"), 0.5) {
			t.Errorf("wheel %v", m)
		}
	})
}

func TestViewerWithoutControl(t *testing.T) {
	ctx, c := joinWithFrame(t, guest, host.ID, host)
	r := canvasRect(t, ctx)

	// Moving over the picture shows my pointer to others; clicking only hints.
	run(t, ctx, chromedp.MouseEvent(chromedp.MouseMoved, r.X+0.5*r.W, r.Y+0.4*r.H))
	pm := c.expect(t, "pointer", nil)
	if !near(pm.num("x"), 0.5) || !near(pm.num("y"), 0.4) {
		t.Errorf("pointer %v", pm)
	}
	run(t, ctx, chromedp.MouseEvent(chromedp.MouseMoved, 5, 5)) // off the stage, onto the top bar
	if m := c.expect(t, "pointer", nil); m["visible"] != false {
		t.Errorf("leaving the stage sent %v", m)
	}
	run(t, ctx, chromedp.MouseClickXY(r.X+0.5*r.W, r.Y+0.4*r.H))
	waitJS(t, ctx, `!document.getElementById('hint').hidden && document.getElementById('hint').textContent.includes('Ask for control')`)
	run(t, ctx, chromedp.KeyEvent("x"))

	if got := eval[string](t, ctx, `document.getElementById('control-btn').textContent`); got != "Request control" {
		t.Fatalf("control button %q", got)
	}
	run(t, ctx, chromedp.Click(chromedp.ID("control-btn")))
	req := c.expect(t, "control", nil)
	if req.str("action") != "request" {
		t.Errorf("control %v", req)
	}
	// Messages on one socket are ordered, so everything the click and the key could
	// have produced arrived before the request.
	for _, m := range c.seen {
		if typ := m.str("type"); typ == "mouse" || typ == "key" || typ == "text" {
			t.Errorf("sent %v without control", m)
		}
	}

	c.send(t, stateMsg(host.ID, []string{guest.ID}, host, guest))
	waitJS(t, ctx, `document.getElementById('control-btn').textContent === 'Request sent' && document.getElementById('control-btn').disabled`)
	if eval[bool](t, ctx, `!document.getElementById('address-input').disabled`) {
		t.Error("a guest can edit the address")
	}
}

func TestViewerFollowsState(t *testing.T) {
	ctx, c := joinWithFrame(t, host, agent.ID, agent)
	c.send(t, stateMsg(agent.ID, []string{guest.ID}, host, agent, guest))

	waitJS(t, ctx, `document.querySelectorAll('#people .person').length === 3`)
	rows := eval[[]map[string]any](t, ctx, `Array.from(document.querySelectorAll('#people .person'), (li) => ({
		id: li.dataset.id, text: li.textContent, control: !!li.querySelector('.control-mark'),
		role: li.querySelector('.role').textContent, color: li.querySelector('.avatar').style.getPropertyValue('--c') }))`)
	byID := map[string]map[string]any{}
	for _, row := range rows {
		byID[row["id"].(string)] = row
	}
	if byID["p2"]["control"] != true || byID["p1"]["control"] != false || byID["p3"]["control"] != false {
		t.Errorf("in-control marker on the wrong row: %v", rows)
	}
	if byID["p1"]["role"] != "Host" || byID["p2"]["role"] != "Agent" || byID["p3"]["role"] != "Guest" {
		t.Errorf("role badges %v", rows)
	}
	if !strings.Contains(byID["p1"]["text"].(string), "(you)") || byID["p3"]["color"] != guest.Color {
		t.Errorf("rows %v", rows)
	}
	if got := eval[string](t, ctx, `document.getElementById('control-btn').textContent`); got != "Take back control" {
		t.Errorf("host's button while the agent drives: %q", got)
	}
	if got := eval[string](t, ctx, `document.getElementById('link-guest').value`); got != "http://tandem.test/s/s1#token=guest-token" {
		t.Errorf("guest link %q", got)
	}
	if eval[bool](t, ctx, `document.getElementById('host-foot').hidden`) {
		t.Error("no End session for the host")
	}
	run(t, ctx, chromedp.Click(chromedp.CSS(`[data-copy="link-agent"]`)))
	waitJS(t, ctx, `document.querySelector('[data-copy="link-agent"]').textContent === 'Copied' || document.querySelector('.toast-warning')`)
	if eval[string](t, ctx, `document.querySelector('[data-copy="link-agent"]').textContent`) != "Copied" {
		t.Error("copying the agent link failed")
	}

	run(t, ctx, chromedp.Click(chromedp.CSS(`#requests .request[data-id="p3"] .btn-primary`)))
	if g := c.expect(t, "control", nil); g.str("action") != "grant" || g.str("participant") != "p3" {
		t.Errorf("grant %v", g)
	}
	run(t, ctx, chromedp.Click(chromedp.ID("control-btn")))
	if g := c.expect(t, "control", nil); g.str("action") != "take" {
		t.Errorf("take %v", g)
	}

	c.send(t, stateMsg(host.ID, nil, host, agent, guest))
	waitJS(t, ctx, `document.getElementById('control-btn').textContent === 'Release control'`)
	if eval[bool](t, ctx, `document.getElementById('address-input').disabled || document.getElementById('nav-back').disabled`) {
		t.Error("navigation disabled for the host in control")
	}
	if !eval[bool](t, ctx, `document.getElementById('requests-section').hidden`) {
		t.Error("requests still shown after they were handled")
	}
	run(t, ctx,
		chromedp.SetValue(chromedp.ID("address-input"), "example.org/help"),
		chromedp.Focus(chromedp.ID("address-input")),
		chromedp.KeyEvent("\r"))
	if n := c.expect(t, "navigate", nil); n.str("url") != "https://example.org/help" {
		t.Errorf("navigate %v", n)
	}
	run(t, ctx, chromedp.Click(chromedp.ID("nav-back")))
	if h := c.expect(t, "history", nil); h.str("action") != "back" {
		t.Errorf("history %v", h)
	}

	c.send(t, stateMsg("", nil, host, agent, guest))
	waitJS(t, ctx, `document.getElementById('control-btn').textContent === 'Request control' && document.getElementById('address-input').disabled`)
}

func TestViewerShowsHiddenPagesAndMaskedFields(t *testing.T) {
	ctx, c := joinWithFrame(t, guest, host.ID, host)
	waitJS(t, ctx, `document.getElementById('hidden-note').hidden && document.getElementById('masked-note').hidden`)
	pic := solidJPEG(t, 400, 250, color.RGBA{200, 200, 200, 255})
	c.sendFrameWith(t, map[string]any{"seq": 2, "width": 1000, "height": 625, "masked": true}, pic)
	waitJS(t, ctx, `!document.getElementById('masked-note').hidden && document.getElementById('hidden-note').hidden`)
	c.sendFrameWith(t, map[string]any{"seq": 3, "width": 1000, "height": 625, "hidden": true}, pic)
	waitJS(t, ctx, `!document.getElementById('hidden-note').hidden && document.getElementById('masked-note').hidden`)
	c.sendFrameWith(t, map[string]any{"seq": 4, "width": 1000, "height": 625}, pic)
	waitJS(t, ctx, `document.getElementById('hidden-note').hidden && document.getElementById('masked-note').hidden`)
}

func TestViewerDialog(t *testing.T) {
	ctx, c := joinWithFrame(t, agent, agent.ID, host)
	c.send(t, map[string]any{"type": "dialog", "id": "d1", "kind": "prompt", "message": "Coupon code?", "defaultPrompt": "SAVE10", "expiresAt": "2099-01-01T00:00:00Z"})
	waitJS(t, ctx, `!document.getElementById('dialog').hidden && document.getElementById('dialog-message').textContent === 'Coupon code?'`)
	run(t, ctx, chromedp.Click(chromedp.ID("dialog-ok")))
	m := c.expect(t, "dialog", nil)
	if m.str("id") != "d1" || m["accept"] != true || m.str("promptText") != "SAVE10" {
		t.Errorf("answer %v", m)
	}
	c.send(t, map[string]any{"type": "dialog_closed", "id": "d1", "result": "accepted"})
	waitJS(t, ctx, `document.getElementById('dialog').hidden`)

	// Someone else in control: I see who we wait for and no buttons.
	c.send(t, stateMsg(host.ID, nil, host, agent))
	c.send(t, map[string]any{"type": "dialog", "id": "d2", "kind": "confirm", "message": "Leave?", "expiresAt": "2099-01-01T00:00:00Z"})
	waitJS(t, ctx, `!document.getElementById('dialog').hidden && document.getElementById('dialog-wait').textContent.includes('Hana Host') && document.getElementById('dialog-actions').hidden`)
}

func TestViewerStopsWhenTheSessionEnds(t *testing.T) {
	ctx, c := joinWithFrame(t, guest, "", host)
	c.send(t, map[string]any{"type": "bye", "code": "session_ended", "message": "The host ended the session."})
	_ = c.ws.WriteControl(websocketClose(4000, "session_ended"))
	waitJS(t, ctx, `!document.getElementById('ended').hidden`)
	if got := eval[string](t, ctx, `document.getElementById('ended-title').textContent + ' / ' + document.getElementById('ended-message').textContent`); got != "This session has ended / The host ended the session." {
		t.Errorf("ended message %q", got)
	}
	if got := eval[string](t, ctx, `document.querySelector('#status .status-text').textContent`); got != "Ended" {
		t.Errorf("status %q", got)
	}
	if !eval[bool](t, ctx, `document.getElementById('control-btn').disabled`) {
		t.Error("control button still enabled after the end")
	}
}

func TestViewerReconnectsWithResume(t *testing.T) {
	ctx := newTab(t)
	srv, p := testServer(t, nil)
	c, _ := openViewer(t, ctx, srv, p, "guest-token", "Gil")
	c.send(t, welcomeMsg(guest, "resume-xyz", false))
	c.send(t, stateMsg("", nil, host, guest))
	waitJS(t, ctx, `document.querySelector('#status').textContent.includes('Live')`)

	c.ws.UnderlyingConn().Close() // a network blip: no bye, no close frame
	c2 := p.accept(t)
	hello := c2.expect(t, "hello", nil)
	if hello.str("resume") != "resume-xyz" || hello.str("token") != "guest-token" || hello.str("name") != "Gil" {
		t.Errorf("reconnect hello %v", hello)
	}
	if hello.obj("viewport").num("width") <= 0 {
		t.Errorf("reconnect hello without viewport: %v", hello)
	}
	c2.send(t, welcomeMsg(guest, "resume-2", false))
	waitJS(t, ctx, `document.querySelector('#status').textContent.includes('Live') && sessionStorage.getItem('tandem.resume.s1') === 'resume-2'`)
}

func TestStartPage(t *testing.T) {
	var mu sync.Mutex
	var posted map[string]any
	var auth string
	api := map[string]http.HandlerFunc{
		"GET /api/v1/config": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, `{"demoURL":"http://127.0.0.1:8081/","apiKeyRequired":true}`)
		},
		"POST /api/v1/sessions": func(w http.ResponseWriter, r *http.Request) {
			var body map[string]any
			_ = json.NewDecoder(r.Body).Decode(&body)
			mu.Lock()
			posted, auth = body, r.Header.Get("Authorization")
			mu.Unlock()
			w.Header().Set("Content-Type", "application/json")
			if strings.Contains(body["url"].(string), "blocked") {
				w.WriteHeader(http.StatusBadRequest)
				_, _ = io.WriteString(w, `{"error":"invalid_url","message":"That site is not allowed on this server."}`)
				return
			}
			w.WriteHeader(http.StatusCreated)
			_ = json.NewEncoder(w).Encode(map[string]any{"id": "abc", "url": body["url"], "links": map[string]string{
				"host":  "http://" + r.Host + "/s/abc#token=host-token",
				"agent": "http://" + r.Host + "/s/abc#token=agent-token",
				"guest": "http://" + r.Host + "/s/abc#token=guest-token",
			}})
		},
	}
	ctx := newTab(t)
	srv, _ := testServer(t, api)
	run(t, ctx, chromedp.Navigate(srv.URL+"/"))
	waitJS(t, ctx, `document.getElementById('url').value === 'http://127.0.0.1:8081/' && !document.getElementById('key-field').hidden`)

	t.Run("a refused request shows the server's message", func(t *testing.T) {
		run(t, ctx,
			chromedp.SetValue(chromedp.ID("url"), "blocked.example"),
			chromedp.SetValue(chromedp.ID("api-key"), "k-1"),
			chromedp.Click(chromedp.ID("start-btn")))
		waitJS(t, ctx, `!document.getElementById('form-error').hidden`)
		if got := eval[string](t, ctx, `document.getElementById('form-error').textContent`); got != "That site is not allowed on this server." {
			t.Errorf("error %q", got)
		}
		mu.Lock()
		defer mu.Unlock()
		if posted["url"] != "https://blocked.example/" || auth != "Bearer k-1" {
			t.Errorf("posted %v with %q", posted, auth)
		}
	})
	t.Run("a bad address is caught before posting", func(t *testing.T) {
		run(t, ctx, chromedp.SetValue(chromedp.ID("url"), "javascript:alert(1)"), chromedp.Click(chromedp.ID("start-btn")))
		waitJS(t, ctx, `document.getElementById('form-error').textContent.includes('http')`)
		mu.Lock()
		defer mu.Unlock()
		if strings.HasPrefix(posted["url"].(string), "javascript") {
			t.Error("posted a javascript: URL")
		}
	})
	t.Run("success goes to the host link", func(t *testing.T) {
		run(t, ctx, chromedp.SetValue(chromedp.ID("url"), "http://shop.test/"), chromedp.Click(chromedp.ID("start-btn")))
		run(t, ctx, chromedp.WaitVisible(chromedp.ID("join-name")))
		if got := eval[string](t, ctx, `location.pathname + location.hash`); got != "/s/abc#token=host-token" {
			t.Errorf("at %q", got)
		}
		mu.Lock()
		defer mu.Unlock()
		if posted["url"] != "http://shop.test/" {
			t.Errorf("posted %v", posted)
		}
	})
}

func TestViewerOnAPhone(t *testing.T) {
	ctx := newTab(t)
	run(t, ctx, chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(3), chromedp.EmulateMobile, chromedp.EmulateTouch))
	srv, p := testServer(t, nil)
	c, hello := openViewer(t, ctx, srv, p, "agent-token", "Ana")
	vp := hello.obj("viewport")
	if vp["mobile"] != true || vp["touch"] != true || vp.num("dpr") != 3 || vp.num("width") > 390 {
		t.Errorf("phone viewport %v", vp)
	}
	c.send(t, welcomeMsg(agent, "r", false))
	c.send(t, stateMsg(agent.ID, nil, host, agent))
	c.sendFrame(t, 1, int(vp.num("width")), int(vp.num("height")), solidJPEG(t, 200, 300, color.RGBA{240, 240, 240, 255}))
	waitJS(t, ctx, `!document.getElementById('screen-wrap').hidden`)
	r := canvasRect(t, ctx)

	run(t, ctx, chromedp.TapXY(r.X+0.3*r.W, r.Y+0.6*r.H))
	start := c.expect(t, "touch", func(m msg) bool { return m.str("action") == "start" })
	pts, _ := start["touches"].([]any)
	if len(pts) != 1 || !near(msg(pts[0].(map[string]any)).num("x"), 0.3) || !near(msg(pts[0].(map[string]any)).num("y"), 0.6) {
		t.Errorf("touch start %v", start)
	}
	end := c.expect(t, "touch", func(m msg) bool { return m.str("action") == "end" })
	if pts, _ := end["touches"].([]any); len(pts) != 0 {
		t.Errorf("touch end still lists %v", pts)
	}
	if eval[float64](t, ctx, `window.scrollY + document.scrollingElement.scrollTop`) != 0 {
		t.Error("the viewer page scrolled")
	}

	// The panel is a drawer on a phone.
	if eval[bool](t, ctx, `document.getElementById('panel').classList.contains('is-open')`) {
		t.Fatal("drawer open at start")
	}
	run(t, ctx, chromedp.Click(chromedp.ID("panel-btn")))
	waitJS(t, ctx, `document.getElementById('panel').getBoundingClientRect().right <= window.innerWidth + 1 && document.querySelectorAll('#people .person').length === 2`)
	run(t, ctx, chromedp.Click(chromedp.ID("panel-close")))
	waitJS(t, ctx, `!document.getElementById('panel').classList.contains('is-open')`)

	run(t, ctx, chromedp.Click(chromedp.ID("control-btn")))
	if m := c.expect(t, "control", nil); m.str("action") != "release" {
		t.Errorf("control %v", m)
	}
	for _, m := range c.seen {
		if m.str("type") == "mouse" {
			t.Errorf("a tap also sent %v", m)
		}
	}
}

func TestHostEndsTheSession(t *testing.T) {
	got := make(chan string, 1)
	api := map[string]http.HandlerFunc{
		"DELETE /api/v1/sessions/{id}": func(w http.ResponseWriter, r *http.Request) {
			got <- r.PathValue("id") + " " + r.Header.Get("Authorization")
			w.WriteHeader(http.StatusNoContent)
		},
	}
	ctx := newTab(t)
	srv, p := testServer(t, api)
	c, _ := openViewer(t, ctx, srv, p, "host-token", "Hana")
	c.send(t, welcomeMsg(host, "r", true))
	c.send(t, stateMsg(host.ID, nil, host))
	run(t, ctx, chromedp.Click(chromedp.ID("end-btn")))
	waitJS(t, ctx, `!document.getElementById('confirm').hidden`)
	run(t, ctx, chromedp.Click(chromedp.ID("confirm-ok")))
	select {
	case s := <-got:
		if s != "s1 Bearer host-token" {
			t.Errorf("DELETE %q", s)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("no DELETE")
	}
	c.send(t, map[string]any{"type": "bye", "code": "session_ended", "message": "You ended the session."})
	_ = c.ws.WriteControl(websocketClose(4000, "session_ended"))
	waitJS(t, ctx, `!document.getElementById('ended').hidden && document.getElementById('confirm').hidden`)
}
