// Package console is the agent side of Tandem: the console page support staff work
// from, and how agents prove who they are: name and password, single sign-on through
// an OpenID Connect provider, or an agent token for scripts.
package console

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/tandem-cobrowse/tandem/internal/webguard"
)

// Agent is a signed-in support person.
type Agent struct {
	Name        string `json:"name"`
	DisplayName string `json:"displayName"`
}

// Accounts checks agents' credentials. Any error from Verify counts as wrong
// credentials; any error from ByToken as no agent.
type Accounts interface {
	Verify(name, password string) (Agent, error)
	ByToken(token string) (Agent, error)
}

// Params configure a Console.
type Params struct {
	Accounts Accounts
	// OIDC turns on single sign-on; nil leaves it off.
	OIDC *OIDCConfig
	// SecureCookies marks cookies Secure; set it when the public URL is https.
	SecureCookies bool
	// PublicURL is the server's public base URL, if it has one. Sign-in accepts its
	// origin besides the one the request itself names, for proxies that rewrite Host.
	PublicURL string
	Logger    *slog.Logger
	// Now is the clock, time.Now when nil; tests move it to expire sessions.
	Now func() time.Time
	// SessionTTL is how long a sign-in lasts, from the moment it happened;
	// DefaultSessionTTL when 0.
	SessionTTL time.Duration
	// Sessions keeps the signed-in sessions; nil keeps them in this process's memory.
	// Nodes of a cluster behind a load balancer share one (cluster.KVStore), with the
	// same SessionTTL on every node, so a sign-in through one node holds on all.
	Sessions SessionStore
	// Strikes, if set, counts wrong passwords across the nodes of a cluster, so that a
	// guesser spreading attempts over nodes behind a load balancer is locked out as on
	// one node; the per-node rate limit applies as well.
	Strikes Strikes
}

// Strikes counts failures per key across a cluster (cluster.Registry).
type Strikes interface {
	// Locked reports whether key is locked out now.
	Locked(ctx context.Context, key string) (bool, error)
	// Strike counts one failure against key: allow of them within window lock it out
	// for lockOut.
	Strike(ctx context.Context, key string, allow int, window, lockOut time.Duration) error
}

// Console serves the agent console and decides which agent made a request.
type Console struct {
	accounts Accounts
	log      *slog.Logger
	now      func() time.Time
	secure   bool
	origin   string // normalised origin of Params.PublicURL, or ""
	ttl      time.Duration
	sessions *sessions
	attempts *attempts
	strikes  Strikes // nil alone
	sso      *sso    // nil when single sign-on is off
	assets   *assets
}

const (
	sessionCookie = "tandem_agent"
	loginCookie   = "tandem_login"
	csrfHeader    = "X-CSRF-Token"

	discoveryTimeout = 10 * time.Second
)

// DefaultSessionTTL is how long a sign-in lasts unless Params.SessionTTL says otherwise.
const DefaultSessionTTL = 12 * time.Hour

// New builds a Console. With OIDC set it fetches the provider's discovery document
// first, so a wrong issuer fails at start-up rather than at an agent's first sign-in.
func New(p Params) (*Console, error) {
	if p.Accounts == nil {
		return nil, errors.New("console: Params.Accounts is required")
	}
	c := &Console{
		accounts: p.Accounts,
		log:      p.Logger,
		now:      p.Now,
		secure:   p.SecureCookies,
		ttl:      p.SessionTTL,
		attempts: newAttempts(),
		strikes:  p.Strikes,
		assets:   loadAssets(),
	}
	if p.PublicURL != "" {
		c.origin = webguard.NormOrigin(p.PublicURL)
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if c.now == nil {
		c.now = time.Now
	}
	if c.ttl <= 0 {
		c.ttl = DefaultSessionTTL
	}
	store := p.Sessions
	if store == nil {
		store = newMemoryStore(c.now)
	}
	c.sessions = &sessions{store: store, ttl: c.ttl, log: c.log}
	if p.OIDC != nil {
		ctx, cancel := context.WithTimeout(context.Background(), discoveryTimeout)
		defer cancel()
		sso, err := newSSO(ctx, *p.OIDC, c.now, c.log)
		if err != nil {
			return nil, fmt.Errorf("console: single sign-on: %w", err)
		}
		c.sso = sso
	}
	return c, nil
}

// Register adds the console's routes to e.
func (c *Console) Register(e *echo.Echo) {
	e.GET("/agent", c.page, headers)
	e.GET("/agent/", func(ec echo.Context) error { return ec.Redirect(http.StatusMovedPermanently, "/agent") })
	e.GET("/agent/assets/*", c.asset, headers)
	e.POST("/agent/sign-in", c.signIn, headers)
	e.POST("/agent/sign-out", c.signOut, headers)
	e.GET("/api/v1/agent/me", c.me, headers)
	e.GET("/api/v1/agent/login-token", c.loginToken, headers)
	e.GET("/agent/oidc/login", c.ssoLogin, headers)
	e.GET("/agent/oidc/callback", c.ssoCallback, headers)
}

// headers are sent with every console answer: no MIME sniffing, and no Referer that
// could carry a console URL to another site.
func headers(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		h := c.Response().Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		return next(c)
	}
}

// cookie is one of the console's cookies: never readable by scripts, and never sent
// along with a request another site starts.
func (c *Console) cookie(name, value, path string, maxAge int) *http.Cookie {
	return &http.Cookie{
		Name:     name,
		Value:    value,
		Path:     path,
		MaxAge:   maxAge,
		HttpOnly: true,
		Secure:   c.secure,
		SameSite: http.SameSiteStrictMode,
	}
}

// startSession signs a in on this browser: a new session and its cookie. Whatever
// session the browser had before ends.
func (c *Console) startSession(ec echo.Context, a Agent, viaOIDC bool) (session, error) {
	r := ec.Request()
	if old, err := r.Cookie(sessionCookie); err == nil {
		// Left behind, the old session still lapses at its expiry; only a copy of the
		// cookie taken before could use it until then.
		if err := c.sessions.remove(r.Context(), old.Value); err != nil {
			c.log.Warn("the previous agent session was not removed", "err", err)
		}
	}
	id, sess, err := c.sessions.create(r.Context(), a, viaOIDC, c.now())
	if err != nil {
		return session{}, err
	}
	ec.SetCookie(c.cookie(sessionCookie, id, "/", int(c.ttl/time.Second)))
	return sess, nil
}
