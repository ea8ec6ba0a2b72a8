package proxy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"github.com/tandem-cobrowse/tandem/help"
)

// helpResend is how often the console gets the queue even when nothing changed.
const helpResend = 20 * time.Second

// ErrNoHelp means the server has no help queue (or no agents to answer it).
var ErrNoHelp = errors.New("help requests are not enabled on this server")

// agent is the signed-in agent a request comes from.
func (a *API) agent(c echo.Context) (Agent, error) {
	if a.p.Agent == nil {
		return Agent{}, fmt.Errorf("%w: this server has no agent accounts", ErrUnauthorized)
	}
	ag, err := a.p.Agent(c.Request())
	if errors.Is(err, ErrCSRF) {
		return Agent{}, err
	}
	if err != nil {
		return Agent{}, fmt.Errorf("%w: an agent's sign-in is required (the agent console, or Authorization: Bearer AGENT_TOKEN): %v", ErrUnauthorized, err)
	}
	return ag, nil
}

type joinRequest struct {
	Code string `json:"code"`
}

// join redeems a join code for the signed-in agent. Without an agent's sign-in it
// answers 401 before looking at the code at all, so it reveals nothing about it.
func (a *API) join(c echo.Context) error {
	ag, err := a.agent(c)
	if err != nil {
		return err
	}
	r := c.Request()
	var req joinRequest
	if err := readJSON(c, &req); err != nil {
		return err
	}
	code := strings.Join(strings.Fields(req.Code), "") // "123 456" as shown to the visitor
	if len(code) != codeDigits || strings.Trim(code, "0123456789") != "" {
		return fmt.Errorf("%w: a join code is %d digits", ErrBadRequest, codeDigits)
	}
	if !a.limits.allow("join:"+source(r), joinPerSource) {
		c.Response().Header().Set("Retry-After", "60")
		return fmt.Errorf("%w: too many codes tried; wait a minute", ErrRateLimited)
	}
	s, link, err := a.p.Registry.Redeem(code, ag.Name, ag.DisplayName, source(r))
	if err != nil {
		if errors.Is(err, ErrBadCode) {
			a.log.Info("wrong join code", "agent", ag.Name, "source", source(r))
		}
		return err
	}
	a.log.Info("join code redeemed", "session", s.ID(), "agent", ag.Name)
	return c.JSON(http.StatusOK, map[string]string{"id": s.ID(), "link": link})
}

type helpCreateRequest struct {
	Session string `json:"session"`
	Name    string `json:"name"`
	Topic   string `json:"topic"`
}

// helpCreate puts a visitor's ask for help in the queue. The visitor's embed proves it
// is the session's host with the host token; a provider's backend uses the API key.
func (a *API) helpCreate(c echo.Context) error {
	if a.p.Help == nil {
		return ErrNoHelp
	}
	r := c.Request()
	var req helpCreateRequest
	if err := readJSON(c, &req); err != nil {
		return err
	}
	name, topic := cleanText(req.Name, 60), cleanText(req.Topic, 200)
	if name == "" {
		return fmt.Errorf("%w: name is required", ErrBadRequest)
	}
	s, err := a.p.Registry.Get(req.Session)
	if err != nil {
		return err
	}
	tok := bearer(r)
	cred, isHost := s.Authenticate(tok)
	keyed := a.p.APIKey != "" && secretEqual(tok, a.p.APIKey)
	if !keyed && (!isHost || cred.Role != RoleHost) {
		return fmt.Errorf("%w: the session's host token or the API key is required", ErrUnauthorized)
	}
	if origin := r.Header.Get("Origin"); origin != "" && !keyed && !a.sessionOrigin(s, origin) {
		return fmt.Errorf("%w: pages of %s may not ask for help in this session", ErrCrossOrigin, origin)
	}
	if !keyed && !a.limits.allow("help:"+source(r), helpPerSource) {
		c.Response().Header().Set("Retry-After", "60")
		return fmt.Errorf("%w: too many help requests; try again in a minute", ErrRateLimited)
	}
	info, err := s.Info()
	if err != nil {
		return err
	}
	hr, err := a.p.Help.Add(help.Request{Session: s.ID(), Site: info.Site, Name: name, Topic: topic, Title: pageTitle(info), URL: info.URL})
	if errors.Is(err, help.ErrDuplicate) {
		return fmt.Errorf("%w: %v", ErrConflict, err)
	}
	if err != nil {
		return err
	}
	a.log.Info("help requested", "session", s.ID(), "request", hr.ID)
	s.audit.Record("help_requested", s.ID(), slog.String("request", hr.ID))
	s.Notify(notice("info", "help_requested", "You are in the queue; an agent will join you here."))
	if site, ok := a.siteOf(s); ok && site.WebhookURL != "" && a.p.Webhooks != nil {
		a.p.Webhooks.Deliver(a.p.Ctx, site.WebhookURL, site.WebhookSecret, help.Event{Type: "help_request.created", Request: hr})
	}
	return c.JSON(http.StatusCreated, hr)
}

// helpReader authorises reading the queue: a signed-in agent or the API key.
func (a *API) helpReader(c echo.Context) error {
	if a.p.Help == nil {
		return ErrNoHelp
	}
	if a.p.APIKey != "" && secretEqual(bearer(c.Request()), a.p.APIKey) {
		return nil
	}
	_, err := a.agent(c)
	return err
}

type helpView struct {
	help.Request
	WaitingSeconds int `json:"waitingSeconds"`
}

// helpViews is the waiting queue with each visitor's page as it is now: the visitor may
// have moved on since asking, and a page still loading then had no title yet.
func (a *API) helpViews() []helpView {
	out := []helpView{}
	for _, r := range a.p.Help.Waiting() {
		if s, err := a.p.Registry.Get(r.Session); err == nil {
			if info, err := s.Info(); err == nil && info.URL != "" {
				r.URL, r.Title = info.URL, pageTitle(info)
			}
		}
		out = append(out, helpView{Request: r, WaitingSeconds: int(time.Since(r.CreatedAt).Seconds())})
	}
	return out
}

// pageTitle is the page's title, or "" while it has none (a loading page's title is its
// address).
func pageTitle(info Info) string {
	if info.Title == info.URL || strings.TrimPrefix(info.URL, "http://") == info.Title || strings.TrimPrefix(info.URL, "https://") == info.Title {
		return ""
	}
	return info.Title
}

func (a *API) helpList(c echo.Context) error {
	if err := a.helpReader(c); err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(http.StatusOK, map[string]any{"requests": a.helpViews()})
}

// helpEvents streams the queue to the agent console: the whole waiting queue on connect
// and after every change, and every 20 s (Server-Sent Events).
func (a *API) helpEvents(c echo.Context) error {
	if err := a.helpReader(c); err != nil {
		return err
	}
	changed, stop := a.p.Help.Subscribe()
	defer stop()
	w := c.Response()
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	send := func() error {
		b, err := json.Marshal(map[string]any{"requests": a.helpViews()})
		if err != nil {
			return err
		}
		if _, err := fmt.Fprintf(w, "data: %s\n\n", b); err != nil {
			return err
		}
		w.Flush()
		return nil
	}
	keepAlive := time.NewTicker(helpResend)
	defer keepAlive.Stop()
	ctx := c.Request().Context()
	if err := send(); err != nil {
		return nil
	}
	for {
		select {
		case <-changed:
			if send() != nil {
				return nil
			}
		case <-keepAlive.C:
			// Also keeps the connection alive, and pages that have loaded since show
			// their titles.
			if send() != nil {
				return nil
			}
		case <-ctx.Done():
			return nil
		case <-a.p.Ctx.Done():
			return nil
		}
	}
}

type helpAcceptRequest struct {
	Agent string `json:"agent"` // with the API key: the agent's display name
}

// helpAccept gives a waiting request to the agent who asks first and a seat in the
// visitor's session; everyone after gets 409.
func (a *API) helpAccept(c echo.Context) error {
	if a.p.Help == nil {
		return ErrNoHelp
	}
	r := c.Request()
	var ag Agent
	if a.p.APIKey != "" && secretEqual(bearer(r), a.p.APIKey) {
		var req helpAcceptRequest
		if body, err := readBody(c); err == nil && len(body) > 0 {
			if err := decodeStrict(body, &req); err != nil {
				return fmt.Errorf("%w: malformed JSON body: %v", ErrBadRequest, err)
			}
		}
		name := cleanText(req.Agent, 40)
		if name == "" {
			return fmt.Errorf("%w: with the API key, say who accepts: {\"agent\": \"Anna\"}", ErrBadRequest)
		}
		ag = Agent{Name: "api:" + name, DisplayName: name}
	} else {
		var err error
		if ag, err = a.agent(c); err != nil {
			return err
		}
	}
	hr, err := a.p.Help.Accept(c.Param("id"), ag.DisplayName)
	switch {
	case errors.Is(err, help.ErrNotFound):
		return fmt.Errorf("%w: no such help request", ErrSessionNotFound)
	case errors.Is(err, help.ErrTaken):
		return fmt.Errorf("%w: %v", ErrAlreadyAccepted, err)
	case err != nil:
		return err
	}
	s, err := a.p.Registry.Get(hr.Session)
	if err != nil {
		return err // the session ended; its requests go with it
	}
	cred := Credential{Role: RoleAgent, Name: ag.DisplayName}
	if s.params.ViewConsentOnHelp {
		cred.Consent = "the visitor asked for help, and this site counts that as consent to be seen"
	}
	link := s.Seat(cred)
	s.audit.Record("help_accepted", s.ID(), slog.String("request", hr.ID), slog.String("agent", ag.Name))
	s.Notify(notice("info", "help_accepted", ag.DisplayName+" from support accepted your request and is joining."))
	a.log.Info("help request accepted", "request", hr.ID, "session", s.ID(), "agent", ag.Name)
	return c.JSON(http.StatusOK, map[string]string{"id": hr.ID, "session": s.ID(), "link": link})
}

// watchHelp tells visitors whose requests wait too long, and forgets nothing itself:
// requests go when their sessions end.
func (a *API) watchHelp(ctx context.Context) {
	tick := time.NewTicker(5 * time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		for _, r := range a.p.Help.Overdue() {
			if s, err := a.p.Registry.Get(r.Session); err == nil {
				s.Notify(notice("warning", "help_overdue", "It is taking longer than usual for an agent to answer. You can keep waiting, or try again later."))
			}
		}
	}
}

func (a *API) siteOf(s *Session) (Site, bool) {
	if a.p.Sites == nil || s.params.Site == "" {
		return Site{}, false
	}
	return a.p.Sites.Get(s.params.Site)
}

// sessionOrigin reports whether a browser page of origin belongs to the session's site.
func (a *API) sessionOrigin(s *Session, origin string) bool {
	site, ok := a.siteOf(s)
	return ok && site.allowsOrigin(origin)
}

// cleanText trims s, drops control characters and cuts it to most runes.
func cleanText(s string, most int) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, strings.TrimSpace(s))
	if utf8.RuneCountInString(s) > most {
		s = string([]rune(s)[:most])
	}
	return s
}
