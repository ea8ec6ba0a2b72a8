package renderer

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
)

// Chromium's screencast sizes its pictures by the scale of the screen the tab's window is
// on, not by the emulated device scale factor: on a 1x screen a participant at DPR 2 would
// get pictures at CSS-pixel size, softer than their screen. So Chromium is given one
// virtual screen per scale (--screen-info), side by side, and each tab's window sits on
// the screen of the smallest scale at least its viewport's DPR; the screencast's maximum
// size brings a picture down to the exact device size.
//
// Above 2x there is no screen: Chromium 156's screencast sends nothing at all from a
// screen of scale 2.5, 3 or 4, so a participant at DPR 3 gets pictures at 2x.
var screenScales = []float64{1, 1.5, 2}

// screenSpan is each virtual screen's width and height in pixels, and how far apart their
// origins are: at 2x it is still 2048 px wide, room for a tab's window (chromium.go).
const screenSpan = 4096

// screenInfo is the --screen-info value that declares the screens.
func screenInfo() string {
	var b strings.Builder
	for i, s := range screenScales {
		fmt.Fprintf(&b, "{%d,0 %dx%d devicePixelRatio=%s}", i*screenSpan, screenSpan, screenSpan,
			strconv.FormatFloat(s, 'f', -1, 64))
	}
	return b.String()
}

// screenFor is the index of the screen for a viewport at dpr.
func screenFor(dpr float64) int {
	for i, s := range screenScales {
		if s >= dpr {
			return i
		}
	}
	return len(screenScales) - 1
}

// placeWindow moves the tab's window to the screen for dpr, if it is not there already.
// The caller holds vpMu.
func (t *Tab) placeWindow(ctx context.Context, dpr float64) error {
	screen := screenFor(dpr)
	if t.window != 0 && t.screen == screen {
		return nil
	}
	if t.window == 0 {
		w, err := cdp.Call(ctx, t.cb, browser.GetWindowForTarget, browser.GetWindowForTargetParams{TargetID: t.targetID})
		if err != nil {
			return t.wrapErr(browser.GetWindowForTarget.Method, err)
		}
		t.window = w.WindowID
	}
	left, top := int64(screen*screenSpan+10), int64(10)
	if _, err := cdp.Call(ctx, t.cb, browser.SetWindowBounds, browser.SetWindowBoundsParams{
		WindowID: t.window, Bounds: &browser.Bounds{Left: &left, Top: &top},
	}); err != nil {
		return t.wrapErr(browser.SetWindowBounds.Method, err)
	}
	t.screen = screen
	return nil
}
