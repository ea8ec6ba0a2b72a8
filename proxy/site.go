package proxy

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"golang.org/x/time/rate"
)

// Site is what the API needs to know of a provider site (package site stores them).
type Site struct {
	ID             string
	AllowedOrigins []string
	// ScriptStart lets the embed start sessions with the publishable key alone.
	ScriptStart bool
	// Rules are the site's rules (the "rules" object of a create request) for its sessions.
	Rules json.RawMessage
	// ViewConsentOnHelp: a visitor who asks for help consents to be seen by the agent who
	// accepts (announced and audited, never silent).
	ViewConsentOnHelp bool
	WebhookURL        string
	WebhookSecret     string
	// ButtonText is the embed's button text, unless the page sets its own.
	ButtonText string
}

// Sites finds provider sites.
type Sites interface {
	ByAPIKey(key string) (Site, bool)
	ByPublishableKey(key string) (Site, bool)
	Get(id string) (Site, bool)
}

// Agent is a signed-in support agent.
type Agent struct {
	Name        string // the account's name (unique)
	DisplayName string // what visitors see
}

// ErrSiteRefused means a site's settings refuse what was asked.
var ErrSiteRefused = errors.New("refused by the site's settings")

// ErrRateLimited means too many requests from one source or for one site.
var ErrRateLimited = errors.New("rate limited")

func (s Site) rules() (Rules, error) {
	r, err := ParseRules(s.Rules)
	if err != nil {
		return Rules{}, fmt.Errorf("site %s: %w", s.ID, err)
	}
	return r, nil
}

// allowsOrigin reports whether a browser page of origin may act for the site.
func (s Site) allowsOrigin(origin string) bool {
	return origin != "" && slices.Contains(s.AllowedOrigins, strings.ToLower(origin))
}

// allowsURL refuses a start URL outside the site's own origins: a site key starts
// sessions on the site's pages only.
func (s Site) allowsURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || !s.allowsOrigin(strings.ToLower(u.Scheme+"://"+u.Host)) {
		return fmt.Errorf("%w: %s is not on one of the site's allowed origins", ErrSiteRefused, raw)
	}
	return nil
}

// limiters rate-limit what the publishable key may do, per site and per source address.
type limiters struct {
	mu   sync.Mutex
	by   map[string]*rate.Limiter
	seen map[string]time.Time
}

func newLimiters() *limiters {
	return &limiters{by: map[string]*rate.Limiter{}, seen: map[string]time.Time{}}
}

// allow takes one event for key, limited to n a minute with a burst of n.
func (l *limiters) allow(key string, n int) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now()
	if len(l.by) > 10_000 { // forget quiet keys rather than grow without bound
		for k, t := range l.seen {
			if now.Sub(t) > 10*time.Minute {
				delete(l.by, k)
				delete(l.seen, k)
			}
		}
	}
	lim := l.by[key]
	if lim == nil {
		lim = rate.NewLimiter(rate.Every(time.Minute/time.Duration(n)), n)
		l.by[key] = lim
	}
	l.seen[key] = now
	return lim.AllowN(now, 1)
}

// Rates of the publishable key.
const (
	embedPerSite   = 60 // sessions a minute per site
	embedPerSource = 6  // sessions a minute per source address
	helpPerSource  = 6  // help requests a minute per source address
	joinPerSource  = 30 // code redemptions a minute per source address, right or wrong
)

// source is the request's peer address: the server does not trust forwarding headers.
func source(r *http.Request) string {
	host := r.RemoteAddr
	if i := strings.LastIndexByte(host, ':'); i > 0 {
		host = host[:i]
	}
	return strings.Trim(host, "[]")
}

// cors answers a browser page of origin with the headers that let it read the answer;
// the decision whether it may act at all is made by the handler, on the server.
func cors(c echo.Context, origin string) {
	h := c.Response().Header()
	h.Add("Vary", "Origin")
	if origin == "" {
		return
	}
	h.Set("Access-Control-Allow-Origin", origin)
	h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type")
	h.Set("Access-Control-Allow-Methods", "GET, POST, DELETE")
	h.Set("Access-Control-Max-Age", "600")
}

// preflight answers CORS preflights; the middleware before it has set the headers, or
// has not, and then the browser refuses.
func (a *API) preflight(c echo.Context) error {
	if c.Response().Header().Get("Access-Control-Allow-Origin") == "" {
		cors(c, "") // only Vary
	}
	return c.NoContent(http.StatusNoContent)
}

// corsForSession lets the pages of a session's own site call its REST endpoints (the
// embed's panel: status, consent, stop sharing). Other origins are not refused here (API
// clients send no Origin), but their browsers cannot read the answers.
func (a *API) corsForSession(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		origin := c.Request().Header.Get("Origin")
		if origin != "" && a.p.Sites != nil {
			if s, err := a.p.Registry.Get(c.Param("id")); err == nil && s.params.Site != "" {
				if site, ok := a.p.Sites.Get(s.params.Site); ok && site.allowsOrigin(origin) {
					cors(c, origin)
				}
			}
		}
		return next(c)
	}
}

// corsForHelp lets any site's pages ask for help: the request itself is authorised by
// the session's host token, and checked against the session's site in the handler.
func (a *API) corsForHelp(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if origin := c.Request().Header.Get("Origin"); origin != "" && a.p.Sites != nil {
			cors(c, origin)
		}
		return next(c)
	}
}
