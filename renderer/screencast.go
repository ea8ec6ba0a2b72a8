package renderer

import (
	"bytes"
	"context"
	"image"
	"image/jpeg"
	"iter"
	"math"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
)

// startScreencast starts JPEG frames at the device pixel size of vp.
// The caller holds vpMu.
func (t *Tab) startScreencast(ctx context.Context, vp Viewport) error {
	q := int64(t.cfg.JPEGQuality)
	if _, err := cdp.Call(ctx, t.target, page.StartScreencast, page.StartScreencastParams{
		Format:    page.StartScreencastFormatJpeg,
		Quality:   &q,
		MaxWidth:  int64(float64(vp.Width) * vp.DPR),
		MaxHeight: int64(float64(vp.Height) * vp.DPR),
	}); err != nil {
		return t.wrapErr(page.StartScreencast.Method, err)
	}
	t.setDozing(false)
	return nil
}

// screencast acks every frame at once (the iterator runs on its own
// goroutine, not in the tab's event loop) and hands it over newest-wins. A
// frame's mask boxes are settled by the settler meanwhile: viewers who see
// masked content get the frame without waiting for them.
func (t *Tab) screencast(frames iter.Seq2[page.EventScreencastFrame, error]) {
	defer t.wg.Done()
	for ev, err := range frames {
		if err != nil {
			return
		}
		arrived := time.Now()
		t.ack(ev.SessionID)
		snap := t.masks.take(t.ctx, &ev) // every frame has its snapshot, thumbnails too
		if ev.Metadata == nil || len(ev.Data) == 0 {
			continue
		}
		pic, err := jpeg.DecodeConfig(bytes.NewReader(ev.Data))
		if err != nil || t.thumbnail(pic) {
			continue
		}
		if misshapen(pic, ev.Metadata) {
			// Taken while the tab's window moved to another screen (screens.go): not the
			// viewport's picture. Ask for the current one.
			t.log.Debug("screencast picture of the wrong shape", "width", pic.Width, "height", pic.Height,
				"css_width", ev.Metadata.DeviceWidth, "css_height", ev.Metadata.DeviceHeight)
			t.frameWithheld(true)
			select {
			case t.refresh <- struct{}{}:
			default:
			}
			continue
		}
		t.active.Store(arrived.UnixNano())
		m := ev.Metadata
		ts := time.Now()
		if m.Timestamp > 0 {
			ts = time.UnixMicro(int64(float64(m.Timestamp) * 1e6))
		}
		f := Frame{
			Seq:       t.frameSeq.Add(1),
			JPEG:      ev.Data,
			Width:     m.DeviceWidth,
			Height:    m.DeviceHeight,
			ScrollX:   m.ScrollOffsetX,
			ScrollY:   m.ScrollOffsetY,
			Timestamp: ts,
			Arrived:   arrived,
			Documents: snap.docs,
			// The page's own document must be among them, or the pairing went wrong.
			DocumentsKnown: snap.paired && len(snap.docs) > 0,
			// Until Chromium says so, a picture that is not the blank tab's white shows
			// the page's first paint (blank.go).
			Painted: snap.painted || (len(snap.docs) > 0 && !blankPicture(ev.Data)),
		}
		if snap.need > 0 {
			f.masks = &pendingMasks{done: make(chan struct{}), gone: t.ctx.Done()}
			select {
			case t.settling <- settleJob{snap: snap, meta: m, p: f.masks}:
			default: // the settler is far behind: this frame is not vouched for
				close(f.masks.done)
				t.frameWithheld(true)
			}
		} else {
			t.frameWithheld(t.masks.configured() || !f.Painted)
		}
		if f.Width > 0 && f.Height > 0 {
			t.geom.Store(&geometry{f.Width, f.Height})
			t.hadFrame.Store(true)
		}
		t.offer(f)
	}
}

// misshapen reports whether a picture's shape is not its viewport's, beyond rounding.
func misshapen(pic image.Config, m *page.ScreencastFrameMetadata) bool {
	if m.DeviceWidth <= 0 || m.DeviceHeight <= 0 {
		return false
	}
	want := m.DeviceWidth / m.DeviceHeight
	got := float64(pic.Width) / float64(pic.Height)
	return math.Abs(got-want) > 0.03*want
}

// pendingMasks is a frame's MaskState while the page measures after it.
type pendingMasks struct {
	done  chan struct{} // closed once state is set
	gone  <-chan struct{}
	state MaskState
}

type settleJob struct {
	snap maskSnap
	meta *page.ScreencastFrameMetadata
	p    *pendingMasks
}

// settler settles the mask boxes of frames, in their order.
func (t *Tab) settler() {
	defer t.wg.Done()
	for {
		select {
		case <-t.ctx.Done():
			return
		case job := <-t.settling:
			reports := t.masks.settle(t.ctx, job.snap)
			job.p.state = maskState(job.snap.sels, reports, job.meta)
			close(job.p.done)
			t.frameWithheld(!job.p.state.Known || !job.snap.painted)
		}
	}
}

// MaskState is where masked elements are in this picture. It waits, at most a few
// hundred milliseconds, until the page has measured after the frame; a frame it
// cannot vouch for is not Known.
func (f Frame) MaskState() MaskState {
	if f.masks == nil {
		return f.Masks
	}
	select {
	case <-f.masks.done:
		return f.masks.state
	case <-f.masks.gone:
		select {
		case <-f.masks.done:
			return f.masks.state
		default:
			return MaskState{}
		}
	}
}

func (t *Tab) ack(session int64) {
	ctx, cancel := context.WithTimeout(t.ctx, t.cfg.CallTimeout)
	defer cancel()
	if _, err := cdp.Call(ctx, t.target, page.ScreencastFrameAck, page.ScreencastFrameAckParams{SessionID: session}); err != nil && t.ctx.Err() == nil {
		t.log.Debug("screencast ack failed", "err", err)
	}
}

// offer puts f in the one-slot channel, replacing a frame nobody took. This
// goroutine is the only sender, so the second send cannot block.
func (t *Tab) offer(f Frame) {
	select {
	case t.frames <- f:
		return
	default:
	}
	select {
	case <-t.frames:
	default:
	}
	t.frames <- f
}
