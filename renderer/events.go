package renderer

import "time"

// Event is a page event of a tab. The concrete types are PageState,
// DialogOpened, DialogClosed, DownloadRefused, PopupOpened,
// NavigationFailed, NavigationBlocked, PageCrashed, FileChooserOpened and
// FileChooserClosed (filechooser.go), PickerOpened and PickerClosed (pickers.go).
type Event interface{ isEvent() }

// PageState is sent after every navigation (also same-document), title
// change and load start/stop, when something changed.
type PageState struct {
	URL, Title                       string
	CanGoBack, CanGoForward, Loading bool
}

// DialogOpened is a JavaScript dialog waiting for an answer.
type DialogOpened struct {
	ID, Kind, Message, DefaultPrompt string // Kind: alert|confirm|prompt|beforeunload
	ExpiresAt                        time.Time
}

// DialogClosed ends a dialog; Result is accepted|dismissed|timeout.
type DialogClosed struct {
	ID, Result string
}

// DownloadRefused is a download the page tried; downloads are refused.
type DownloadRefused struct {
	URL, Filename string
}

// PopupOpened is a popup that was brought into this tab.
type PopupOpened struct {
	URL string
}

// NavigationFailed is a main-frame navigation that did not complete.
type NavigationFailed struct {
	URL, Reason string
}

// NavigationBlocked is a main-frame document load the tab's navigation
// filter refused (see WithNavigationFilter); Reason says why.
type NavigationBlocked struct {
	URL, Reason string
}

// PageCrashed means the page's renderer crashed; the tab is reloading it.
type PageCrashed struct {
	URL string
}

func (PageState) isEvent()         {}
func (DialogOpened) isEvent()      {}
func (DialogClosed) isEvent()      {}
func (DownloadRefused) isEvent()   {}
func (PopupOpened) isEvent()       {}
func (NavigationFailed) isEvent()  {}
func (NavigationBlocked) isEvent() {}
func (PageCrashed) isEvent()       {}

// Result values of DialogClosed.
const (
	DialogAccepted  = "accepted"
	DialogDismissed = "dismissed"
	DialogTimeout   = "timeout"
)
