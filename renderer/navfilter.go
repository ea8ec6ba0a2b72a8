package renderer

import (
	"context"
	"iter"
	"net/url"
	"strings"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/fetch"
	"github.com/chromedp/cdproto/network"
)

// navBlocked is a main-frame document load the filter refused, for the loop
// to emit.
type navBlocked struct{ url, reason string }

// enableFetch pauses document requests, for the filter, and when a handoff has headers
// every request to that origin (headerOrigin, "" for none), so other subresources do not
// pay for the pause.
func (t *Tab) enableFetch(ctx context.Context, headerOrigin string) error {
	patterns := []*fetch.RequestPattern{{
		URLPattern:   "*",
		ResourceType: network.ResourceTypeDocument,
		RequestStage: fetch.RequestStageRequest,
	}}
	if headerOrigin != "" {
		patterns = append(patterns, &fetch.RequestPattern{URLPattern: fetchEscape(headerOrigin) + "/*", RequestStage: fetch.RequestStageRequest})
	}
	_, err := cdp.Call(ctx, t.target, fetch.Enable, fetch.EnableParams{Patterns: patterns})
	if err != nil {
		return t.wrapErr(fetch.Enable.Method, err)
	}
	return nil
}

// fetchEscape escapes the wildcards of Fetch's URL patterns.
func fetchEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, "*", `\*`, "?", `\?`).Replace(s)
}

// navFilter answers every paused document request. It runs on the
// iterator's goroutine, never in the tab's event loop, and answers at once.
func (t *Tab) navFilter(paused iter.Seq2[fetch.EventRequestPaused, error], filter func(string) (bool, string)) {
	defer t.wg.Done()
	for ev, err := range paused {
		if err != nil {
			return
		}
		if ev.Request == nil {
			continue
		}
		u := ev.Request.URL + ev.Request.URLFragment
		top := ev.FrameID == cdp.FrameID(t.targetID)
		ok, reason := true, ""
		if ev.ResourceType == network.ResourceTypeDocument {
			if ok, reason = topLevelAllowed(u, top); ok {
				ok, reason = filter(u)
			}
		}
		if ok {
			cont := fetch.ContinueRequestParams{RequestID: ev.RequestID, Headers: t.withHandoffHeaders(ev)}
			if _, err := call(t.ctx, t, fetch.ContinueRequest, cont); err != nil {
				t.log.Debug("continuing document request", "url", u, "err", err)
			}
			continue
		}
		t.log.Info("navigation blocked", "url", u, "reason", reason, "main_frame", top)
		if _, err := call(t.ctx, t, fetch.FailRequest, fetch.FailRequestParams{
			RequestID: ev.RequestID, ErrorReason: network.ErrorReasonBlockedByClient,
		}); err != nil {
			t.log.Debug("failing document request", "url", u, "err", err)
		}
		if top {
			t.q.push(navBlocked{url: u, reason: reason})
		}
	}
}

// topLevelAllowed refuses a main-frame document that is not http(s) or
// about:blank (file:, data:, chrome: and the like).
func topLevelAllowed(raw string, top bool) (bool, string) {
	if !top {
		return true, ""
	}
	if raw == "about:blank" {
		return true, ""
	}
	u, err := url.Parse(raw)
	if err != nil {
		return false, "the address is not valid"
	}
	if s := strings.ToLower(u.Scheme); s == "http" || s == "https" {
		return true, ""
	}
	return false, "only http and https pages may be opened, not " + u.Scheme + ":"
}
