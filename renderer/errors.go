package renderer

import "errors"

var (
	// ErrNoChromium means no Chromium executable was found. It is wrapped
	// with the paths that were tried.
	ErrNoChromium = errors.New("no Chromium found: install Debian's chromium package or pass --chromium")
	// ErrInvalidURL means a URL is not http or https.
	ErrInvalidURL = errors.New("invalid URL: only http and https are allowed")
	// ErrTabClosed means the tab was closed, or its browser died.
	ErrTabClosed = errors.New("tab closed")
	// ErrNoDialog means the dialog to answer is not open (any more).
	ErrNoDialog = errors.New("no such dialog open")
	// ErrNoHistory means there is no history entry to go back or forward to.
	ErrNoHistory = errors.New("no history entry in that direction")
	// ErrNavigation means a navigation failed; the error text says why.
	ErrNavigation = errors.New("navigation failed")
	// ErrBrowserDown means Chromium is not running: it is being restarted,
	// or the Browser was closed.
	ErrBrowserDown = errors.New("browser not running")
	// ErrBadSelector means a mask selector is not valid CSS.
	ErrBadSelector = errors.New("invalid CSS selector")
	// ErrNoPicker means the picker to answer is not open (any more).
	ErrNoPicker = errors.New("no such picker open")
	// ErrBadPick means a picker's field refused the choice: no such option, or a value it
	// cannot hold.
	ErrBadPick = errors.New("the field refused that choice")
)
