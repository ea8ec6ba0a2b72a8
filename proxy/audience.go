package proxy

import (
	"bytes"
	"image"
	"image/jpeg"
	"sync"
	"time"

	"github.com/tandem-cobrowse/tandem/mask"
	"github.com/tandem-cobrowse/tandem/renderer"
	"github.com/tandem-cobrowse/tandem/stream"
)

// audienceID names the viewers who see the same picture: the same mask selectors (the
// empty key: unmasked) and the same verdict on whether the page is hidden from them.
// Each audience's picture is made once per frame and shared by all its viewers.
type audienceID struct {
	masks  string
	hidden bool
}

// key names the audience in a string, the same for the same audience.
func (id audienceID) key() string {
	if id.hidden {
		return "hidden\x00" + id.masks
	}
	return id.masks
}

// audience is what a session keeps of one audience: its newest picture for joiners and,
// for a masked one, the painter that makes its pictures off the session's goroutine.
type audience struct {
	last    *stream.Frame
	lastSeq uint64
	painter chan renderer.Frame // newest-wins slot of the painter goroutine; nil if unmasked
}

// audienceOf is the audience of a role on the current page.
func (s *Session) audienceOf(role Role) audienceID {
	r := s.rules.For(role)
	return audienceID{masks: mask.Key(r.MaskSelectors()), hidden: s.pageHidden(r)}
}

// navigationOverlap is how long after a change of URL a page rule also holds for the
// previous URL: a frame of the old page can still be on its way after the new page's
// state arrived, and must not reach a role the old page was hidden from.
const navigationOverlap = time.Second

func (s *Session) pageHidden(r RoleRules) bool {
	if len(r.HidePages) == 0 {
		return false
	}
	urls := s.pageURLs()
	// The newest picture's documents: a hidden page embedded in a frame of another page
	// hides the picture too, and a picture whose documents are unknown is hidden.
	if f := s.st.lastRaw; f != nil {
		if !f.DocumentsKnown {
			return true
		}
		urls = append(urls, f.Documents...)
	}
	return matchesAny(r.HidePages, urls)
}

// pageURLs are the addresses the top page has had lately: its own, and the one before
// for navigationOverlap after a change.
func (s *Session) pageURLs() []string {
	urls := []string{s.st.page.URL}
	if s.now().Sub(s.st.urlChangedAt) < navigationOverlap {
		urls = append(urls, s.st.prevURL)
	}
	return urls
}

// copyHidden reports whether a page copy of url is hidden from a role with rules r. The
// copy holds the top document only (frames are regions of the picture, hidden with it).
func (s *Session) copyHidden(r RoleRules, url string) bool {
	return len(r.HidePages) > 0 && matchesAny(r.HidePages, append(s.pageURLs(), url))
}

func matchesAny(patterns, urls []string) bool {
	for _, p := range patterns {
		for _, u := range urls {
			if MatchURL(p, u) {
				return true
			}
		}
	}
	return false
}

func (s *Session) audience(id audienceID) *audience {
	a := s.st.audiences[id]
	if a == nil {
		a = &audience{}
		if id.masks != "" && !id.hidden {
			a.painter = make(chan renderer.Frame, 1)
			go s.paint(id, a.painter)
		}
		s.st.audiences[id] = a
	}
	return a
}

// serve makes f's picture for audience id and delivers it to the audience's viewers:
// at once for the unmasked and hidden audiences, through the painter for masked ones.
func (s *Session) serve(id audienceID, f renderer.Frame) {
	a := s.audience(id)
	if a.painter != nil {
		select { // newest wins: a painter that falls behind skips stale frames
		case <-a.painter:
		default:
		}
		a.painter <- f
		return
	}
	h := header(f)
	jpg := f.JPEG
	if id.hidden {
		h.Hidden, jpg = true, blankJPEG()
	} else if s.st.plain != nil && s.st.plainSeq == f.Seq {
		s.deliver(id, f.Seq, s.st.plain) // prepared once for every unmasked viewer
		return
	}
	fr, err := stream.NewFrame(h, jpg)
	if err != nil {
		s.log.Warn("preparing frame", "err", err)
		return
	}
	if !id.hidden {
		s.st.plain, s.st.plainSeq = fr, f.Seq
	}
	s.deliver(id, f.Seq, fr)
}

// deliver hands an audience's picture of frame seq to its connected viewers.
func (s *Session) deliver(id audienceID, seq uint64, fr *stream.Frame) {
	a := s.audience(id)
	if seq < a.lastSeq {
		return // a newer picture went out already
	}
	a.last, a.lastSeq = fr, seq
	n, skipped := 0, 0
	give := func(p *participant) {
		if p.conn != nil && s.rules.For(p.role).View && s.getsFrames(p) && s.audienceOf(p.role) == id {
			n++
			if sendFrame(p.conn, id, fr) {
				skipped++
			}
		}
	}
	// The controller's writer wakes first: their input's effect is what they wait for.
	// The others start one further along each frame: writers woken last are the ones
	// still busy when the next frame comes, and in a fixed order the same viewers
	// would skip every time.
	controller := s.st.control.Controller
	if p, ok := s.st.participants[controller]; ok {
		give(p)
	}
	if k := len(s.st.order); k > 0 {
		s.st.fanStart = (s.st.fanStart + 1) % k
		for i := range k {
			if pid := s.st.order[(s.st.fanStart+i)%k]; pid != controller {
				give(s.st.participants[pid])
			}
		}
	}
	s.st.pace.served(s.now(), n, skipped)
	if s.st.rec != nil && id == s.recordingAudience() {
		s.recordFrame(fr)
	}
}

// paint is the painter of one masked audience: it paints each frame's boxes (or withholds
// the frame when they are not known) and hands the picture back to the session.
func (s *Session) paint(id audienceID, in <-chan renderer.Frame) {
	selectors := mask.Selectors(id.masks)
	for {
		var f renderer.Frame
		select {
		case f = <-in:
		case <-s.ctx.Done():
			return
		}
		w, h, err := mask.ImageSize(f.JPEG)
		if err != nil {
			s.log.Warn("masked frame", "err", err)
			continue
		}
		start := time.Now()
		jpg, ok, err := mask.ForAudience(f, selectors, w, h, s.params.JPEGQuality)
		if err != nil || !ok {
			// Better a skipped frame than a leak: unknown boxes withhold the frame.
			s.metrics.FramesWithheld.Inc()
			continue
		}
		hd := header(f)
		if len(jpg) > 0 && len(f.JPEG) > 0 && &jpg[0] != &f.JPEG[0] {
			hd.Masked = true
			s.metrics.FramesMasked.Inc()
			s.metrics.MaskPaintSeconds.Observe(time.Since(start).Seconds())
		}
		fr, err := stream.NewFrame(hd, jpg)
		if err != nil {
			continue
		}
		_ = s.exec(func() { s.deliver(id, f.Seq, fr) })
	}
}

func header(f renderer.Frame) stream.FrameHeader {
	return stream.FrameHeader{Seq: f.Seq, Width: f.Width, Height: f.Height, ScrollX: f.ScrollX, ScrollY: f.ScrollY,
		TS: f.Timestamp.UnixMilli()}
}

// blankJPEG is the placeholder picture of a hidden page; the viewer draws a notice over it.
var blankJPEG = sync.OnceValue(func() []byte {
	img := image.NewGray(image.Rect(0, 0, 16, 10))
	for i := range img.Pix {
		img.Pix[i] = 0xe5
	}
	var buf bytes.Buffer
	_ = jpeg.Encode(&buf, img, &jpeg.Options{Quality: 50})
	return buf.Bytes()
})
