package renderer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/fetch"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/cdproto/storage"
)

// ErrBadHandoff means handed-over state the tab cannot take as it is.
var ErrBadHandoff = errors.New("bad handoff")

// Handoff is a visitor's state handed over by the provider's backend, set in the tab's
// fresh browser context before its first page: the visitor's cookies (HttpOnly ones too),
// request headers for the provider's own origin, and web storage per origin. It lives in
// the browser context only and goes with it.
type Handoff struct {
	Cookies []Cookie `json:"cookies"`
	// Headers are added to every request to Origin (and to no other origin, so a
	// credential never reaches a third party the page loads from).
	Headers map[string]string `json:"headers"`
	Origin  string            `json:"-"` // the start page's, set by the server
	// Storage is localStorage and sessionStorage per origin ("https://shop.example").
	Storage map[string]OriginStorage `json:"storage"`
	// Fields are values the visitor had typed into the start page's form fields; they
	// are filled in once that page has loaded, except into masked fields.
	Fields []FieldValue `json:"fields"`
	// StartURL and Masked are set by the server: the page Fields belong to, and the
	// selectors of fields never filled in (passwords, card numbers, the session's masks).
	StartURL string   `json:"-"`
	Masked   []string `json:"-"`
}

// FieldValue is what a visitor typed into one form field.
type FieldValue struct {
	Selector string `json:"selector"`
	Value    string `json:"value"`
}

// Bounds of handed-over field values.
const (
	maxFields        = 200
	maxSelectorBytes = 500
	maxValueBytes    = 10_000
)

// Cookie is one handed-over cookie, as Set-Cookie would describe it.
type Cookie struct {
	Name     string  `json:"name"`
	Value    string  `json:"value"`
	Domain   string  `json:"domain"`
	Path     string  `json:"path"`
	Secure   bool    `json:"secure"`
	HTTPOnly bool    `json:"httpOnly"`
	SameSite string  `json:"sameSite"` // "Strict", "Lax", "None" or ""
	Expires  float64 `json:"expires"`  // seconds since the epoch; 0 for a session cookie
}

// OriginStorage is one origin's web storage.
type OriginStorage struct {
	Local   map[string]string `json:"local"`
	Session map[string]string `json:"session"`
}

// handoffHeaders are the headers the fetch handler adds for one origin.
type handoffHeaders struct {
	origin  string
	headers map[string]string
}

const (
	handoffWorld   = "tandem-handoff"
	handoffBinding = "tandemHandoff"
)

// handoffJS seeds web storage for the origins in DATA, before any of the page's
// scripts, in a world of its own (storage is the origin's, whichever world writes it),
// and tells the renderer, which removes the script once every origin is seeded: a later
// page of the origin keeps what the page itself stored.
//
// It also fills in the start page's form fields with what the visitor had typed, once the
// page's DOM is there, skipping every masked field whatever the selector says.
const handoffJS = `(() => {
	const data = DATA, s = data.storage[location.origin];
	if (window !== window.top) return;
	if (s) {
		try {
			for (const [k, v] of Object.entries(s.local || {})) localStorage.setItem(k, v);
			for (const [k, v] of Object.entries(s.session || {})) sessionStorage.setItem(k, v);
		} catch (e) {}
		globalThis.tandemHandoff(location.origin);
	}
	if (!data.fields.length || location.href.split('#')[0] !== data.url.split('#')[0]) return;
	const masked = ['input[type=password]', 'input[type=hidden]', 'input[type=file]', '[autocomplete^="cc-"]', ...data.masked];
	const fill = () => {
		for (const f of data.fields) {
			try {
				const el = document.querySelector(f.selector);
				if (!el || !('value' in el) || masked.some((m) => el.matches(m) || el.closest(m))) continue;
				if (el.type === 'checkbox' || el.type === 'radio') continue;
				el.value = f.value;
				el.dispatchEvent(new Event('input', { bubbles: true }));
				el.dispatchEvent(new Event('change', { bubbles: true }));
			} catch (e) {}
		}
		globalThis.tandemHandoff('fields');
	};
	if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', fill, { once: true });
	else fill();
})()`

// validate checks the handoff and returns the cookies as DevTools takes them.
func (h Handoff) validate() ([]*network.CookieParam, error) {
	var out []*network.CookieParam
	for _, c := range h.Cookies {
		if c.Name == "" || c.Domain == "" || strings.ContainsAny(c.Name+c.Value+c.Domain+c.Path, ";\r\n") {
			return nil, fmt.Errorf("%w: cookie %q needs a name and a domain, and no ';' or line breaks", ErrBadHandoff, c.Name)
		}
		p := &network.CookieParam{Name: c.Name, Value: c.Value, Domain: c.Domain, Path: c.Path, Secure: c.Secure, HTTPOnly: c.HTTPOnly}
		if p.Path == "" {
			p.Path = "/"
		}
		switch strings.ToLower(c.SameSite) {
		case "":
		case "strict":
			p.SameSite = network.CookieSameSiteStrict
		case "lax":
			p.SameSite = network.CookieSameSiteLax
		case "none":
			p.SameSite = network.CookieSameSiteNone
		default:
			return nil, fmt.Errorf("%w: cookie %q: sameSite must be Strict, Lax or None", ErrBadHandoff, c.Name)
		}
		if c.Expires > 0 {
			p.Expires = cdp.TimeSinceEpoch(c.Expires)
		}
		out = append(out, p)
	}
	for name, v := range h.Headers {
		if !validHeaderName(name) || strings.ContainsAny(v, "\r\n") {
			return nil, fmt.Errorf("%w: header %q is not a valid header", ErrBadHandoff, name)
		}
		switch http.CanonicalHeaderKey(name) {
		case "Host", "Content-Length", "Cookie", "Connection", "Transfer-Encoding", "Upgrade", "Origin", "Referer":
			return nil, fmt.Errorf("%w: header %q cannot be handed over (cookies go in cookies)", ErrBadHandoff, name)
		}
	}
	if len(h.Headers) > 0 && originOf(h.Origin) == "" {
		return nil, fmt.Errorf("%w: headers need the provider's origin", ErrBadHandoff)
	}
	for o := range h.Storage {
		if originOf(o) != o {
			return nil, fmt.Errorf("%w: storage key %q is not an origin like https://shop.example", ErrBadHandoff, o)
		}
	}
	if len(h.Fields) > maxFields {
		return nil, fmt.Errorf("%w: at most %d fields", ErrBadHandoff, maxFields)
	}
	for _, f := range h.Fields {
		if f.Selector == "" || len(f.Selector) > maxSelectorBytes || len(f.Value) > maxValueBytes {
			return nil, fmt.Errorf("%w: a field needs a selector of at most %d bytes and a value of at most %d", ErrBadHandoff, maxSelectorBytes, maxValueBytes)
		}
	}
	if len(h.Fields) > 0 && originOf(h.StartURL) == "" {
		return nil, fmt.Errorf("%w: fields need the start page", ErrBadHandoff)
	}
	return out, nil
}

func validHeaderName(s string) bool {
	if s == "" || len(s) > 256 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("!#$%&'*+-.^_`|~", r)) {
			return false
		}
	}
	return true
}

// originOf is raw's origin ("https://shop.example:8443"), or "" for what is not http(s).
func originOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return ""
	}
	return u.Scheme + "://" + u.Host
}

// Handoff sets a visitor's state in the tab's browser context. Call it before the first
// navigation; the tab must have been opened with a navigation filter when h has headers.
func (t *Tab) Handoff(ctx context.Context, h Handoff) error {
	t.stir(ctx)
	cookies, err := h.validate()
	if err != nil {
		return err
	}
	cctx, cancel, err := t.callCtx(ctx)
	if err != nil {
		return err
	}
	defer cancel()
	if len(cookies) > 0 {
		if _, err := cdp.Call(cctx, t.cb, storage.SetCookies, storage.SetCookiesParams{Cookies: cookies, BrowserContextID: t.bctxID}); err != nil {
			return fmt.Errorf("%w: cookies: %v", ErrBadHandoff, err)
		}
	}
	if len(h.Headers) > 0 {
		if !t.fetching {
			return fmt.Errorf("%w: headers need a tab that filters its requests", ErrBadHandoff)
		}
		t.handoff.Store(&handoffHeaders{origin: originOf(h.Origin), headers: h.Headers})
		if err := t.enableFetch(cctx, originOf(h.Origin)); err != nil {
			return err
		}
	}
	if len(h.Storage) > 0 || len(h.Fields) > 0 {
		fields, stores := h.Fields, h.Storage
		if fields == nil {
			fields = []FieldValue{}
		}
		if stores == nil {
			stores = map[string]OriginStorage{}
		}
		data, err := json.Marshal(map[string]any{"storage": stores, "fields": fields, "url": h.StartURL,
			"masked": append([]string{}, h.Masked...)})
		if err != nil {
			return fmt.Errorf("%w: storage: %v", ErrBadHandoff, err)
		}
		if _, err := call(cctx, t, runtime.AddBinding, runtime.AddBindingParams{Name: handoffBinding, ExecutionContextName: handoffWorld}); err != nil {
			return err
		}
		res, err := call(cctx, t, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{
			Source: strings.Replace(handoffJS, "DATA", string(data), 1), WorldName: handoffWorld,
		})
		if err != nil {
			return err
		}
		t.seedMu.Lock()
		t.seedScript, t.seedLeft = res.Identifier, len(h.Storage)
		if len(fields) > 0 {
			t.seedLeft++ // "fields", told once they are filled in
		}
		t.seedDone = map[string]bool{}
		t.seedMu.Unlock()
	}
	return nil
}

// seeded notes that origin's storage was seeded, and removes the seeding script once
// every origin is. It runs on its own goroutine.
func (t *Tab) seeded(origin string) {
	t.seedMu.Lock()
	if t.seedScript == "" || t.seedDone[origin] {
		t.seedMu.Unlock()
		return
	}
	t.seedDone[origin] = true
	t.seedLeft--
	id := t.seedScript
	if t.seedLeft > 0 {
		t.seedMu.Unlock()
		return
	}
	t.seedScript = ""
	t.seedMu.Unlock()
	ctx, cancel := context.WithTimeout(t.ctx, t.cfg.CallTimeout)
	defer cancel()
	if _, err := call(ctx, t, page.RemoveScriptToEvaluateOnNewDocument, page.RemoveScriptToEvaluateOnNewDocumentParams{Identifier: id}); err != nil {
		t.log.Debug("removing the handoff script", "err", err)
	}
}

// withHandoffHeaders returns the headers a paused request continues with: its own plus
// the handed-over ones when it goes to the provider's origin; nil leaves it unchanged.
func (t *Tab) withHandoffHeaders(ev fetch.EventRequestPaused) []*fetch.HeaderEntry {
	h := t.handoff.Load()
	if h == nil || ev.Request == nil || originOf(ev.Request.URL) != h.origin {
		return nil
	}
	var out []*fetch.HeaderEntry
	for k, v := range ev.Request.Headers {
		if _, replaced := h.headers[k]; !replaced {
			out = append(out, &fetch.HeaderEntry{Name: k, Value: fmt.Sprint(v)})
		}
	}
	for k, v := range h.headers {
		out = append(out, &fetch.HeaderEntry{Name: k, Value: v})
	}
	return out
}
