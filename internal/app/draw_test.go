package app_test

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"

	"github.com/tandem-cobrowse/tandem/internal/app"
)

// A long page: the delivery card is the mark, at a known place in the document.
const drawPage = `<!doctype html><title>Checkout</title>
<body style="margin:0;font:16px system-ui,sans-serif;color:#1c2333;background:#f6f7fb">
<header style="padding:18px 32px;background:#0f3d5e;color:#fff;font-weight:700;font-size:20px">Northwind Outfitters</header>
<main style="padding:24px 32px;max-width:720px">
<h1 style="font-size:26px;margin:0 0 16px">Checkout</h1>
<p style="margin:0 0 24px;color:#4a5368">Check your address and pick how the parcel should travel.</p>
<section id=mark style="position:absolute;left:80px;top:320px;width:360px;height:120px;box-sizing:border-box;padding:18px 20px;border-radius:12px;background:#fff;border:1px solid #d6dbe6">
<b style="font-size:18px">Delivery: Express</b><p style="margin:8px 0 0;color:#4a5368">Arrives Thursday · €9.90</p></section>
<div style="height:3000px"></div>
<p>End of page</p></main>
<script>for (const k of ['pointerdown','mousedown','touchstart','click'])
  addEventListener(k, () => fetch('/event?k=' + k, {method: 'POST'}), true);</script>`

// The card's box in page CSS px, as drawPage places it.
var markBox = [4]float64{80, 320, 360, 120}

// eventPage serves drawPage and counts the input events it reports.
type eventPage struct {
	*httptest.Server
	mu     sync.Mutex
	events map[string]int
}

func newEventPage(t *testing.T) *eventPage {
	t.Helper()
	p := &eventPage{events: map[string]int{}}
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/event" {
			p.mu.Lock()
			p.events[r.URL.Query().Get("k")]++
			p.mu.Unlock()
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, drawPage)
	}))
	t.Cleanup(p.Close)
	return p
}

func (p *eventPage) count(k string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.events[k]
}

// drawView is how a viewer maps page px to its screen: the picture box's top-left
// corner, the scale and the page's scroll.
type drawView struct{ Left, Top, K, SX, SY float64 }

func viewOf(t *testing.T, ctx context.Context) drawView {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[drawView](`(() => {
		const r = document.getElementById('screen-wrap').getBoundingClientRect(), v = tandemDrawView();
		return {Left: r.left, Top: r.top, K: v.k, SX: v.sx, SY: v.sy};
	})()`))
	if err != nil {
		t.Fatalf("the viewer's drawing view: %v", err)
	}
	return v
}

// screenAt is page point (x, y) on the viewer's screen.
func (v drawView) screenAt(x, y float64) (float64, float64) {
	return v.Left + (x-v.SX)*v.K, v.Top + (y-v.SY)*v.K
}

// drawnBox is the on-screen box of the newest drawing matching sel in the viewer.
func drawnBox(t *testing.T, ctx context.Context, sel string) [4]float64 {
	t.Helper()
	b, err := chromedp.Run(ctx, chromedp.Evaluate[[]float64](fmt.Sprintf(`(() => {
		const all = document.querySelectorAll(%q);
		const r = all[all.length - 1].querySelector('.draw-ink').getBoundingClientRect();
		return [r.left, r.top, r.width, r.height];
	})()`, sel)))
	if err != nil || len(b) != 4 {
		t.Fatalf("the drawing %s: %v", sel, err)
	}
	return [4]float64{b[0], b[1], b[2], b[3]}
}

// drag draws with the mouse from a to b, through steps points.
func drag(t *testing.T, ctx context.Context, who string, a, b [2]float64, steps int) {
	t.Helper()
	held := func(p *input.DispatchMouseEventParams) { p.Button, p.Buttons = input.MouseButtonLeft, 1 }
	acts := []chromedp.Action[chromedp.Void]{
		chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, a[0], a[1]),
		chromedp.MouseEvent(input.DispatchMouseEventTypeMousePressed, a[0], a[1], held, chromedp.ClickCount(1)),
	}
	for i := 1; i <= steps; i++ {
		f := float64(i) / float64(steps)
		acts = append(acts, chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, a[0]+(b[0]-a[0])*f, a[1]+(b[1]-a[1])*f, held))
	}
	acts = append(acts, chromedp.MouseEvent(input.DispatchMouseEventTypeMouseReleased, b[0], b[1], chromedp.ButtonLeft, chromedp.ClickCount(1)))
	must(t, ctx, who+" draws", acts...)
}

// startDrawing turns on a viewer's drawing mode with shape (its button's aria-label).
func startDrawing(t *testing.T, ctx context.Context, who, shape string) {
	t.Helper()
	must(t, ctx, who+" turns drawing on", chromedp.Click(chromedp.ID("draw-btn")))
	must(t, ctx, who+" picks "+shape, chromedp.Click(chromedp.CSS(fmt.Sprintf(`.draw-opt[aria-label=%q]`, shape))))
	waitTrue(t, ctx, who+" is drawing", fmt.Sprintf(`document.getElementById('draw-btn').getAttribute('aria-pressed') === 'true' &&
		!document.getElementById('draw-dock').hidden && document.querySelector('.drawings').classList.contains('is-drawing') &&
		document.querySelector('.draw-opt[aria-label=%q]').getAttribute('aria-pressed') === 'true'`, shape))
}

// wheelParams is Input.dispatchMouseEvent's wheel, with deltaX sent even when 0
// (cdproto's own params leave a zero out, and Chromium then refuses the wheel).
type wheelParams struct {
	Type   string  `json:"type"`
	X      float64 `json:"x"`
	Y      float64 `json:"y"`
	DeltaX float64 `json:"deltaX"`
	DeltaY float64 `json:"deltaY"`
}

// wheel turns the mouse wheel at (x, y) by dy CSS px.
func wheel(t *testing.T, ctx context.Context, who string, x, y, dy float64) {
	t.Helper()
	cmd := cdp.Command[wheelParams, cdp.Empty]{Method: input.CommandDispatchMouseEvent}
	if _, err := chromedp.Call(ctx, cmd, wheelParams{Type: "mouseWheel", X: x, Y: y, DeltaY: dy}); err != nil {
		t.Fatalf("%s turns the wheel: %v", who, err)
	}
}

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol }

// TestDrawingInRealBrowsers: the host, in control and in Picture mode, highlights a card
// of a long page; the guest sees it on the card in Page mode. The host scrolls the page:
// the highlight moves with the card for both, by the scrolled amount. The guest answers
// with an arrow the host sees in Picture mode, then clears it; a guest on a phone draws
// with a finger. None of it reaches the page as input, and drawings fade by themselves.
func TestDrawingInRealBrowsers(t *testing.T) {
	provider := newEventPage(t)
	browser, host, links := hostOn(t, provider.URL+"/", app.Config{AllowHosts: allowed(provider.Server)})
	pictureMode(t, host, "the host")
	guest := openTab(t, browser, links["guest"].(string))
	join(t, guest, "Gus")
	waitCopy(t, guest, "the guest", "Delivery: Express")

	// The host highlights the card, 10 page px around it.
	startDrawing(t, host, "the host", "Highlight")
	hv := viewOf(t, host)
	x1, y1 := hv.screenAt(markBox[0]-10, markBox[1]-10)
	x2, y2 := hv.screenAt(markBox[0]+markBox[2]+10, markBox[1]+markBox[3]+10)
	drag(t, host, "the host", [2]float64{x1, y1}, [2]float64{x2, y2}, 6)
	const hostRect = `.drawing-rect[data-id^="d"]`
	waitTrue(t, host, "the host's highlight comes back from the server", fmt.Sprintf(`!!document.querySelector('%s')`, hostRect))
	waitTrue(t, guest, "the guest sees the highlight", fmt.Sprintf(`!!document.querySelector('%s')`, hostRect))

	// onCard waits until the highlight lies around the card for the viewer's view now:
	// the viewer redraws on the next animation frame after a picture or a scroll.
	onCard := func(ctx context.Context, who string) {
		t.Helper()
		var b [4]float64
		var v drawView
		defer func() {
			if t.Failed() {
				t.Logf("%s's highlight is at %v in view %+v", who, b, v)
			}
		}()
		eventually(t, who+"'s highlight lies around the card", func() bool {
			v, b = viewOf(t, ctx), drawnBox(t, ctx, hostRect)
			ex, ey := v.screenAt(markBox[0]-10, markBox[1]-10)
			return near(b[0], ex, 3) && near(b[1], ey, 3) && near(b[2], (markBox[2]+20)*v.K, 4) && near(b[3], (markBox[3]+20)*v.K, 4)
		})
	}
	onCard(host, "the host")
	onCard(guest, "the guest")
	// On the guest's screen (Page mode) that is around the card of the copy itself.
	card, err := chromedp.Run(guest, chromedp.Evaluate[[]float64](`(() => {
		const f = document.querySelector('.page-copy'), r = f.getBoundingClientRect(), k = r.width / f.offsetWidth;
		const c = f.contentDocument.getElementById('mark').getBoundingClientRect();
		return [r.left + c.left * k, r.top + c.top * k];
	})()`))
	if err != nil {
		t.Fatal(err)
	}
	gb := drawnBox(t, guest, hostRect)
	gv := viewOf(t, guest)
	if !near(gb[0]+10*gv.K, card[0], 3) || !near(gb[1]+10*gv.K, card[1], 3) {
		t.Errorf("the guest's highlight at %v is not around the copy's card at %v", gb, card)
	}
	shot(t, host, "draw-1-host-picture-before-scroll")
	shot(t, guest, "draw-2-guest-page-before-scroll")
	hostBefore, guestBefore := drawnBox(t, host, hostRect), drawnBox(t, guest, hostRect)
	if provider.count("pointerdown")+provider.count("mousedown")+provider.count("click") != 0 {
		t.Fatalf("drawing reached the page: %v", provider.events)
	}

	// Escape leaves drawing mode; the host's wheel scrolls the page.
	must(t, host, "the host presses Escape", chromedp.KeyEvent("\x1b"))
	waitTrue(t, host, "drawing mode is off", `document.getElementById('draw-btn').getAttribute('aria-pressed') === 'false' && document.getElementById('draw-dock').hidden`)
	cx, cy := hv.screenAt(600, 500)
	wheel(t, host, "the host", cx, cy, 200)
	// Both viewers settle on the page's new scroll, with the highlight still on the card.
	waitTrue(t, guest, "the guest's copy scrolled", `tandemDrawView().sy >= 150`)
	sy := viewOf(t, guest).SY
	waitTrue(t, host, "the host's picture scrolled as far", fmt.Sprintf(`tandemDrawView().sy === %v`, sy))
	onCard(host, "the host")
	onCard(guest, "the guest")
	shot(t, host, "draw-3-host-picture-after-scroll")
	shot(t, guest, "draw-4-guest-page-after-scroll")
	for who, c := range map[string]struct {
		ctx    context.Context
		before [4]float64
	}{"host": {host, hostBefore}, "guest": {guest, guestBefore}} {
		after := drawnBox(t, c.ctx, hostRect)
		v := viewOf(t, c.ctx)
		if moved := c.before[1] - after[1]; !near(moved, sy*v.K, 2) || !near(after[0], c.before[0], 1) {
			t.Errorf("the %s's highlight moved up %.1f px, want the scroll %.0f × %.3f = %.1f", who, moved, sy, v.K, sy*v.K)
		}
	}

	// The guest answers with an arrow to the card's title, in Page mode; the host sees it.
	startDrawing(t, guest, "the guest", "Arrow")
	gv = viewOf(t, guest)
	ax, ay := gv.screenAt(700, sy+260)
	bx, by := gv.screenAt(markBox[0]+markBox[2]+4, markBox[1]+30)
	drag(t, guest, "the guest", [2]float64{ax, ay}, [2]float64{bx, by}, 5)
	waitTrue(t, host, "the host sees the guest's arrow", `!!document.querySelector('.drawing-arrow .draw-tag')`)
	waitTrue(t, guest, "the guest's arrow came back", `!!document.querySelector('.drawing-arrow[data-id^="d"]')`)
	shot(t, host, "draw-5-host-picture-sees-arrow")
	shot(t, guest, "draw-6-guest-page-drew-arrow")
	v := viewOf(t, host)
	arrow := drawnBox(t, host, ".drawing-arrow")
	ex, _ := v.screenAt(markBox[0]+markBox[2]+4, 0)
	_, ey := v.screenAt(0, markBox[1]+30)
	if !near(arrow[0], ex, 12) || !near(arrow[1], ey, 12) {
		t.Errorf("the host sees the arrow's tip at %v, want near %.1f,%.1f", arrow, ex, ey)
	}

	// Clear mine takes the guest's arrow away for everyone; the host's highlight stays.
	must(t, guest, "the guest clears", chromedp.Click(chromedp.ID("draw-clear")))
	waitTrue(t, host, "the arrow is gone for the host", `!document.querySelector('.drawing-arrow')`)
	waitTrue(t, guest, "and for the guest", `!document.querySelector('.drawing-arrow')`)

	// A guest on a phone draws with a finger.
	phone := openTab(t, browser, links["guest"].(string))
	must(t, phone, "a phone", chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2), chromedp.EmulateMobile, chromedp.EmulateTouch))
	join(t, phone, "Lia")
	waitCopy(t, phone, "the phone", "Delivery: Express")
	startDrawing(t, phone, "the phone", "Freehand")
	pv := viewOf(t, phone)
	var pts []*input.TouchPoint
	for i := 0; i <= 12; i++ {
		x, y := pv.screenAt(markBox[0]+float64(i)*28, markBox[1]+markBox[3]+14+6*math.Sin(float64(i)))
		pts = append(pts, &input.TouchPoint{X: x, Y: y})
	}
	touches := []chromedp.Action[chromedp.Void]{chromedp.Action[chromedp.Void](func(ctx context.Context, _ *chromedp.Target) (chromedp.Void, error) {
		_, err := chromedp.Call(ctx, input.DispatchTouchEvent, input.DispatchTouchEventParams{Type: input.DispatchTouchEventTypeTouchStart, TouchPoints: pts[:1]})
		return chromedp.Void{}, err
	})}
	for _, p := range pts[1:] {
		touches = append(touches, func(ctx context.Context, _ *chromedp.Target) (chromedp.Void, error) {
			_, err := chromedp.Call(ctx, input.DispatchTouchEvent, input.DispatchTouchEventParams{Type: input.DispatchTouchEventTypeTouchMove, TouchPoints: []*input.TouchPoint{p}})
			return chromedp.Void{}, err
		})
	}
	touches = append(touches, func(ctx context.Context, _ *chromedp.Target) (chromedp.Void, error) {
		_, err := chromedp.Call(ctx, input.DispatchTouchEvent, input.DispatchTouchEventParams{Type: input.DispatchTouchEventTypeTouchEnd, TouchPoints: []*input.TouchPoint{}})
		return chromedp.Void{}, err
	})
	must(t, phone, "the phone's finger draws", touches...)
	waitTrue(t, host, "the host sees the phone's stroke", `!!document.querySelector('.drawing-free')`)
	waitTrue(t, phone, "the phone's stroke came back", `!!document.querySelector('.drawing-free[data-id^="d"]')`)
	shot(t, phone, "draw-7-phone-page-freehand")
	shot(t, host, "draw-8-host-picture-sees-freehand")

	// Nothing drawn reached the page; the host's own click, through its input, does.
	if n := provider.count("pointerdown") + provider.count("touchstart"); n != 0 {
		t.Fatalf("drawing reached the page: %v", provider.events)
	}
	cx, cy = viewOf(t, host).screenAt(600, sy+600)
	must(t, host, "the host clicks the page", chromedp.MouseClickXY(cx, cy))
	eventually(t, "the host's click reaches the page", func() bool { return provider.count("click") == 1 })
	if n := provider.count("pointerdown") + provider.count("touchstart"); n != 1 {
		t.Errorf("the page got %v, want only the host's click", provider.events)
	}

	// Drawings fade out by themselves.
	waitTrue(t, guest, "the drawings fade away", `!document.querySelector('.drawing')`)
	waitTrue(t, host, "for the host too", `!document.querySelector('.drawing')`)
}
