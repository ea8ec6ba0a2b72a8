package renderer

import (
	"context"
	"image"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
)

// A picture-sized screencast costs its session about 10 MB in Chromium while it runs:
// two frame buffers in the GPU process's capturer and one in the browser process, kept
// for the next frame. A still page (most sessions, most of the time) sends no frame, so
// after Config.DozeAfter with no frame and no input the screencast goes on at thumbnail
// size, which costs almost nothing and still reports every change of the page: Chromium
// captures on damage, however small. The screencast is back at full size before the
// next input is injected, and as soon as a thumbnail shows that the page changed; the
// first full frame is the current picture.
//
// The one thumbnail that is not news is the first after the thumbnail screencast
// starts: a start always sends the current picture. A change in the few milliseconds
// between the full screencast's stop and that start would be in it and so wait for the
// next change or input; the page had been still for DozeAfter before.
const (
	// DozeAfter is how long, by default, a page stays still (no frame, no input) before
	// its screencast dozes.
	DozeAfter = 5 * time.Second
	// thumbSize bounds a thumbnail's sides, in device px. A full picture is never this
	// small (Viewport.clamp: at least 200 CSS px at a DPR of at least 0.5).
	thumbSize = 48
)

// stir notes activity and, when the screencast dozes, brings it back to full size
// before returning, so that what the caller does next is captured in full.
func (t *Tab) stir(ctx context.Context) {
	t.active.Store(time.Now().UnixNano())
	if t.dozing.Load() {
		t.rouse(ctx)
	}
}

// rouse restarts a dozing screencast at full size.
func (t *Tab) rouse(ctx context.Context) {
	cctx, cancel, err := t.callCtx(ctx)
	if err != nil {
		return
	}
	defer cancel()
	t.vpMu.Lock()
	defer t.vpMu.Unlock()
	if !t.dozing.Load() {
		return
	}
	t.active.Store(time.Now().UnixNano())
	if _, err := cdp.Call(cctx, t.target, page.StopScreencast, cdp.Empty{}); err != nil {
		t.log.Debug("waking the screencast", "err", err)
		return
	}
	if err := t.startScreencast(cctx, t.vp); err != nil {
		t.log.Debug("waking the screencast", "err", err)
	}
}

// doze turns a still page's screencast down to thumbnails.
func (t *Tab) doze() {
	ctx, cancel := context.WithTimeout(t.ctx, t.cfg.CallTimeout)
	defer cancel()
	t.vpMu.Lock()
	defer t.vpMu.Unlock()
	if t.dozing.Load() || t.stale.Load() || !t.still() {
		return
	}
	if _, err := cdp.Call(ctx, t.target, page.StopScreencast, cdp.Empty{}); err != nil {
		t.log.Debug("dozing", "err", err)
		return
	}
	q := int64(t.cfg.JPEGQuality)
	t.setDozing(true)
	t.thumbStarted.Store(true)
	if _, err := cdp.Call(ctx, t.target, page.StartScreencast, page.StartScreencastParams{
		Format:    page.StartScreencastFormatJpeg,
		Quality:   &q,
		MaxWidth:  thumbSize,
		MaxHeight: thumbSize,
	}); err != nil {
		t.log.Debug("dozing", "err", err)
		// Without a screencast nothing would ever wake it: back to full size.
		if err := t.startScreencast(ctx, t.vp); err != nil && t.ctx.Err() == nil {
			t.log.Warn("restarting the screencast", "err", err)
		}
	}
}

// setDozing notes whether the screencast dozes, in the tab and the Browser's count.
func (t *Tab) setDozing(on bool) {
	if t.dozing.Swap(on) != on {
		if on {
			t.dozers.Add(1)
		} else {
			t.dozers.Add(-1)
		}
	}
}

// still reports whether the page has had no frame and no input for Config.DozeAfter.
func (t *Tab) still() bool {
	return time.Since(time.Unix(0, t.active.Load())) >= t.cfg.DozeAfter
}

// thumbnail reports whether a picture of size pic is a dozing screencast's thumbnail,
// and wakes the screencast when the thumbnail shows a change.
func (t *Tab) thumbnail(pic image.Config) bool {
	if pic.Width > thumbSize || pic.Height > thumbSize {
		return false
	}
	if !t.thumbStarted.CompareAndSwap(true, false) {
		select {
		case t.wake <- struct{}{}:
		default:
		}
	}
	return true
}

// dozer dozes the screencast of a still page and wakes it when a thumbnail says the page
// changed.
func (t *Tab) dozer() {
	defer t.wg.Done()
	if t.cfg.DozeAfter < 0 {
		return
	}
	tick := time.NewTicker(min(time.Second, max(t.cfg.DozeAfter/4, 10*time.Millisecond)))
	defer tick.Stop()
	for {
		select {
		case <-t.ctx.Done():
			return
		case <-t.wake:
			t.rouse(t.ctx)
		case <-tick.C:
			if !t.dozing.Load() && t.hadFrame.Load() && t.still() {
				t.doze()
			}
		}
	}
}
