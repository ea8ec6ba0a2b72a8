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

func rep(doc string, cfg uint64, t float64, moving bool, boxes map[string][][5]float64) *maskReport {
	return &maskReport{Doc: doc, Cfg: cfg, T: t, Moving: moving, OK: true, Boxes: boxes}
}

func TestMaskStatePlacesBoxesInTheFrame(t *testing.T) {
	now := time.UnixMilli(1_700_000_000_000)
	ms := float64(now.UnixMilli())
	meta := &page.ScreencastFrameMetadata{PageScaleFactor: 1, DeviceWidth: 800, DeviceHeight: 600, ScrollOffsetX: 10, ScrollOffsetY: 300}
	sels := []string{"a", "b"}

	t.Run("document boxes move with the scroll offset, viewport boxes do not", func(t *testing.T) {
		s := maskSnap{sels: sels, known: true, reports: []*maskReport{rep("d", 1, ms, false, map[string][][5]float64{
			"a": {{100, 400, 50, 20, 0}},
			"b": {{5, 6, 7, 8, 1}},
		})}}
		st := maskState(s, meta, now)
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

	t.Run("a moving element is covered at its last positions and swept ahead", func(t *testing.T) {
		box := func(x float64) map[string][][5]float64 { return map[string][][5]float64{"a": {{x, 0, 10, 10, 1}}} }
		s := maskSnap{sels: sels, known: true, reports: []*maskReport{
			rep("d", 1, ms-32, true, box(0)), rep("d", 1, ms-16, true, box(20)), rep("d", 1, ms, true, box(40)),
		}}
		spans := func(st MaskState) [][2]float64 {
			var out [][2]float64
			for _, r := range st.Boxes["a"] {
				out = append(out, [2]float64{r.X + moveMargin, r.X + r.W - moveMargin})
			}
			slices.SortFunc(out, func(a, b [2]float64) int { return int(a[0]-b[0])*1000 + int(a[1]-b[1]) })
			return out
		}
		// A frame as new as the report: the last three positions, and two steps ahead.
		if got, want := spans(maskState(s, meta, now)), [][2]float64{{0, 10}, {20, 30}, {40, 50}, {40, 90}}; !slices.Equal(got, want) {
			t.Fatalf("spans = %v, want %v", got, want)
		}
		// A frame 50 ms newer (a main thread reporting late): swept as far as the element
		// can have gone at its speed, 20 px per 16 ms, plus a step.
		got := spans(maskState(s, meta, now.Add(50*time.Millisecond)))
		if last := got[len(got)-1]; last[0] != 40 || last[1] < 40+10+20*50/16.0+20 {
			t.Fatalf("sweep = %v, does not reach where the element can be", last)
		}
	})

	t.Run("a frame long after the newest report of a moving element is not known", func(t *testing.T) {
		s := maskSnap{sels: sels, known: true, reports: []*maskReport{rep("d", 1, ms, true, nil)}}
		if maskState(s, meta, now.Add(maskStale+time.Millisecond)).Known {
			t.Fatal("stale frame known")
		}
		s.reports[0].Moving = false
		if !maskState(s, meta, now.Add(time.Hour)).Known {
			t.Fatal("frame of a still page unknown")
		}
	})

	t.Run("unknown snapshots and pinch zoom are not known", func(t *testing.T) {
		s := maskSnap{sels: sels, known: false, reports: []*maskReport{rep("d", 1, ms, false, nil)}}
		if maskState(s, meta, now).Known {
			t.Fatal("unknown snapshot known")
		}
		s.known = true
		zoomed := *meta
		zoomed.PageScaleFactor = 2
		if maskState(s, &zoomed, now).Known {
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
	if s := m.take(t.Context(), frameEv(1)); !s.known {
		t.Fatal("first frame not known")
	}
	if s := m.take(t.Context(), frameEv(3)); s.known {
		t.Fatal("a snapshot of another frame was used")
	}
}

func TestMaskTrackerForgetsOldDocuments(t *testing.T) {
	var m maskTracker
	cfg := m.configure([]string{"a"})
	payload := func(doc string, cfg uint64) string {
		return fmt.Sprintf(`{"doc":%q,"cfg":%d,"v":1,"t":1,"ok":true,"boxes":{"a":[[1,2,3,4,0]]},"focused":["a"]}`, doc, cfg)
	}
	m.snap(frameEv(1))
	if s := m.take(t.Context(), frameEv(1)); s.known {
		t.Fatal("known before any report")
	}
	m.report(payload("old", cfg))
	m.snap(frameEv(2))
	if s := m.take(t.Context(), frameEv(2)); !s.known {
		t.Fatal("unknown after a report")
	}
	if got := m.focused(); !slices.Equal(got, []string{"a"}) {
		t.Fatalf("focused = %v", got)
	}
	m.newDocument()
	m.report(payload("old", cfg)) // late report of the gone document
	m.report(payload("new", cfg-1))
	m.snap(frameEv(3))
	if s := m.take(t.Context(), frameEv(3)); s.known {
		t.Fatal("known from a gone document or an old configuration")
	}
	m.report(payload("new", cfg))
	m.snap(frameEv(4))
	if s := m.take(t.Context(), frameEv(4)); !s.known || len(s.reports) != 1 || s.reports[0].Doc != "new" {
		t.Fatalf("snapshot after the new document reported: %+v", s)
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
			last = f.Masks
			if f.ScrollY != 500 || !f.Masks.Known {
				return false
			}
			mk := f.Masks.Boxes["[data-tandem-mask]"]
			return covers(mk, Rect{40, 200, 100, 50}) && // the box, scrolled
				covers(mk, Rect{40, -380, 40, 40}) && // inside the same-origin iframe
				covers(mk, Rect{400, -400, 210, 160}) && // the whole cross-origin iframe
				covers(f.Masks.Boxes["input[type=password]"], Rect{400, -400, 210, 160}) &&
				slices.Contains(f.Masks.Focused, "input[type=password]")
		default:
			return false
		}
	})
	if got := tab.FocusedMatches(); !slices.Equal(got, []string{"input[type=password]"}) {
		t.Fatalf("FocusedMatches = %v", got)
	}
}
