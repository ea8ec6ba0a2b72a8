package proxy

import (
	"fmt"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/tandem-cobrowse/tandem/renderer"
)

// corsAny reflects any origin: the handler decides, on the server, whether the origin may
// act; reflecting lets a refused page read why.
func (a *API) corsAny(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		cors(c, c.Request().Header.Get("Origin"))
		return next(c)
	}
}

type embedCreateRequest struct {
	Site    string                  `json:"site"`
	URL     string                  `json:"url"`
	Storage *renderer.OriginStorage `json:"storage"`
	Fields  []renderer.FieldValue   `json:"fields"`
}

type embedCreated struct {
	ID                string `json:"id"`
	JoinCode          string `json:"joinCode"`
	JoinCodeExpiresAt any    `json:"joinCodeExpiresAt"`
	HostLink          string `json:"hostLink"`
}

// embedCreate starts a session from the embed with a site's publishable key alone: for
// providers with no backend work. The page's own origin must be one of the site's, the
// session starts on that origin's page, and only what the page's scripts could read
// travels (web storage, typed field values, never cookies); the site's rules apply and
// cannot be chosen.
func (a *API) embedCreate(c echo.Context) error {
	r := c.Request()
	if a.p.Sites == nil {
		return fmt.Errorf("%w: this server has no sites", ErrSiteRefused)
	}
	var req embedCreateRequest
	if err := readJSON(c, &req); err != nil {
		return err
	}
	site, ok := a.p.Sites.ByPublishableKey(req.Site)
	if !ok {
		return fmt.Errorf("%w: no site has the key %q", ErrUnauthorized, req.Site)
	}
	origin := r.Header.Get("Origin")
	if !site.allowsOrigin(origin) {
		return fmt.Errorf("%w: pages of %s may not start sessions for this site", ErrCrossOrigin, printable(origin))
	}
	if !site.ScriptStart {
		return fmt.Errorf("%w: this site starts sessions from its own backend only", ErrSiteRefused)
	}
	u, err := ValidateURL(req.URL)
	if err != nil {
		return err
	}
	if originOf(u) != origin {
		return fmt.Errorf("%w: the page must be on the origin asking (%s)", ErrSiteRefused, origin)
	}
	if !a.limits.allow("site:"+site.ID, embedPerSite) || !a.limits.allow("embed:"+source(r), embedPerSource) {
		c.Response().Header().Set("Retry-After", "60")
		return fmt.Errorf("%w: too many sessions started; try again in a minute", ErrRateLimited)
	}
	rules, err := site.rules()
	if err != nil {
		return err
	}
	var handoff *renderer.Handoff
	if req.Storage != nil || len(req.Fields) > 0 {
		handoff = &renderer.Handoff{Fields: req.Fields}
		if req.Storage != nil {
			handoff.Storage = map[string]renderer.OriginStorage{origin: *req.Storage}
		}
	}
	created, err := a.p.Registry.Create(r.Context(), SessionRequest{URL: u, Rules: rules, Base: a.base(c),
		Handoff: handoff, Site: site.ID, ViewConsentOnHelp: site.ViewConsentOnHelp})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, embedCreated{ID: created.ID, JoinCode: created.JoinCode,
		JoinCodeExpiresAt: created.JoinCodeExpiresAt, HostLink: created.Links[RoleHost]})
}

// printable is s for a message, or "a page with no origin".
func printable(s string) string {
	if s == "" {
		return "a page with no origin"
	}
	return s
}

// embedSite is what the embed may know of its site before anyone presses anything: public
// settings only, looked up by the publishable key the page carries anyway.
func (a *API) embedSite(c echo.Context) error {
	if a.p.Sites == nil {
		return fmt.Errorf("%w: no such site", ErrSessionNotFound)
	}
	site, ok := a.p.Sites.ByPublishableKey(c.Param("key"))
	if !ok {
		return fmt.Errorf("%w: no such site", ErrSessionNotFound)
	}
	c.Response().Header().Set("Cache-Control", "public, max-age=300")
	return c.JSON(http.StatusOK, map[string]any{"buttonText": site.ButtonText, "scriptStart": site.ScriptStart})
}
