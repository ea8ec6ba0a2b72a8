package renderer

import (
	"context"

	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
)

// refreshPause bounds how often a withheld picture asks Chromium for a fresh frame.
const refreshPause = 150 * time.Millisecond

// A frame whose mask boxes were not known is withheld from masked audiences. On a page
// that then goes quiet Chromium sends no further frame, and masked viewers would keep an
// old picture (or none). So once the tracker's boxes are known again, the screencast is
// restarted, which makes Chromium send the current picture, now with known boxes.

// The same goes for a page's first paint: the frames before it show a blank tab, and a
// page that paints once and goes quiet would leave viewers with one of those.

// frameWithheld notes whether the newest frame is no good picture: its boxes were
// unknown, or the page had not painted.
func (t *Tab) frameWithheld(unknown bool) { t.stale.Store(unknown) }

// masksKnown is called by the tracker when an OK report arrives; it must not block.
func (t *Tab) masksKnown() {
	if !t.stale.Load() {
		return
	}
	select {
	case t.refresh <- struct{}{}:
	default:
	}
}

// pagePainted is called by the document tracker when the page has painted; it must not
// block. Every frame before it is withheld from a viewer's first picture, so the current
// picture is asked for at once.
func (t *Tab) pagePainted() {
	t.stale.Store(true)
	select {
	case t.refreshNow <- struct{}{}:
	default:
	}
}

// refresher restarts the screencast when asked, at most every refreshPause unless the
// page has just painted.
func (t *Tab) refresher() {
	defer t.wg.Done()
	for {
		pause := refreshPause
		select {
		case <-t.ctx.Done():
			return
		case <-t.refresh:
		case <-t.refreshNow:
			pause = 0
		}
		select {
		case <-t.ctx.Done():
			return
		case <-time.After(pause):
		}
		if !t.stale.Load() {
			continue // a known frame came by itself meanwhile
		}
		ctx, cancel := context.WithTimeout(t.ctx, t.cfg.CallTimeout)
		t.vpMu.Lock()
		// A start while the screencast runs sends nothing new: stop it first, and the
		// start sends the current picture.
		_, err := cdp.Call(ctx, t.target, page.StopScreencast, cdp.Empty{})
		if err == nil {
			err = t.startScreencast(ctx, t.vp)
		}
		t.vpMu.Unlock()
		cancel()
		if err != nil && t.ctx.Err() == nil {
			t.log.Debug("refreshing the screencast", "err", err)
		}
	}
}
