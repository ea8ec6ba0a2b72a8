package renderer

import (
	"context"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/inspector"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/cdproto/target"
)

// onEvent runs in chromedp's read loop: it only queues what the tab's loop
// needs, and never blocks or calls DevTools.
func (t *Tab) onEvent(ev any) {
	t.docs.observe(ev)  // in arrival order: documents before the frames that show them
	t.masks.observe(ev) // and reports before the frames they describe
	if b, ok := ev.(*runtime.EventBindingCalled); ok && b.Name == domBinding {
		t.dom.deliver(b.Payload)
	}
	if b, ok := ev.(*runtime.EventBindingCalled); ok && b.Name == handoffBinding {
		go t.seeded(b.Payload)
	}
	switch ev.(type) {
	case *page.EventFrameNavigated, *page.EventNavigatedWithinDocument,
		*page.EventFrameStartedLoading, *page.EventFrameStoppedLoading,
		*page.EventJavascriptDialogOpening, *page.EventJavascriptDialogClosed,
		*target.EventTargetCreated, *target.EventTargetInfoChanged, *target.EventTargetDestroyed,
		*network.EventRequestWillBeSent, *network.EventLoadingFailed,
		*inspector.EventTargetCrashed, *browser.EventDownloadWillBegin, *runtime.EventBindingCalled,
		*page.EventFileChooserOpened:
		t.q.push(ev)
	}
}

// onBrowserEvent gets the events of the browser session; downloads of every
// tab arrive there, and the loop keeps those of its own frames.
func (t *Tab) onBrowserEvent(ev any) {
	if ev, ok := ev.(*browser.EventDownloadWillBegin); ok {
		t.q.push(ev)
	}
}

// loopState is owned by the loop goroutine.
type loopState struct {
	mainFrame cdp.FrameID
	frames    map[cdp.FrameID]bool // frames of this tab, for downloads
	shown     PageState            // last PageState emitted
	cur       PageState
	docReqs   map[network.RequestID]string // main-frame document requests → URL
	dialog    *openDialog
	popups    map[target.ID]bool // true once handled
	downloads map[string]bool    // GUIDs already reported

	chooser    *openChooser // the page's open file chooser (filechooser.go)
	chooserSeq int

	picker *openPicker // the select list, field picker or menu shown (pickers.go)
}

// Synthetic loop messages.
type (
	dialogExpired struct{ id string }
	dialogAnswer  struct {
		id    string
		reply chan error
	}
	popupExpired struct{ id target.ID }
)

// loop owns the page state, the open dialog and the popups of the tab.
func (t *Tab) loop() {
	defer t.wg.Done()
	s := &loopState{
		mainFrame: cdp.FrameID(t.targetID),
		frames:    map[cdp.FrameID]bool{cdp.FrameID(t.targetID): true},
		docReqs:   map[network.RequestID]string{},
		popups:    map[target.ID]bool{},
		downloads: map[string]bool{},
	}
	for {
		select {
		case <-t.ctx.Done():
			t.failPending(s)
			return
		case <-t.q.signal:
		}
		for _, ev := range t.q.take() {
			t.handle(s, ev)
			if s.cur != s.shown {
				s.shown = s.cur
				t.emit(s.cur)
			}
		}
	}
}

func (t *Tab) handle(s *loopState, ev any) {
	if t.chooserEvent(s, ev) {
		return
	}
	switch ev := ev.(type) {
	case *page.EventFrameNavigated:
		s.frames[ev.Frame.ID] = true
		if ev.Frame.ParentID != "" {
			return
		}
		s.mainFrame = ev.Frame.ID
		t.pickerClosed(s, "", "navigated")
		s.cur.URL = ev.Frame.URL + ev.Frame.URLFragment
		if ev.Frame.UnreachableURL != "" {
			s.cur.URL = ev.Frame.UnreachableURL
		}
		t.refreshHistory(s)
	case *page.EventNavigatedWithinDocument:
		if ev.FrameID == s.mainFrame {
			s.cur.URL = ev.URL
			t.refreshHistory(s)
		}
	case *page.EventFrameStartedLoading:
		if ev.FrameID == s.mainFrame {
			s.cur.Loading = true
		}
	case *page.EventFrameStoppedLoading:
		if ev.FrameID == s.mainFrame {
			s.cur.Loading = false
			t.refreshHistory(s) // the title is known by now
			// A page that does not change after it loads makes no further frame, and the
			// last one may be from before it painted: unless a frame comes by itself
			// first, the screencast is asked for the current picture.
			t.stale.Store(true)
			select {
			case t.refresh <- struct{}{}:
			default:
			}
		}
	case *target.EventTargetCreated:
		t.targetInfo(s, ev.TargetInfo)
	case *target.EventTargetInfoChanged:
		t.targetInfo(s, ev.TargetInfo)
	case *target.EventTargetDestroyed:
		delete(s.popups, ev.TargetID)
	case *network.EventRequestWillBeSent:
		if ev.Type == network.ResourceTypeDocument && ev.FrameID == s.mainFrame && ev.Request != nil {
			s.docReqs[ev.RequestID] = ev.Request.URL
		}
	case *network.EventLoadingFailed:
		u, ok := s.docReqs[ev.RequestID]
		delete(s.docReqs, ev.RequestID)
		// Aborted: superseded by another navigation, or a refused download.
		// Blocked by client: the navigation filter, which says NavigationBlocked.
		if ok && !ev.Canceled && ev.ErrorText != "net::ERR_ABORTED" && ev.ErrorText != "net::ERR_BLOCKED_BY_CLIENT" {
			t.emit(NavigationFailed{URL: u, Reason: ev.ErrorText})
		}
	case *browser.EventDownloadWillBegin:
		t.download(s, ev)
	case *runtime.EventBindingCalled:
		if ev.Name == titleBinding {
			s.cur.Title = ev.Payload
		}
		if ev.Name == pickerBinding {
			t.pickerReport(s, ev)
		}
	case *inspector.EventTargetCrashed:
		t.pickerClosed(s, "", "navigated")
		t.recover(s)
	case *page.EventJavascriptDialogOpening:
		t.dialogOpening(s, ev)
	case *page.EventJavascriptDialogClosed:
		t.dialogClosed(s, ev)
	case dialogExpired:
		t.dialogExpired(s, ev.id)
	case dialogAnswer:
		t.dialogAnswer(s, ev)
	case dialogRetry:
		t.dialogRetry(s, ev.id)
	case popupExpired:
		t.popupExpired(s, ev.id)
	case navBlocked:
		t.emit(NavigationBlocked{URL: ev.url, Reason: ev.reason})
	case pickRequest:
		t.pickRequest(s, ev)
	case pickerGone:
		t.pickerClosed(s, ev.id, "removed")
	}
}

// targetInfo tracks the title of this tab and finds its popups.
func (t *Tab) targetInfo(s *loopState, info *target.Info) {
	if info == nil {
		return
	}
	if info.TargetID == t.targetID {
		s.cur.Title = info.Title
		return
	}
	if info.Type == "page" && info.OpenerID == t.targetID {
		t.popup(s, info)
	}
}

// refreshHistory updates CanGoBack/CanGoForward; the history lives in the
// browser process, so this answers even while a dialog blocks the page.
func (t *Tab) refreshHistory(s *loopState) {
	h, err := call(t.ctx, t, page.GetNavigationHistory, cdp.Empty{})
	if err != nil {
		t.log.Debug("navigation history", "err", err)
		return
	}
	s.cur.CanGoBack = h.CurrentIndex > 0
	s.cur.CanGoForward = int(h.CurrentIndex) < len(h.Entries)-1
	// targetInfoChanged does not report every title; the entry has it.
	if i := int(h.CurrentIndex); i >= 0 && i < len(h.Entries) && h.Entries[i].Title != "" {
		s.cur.Title = h.Entries[i].Title
	}
}

func (t *Tab) download(s *loopState, ev *browser.EventDownloadWillBegin) {
	if !s.frames[ev.FrameID] || s.downloads[ev.GUID] {
		return
	}
	s.downloads[ev.GUID] = true
	t.emit(DownloadRefused{URL: ev.URL, Filename: ev.SuggestedFilename})
}

// recover reloads a tab whose renderer crashed.
func (t *Tab) recover(s *loopState) {
	u := s.cur.URL
	t.log.Warn("tab crashed; reloading", "url", u)
	t.emit(PageCrashed{URL: u})
	t.background(func(ctx context.Context) {
		var err error
		if validURL(u) {
			_, err = call(ctx, t, page.Navigate, page.NavigateParams{URL: u})
		} else {
			_, err = call(ctx, t, page.Reload, page.ReloadParams{})
		}
		if err != nil {
			t.log.Warn("reloading crashed tab", "err", err)
		}
	})
}

// background runs f on its own goroutine, so the loop never waits on a
// call that a dialog or a slow page could hold up.
func (t *Tab) background(f func(ctx context.Context)) {
	t.wg.Add(1)
	go func() {
		defer t.wg.Done()
		f(t.ctx)
	}()
}

// after queues msg for the loop once d has passed.
func (t *Tab) after(d time.Duration, msg any) {
	time.AfterFunc(d, func() { t.q.push(msg) })
}
