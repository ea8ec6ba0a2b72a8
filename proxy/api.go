package proxy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/tandem-cobrowse/tandem/help"
	"github.com/tandem-cobrowse/tandem/internal/webguard"
	"github.com/tandem-cobrowse/tandem/recording"
	"github.com/tandem-cobrowse/tandem/renderer"
	"github.com/tandem-cobrowse/tandem/stream"
)

// MaxBody bounds the body of every API request.
const MaxBody = 64 << 10

// APIParams are the dependencies of the REST and WebSocket API.
type APIParams struct {
	Ctx       context.Context // the server's lifetime
	Registry  *Registry
	Upgrader  *stream.Upgrader
	APIKey    string                          // "" = creating sessions needs no key
	PublicURL string                          // base of viewer links; "" = the request's own origin
	DemoURL   string                          // prefilled on the start page
	Health    func(ctx context.Context) error // whether Chromium is usable
	// Origins are the browser origins that may create sessions without the API key (the
	// server's own and --allowed-origins); nil: the server's own only.
	Origins *webguard.Origins
	// Hosts are the Host names the server answers for; nil answers any (tests).
	Hosts *webguard.HostPolicy
	// Sites are the provider sites; nil: none (only the server's API key creates).
	Sites Sites
	// Agent tells which signed-in agent a request comes from (the console's cookie with
	// its CSRF header, or an agent's API token); nil: no agents.
	Agent func(r *http.Request) (Agent, error)
	// Help is the help queue; nil turns help requests off.
	Help *help.Queue
	// Webhooks deliver new help requests to sites that want them; nil: none.
	Webhooks *help.Notifier
	Logger   *slog.Logger
	// Recordings are the sessions' recordings, listed, fetched and deleted with the API
	// key or an agent's sign-in; nil: none.
	Recordings *recording.Store
	// Elsewhere serves participants of sessions that another node holds; nil: none.
	Elsewhere Elsewhere
	// Forwarded tells a request another node of the cluster passed on (it has checked
	// the Host already) and the base of links it wants; nil: none are.
	Forwarded func(r *http.Request) (base string, ok bool)
}

// Elsewhere serves a participant whose session another node of the cluster holds.
type Elsewhere interface {
	// Serve relays conn, whose hello has been read, to the session's node until the
	// connection ends; false when no node holds the session.
	Serve(ctx context.Context, conn *stream.Conn, session string, hello stream.ClientMessage) bool
}

// API serves /api/v1 and /healthz.
type API struct {
	p      APIParams
	log    *slog.Logger
	limits *limiters // what browsers may do without a key, per site and per source
}

// NewAPI returns the API over p.
func NewAPI(p APIParams) *API {
	if p.Logger == nil {
		p.Logger = slog.Default()
	}
	if p.Ctx == nil {
		p.Ctx = context.Background()
	}
	if p.Origins == nil {
		p.Origins = webguard.NewOrigins(nil)
	}
	a := &API{p: p, log: p.Logger, limits: newLimiters()}
	if p.Help != nil {
		go a.watchHelp(p.Ctx)
	}
	return a
}

// Register adds the API's routes to e.
func (a *API) Register(e *echo.Echo) {
	e.GET("/healthz", a.healthz)
	g := e.Group("/api/v1")
	g.GET("/config", a.config)
	g.POST("/sessions", a.create)
	g.GET("/sessions/:id", a.get, a.corsForSession)
	g.DELETE("/sessions/:id", a.delete, a.corsForSession)
	g.OPTIONS("/sessions/:id", a.preflight, a.corsForSession)
	g.POST("/sessions/:id/consent", a.consent, a.corsForSession)
	g.OPTIONS("/sessions/:id/consent", a.preflight, a.corsForSession)
	g.POST("/sessions/:id/join-code", a.newJoinCode, a.corsForSession)
	g.OPTIONS("/sessions/:id/join-code", a.preflight, a.corsForSession)
	g.POST("/embed/sessions", a.embedCreate, a.corsAny)
	g.OPTIONS("/embed/sessions", a.preflight, a.corsAny)
	g.GET("/embed/sites/:key", a.embedSite, a.corsAny)
	g.POST("/join", a.join)
	g.POST("/help-requests", a.helpCreate, a.corsForHelp)
	g.OPTIONS("/help-requests", a.preflight, a.corsForHelp)
	g.GET("/help-requests", a.helpList)
	g.GET("/help-requests/events", a.helpEvents)
	g.POST("/help-requests/:id/accept", a.helpAccept)
	g.GET("/sessions/:id/ws", a.ws)
	g.GET("/recordings", a.recordingsList)
	g.GET("/recordings/:rid", a.recordingGet)
	g.DELETE("/recordings/:rid", a.recordingDelete)
	g.GET("/recordings/:rid/assets/:key", a.recordingAsset)
	g.POST("/sessions/:id/files", a.upload)
	g.GET("/sessions/:id/assets/:cap/:key", a.asset)
}

// asset serves one image, font or stylesheet of a session's Page-mode copies. The path
// is the capability: unguessable, issued only to the session's participants. Anything
// wrong answers the same 404.
func (a *API) asset(c echo.Context) error {
	notFound := func() error {
		return c.JSON(http.StatusNotFound, APIError{Error: "not_found", Message: "no such asset"})
	}
	s, err := a.p.Registry.Get(c.Param("id"))
	if err != nil {
		return notFound()
	}
	asset, err := s.Asset(c.Request().Context(), c.Param("cap"), c.Param("key"))
	if err != nil {
		return notFound()
	}
	h := c.Response().Header()
	h.Set("X-Content-Type-Options", "nosniff")
	// Opened on its own, an asset (an SVG, say) runs nothing and loads nothing.
	h.Set("Content-Security-Policy", "default-src 'none'; img-src data:; style-src 'unsafe-inline'; sandbox")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
	h.Set("Cache-Control", "private, max-age=300")
	h.Set("Referrer-Policy", "no-referrer")
	return c.Blob(http.StatusOK, asset.ContentType, asset.Body)
}

func (a *API) healthz(c echo.Context) error {
	ctx, cancel := context.WithTimeout(c.Request().Context(), 5*time.Second)
	defer cancel()
	if a.p.Health != nil {
		if err := a.p.Health(ctx); err != nil {
			return fmt.Errorf("%w: %v", ErrUnavailable, err)
		}
	}
	return c.JSON(http.StatusOK, map[string]any{"status": "ok", "sessions": a.p.Registry.Len()})
}

func (a *API) config(c echo.Context) error {
	return c.JSON(http.StatusOK, map[string]any{"demoURL": a.p.DemoURL, "apiKeyRequired": a.p.APIKey != ""})
}

type createRequest struct {
	URL     string            `json:"url"`
	Rules   json.RawMessage   `json:"rules"`
	Handoff *renderer.Handoff `json:"handoff"`
}

func (a *API) create(c echo.Context) error {
	r := c.Request()
	keyed := a.p.APIKey != "" && secretEqual(bearer(r), a.p.APIKey)
	// A site's own API key creates sessions of that site: its rules and consent settings.
	var site *Site
	if !keyed && a.p.Sites != nil && bearer(r) != "" {
		if st, ok := a.p.Sites.ByAPIKey(bearer(r)); ok {
			site, keyed = &st, true
		}
	}
	if (a.p.APIKey != "" || bearer(r) != "") && !keyed {
		return fmt.Errorf("%w: a valid API key is required (Authorization: Bearer KEY)", ErrUnauthorized)
	}
	// Without a key, any page the user visits could post here from their browser and fill
	// --max-sessions: only the server's own pages (and configured origins) may.
	if !keyed && !a.p.Origins.Allowed(r) {
		return fmt.Errorf("%w: origin %s may not create sessions", ErrCrossOrigin, r.Header.Get("Origin"))
	}
	// A form can post text/plain or urlencoded bodies cross-site without a preflight;
	// application/json cannot be sent that way.
	var req createRequest
	err := readJSON(c, &req)
	if err != nil {
		return err
	}
	if _, err := ValidateURL(req.URL); err != nil {
		return err
	}
	base := DefaultRules()
	sr := SessionRequest{URL: req.URL, Base: a.base(c), Handoff: req.Handoff}
	if site != nil {
		if base, err = site.rules(); err != nil {
			return err
		}
		sr.Site, sr.ViewConsentOnHelp = site.ID, site.ViewConsentOnHelp
		if err := site.allowsURL(req.URL); err != nil {
			return err
		}
	}
	if sr.Rules, err = ParseRulesOver(base, req.Rules); err != nil {
		return err
	}
	// A visitor's cookies and credentials come only from the provider's backend.
	if req.Handoff != nil && !keyed {
		return fmt.Errorf("%w: a handoff needs the API key (Authorization: Bearer KEY), and the server must have one", ErrUnauthorized)
	}
	created, err := a.p.Registry.Create(c.Request().Context(), sr)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, created)
}

// authorised finds the session and checks that the request carries its host token or the
// server's API key.
func (a *API) authorised(c echo.Context) (*Session, error) {
	s, err := a.p.Registry.Get(c.Param("id"))
	if err != nil {
		return nil, err
	}
	tok := bearer(c.Request())
	if tok != "" {
		if cred, ok := s.Authenticate(tok); ok && cred.Role == RoleHost {
			return s, nil
		}
		if a.p.APIKey != "" && secretEqual(tok, a.p.APIKey) {
			return s, nil
		}
	}
	return nil, fmt.Errorf("%w: the host token or the API key is required", ErrUnauthorized)
}

func (a *API) get(c echo.Context) error {
	s, err := a.authorised(c)
	if err != nil {
		return err
	}
	info, err := s.Info()
	if err != nil {
		return err
	}
	if a.p.Help != nil {
		if r, ok := a.p.Help.ForSession(s.ID()); ok {
			info.Help = &r
		}
	}
	return c.JSON(http.StatusOK, info)
}

func (a *API) delete(c echo.Context) error {
	s, err := a.authorised(c)
	if err != nil {
		return err
	}
	s.End(StopReason)
	return c.NoContent(http.StatusNoContent)
}

type consentRequest struct {
	Participant ParticipantID `json:"participant"`
	Kind        string        `json:"kind"`
	Allow       *bool         `json:"allow"`
}

// consent is the host's answer to a question put to it (the embed's panel asks it on the
// provider's page as well as the viewer).
func (a *API) consent(c echo.Context) error {
	s, err := a.authorised(c)
	if err != nil {
		return err
	}
	var req consentRequest
	if err := readJSON(c, &req); err != nil {
		return err
	}
	if req.Allow == nil || req.Participant == "" {
		return fmt.Errorf("%w: participant and allow (true or false) are required", ErrBadRequest)
	}
	if err := s.Consent(req.Participant, req.Kind, *req.Allow); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// newJoinCode replaces an expired (or any) join code of the session.
func (a *API) newJoinCode(c echo.Context) error {
	s, err := a.authorised(c)
	if err != nil {
		return err
	}
	code, exp, err := a.p.Registry.NewJoinCode(s.ID())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"joinCode": code, "joinCodeExpiresAt": exp})
}

// ws is one participant's connection. The session is looked up after the upgrade so a
// browser client, which cannot read an HTTP error, learns why it was refused from bye.
func (a *API) ws(c echo.Context) error {
	conn, err := a.p.Upgrader.Upgrade(c.Response(), c.Request())
	if err != nil {
		a.log.Debug("websocket upgrade refused", "err", err)
		return nil // the upgrader has answered
	}
	hello, err := conn.ReadHello()
	if errors.Is(err, stream.ErrHelloTimeout) {
		conn.Close(stream.CloseHelloTimeout, "hello_timeout", "The server did not get your hello in time; connect again.")
		return nil
	}
	if err != nil {
		conn.Close(CloseUnauthorized, "unauthorized", "The first message must be a hello with your token.")
		return nil
	}
	sid := c.Param("id")
	s, id, err := a.p.Registry.Admit(sid, conn, hello)
	if errors.Is(err, ErrSessionNotFound) && a.p.Elsewhere != nil && a.p.Elsewhere.Serve(a.p.Ctx, conn, sid, hello) {
		return nil // held by another node, and served from there
	}
	var refused *AdmitError
	if errors.As(err, &refused) {
		conn.Close(refused.Code, refused.Bye, refused.Message)
		return nil
	}
	err = conn.Run(a.p.Ctx, func(m stream.ClientMessage) { s.Handle(id, conn, m) })
	s.Leave(id, conn)
	if err != nil && !errors.Is(err, context.Canceled) {
		a.log.Debug("connection ended", "session", s.ID(), "participant", id, "err", err)
	}
	return nil
}

// RequireAPIKey guards a route (such as /metrics) with the API key when one is configured.
func (a *API) RequireAPIKey(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if a.p.APIKey != "" && !secretEqual(bearer(c.Request()), a.p.APIKey) {
			return fmt.Errorf("%w: the API key is required (Authorization: Bearer KEY)", ErrUnauthorized)
		}
		return next(c)
	}
}

func (a *API) base(c echo.Context) string {
	if a.p.Forwarded != nil {
		if base, ok := a.p.Forwarded(c.Request()); ok {
			return base // links point at the node that answered
		}
	}
	if a.p.PublicURL != "" {
		return a.p.PublicURL
	}
	return c.Scheme() + "://" + c.Request().Host
}

func (a *API) forwarded(r *http.Request) bool {
	if a.p.Forwarded == nil {
		return false
	}
	_, ok := a.p.Forwarded(r)
	return ok
}

// GuardHost refuses requests whose Host the server does not answer for (DNS
// rebinding), except the health check, which load balancers call by address or any name.
func (a *API) GuardHost(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		if a.p.Hosts == nil || r.URL.Path == "/healthz" || a.p.Hosts.Allowed(r.Host) || a.forwarded(r) {
			return next(c)
		}
		a.log.Info("request for a foreign host refused", "host", r.Host, "path", r.URL.Path, "remote", r.RemoteAddr)
		return fmt.Errorf("%w: this server does not answer for %q (set --public-url to the name it is reached by)", ErrHostNotAllowed, r.Host)
	}
}

// readJSON decodes the request's body, which must be application/json, into v, refusing
// unknown fields.
func readJSON(c echo.Context, v any) error {
	if err := requireJSON(c.Request()); err != nil {
		return err
	}
	body, err := readBody(c)
	if err != nil {
		return err
	}
	if err := decodeStrict(body, v); err != nil {
		return fmt.Errorf("%w: malformed JSON body: %v", ErrBadRequest, err)
	}
	return nil
}

// requireJSON accepts only an application/json body.
func requireJSON(r *http.Request) error {
	ct := r.Header.Get("Content-Type")
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil || mt != "application/json" {
		return fmt.Errorf("%w: the body must be JSON with Content-Type: application/json (got %q)", ErrMediaType, ct)
	}
	return nil
}

func bearer(r *http.Request) string {
	h := r.Header.Get("Authorization")
	if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:])
	}
	return ""
}

func readBody(c echo.Context) ([]byte, error) {
	r := http.MaxBytesReader(c.Response(), c.Request().Body, MaxBody)
	b, err := io.ReadAll(r)
	if err != nil {
		if mbe := (*http.MaxBytesError)(nil); errors.As(err, &mbe) {
			return nil, echo.NewHTTPError(http.StatusRequestEntityTooLarge, fmt.Sprintf("the body is larger than %d bytes", MaxBody))
		}
		return nil, fmt.Errorf("%w: reading body: %v", ErrBadRequest, err)
	}
	return b, nil
}
