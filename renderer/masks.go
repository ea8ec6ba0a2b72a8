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
	// (no selectors set, a new document with no report yet, no measurement of
	// the page after the frame came): withhold the frame from masked audiences.
	Known bool
	// Boxes per selector cover every matching element as painted in this
	// frame. A frame the page's tracker cannot read into (another site) counts
	// as a match of every selector.
	Boxes map[string][]Rect
	// Focused lists the selectors whose elements contain the focused element.
	Focused []string
}

// The tracker lives in its own isolated world with its own binding; see
// masks.js for how it measures.
//
// A frame is judged by the page's measurements on both sides of it. A screencast
// frame's timestamp is the compositor frame it was drawn for; it shows the page as
// some main-thread frame before it, which on a loaded machine can be several
// frames behind. Every report names its animation frame (ft). So the reports from
// those of the animation frames some lag before the previous screencast frame (at
// least mainLag, and more the later frames arrive after their timestamps: a loaded
// machine) up to one the page makes after this frame arrived (the renderer asks for
// it, a poke) measured every state the frame can show, and what lies on the way
// between. Their boxes, and the boxes swept from each to the next, cover it: still
// elements exactly, moving ones along their way. This does not depend on reports
// and frames arriving in the order they were made: frames take longer through
// capture than reports through DevTools.
const (
	maskWorld   = "tandem-masks"
	maskBinding = "tandemMasks"
	// stillMargin and moveMargin grow every box, in CSS px: antialiasing and
	// sub-pixel layout at rest; rounding of positions while things move.
	stillMargin = 2
	moveMargin  = 6
	// maskHistory bounds the reports kept of one document: more than arrive
	// while a frame waits for the measurement after it.
	maskHistory = 512
	// snapWait bounds how long a frame waits for its snapshot; the listener
	// records it right after the frame is published, so this is only hit if
	// the listener never ran.
	snapWait = 2 * time.Second
	// settleWait bounds how long a frame waits for the page to measure after
	// it; a page whose main thread is that busy has its frames withheld.
	settleWait = 2 * time.Second
	// mainLag bounds how far behind the compositor the main thread's frames may
	// be shown; firstLead is the same for a first frame, with no previous frame.
	mainLag   = 500 * time.Millisecond
	firstLead = time.Second
	maxSnaps  = 256
)

//go:embed masks.js
var maskJS string

// maskReport is one message of masks.js. Box: x, y, w, h, mode (0: document
// coordinates, 1: viewport coordinates).
type maskReport struct {
	Doc     string                  `json:"doc"`
	Cfg     uint64                  `json:"cfg"`
	V       uint64                  `json:"v"`
	Poke    uint64                  `json:"poke"` // the newest poke the page had when it measured
	Scan    uint64                  `json:"scan"` // the scan for closed shadow roots it asks for
	T       float64                 `json:"t"`    // ms since the Unix epoch, when measured
	FT      float64                 `json:"ft"`   // ms since the Unix epoch: the animation frame measured; 0 if none
	Moving  bool                    `json:"moving"`
	OK      bool                    `json:"ok"`
	Err     string                  `json:"err"`
	Boxes   map[string][][5]float64 `json:"boxes"`
	Focused []string                `json:"focused"`
}

// maskSnap is what the tracker knew when a screencast frame arrived.
type maskSnap struct {
	sels    []string
	cfg     uint64
	doc     string   // the document whose reports judge the frame; "" if none yet
	need    uint64   // the poke a report after the frame echoes
	prev    float64  // the previous frame's timestamp, seconds since the epoch; 0 if none
	delay   float64  // ms the previous frame arrived after its timestamp
	docs    []string // the documents shown, from documents.snapshot
	paired  bool     // this snapshot is the frame's own (docs can be trusted)
	painted bool     // the page had painted when the frame arrived
	stamp   float64  // the frame's timestamp, to check the pairing
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
	trimmed   bool          // hist lost its oldest reports
	navigated bool          // a document committed and has not reported yet
	// poke counts the pokes asked of the current document; pokeWant is the one a
	// report must echo to be trusted at all: bumped when a frame inside the page
	// navigated, which the page may not have measured yet.
	poke      uint64
	pokeWant  uint64
	work      *maskWork  // pokes and scans, run by Tab.maskWorker
	snaps     []maskSnap // of frames the screencast goroutine has not taken
	lastStamp float64    // timestamp of the newest frame
	lastDelay float64    // ms it arrived after its timestamp
	now       func() time.Time
	snapAdded chan struct{} // closed and replaced whenever a snap is added
	changed   chan struct{} // closed and replaced at every report and navigation

	onKnown func() // told of every OK report; must not block
	docsNow func() ([]string, bool)

	setMu    sync.Mutex // serialises SetMaskSelectors
	scriptID page.ScriptIdentifier
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
		} else if ev.Frame != nil {
			m.childNavigated()
		}
	case *inspector.EventTargetCrashed:
		m.newDocument()
	case *page.EventScreencastFrame:
		m.snap(ev)
	}
}

// signal wakes whoever waits for a report. The caller holds mu.
func (m *maskTracker) signal() {
	if m.changed != nil {
		close(m.changed)
	}
	m.changed = make(chan struct{})
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
		m.hist, m.trimmed = nil, false
		m.poke, m.pokeWant = 0, 0
	}
	m.navigated = false
	m.hist = append(m.hist, &r)
	if r.Scan > 0 && m.work != nil {
		m.work.ask(r.Doc, 0, r.Scan)
	}
	if r.OK && m.onKnown != nil {
		m.onKnown()
	}
	if len(m.hist) > maskHistory {
		m.hist, m.trimmed = slices.Clone(m.hist[len(m.hist)-maskHistory:]), true
	}
	m.signal()
}

// newDocument forgets the boxes of the old document: until the new one
// reports, no frame is known.
func (m *maskTracker) newDocument() {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, r := range m.hist {
		m.bury(r.Doc)
	}
	m.hist, m.trimmed = nil, false
	m.navigated = true
	m.poke, m.pokeWant = 0, 0 // the new document counts its own pokes
	m.signal()
}

// childNavigated: a frame inside the page has a new document, which may paint before
// the tracker measures it (or cannot tell it: another origin). Frames are not known
// until a report newer than this arrives, which a poke asks for.
func (m *maskTracker) childNavigated() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.hist) == 0 {
		return // nothing known yet anyway
	}
	m.poke++
	m.pokeWant = m.poke
	if m.work != nil {
		m.work.ask(m.hist[len(m.hist)-1].Doc, m.poke, 0)
	}
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
	m.hist, m.trimmed = nil, false
	m.signal()
	return m.cfg
}

// snap records what is known as a screencast frame arrives, and asks the page to
// measure again, after this frame. Chromium's sessionId does not tell frames apart, so
// snapshots pair with frames by order, checked by the frame's timestamp: the iterator
// that delivers frames drops none and keeps their order.
func (m *maskTracker) snap(ev *page.EventScreencastFrame) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.snapAdded == nil {
		m.snapAdded = make(chan struct{})
	}
	s := maskSnap{sels: m.sels, cfg: m.cfg, stamp: frameStamp(ev), prev: m.lastStamp, delay: m.lastDelay, paired: true}
	now := time.Now
	if m.now != nil {
		now = m.now
	}
	m.lastStamp = s.stamp
	m.lastDelay = max(0, float64(now().UnixMicro())/1000-s.stamp*1000)
	if m.docsNow != nil {
		s.docs, s.painted = m.docsNow()
	}
	if m.cfg > 0 && !m.navigated && len(m.hist) > 0 {
		newest := m.hist[len(m.hist)-1]
		m.poke++
		s.doc, s.need = newest.Doc, max(m.poke, m.pokeWant)
		if m.work != nil {
			m.work.ask(newest.Doc, m.poke, 0)
		}
	}
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

// settle waits until the page has measured after the frame of s, and returns the
// reports that judge it: the last of the previous frame's animation frame (or older),
// every one since, and the first made after the frame arrived. nil means the frame
// cannot be vouched for (another document, other selectors, no measurement in time,
// or the reports from before it no longer kept).
func (m *maskTracker) settle(ctx context.Context, s maskSnap) []*maskReport {
	if s.doc == "" || s.need == 0 {
		return nil
	}
	timer := time.NewTimer(settleWait)
	defer timer.Stop()
	for {
		m.mu.Lock()
		if m.cfg != s.cfg || len(m.hist) == 0 || m.hist[0].Doc != s.doc {
			m.mu.Unlock()
			return nil
		}
		// ms since the epoch, as report times.
		lead := s.prev*1000 - max(float64(mainLag.Milliseconds()), 3*s.delay)
		if s.prev <= 0 || s.prev > s.stamp {
			lead = s.stamp*1000 - float64(firstLead.Milliseconds())
		}
		first := 0
		for i, r := range m.hist {
			if when := r.FT; (when > 0 && when <= lead) || (when <= 0 && r.T <= lead) {
				first = i
			}
		}
		if first == 0 && (m.hist[0].FT > lead || m.hist[0].T > lead) && m.trimmed {
			m.mu.Unlock()
			return nil // the reports from before the frame are no longer kept
		}
		for i, r := range m.hist[first:] {
			if r.Poke >= s.need {
				out := slices.Clone(m.hist[first : first+i+1])
				m.mu.Unlock()
				return out
			}
		}
		if m.changed == nil {
			m.changed = make(chan struct{})
		}
		changed := m.changed
		m.mu.Unlock()
		select {
		case <-changed:
		case <-timer.C:
			return nil
		case <-ctx.Done():
			return nil
		}
	}
}

// configured reports whether selectors were ever set.
// selectors are the selectors in force.
func (m *maskTracker) selectors() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.sels
}

func (m *maskTracker) configured() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.cfg > 0
}

// maskState places the boxes of reports (as settle returns them, oldest first) in a
// frame with this metadata. Every report's boxes are covered, and for each element
// whose box moved from one report to the next, the whole way between. It is a pure
// function of its inputs.
func maskState(sels []string, reports []*maskReport, meta *page.ScreencastFrameMetadata) MaskState {
	if len(reports) == 0 || meta == nil {
		return MaskState{}
	}
	if meta.PageScaleFactor != 0 && meta.PageScaleFactor != 1 {
		return MaskState{} // pinch zoom: the picture is not the layout viewport
	}
	moving := false
	for i, r := range reports {
		if !r.OK {
			return MaskState{}
		}
		if r.Moving || (i > 0 && !sameBoxes(reports[i-1], r)) {
			moving = true
		}
	}
	margin := float64(stillMargin)
	if moving {
		margin = moveMargin
	}
	newest := reports[len(reports)-1]
	st := MaskState{Known: true, Boxes: make(map[string][]Rect, len(sels)), Focused: slices.Clone(newest.Focused)}
	place := func(b [5]float64) Rect {
		r := Rect{X: b[0] - margin, Y: b[1] - margin, W: b[2] + 2*margin, H: b[3] + 2*margin}
		if b[4] == 0 {
			r.X -= meta.ScrollOffsetX
			r.Y -= meta.ScrollOffsetY
		}
		return r
	}
	for _, sel := range sels {
		var out []Rect
		seen := map[[5]float64]bool{}
		add := func(b [5]float64) {
			if !seen[b] {
				seen[b] = true
				out = append(out, place(b))
			}
		}
		for i, r := range reports {
			cur := r.Boxes[sel]
			for _, b := range cur {
				add(b)
			}
			if i == 0 {
				continue
			}
			// The way from the previous measurement: element by element, when the
			// elements line up.
			prev := reports[i-1].Boxes[sel]
			if len(prev) == len(cur) {
				for k := range cur {
					if prev[k] != cur[k] && prev[k][4] == cur[k][4] {
						add(hull(prev[k], cur[k]))
					}
				}
			}
		}
		st.Boxes[sel] = out
	}
	return st
}

func sameBoxes(a, b *maskReport) bool {
	if len(a.Boxes) != len(b.Boxes) {
		return false
	}
	for k, v := range a.Boxes {
		if !slices.Equal(v, b.Boxes[k]) {
			return false
		}
	}
	return true
}

// hull is the box that covers a and b.
func hull(a, b [5]float64) [5]float64 {
	x0, y0 := math.Min(a[0], b[0]), math.Min(a[1], b[1])
	x1 := math.Max(a[0]+a[2], b[0]+b[2])
	y1 := math.Max(a[1]+a[3], b[1]+b[3])
	return [5]float64{x0, y0, x1 - x0, y1 - y0, a[4]}
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
	if m.configured() && slices.Equal(sels, m.selectors()) {
		return nil // already in force (a warm tab made ready with these)
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
