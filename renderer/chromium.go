package renderer

import (
	"fmt"
	"os"
	"os/exec"
	"strings"

	"github.com/chromedp/chromedp"
)

// chromiumNames are looked up on PATH, in this order, before the fallback.
var chromiumNames = []string{"chromium", "chromium-browser", "google-chrome"}

const chromiumFallback = "/usr/bin/chromium"

// FindChromium returns the Chromium executable to run. A non-empty explicit
// path must exist; otherwise the usual names are looked up on PATH, then
// /usr/bin/chromium. The error wraps ErrNoChromium and lists what was tried.
func FindChromium(explicit string) (string, error) {
	if explicit != "" {
		p, err := exec.LookPath(explicit)
		if err != nil {
			return "", fmt.Errorf("%w (tried %s: %v)", ErrNoChromium, explicit, err)
		}
		return p, nil
	}
	tried := make([]string, 0, len(chromiumNames)+1)
	for _, name := range chromiumNames {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
		tried = append(tried, name+" on PATH")
	}
	if fi, err := os.Stat(chromiumFallback); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
		return chromiumFallback, nil
	}
	tried = append(tried, chromiumFallback)
	return "", fmt.Errorf("%w (tried %s)", ErrNoChromium, strings.Join(tried, ", "))
}

// allocatorOptions are chromedp's defaults plus what a co-browse tab needs.
func allocatorOptions(execPath string, cfg Config) []chromedp.ExecAllocatorOption {
	opts := append([]chromedp.ExecAllocatorOption{}, chromedp.DefaultExecAllocatorOptions[:]...)
	opts = append(opts,
		chromedp.ExecPath(execPath),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("mute-audio", true),
		// No UDP past the egress proxy: QUIC and WebRTC would not go through it.
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("force-webrtc-ip-handling-policy", "disable_non_proxied_udp"),
		chromedp.Flag("webrtc-ip-handling-policy", "disable_non_proxied_udp"),
		// Nothing may move on the compositor behind the main thread's back: masks are
		// measured on the main thread, and a page that keeps it busy would otherwise see
		// animations and scrolling carry masked elements out from under their boxes.
		chromedp.Flag("disable-threaded-animation", true),
		chromedp.Flag("disable-threaded-scrolling", true),
		// A smooth scroll steps after the tracker has measured a frame; an instant one is
		// in place before it measures.
		chromedp.Flag("disable-smooth-scrolling", true),
		// Participants must see the page's scrollbars to know it scrolls.
		chromedp.Flag("hide-scrollbars", false),
		// Every tab's viewport is emulated (Tab.applyViewport) and the screencast captures
		// the tab, not its window: a window the size of the picture would only cost each
		// session two more picture-sized buffers in the GPU process (8 MB at 1280x800).
		// Chromium makes a window at least 500 px wide; below about 200 px high, a page
		// reloaded after its renderer crashed would get an empty view and no pictures.
		chromedp.WindowSize(500, 300),
		// One virtual screen per scale, so that pictures come at the participant's DPR.
		chromedp.Flag("screen-info", screenInfo()),
		// chromedp's two, and memory no tab of ours uses: every browser context (one per
		// session) gets a window whose address bar preloads its popups as WebUI pages in a
		// renderer of their own, about 48 MB PSS per session that no one ever sees.
		chromedp.Flag("disable-features", "Translate,BlinkGenPropertyTrees,WebUIOmniboxPopup,WebUIOmniboxAimPopup"),
	)
	if cfg.NoSandbox {
		opts = append(opts, chromedp.NoSandbox)
	}
	return opts
}
