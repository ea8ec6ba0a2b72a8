package renderer

import (
	"slices"
	"sync"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/inspector"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/target"
)

// documentOverlap is how long a document that left a frame may still be in the picture:
// the compositor can show the old page for a while after the new one committed.
const documentOverlap = time.Second

// documents follows the address of every document the tab shows: the main frame, its
// frames, and frames of other sites that run in processes of their own (which the page's
// events do not cover; their targets do). Its writer is chromedp's read loop, so each
// screencast frame is stamped with the documents as they were when it arrived.
type documents struct {
	mu      sync.Mutex
	bctx    cdp.BrowserContextID
	tab     target.ID
	current map[string]string // frame or target id → URL
	targets map[target.ID]bool
	gone    []goneDocument
	now     func() time.Time
	// painted is whether the main frame's document has painted, or settled without
	// painting anything: a picture from before that shows the blank tab, not the page.
	painted bool
	// onPainted is called (from the read loop; it must not block) when it becomes so.
	onPainted func()
}

type goneDocument struct {
	url   string
	until time.Time
}

func newDocuments(tab target.ID, bctx cdp.BrowserContextID) *documents {
	return &documents{bctx: bctx, tab: tab, current: map[string]string{}, targets: map[target.ID]bool{tab: true}, now: time.Now}
}

// bind names the tab and its browser context once they are known.
func (d *documents) bind(tab target.ID, bctx cdp.BrowserContextID) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.tab, d.bctx = tab, bctx
	d.targets[tab] = true
}

// observe takes the events that change which documents are shown.
func (d *documents) observe(ev any) {
	d.mu.Lock()
	defer d.mu.Unlock()
	switch ev := ev.(type) {
	case *page.EventFrameNavigated:
		if ev.Frame == nil {
			return
		}
		u := ev.Frame.URL + ev.Frame.URLFragment
		if ev.Frame.UnreachableURL != "" {
			u = ev.Frame.UnreachableURL
		}
		d.set("f:"+string(ev.Frame.ID), u)
	case *page.EventNavigatedWithinDocument:
		d.set("f:"+string(ev.FrameID), ev.URL)
	case *page.EventLifecycleEvent:
		if string(ev.FrameID) != string(d.tab) {
			return
		}
		switch ev.Name {
		case "init": // a new document: it has painted nothing yet
			d.painted = false
		case "firstPaint", "firstContentfulPaint", "networkAlmostIdle":
			if !d.painted && d.onPainted != nil {
				d.onPainted()
			}
			d.painted = true
		}
	case *page.EventFrameDetached:
		d.set("f:"+string(ev.FrameID), "")
	case *target.EventTargetCreated:
		d.frameTarget(ev.TargetInfo)
	case *target.EventTargetInfoChanged:
		d.frameTarget(ev.TargetInfo)
	case *target.EventTargetDestroyed:
		if d.targets[ev.TargetID] && ev.TargetID != d.tab {
			delete(d.targets, ev.TargetID)
			d.set("t:"+string(ev.TargetID), "")
		}
	case *inspector.EventTargetCrashed:
		for id := range d.current {
			d.set(id, "")
		}
	}
}

// frameTarget follows a frame of this tab that runs in a process of its own.
func (d *documents) frameTarget(info *target.Info) {
	if info == nil || info.Type != "iframe" {
		return
	}
	ours := d.targets[info.TargetID] || d.targets[info.ParentID] || (d.bctx != "" && info.BrowserContextID == d.bctx)
	if !ours {
		return
	}
	d.targets[info.TargetID] = true
	d.set("t:"+string(info.TargetID), info.URL)
}

// set records that frame id now shows u ("" for nothing); what it showed before stays
// listed for documentOverlap.
func (d *documents) set(id, u string) {
	if old := d.current[id]; old != "" && old != u {
		d.gone = append(d.gone, goneDocument{url: old, until: d.now().Add(documentOverlap)})
	}
	if u == "" {
		delete(d.current, id)
		return
	}
	d.current[id] = u
}

// snapshot lists the documents that may be in a picture arriving now, and whether the
// page had painted.
func (d *documents) snapshot() ([]string, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	now := d.now()
	d.gone = slices.DeleteFunc(d.gone, func(g goneDocument) bool { return now.After(g.until) })
	out := make([]string, 0, len(d.current)+len(d.gone))
	for _, u := range d.current {
		out = append(out, u)
	}
	for _, g := range d.gone {
		out = append(out, g.url)
	}
	slices.Sort(out)
	return slices.Compact(out), d.painted
}
