package ui_test

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// TestScreenshots writes screenshots of the start page and the viewer at laptop and
// phone sizes into $UI_SHOTS (for a human to look at); skipped when it is unset.
func TestScreenshots(t *testing.T) {
	dir := os.Getenv("UI_SHOTS")
	if dir == "" {
		t.Skip("set UI_SHOTS=/tmp/ui-shots to write screenshots")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	devices := []struct {
		name          string
		w, h          int64
		scale         float64
		mobile, touch bool
	}{
		{"laptop", 1280, 800, 1, false, false},
		{"phone", 390, 844, 2, true, true},
	}
	for _, d := range devices {
		t.Run(d.name, func(t *testing.T) {
			emulate := func() chromedp.Action[chromedp.Void] {
				opts := []chromedp.EmulateViewportOption{chromedp.EmulateScale(d.scale)}
				if d.mobile {
					opts = append(opts, chromedp.EmulateMobile, chromedp.EmulateTouch)
				}
				return chromedp.EmulateViewport(d.w, d.h, opts...)
			}
			shot := func(ctx context.Context, name string) {
				t.Helper()
				// Let transitions and one-shot animations finish; loops run for ever.
				waitJS(t, ctx, `document.getAnimations().every((a) => a.playState !== 'running' || a.effect.getComputedTiming().iterations === Infinity)`)
				png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
				if err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(dir, name+"-"+d.name+".png"), png, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			api := map[string]http.HandlerFunc{
				"GET /api/v1/config": func(w http.ResponseWriter, r *http.Request) {
					_, _ = w.Write([]byte(`{"demoURL":"http://127.0.0.1:8081/","apiKeyRequired":false}`))
				},
				"GET /shop/": func(w http.ResponseWriter, r *http.Request) {
					http.ServeFile(w, r, "testdata/shop.html")
				},
			}
			srv, p := testServer(t, api)

			ctx := newTab(t)
			run(t, ctx, emulate(), chromedp.Navigate(srv.URL+"/"))
			waitJS(t, ctx, `document.getElementById('url').value !== ''`)
			shot(ctx, "start")

			run(t, ctx, chromedp.Navigate(srv.URL+"/s/s1#token=host-token"), chromedp.WaitVisible(chromedp.ID("join-name")))
			shot(ctx, "join")
			run(t, ctx, chromedp.SendKeys(chromedp.ID("join-name"), host.Name), chromedp.Click(chromedp.CSS("#join-form button")))
			c := p.accept(t)
			hello := c.expect(t, "hello", nil)
			c.send(t, welcomeMsg(host, "r", true))
			me := host
			c.send(t, stateMsg(agent.ID, []string{guest.ID}, me, agent, guest, person{ID: "p4", Name: "Sam Support", Role: "agent", Color: "#db2777", Priority: 50, Away: true}))

			// The frame is a real page rendered at the viewer's viewport.
			vp := hello.obj("viewport")
			shop := newTab(t)
			run(t, shop,
				chromedp.EmulateViewport(int64(vp.num("width")), int64(vp.num("height")), chromedp.EmulateScale(vp.num("dpr"))),
				chromedp.Navigate(srv.URL+"/shop/"))
			res, err := chromedp.Run(shop, func(ctx context.Context, tg *chromedp.Target) (page.CaptureScreenshotResult, error) {
				q := int64(85)
				return cdp.Call(ctx, tg, page.CaptureScreenshot, page.CaptureScreenshotParams{Format: page.CaptureScreenshotFormatJpeg, Quality: &q})
			})
			if err != nil {
				t.Fatal(err)
			}
			c.sendFrame(t, 1, int(vp.num("width")), int(vp.num("height")), res.Data)
			c.send(t, map[string]any{"type": "pointer", "participant": agent.ID, "x": 0.78, "y": 0.62, "visible": true})
			c.send(t, map[string]any{"type": "control_request", "participant": guest.ID})
			waitJS(t, ctx, `!document.getElementById('screen-wrap').hidden`)
			shot(ctx, "viewer")

			if !d.mobile {
				// The agent drives from a phone: the laptop letterboxes the tall picture.
				run(t, shop, chromedp.EmulateViewport(390, 760, chromedp.EmulateScale(2), chromedp.EmulateMobile))
				res, err := chromedp.Run(shop, func(ctx context.Context, tg *chromedp.Target) (page.CaptureScreenshotResult, error) {
					q := int64(85)
					return cdp.Call(ctx, tg, page.CaptureScreenshot, page.CaptureScreenshotParams{Format: page.CaptureScreenshotFormatJpeg, Quality: &q})
				})
				if err != nil {
					t.Fatal(err)
				}
				c.sendFrame(t, 2, 390, 760, res.Data)
				c.send(t, map[string]any{"type": "pointer", "participant": agent.ID, "x": 0.6, "y": 0.35, "visible": true})
				waitJS(t, ctx, `Math.abs(document.getElementById('screen').getBoundingClientRect().width / document.getElementById('screen').getBoundingClientRect().height - 390/760) < 0.01`)
				shot(ctx, "letterbox")
			}

			if d.mobile {
				run(t, ctx, chromedp.Click(chromedp.ID("panel-btn")))
				waitJS(t, ctx, `document.getElementById('panel').classList.contains('is-open')`)
				shot(ctx, "viewer-panel")
				run(t, ctx, chromedp.Click(chromedp.ID("panel-close")))
			}

			c.send(t, stateMsg(me.ID, nil, me, agent, guest))
			c.send(t, map[string]any{"type": "dialog", "id": "d1", "kind": "confirm", "message": "Remove the discount code SPRING15 from your cart?", "expiresAt": "2099-01-01T00:00:00Z"})
			waitJS(t, ctx, `!document.getElementById('dialog').hidden`)
			shot(ctx, "dialog")

			c.send(t, map[string]any{"type": "bye", "code": "session_ended", "message": "The host ended the session."})
			_ = c.ws.WriteControl(websocketClose(4000, "session_ended"))
			waitJS(t, ctx, `!document.getElementById('ended').hidden`)
			shot(ctx, "ended")
		})
	}
}
