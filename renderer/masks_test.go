package renderer

import (
	"fmt"
	"math"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
)

func rep(v uint64, poke uint64, moving bool, boxes map[string][][5]float64) *maskReport {
	return &maskReport{Doc: "d", Cfg: 1, V: v, Poke: poke, Moving: moving, OK: true, Boxes: boxes}
}

func TestMaskStatePlacesBoxesInTheFrame(t *testing.T) {
	meta := &page.ScreencastFrameMetadata{PageScaleFactor: 1, DeviceWidth: 800, DeviceHeight: 600, ScrollOffsetX: 10, ScrollOffsetY: 300}
	sels := []string{"a", "b"}

	t.Run("document boxes move with the scroll offset, viewport boxes do not", func(t *testing.T) {
		st := maskState(sels, []*maskReport{rep(1, 1, false, map[string][][5]float64{
			"a": {{100, 400, 50, 20, 0}},
			"b": {{5, 6, 7, 8, 1}},
		})}, meta)
		if !st.Known {
			t.Fatal("not known")
		}
		m := float64(stillMargin)
		if want := (Rect{90 - m, 100 - m, 50 + 2*m, 20 + 2*m}); !slices.Equal(st.Boxes["a"], []Rect{want}) {
			t.Fatalf("a = %v, want %v", st.Boxes["a"], want)
		}
		if want := (Rect{5 - m, 6 - m, 7 + 2*m, 8 + 2*m}); !slices.Equal(st.Boxes["b"], []Rect{want}) {
			t.Fatalf("b = %v, want %v", st.Boxes["b"], want)
		}
	})

	t.Run("an element that moved between the measurements around the frame is covered all the way", func(t *testing.T) {
		box := func(x float64) map[string][][5]float64 { return map[string][][5]float64{"a": {{x, 0, 10, 10, 1}}} }
		st := maskState(sels, []*maskReport{rep(1, 0, false, box(0)), rep(2, 0, true, box(40)), rep(3, 1, true, box(100))}, meta)
		if !st.Known {
			t.Fatal("not known")
		}
		covered := func(x0, x1 float64) bool {
			for _, r := range st.Boxes["a"] {
				if r.X <= x0 && r.X+r.W >= x1 {
					return true
				}
			}
			return false
		}
		// Wherever the frame caught it between 0 and 110, some box covers it whole.
		for x := 0.0; x <= 100; x += 5 {
			if !covered(x, x+10) {
				t.Fatalf("the element at x=%v is not covered by %v", x, st.Boxes["a"])
			}
		}
		if st.Boxes["a"][0].X != -moveMargin {
			t.Fatalf("moving boxes have the still margin: %v", st.Boxes["a"])
		}
	})

	t.Run("an element that appeared or went between the measurements is covered in both", func(t *testing.T) {
		st := maskState(sels, []*maskReport{
			rep(1, 0, false, map[string][][5]float64{"a": {{0, 0, 10, 10, 1}}}),
			rep(2, 1, false, map[string][][5]float64{"a": {{200, 0, 10, 10, 1}, {300, 0, 10, 10, 1}}}),
		}, meta)
		if len(st.Boxes["a"]) != 3 {
			t.Fatalf("boxes = %v, want all three", st.Boxes["a"])
		}
	})

	t.Run("no measurement, a failed one, or pinch zoom is not known", func(t *testing.T) {
		if maskState(sels, nil, meta).Known {
			t.Fatal("known without reports")
		}
		bad := rep(2, 1, false, nil)
		bad.OK = false
		if maskState(sels, []*maskReport{rep(1, 0, false, nil), bad}, meta).Known {
			t.Fatal("known with a failed measurement")
		}
		zoomed := *meta
		zoomed.PageScaleFactor = 2
		if maskState(sels, []*maskReport{rep(1, 1, false, nil)}, &zoomed).Known {
			t.Fatal("zoomed frame known")
		}
	})
}

func frameEv(ts float64) *page.EventScreencastFrame {
	return &page.EventScreencastFrame{Metadata: &page.ScreencastFrameMetadata{Timestamp: cdp.TimeSinceEpoch(ts)}}
}

func TestMaskTrackerPairsFramesInOrder(t *testing.T) {
	var m maskTracker
	m.configure([]string{"a"})
	m.report(`{"doc":"d","cfg":1,"v":1,"t":1,"ok":true}`)
	m.snap(frameEv(1))
	m.snap(frameEv(2))
	if s := m.take(t.Context(), frameEv(1)); s.need == 0 || !s.paired {
		t.Fatal("the first frame's snapshot was not taken")
	}
	if s := m.take(t.Context(), frameEv(3)); s.paired || s.need != 0 {
		t.Fatal("a snapshot of another frame was used")
	}
}

func TestMaskTrackerSettlesFramesWithAMeasurementAfterThem(t *testing.T) {
	var m maskTracker
	m.now = func() time.Time { return time.UnixMilli(9010) } // frames arrive 10 ms after they are drawn
	cfg := m.configure([]string{"a"})
	// Reports are stamped in ms of the page's clock, frames in seconds.
	payload := func(doc string, cfg, v, poke uint64, ms float64) string {
		return fmt.Sprintf(`{"doc":%q,"cfg":%d,"v":%d,"poke":%d,"t":%v,"ft":%v,"ok":true,"boxes":{"a":[[1,2,3,4,0]]},"focused":["a"]}`, doc, cfg, v, poke, ms, ms)
	}
	m.snap(frameEv(1))
	if s := m.take(t.Context(), frameEv(1)); m.settle(t.Context(), s) != nil {
		t.Fatal("settled before any report")
	}
	m.report(payload("old", cfg, 1, 0, 7000))
	m.report(payload("old", cfg, 2, 0, 8400)) // what the previous frame may have shown, mainLag before it
	m.snap(frameEv(9))
	m.take(t.Context(), frameEv(9))
	m.report(payload("old", cfg, 3, 0, 9900)) // since: perhaps what the next frame shows
	m.snap(frameEv(10))
	s := m.take(t.Context(), frameEv(10))
	if s.need != 2 {
		t.Fatalf("the frame asks for poke %d, want 2", s.need)
	}
	settled := make(chan []*maskReport, 1)
	go func() { settled <- m.settle(t.Context(), s) }()
	m.report(payload("old", cfg, 4, 0, 10010)) // after the frame, before the poke: not enough
	m.report(payload("old", cfg, 5, 2, 10020)) // the poke's answer
	got := <-settled
	var vs []uint64
	for _, r := range got {
		vs = append(vs, r.V)
	}
	if !slices.Equal(vs, []uint64{2, 3, 4, 5}) {
		t.Fatalf("settled on reports %v, want 2 to 5: from what the previous frame may have shown to the poke's answer", vs)
	}

	// A new document: reports of the gone one, and of old selectors, vouch for nothing.
	m.snap(frameEv(11))
	s = m.take(t.Context(), frameEv(11))
	m.newDocument()
	m.report(payload("old", cfg, 6, 9, 11100))
	m.report(payload("new", cfg-1, 1, 9, 11100))
	if m.settle(t.Context(), s) != nil {
		t.Fatal("a frame of the old document was settled by the new one")
	}
	m.report(payload("new", cfg, 1, 0, 11200))
	m.snap(frameEv(12))
	s = m.take(t.Context(), frameEv(12))
	m.report(payload("new", cfg, 2, s.need, 12010))
	if got := m.settle(t.Context(), s); len(got) != 2 || got[1].Doc != "new" {
		t.Fatalf("after the new document reported: %v", got)
	}
}

func TestMaskTrackerWithholdsWhenThePageDoesNotMeasure(t *testing.T) {
	var m maskTracker
	cfg := m.configure([]string{"a"})
	m.report(fmt.Sprintf(`{"doc":"d","cfg":%d,"v":1,"ok":true}`, cfg))
	m.snap(frameEv(1))
	s := m.take(t.Context(), frameEv(1))
	start := time.Now()
	if m.settle(t.Context(), s) != nil {
		t.Fatal("settled without a measurement after the frame")
	}
	if waited := time.Since(start); waited < settleWait-10*time.Millisecond {
		t.Fatalf("gave up after %v, before settleWait", waited)
	}
}

// maskPage has a box at a known place, a password field, a same-origin
// iframe with a masked element and a cross-origin iframe.
const maskPage = `<!doctype html>` + plainStyle + `
<div id=box data-tandem-mask style="position:absolute;left:40px;top:700px;width:100px;height:50px;background:#f0f">secret</div>
<input id=pw type=password style="position:absolute;left:300px;top:20px;width:120px;height:20px">
<iframe id=same src="/inner" style="position:absolute;left:10px;top:100px;width:300px;height:200px;border:0"></iframe>
<iframe id=other style="position:absolute;left:400px;top:100px;width:200px;height:150px;border:5px solid #000"></iframe>
<div style="height:3000px"></div>`

const maskInner = `<!doctype html>` + plainStyle + `<div data-tandem-mask style="margin:20px 0 0 30px;width:40px;height:40px">in</div>`

func TestMaskTrackerFindsElements(t *testing.T) {
	tab := newTestTab(t, Viewport{Width: 800, Height: 600, DPR: 1})
	other := servePage(t, `<!doctype html><p>other origin</p>`, nil)
	srv := servePage(t, maskPage, map[string]http.HandlerFunc{"/inner": func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, maskInner)
	}})
	navigate(t, tab, srv.URL+"/")
	evalJS[bool](t, tab, `document.getElementById('other').src = `+jsString(other.URL+"/")+`; true`)
	waitJS(t, tab, `document.getElementById('same').contentDocument.readyState === 'complete'`, true)

	if err := tab.SetMaskSelectors(testCtx(t), []string{"[data-tandem-mask]", "a[", "input[type=password]"}); !isErr(err, ErrBadSelector) {
		t.Fatalf("invalid selector: err = %v, want ErrBadSelector", err)
	}
	sels := []string{"[data-tandem-mask]", "input[type=password]"}
	if err := tab.SetMaskSelectors(testCtx(t), sels); err != nil {
		t.Fatalf("SetMaskSelectors: %v", err)
	}
	evalJS[bool](t, tab, `window.scrollTo(0, 500); document.getElementById('pw').focus({preventScroll: true}); true`)

	// The newest report may still count as moving (the focus changed): its margin is larger.
	covers := func(rs []Rect, want Rect) bool {
		for _, r := range rs {
			for _, m := range []float64{stillMargin, moveMargin} {
				if math.Abs(r.X+m-want.X) < 1 && math.Abs(r.Y+m-want.Y) < 1 && math.Abs(r.W-2*m-want.W) < 1 && math.Abs(r.H-2*m-want.H) < 1 {
					return true
				}
			}
		}
		return false
	}
	var last MaskState
	defer func() {
		if t.Failed() {
			t.Logf("last mask state: %+v", last)
		}
	}()
	waitFor(t, "a frame with every box", func() bool {
		select {
		case f := <-tab.Frames():
			st := f.MaskState()
			last = st
			if f.ScrollY != 500 || !st.Known {
				return false
			}
			mk := st.Boxes["[data-tandem-mask]"]
			return covers(mk, Rect{40, 200, 100, 50}) && // the box, scrolled
				covers(mk, Rect{40, -380, 40, 40}) && // inside the same-origin iframe
				covers(mk, Rect{400, -400, 210, 160}) && // the whole cross-origin iframe
				covers(st.Boxes["input[type=password]"], Rect{400, -400, 210, 160}) &&
				slices.Contains(st.Focused, "input[type=password]")
		default:
			return false
		}
	})
	if got, err := tab.FocusedMasked(testCtx(t), sels); err != nil || !slices.Equal(got, []string{"input[type=password]"}) {
		t.Fatalf("FocusedMasked = %v, %v", got, err)
	}
}
