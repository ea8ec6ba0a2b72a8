package renderer

import "github.com/chromedp/cdproto/target"

// TabOption changes how NewTab opens a tab.
type TabOption func(*tabOptions)

type tabOptions struct {
	proxyURL  string
	navFilter func(url string) (ok bool, reason string)
}

// WithProxy sends every connection of the tab's browser context through the
// HTTP proxy at proxyURL, loopback included: "<-loopback>" removes
// Chromium's implicit bypass of localhost, 127/8 and [::1].
func WithProxy(proxyURL string) TabOption {
	return func(o *tabOptions) { o.proxyURL = proxyURL }
}

// WithNavigationFilter makes the tab refuse document loads (main frame and
// iframes, every redirect hop) that filter refuses. A refused main-frame load
// is reported as NavigationBlocked. Whatever filter says, a main-frame
// document that is neither http(s) nor about:blank is refused. A nil filter
// only applies that scheme rule.
func WithNavigationFilter(filter func(url string) (ok bool, reason string)) TabOption {
	return func(o *tabOptions) {
		o.navFilter = filter
		if filter == nil {
			o.navFilter = func(string) (bool, string) { return true, "" }
		}
	}
}

// browserContextOptions are the settings of the tab's new browser context.
func (o tabOptions) browserContextOptions() []func(*target.CreateBrowserContextParams) {
	if o.proxyURL == "" {
		return nil
	}
	return []func(*target.CreateBrowserContextParams){func(p *target.CreateBrowserContextParams) {
		p.ProxyServer = o.proxyURL
		p.ProxyBypassList = "<-loopback>"
	}}
}
