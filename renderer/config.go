package renderer

import (
	"log/slog"
	"time"
)

// Config configures the Chromium process and its tabs.
type Config struct {
	ExecPath      string        // "" = look up chromium on PATH, then /usr/bin/chromium
	NoSandbox     bool          // adds --no-sandbox (needed as root; chromedp also adds it as root)
	JPEGQuality   int           // screencast JPEG quality, default 80
	CallTimeout   time.Duration // timeout of every DevTools call, default 10s
	DialogTimeout time.Duration // unanswered JS dialogs are dismissed after this, default 30s
	DozeAfter     time.Duration // a page still this long has its screencast doze (doze.go), default DozeAfter; < 0 never
	Logger        *slog.Logger  // nil = slog.Default()
}

const (
	defaultJPEGQuality   = 80
	defaultCallTimeout   = 10 * time.Second
	defaultDialogTimeout = 30 * time.Second
	// startTimeout bounds one start of Chromium; a cold start on a busy
	// machine takes a few seconds.
	startTimeout = 30 * time.Second
	// popupBlankGrace is how long a popup may stay at about:blank before it
	// is closed; window.open("") followed by a location change is common.
	popupBlankGrace = 10 * time.Second
	// eventBuffer is the capacity of Tab.Events.
	eventBuffer = 256
)

func (c Config) withDefaults() Config {
	if c.JPEGQuality <= 0 || c.JPEGQuality > 100 {
		c.JPEGQuality = defaultJPEGQuality
	}
	if c.CallTimeout <= 0 {
		c.CallTimeout = defaultCallTimeout
	}
	if c.DialogTimeout <= 0 {
		c.DialogTimeout = defaultDialogTimeout
	}
	if c.DozeAfter == 0 {
		c.DozeAfter = DozeAfter
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}
