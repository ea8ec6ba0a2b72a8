package app

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/tandem-cobrowse/tandem/agent"
	"github.com/tandem-cobrowse/tandem/cluster"
	"github.com/tandem-cobrowse/tandem/console"
	"github.com/tandem-cobrowse/tandem/proxy"
	"github.com/tandem-cobrowse/tandem/site"
)

// siteDirectory is the site store as the API needs it.
type siteDirectory struct {
	st  *site.Store
	log *slog.Logger
}

func (d siteDirectory) found(s site.Site, err error) (proxy.Site, bool) {
	if err != nil {
		if !errors.Is(err, site.ErrNotFound) {
			d.log.Error("reading the site store", "err", err)
		}
		return proxy.Site{}, false
	}
	return proxy.Site{
		ID: s.ID, AllowedOrigins: s.AllowedOrigins, ScriptStart: s.ScriptStart, Rules: s.Rules,
		ViewConsentOnHelp: s.ViewConsent == "help", WebhookURL: s.WebhookURL, WebhookSecret: s.WebhookSecret,
		ButtonText: s.ButtonText,
	}, true
}

func (d siteDirectory) ByAPIKey(key string) (proxy.Site, bool) {
	if !strings.HasPrefix(key, site.APIKeyPrefix) {
		return proxy.Site{}, false // the server's own key, or an agent's: not a site's
	}
	return d.found(d.st.ByAPIKey(key))
}

func (d siteDirectory) ByPublishableKey(key string) (proxy.Site, bool) {
	return d.found(d.st.ByPublishableKey(key))
}

func (d siteDirectory) Get(id string) (proxy.Site, bool) { return d.found(d.st.Get(id)) }

// accountsForConsole adapts the agent accounts to the console.
type accountsForConsole struct{ a *agent.Accounts }

func (c accountsForConsole) Verify(name, password string) (console.Agent, error) {
	ag, err := c.a.Verify(name, password)
	return console.Agent{Name: ag.Name, DisplayName: ag.DisplayName}, err
}

func (c accountsForConsole) ByToken(token string) (console.Agent, error) {
	ag, err := c.a.ByToken(token)
	return console.Agent{Name: ag.Name, DisplayName: ag.DisplayName}, err
}

// agentOf tells the API which agent a request is from, through the console.
func agentOf(c *console.Console) func(r *http.Request) (proxy.Agent, error) {
	return func(r *http.Request) (proxy.Agent, error) {
		if id := cluster.ForwardedIdentity(r); id != nil {
			// Passed on by another node of the cluster, which checked the sign-in.
			var ag proxy.Agent
			if err := json.Unmarshal(id, &ag); err != nil || ag.Name == "" {
				return proxy.Agent{}, fmt.Errorf("%w: a forwarded request without its agent", proxy.ErrUnauthorized)
			}
			return ag, nil
		}
		ag, err := c.Authenticate(r)
		if errors.Is(err, console.ErrCSRF) {
			return proxy.Agent{}, proxy.ErrCSRF
		}
		if errors.Is(err, console.ErrUnavailable) {
			// The shared sign-ins cannot be read: 503, not 401, so the page keeps the agent.
			return proxy.Agent{}, fmt.Errorf("%w: agent sign-ins cannot be checked right now", proxy.ErrUnavailable)
		}
		if err != nil {
			return proxy.Agent{}, err
		}
		return proxy.Agent{Name: ag.Name, DisplayName: ag.DisplayName}, nil
	}
}

// demoSite configures the bundled demo shop as a site, with a fresh API key for its
// backend, so the whole flow works out of the box.
func demoSite(st *site.Store, demoOrigins []string) (publishable, apiKey string, err error) {
	s, key, err := st.EnsureDemo(demoOrigins)
	if err != nil {
		return "", "", fmt.Errorf("configuring the demo site: %w", err)
	}
	return s.PublishableKey, key, nil
}

// requireServerKey guards the sites API with the server's API key, and keeps it shut
// when the server has none: who manages sites must prove it, or use the command line.
func requireServerKey(key string, api *proxy.API) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		if key == "" {
			return func(c echo.Context) error {
				return c.JSON(http.StatusForbidden, proxy.APIError{Error: "no_api_key",
					Message: "Managing sites over the API needs the server's API key (--api-key); without one, use `tandem sites`."})
			}
		}
		return api.RequireAPIKey(next)
	}
}

// demoOrigins are the origins the demo shop's pages have, by the names it answers to.
func demoOrigins(a *net.TCPAddr) []string {
	port := strconv.Itoa(a.Port)
	out := []string{"http://127.0.0.1:" + port, "http://localhost:" + port}
	if ip := a.IP; ip != nil && !ip.IsUnspecified() && !ip.IsLoopback() {
		out = append(out, "http://"+net.JoinHostPort(ip.String(), port))
	}
	return out
}
