package renderer

import (
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/inspector"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
)

// Rect is a box in CSS px, relative to the viewport a frame shows.
type Rect struct{ X, Y, W, H float64 }

// MaskState says where the elements that match the tracked selectors are in
// one frame.
type MaskState struct {
	// Known is false when the boxes for this frame cannot be vouched for
	// (no selectors set, a new document with no report yet, an element moving
	// with no fresh report): withhold the frame from masked audiences.
	Known bool
	// Boxes per selector cover every matching element as painted in this
	// frame. A cross-origin iframe, whose inside cannot be read, counts as a
	// match of every selector.
	Boxes map[string][]Rect
	// Focused lists the selectors whose elements contain the focused element.
	Focused []string
}

// The tracker lives in its own isolated world with its own binding; see
// masks.js for how it measures.
const (
	maskWorld   = "tandem-masks"
	maskBinding = "tandemMasks"
	// stillMargin and moveMargin grow every box, in CSS px: antialiasing and
	// sub-pixel layout at rest; at least a frame's lag while things move.
	stillMargin = 2
	moveMargin  = 6
	// maskStale: a frame this much newer than the newest report of a moving
	// element shows a position nobody measured.
	maskStale = 100 * time.Millisecond
	// maskHistory reports are unioned while something moves: the picture
	// may lag the newest layout by a commit or two.
	maskHistory = 8
	// snapWait bounds how long a frame waits for its snapshot; the listener
	// records it right after the frame is published, so this is only hit if
	// the listener never ran.
	snapWait = 2 * time.Second
	maxSnaps = 256
)

//go:embed masks.js
var maskJS string

// maskReport is one message of masks.js. Box: x, y, w, h, mode (0: document
// coordinates, 1: viewport coordinates).
type maskReport struct {
	Doc     string                  `json:"doc"`
	Cfg     uint64                  `json:"cfg"`
	V       uint64                  `json:"v"`
	T       float64                 `json:"t"` // ms since the Unix epoch, when measured
	Moving  bool                    `json:"moving"`
	OK      bool                    `json:"ok"`
	Err     string                  `json:"err"`
	Boxes   map[string][][5]float64 `json:"boxes"`
	Focused []string                `json:"focused"`
}

// maskSnap is what the tracker knew when a screencast frame arrived.
type maskSnap struct {
	sels    []string
	known   bool
	reports []*maskReport // oldest first, newest last
	stamp   float64       // the frame's timestamp, to check the pairing
}

// maskTracker follows the reports of masks.js. Its writer is chromedp's read
// loop (through onEvent), so reports, navigations and frames are seen in the
// order they arrived from Chromium; the mutex only lets readers take copies.
type maskTracker struct {
	mu        sync.Mutex
	cfg       uint64   // generation of sels; 0: never configured
	sels      []string // immutable once stored
	dead      map[string]bool
	hist      []*maskReport // of the current document and cfg, newest last
	navigated bool          // a document committed and has not reported yet
	snaps     []maskSnap    // of frames the screencast goroutine has not taken
	snapAdded chan struct{} // closed and replaced whenever a snap is added

	onKnown func() // told of every OK report; must not block

	setMu     sync.Mutex // serialises SetMaskSelectors
	installed bool
	scriptID  page.ScriptIdentifier
}

// observe takes the events of the tab that matter to masks, in arrival order.
func (m *maskTracker) observe(ev any) {
	switch ev := ev.(type) {
	case *runtime.EventBindingCalled:
		if ev.Name == maskBinding {
			m.report(ev.Payload)
		}
	case *page.EventFrameNavigated:
		if ev.Frame != nil && ev.Frame.ParentID == "" {
			m.newDocument()
		}
	case *inspector.EventTargetCrashed:
		m.newDocument()
	case *page.EventScreencastFrame:
		m.snap(ev)
	}
}

func (m *maskTracker) report(payload string) {
	var r maskReport
	if err := json.Unmarshal([]byte(payload), &r); err != nil {
		r = maskReport{} // unreadable: not OK
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.dead[r.Doc] || r.Cfg != m.cfg {
		return // a gone document, or selectors that are no longer asked for
	}
	if len(m.hist) > 0 && m.hist[len(m.hist)-1].Doc != r.Doc {
		m.bury(m.hist[len(m.hist)-1].Doc)
		m.hist = nil
	}
	m.navigated = false
	m.hist = append(m.hist, &r)
	if r.OK && m.onKnown != nil {
		m.onKnown()
	}
	if len(m.hist) > maskHistory {
		m.hist = slices.Clone(m.hist[len(m.hist)-maskHistory:])
	}
}

// newDocument forgets the boxes of the old document: until the new one
// reports, no frame is known.
func (m *maskTracker) newDocument() {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, r := range m.hist {
		m.bury(r.Doc)
	}
	m.hist = nil
	m.navigated = true
}

// bury marks a document gone; its late reports are ignored. The set is
// bounded: a document thousands of navigations old sends nothing any more.
func (m *maskTracker) bury(doc string) {
	if m.dead == nil || len(m.dead) > 1024 {
		m.dead = map[string]bool{}
	}
	m.dead[doc] = true
}

func (m *maskTracker) configure(sels []string) uint64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.cfg++
	m.sels = sels
	m.hist = nil
	return m.cfg
}

// snap records what is known as a screencast frame arrives. Chromium's
// sessionId does not tell frames apart, so snapshots pair with frames by
// order, checked by the frame's timestamp: the iterator that delivers frames
// drops none and keeps their order.
func (m *maskTracker) snap(ev *page.EventScreencastFrame) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.snapAdded == nil {
		m.snapAdded = make(chan struct{})
	}
	s := maskSnap{sels: m.sels, reports: slices.Clone(m.hist), stamp: frameStamp(ev)}
	s.known = m.cfg > 0 && !m.navigated && len(m.hist) > 0 && m.hist[len(m.hist)-1].OK
	if len(m.snaps) >= maxSnaps {
		m.snaps = m.snaps[1:] // nobody takes them; the pairing check fails safe
	}
	m.snaps = append(m.snaps, s)
	close(m.snapAdded)
	m.snapAdded = make(chan struct{})
}

func frameStamp(ev *page.EventScreencastFrame) float64 {
	if ev.Metadata == nil {
		return -1
	}
	return float64(ev.Metadata.Timestamp)
}

// take waits for the snapshot of frame ev, the oldest not taken yet. A
// snapshot that does not match is no snapshot: the frame is not known.
func (m *maskTracker) take(ctx context.Context, ev *page.EventScreencastFrame) maskSnap {
	timer := time.NewTimer(snapWait)
	defer timer.Stop()
	for {
		m.mu.Lock()
		var s maskSnap
		ok := len(m.snaps) > 0
		if ok {
			s = m.snaps[0]
			m.snaps = m.snaps[1:]
		}
		if m.snapAdded == nil {
			m.snapAdded = make(chan struct{})
		}
		added := m.snapAdded
		m.mu.Unlock()
		if ok {
			if s.stamp != frameStamp(ev) {
				return maskSnap{}
			}
			return s
		}
		select {
		case <-added:
		case <-timer.C:
			return maskSnap{}
		case <-ctx.Done():
			return maskSnap{}
		}
	}
}

// configured reports whether selectors were ever set.
func (m *maskTracker) configured() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.cfg > 0
}

func (m *maskTracker) focused() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.hist) == 0 {
		return nil
	}
	return slices.Clone(m.hist[len(m.hist)-1].Focused)
}

// maskState places the boxes of snapshot s in a frame with this metadata.
// It is a pure function of its inputs.
func maskState(s maskSnap, meta *page.ScreencastFrameMetadata, ts time.Time) MaskState {
	if !s.known || len(s.reports) == 0 || meta == nil {
		return MaskState{}
	}
	if meta.PageScaleFactor != 0 && meta.PageScaleFactor != 1 {
		return MaskState{} // pinch zoom: the picture is not the layout viewport
	}
	newest := s.reports[len(s.reports)-1]
	reports := []*maskReport{newest}
	margin := float64(stillMargin)
	if newest.Moving {
		if ts.Sub(time.UnixMicro(int64(newest.T*1000))) > maskStale {
			return MaskState{}
		}
		reports = s.reports
		margin = moveMargin
	}
	st := MaskState{Known: true, Boxes: make(map[string][]Rect, len(s.sels)), Focused: slices.Clone(newest.Focused)}
	place := func(b [5]float64) Rect {
		r := Rect{X: b[0] - margin, Y: b[1] - margin, W: b[2] + 2*margin, H: b[3] + 2*margin}
		if b[4] == 0 {
			r.X -= meta.ScrollOffsetX
			r.Y -= meta.ScrollOffsetY
		}
		return r
	}
	for _, sel := range s.sels {
		var out []Rect
		for _, r := range reports {
			for _, b := range r.Boxes[sel] {
				out = append(out, place(b))
			}
		}
		// One frame ahead at the same speed: compositor-driven motion
		// (transforms, smooth scrolling) can run ahead of the main thread.
		if older := lastDifferent(s.reports, sel); newest.Moving && older != nil {
			prev := older.Boxes[sel]
			cur := newest.Boxes[sel]
			// Ahead at the same speed, as far as the frame is newer than the report (at
			// least one step, plus one for safety): a busy main thread reports late, and
			// compositor-driven motion runs ahead of it. The whole sweep is covered.
			steps := 2.0
			if dt := newest.T - older.T; dt > 0 {
				if ahead := (float64(ts.UnixMicro())/1000 - newest.T) / dt; ahead > 1 {
					steps = math.Ceil(ahead) + 1
				}
			}
			if len(prev) == len(cur) {
				for i := range cur {
					if prev[i][4] != cur[i][4] {
						continue
					}
					out = append(out, place(sweep(prev[i], cur[i], steps)))
				}
			}
		}
		st.Boxes[sel] = out
	}
	return st
}

// SetMaskSelectors tells the tab which selectors to track (the union over
// all audiences). The selectors are checked in the page first: an invalid
// one returns an error wrapping ErrBadSelector and changes nothing. Frames
// are not Known until the page has measured the new selectors.
func (t *Tab) SetMaskSelectors(ctx context.Context, selectors []string) error {
	m := &t.masks
	m.setMu.Lock()
	defer m.setMu.Unlock()
	sels := make([]string, 0, len(selectors))
	for _, s := range selectors {
		if !slices.Contains(sels, s) {
			sels = append(sels, s)
		}
	}
	if !m.installed {
		if _, err := call(ctx, t, runtime.AddBinding, runtime.AddBindingParams{Name: maskBinding, ExecutionContextName: maskWorld}); err != nil {
			return err
		}
		if _, err := call(ctx, t, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{
			Source: maskJS, WorldName: maskWorld, RunImmediately: new(true),
		}); err != nil {
			return err
		}
		m.installed = true
	}
	if err := t.checkSelectors(ctx, sels); err != nil {
		return err
	}
	cfg := m.configure(sels)
	arg, err := json.Marshal(sels)
	if err != nil {
		return fmt.Errorf("encoding selectors: %w", err)
	}
	res, err := call(ctx, t, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{
		Source:         fmt.Sprintf("__tandemMaskConfig(%d, %s)", cfg, arg),
		WorldName:      maskWorld,
		RunImmediately: new(true),
	})
	if err != nil {
		return err
	}
	// The old script goes after the new one is in: a document created in
	// between runs both, the newer last.
	if m.scriptID != "" {
		if _, err := call(ctx, t, page.RemoveScriptToEvaluateOnNewDocument, page.RemoveScriptToEvaluateOnNewDocumentParams{Identifier: m.scriptID}); err != nil {
			t.log.Debug("removing old mask selectors", "err", err)
		}
	}
	m.scriptID = res.Identifier
	return nil
}

// checkSelectors parses each selector in the tracker's isolated world, where
// the page cannot have replaced querySelector.
func (t *Tab) checkSelectors(ctx context.Context, sels []string) error {
	if len(sels) == 0 {
		return nil
	}
	w, err := call(ctx, t, page.CreateIsolatedWorld, page.CreateIsolatedWorldParams{FrameID: cdp.FrameID(t.targetID), WorldName: maskWorld})
	if err != nil {
		return err
	}
	arg, err := json.Marshal(sels)
	if err != nil {
		return fmt.Errorf("encoding selectors: %w", err)
	}
	res, err := call(ctx, t, runtime.Evaluate, runtime.EvaluateParams{
		Expression: fmt.Sprintf(`JSON.stringify(%s.filter((s) => {
			try { document.createDocumentFragment().querySelector(s); return false; } catch (e) { return true; }
		}))`, arg),
		ContextID:     w.ExecutionContextID,
		ReturnByValue: new(true),
	})
	if err != nil {
		return err
	}
	if res.ExceptionDetails != nil {
		return fmt.Errorf("checking selectors: %s", res.ExceptionDetails.Text)
	}
	var enc string
	var bad []string
	if res.Result == nil || json.Unmarshal(res.Result.Value, &enc) != nil || json.Unmarshal([]byte(enc), &bad) != nil {
		return fmt.Errorf("checking selectors: unexpected answer")
	}
	if len(bad) > 0 {
		return fmt.Errorf("%w: %q", ErrBadSelector, bad)
	}
	return nil
}

// FocusedMatches lists the selectors whose elements contain the focused
// element, from the newest report; the gate uses it between frames.
func (t *Tab) FocusedMatches() []string { return t.masks.focused() }

// sweep is the box that covers cur and where it will be after steps more moves like the
// one from prev to cur.
func sweep(prev, cur [5]float64, steps float64) [5]float64 {
	var ahead [5]float64
	for k := range 4 {
		ahead[k] = cur[k] + steps*(cur[k]-prev[k])
	}
	x0, y0 := math.Min(cur[0], ahead[0]), math.Min(cur[1], ahead[1])
	x1 := math.Max(cur[0]+cur[2], ahead[0]+ahead[2])
	y1 := math.Max(cur[1]+cur[3], ahead[1]+ahead[3])
	return [5]float64{x0, y0, x1 - x0, y1 - y0, cur[4]}
}

// lastDifferent is the newest report before the newest one whose boxes for sel differ:
// a moving box is reported at every measurement, two of which can fall in one frame, so
// the report just before may show the same place and say nothing of the speed.
func lastDifferent(reports []*maskReport, sel string) *maskReport {
	if len(reports) < 2 {
		return nil
	}
	cur := reports[len(reports)-1].Boxes[sel]
	for i := len(reports) - 2; i >= 0; i-- {
		if !slices.Equal(reports[i].Boxes[sel], cur) {
			return reports[i]
		}
	}
	return reports[len(reports)-2]
}
