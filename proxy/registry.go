package proxy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/tandem-cobrowse/tandem/call"
	"github.com/tandem-cobrowse/tandem/metrics"
	"github.com/tandem-cobrowse/tandem/recording"
	"github.com/tandem-cobrowse/tandem/renderer"
	"github.com/tandem-cobrowse/tandem/stream"
)

// RegistryParams configure a Registry.
type RegistryParams struct {
	OpenTab     TabOpener
	MaxSessions int           // 0 = no limit
	IdleTimeout time.Duration // a session with nobody connected ends after this
	CallTimeout time.Duration // bound of every call into a tab
	Viewport    renderer.Viewport
	Logger      *slog.Logger
	Metrics     *metrics.Metrics
	Audit       *Audit
	JPEGQuality int // of masked pictures; 0 = 80
	// ProbeInterval is how often each session checks that its tab is alive; 0 = 5 s.
	ProbeInterval time.Duration
	// CheckURL, if set, decides whether a session may start at a URL (the egress
	// policy); an error wrapping ErrEgressRefused is answered 403 with its reason.
	CheckURL func(ctx context.Context, rawURL string) error
	// Now is the sessions' clock; nil is time.Now. Tests move it.
	Now func() time.Time
	// OnEnd, if set, is told of every session that ends (the help queue forgets its
	// requests).
	OnEnd func(id string)
	// OnSnapshot, if set, is given each session's Snapshot (JSON) whenever it changes,
	// so another node can bring the session back if this one is lost; it must not block.
	OnSnapshot func(id string, snapshot []byte)
	// OnJoinCode, if set, is told of every join code issued (the cluster records which
	// session it is for, so any node can pass its redemption on); it must not block.
	OnJoinCode func(session, code string)
	// Strikes, if set, counts wrong join codes across a cluster, so a guesser spreading
	// tries over its nodes is locked out as on one node.
	Strikes Strikes
	// Claim, if set, places a new session's id in the cluster's registry before its tab
	// opens; an error refuses the session (503).
	Claim func(ctx context.Context, id, url string) error
	// Call is the SFU of the sessions' calls; nil turns calls off unless LiveKit is set.
	Call *call.SFU
	// LiveKit, if set, carries the sessions' calls instead of Call: Tandem only mints
	// the room tokens.
	LiveKit *call.LiveKit
	// Recordings is where sessions are recorded; nil turns recording off.
	Recordings *recording.Store
}

// Registry holds the live sessions of this server.
type Registry struct {
	ctx context.Context
	p   RegistryParams
	log *slog.Logger

	mu       sync.Mutex
	sessions map[string]*Session
	creating int // slots reserved by creations in flight, so the cap holds under races

	egressNotices noticeLimiter // egress refusals already told, per session and host
	codes         *joinCodes
}

// NewRegistry returns a registry whose sessions live at most as long as ctx.
func NewRegistry(ctx context.Context, p RegistryParams) *Registry {
	if p.Logger == nil {
		p.Logger = slog.Default()
	}
	if p.CallTimeout <= 0 {
		p.CallTimeout = 10 * time.Second
	}
	now := p.Now
	if now == nil {
		now = time.Now
	}
	return &Registry{ctx: ctx, p: p, log: p.Logger, sessions: map[string]*Session{}, codes: newJoinCodes(now)}
}

// Created is what a new session's creator learns: the secrets are in the links.
type Created struct {
	ID                string          `json:"id"`
	URL               string          `json:"url"`
	CreatedAt         time.Time       `json:"createdAt"`
	Rules             Rules           `json:"rules"`
	Links             map[Role]string `json:"links"`
	JoinCode          string          `json:"joinCode"`
	JoinCodeExpiresAt time.Time       `json:"joinCodeExpiresAt"`
	Site              string          `json:"site,omitempty"`
}

// SessionRequest is what a session starts from.
type SessionRequest struct {
	URL   string
	Rules Rules
	Base  string // the absolute URL prefix of the viewer links (scheme://host)
	// Handoff, when not nil, is a visitor's state set in the tab's browser context before
	// the first page (and again if the tab is reopened after a crash); it is kept in
	// memory only, for the life of the session.
	Handoff *renderer.Handoff
	// Site is the provider site the session starts from, "" for none.
	Site string
	// ViewConsentOnHelp: the site counts asking for help as consent to be seen by the
	// agent who accepts.
	ViewConsentOnHelp bool
}

// Create opens a tab at the start URL and starts a session around it.
func (r *Registry) Create(ctx context.Context, ns SessionRequest) (_ Created, err error) {
	u, err := ValidateURL(ns.URL)
	if err != nil {
		return Created{}, err
	}
	if ok, reason := ns.Rules.Navigation.Allows(u); !ok {
		return Created{}, fmt.Errorf("%w: %s", ErrNavigationRefused, reason)
	}
	if r.p.CheckURL != nil {
		if err := r.p.CheckURL(ctx, u); err != nil {
			if errors.Is(err, ErrEgressRefused) {
				return Created{}, err
			}
			return Created{}, fmt.Errorf("%w: %v", ErrStartURL, err)
		}
	}
	if err := r.reserve(); err != nil {
		return Created{}, err
	}
	defer r.release()

	// The id comes first: the tab's egress is attributed to its session.
	id := newSecret(16)
	if r.p.Claim != nil {
		cctx, cancel := context.WithTimeout(ctx, r.p.CallTimeout)
		err := r.p.Claim(cctx, id, u)
		cancel()
		if err != nil {
			return Created{}, fmt.Errorf("%w: %v", ErrUnavailable, err)
		}
		defer func() {
			if err != nil && r.p.OnEnd != nil {
				r.p.OnEnd(id) // the claim goes with the session that never started
			}
		}()
	}
	return r.start(ctx, id, u, ns, nil)
}

// Restore brings back a session whose node was lost, from its snapshot: a fresh tab at
// its last page, its participants seated for their return, control where it was. The
// cluster has already placed it here.
func (r *Registry) Restore(ctx context.Context, sn Snapshot) error {
	u, err := ValidateURL(sn.URL)
	if err != nil {
		return err
	}
	if ok, reason := sn.Rules.Navigation.Allows(u); !ok {
		return fmt.Errorf("%w: %s", ErrNavigationRefused, reason)
	}
	if r.p.CheckURL != nil {
		if err := r.p.CheckURL(ctx, u); err != nil {
			return err
		}
	}
	if _, err := r.Get(sn.ID); err == nil {
		return fmt.Errorf("%w: session %s is here already", ErrConflict, sn.ID)
	}
	if err := r.reserve(); err != nil {
		return err
	}
	defer r.release()
	_, err = r.start(ctx, sn.ID, u, SessionRequest{Rules: sn.Rules, Base: sn.LinkBase, Site: sn.Site,
		ViewConsentOnHelp: sn.ViewConsentOnHelp}, &sn)
	return err
}

// start opens the tab of session id at u and starts the session around it: a new one,
// or one brought back from a snapshot.
func (r *Registry) start(ctx context.Context, id, u string, ns SessionRequest, restored *Snapshot) (Created, error) {
	rules, base, handoff := ns.Rules, ns.Base, ns.Handoff
	openCtx, cancel := context.WithTimeout(ctx, r.p.CallTimeout)
	defer cancel()
	masks := rules.MaskUnion()
	open := func(ctx context.Context) (Tab, error) {
		tab, err := r.p.OpenTab(ctx, id, TabSpec{Viewport: r.p.Viewport, Masks: masks, Nav: rules.Navigation.Allows})
		if err != nil {
			return nil, err
		}
		// Before the first page, so no frame of it goes out unmasked.
		if len(masks) > 0 {
			if err := tab.SetMaskSelectors(ctx, masks); err != nil {
				_ = tab.Close()
				return nil, err
			}
		}
		if handoff != nil {
			h := *handoff
			h.Origin, h.StartURL, h.Masked = originOf(u), u, masks
			if err := tab.Handoff(ctx, h); err != nil {
				_ = tab.Close()
				return nil, err
			}
		}
		return tab, nil
	}
	tab, err := open(openCtx)
	if errors.Is(err, renderer.ErrBadSelector) {
		return Created{}, fmt.Errorf("%w: rules: %v", ErrBadRequest, err)
	}
	if errors.Is(err, renderer.ErrBadHandoff) {
		return Created{}, fmt.Errorf("%w: handoff: %v", ErrBadRequest, err)
	}
	if err != nil {
		return Created{}, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	if err := tab.Navigate(openCtx, u); err != nil {
		_ = tab.Close()
		if errors.Is(err, renderer.ErrInvalidURL) {
			return Created{}, fmt.Errorf("%w: %v", ErrInvalidURL, err)
		}
		return Created{}, fmt.Errorf("%w: %v", ErrStartURL, err)
	}

	tokens := map[Role]string{}
	links := map[Role]string{}
	base = strings.TrimRight(base, "/")
	for _, role := range Roles {
		tokens[role] = newSecret(32)
		links[role] = base + "/s/" + id + "#token=" + tokens[role]
	}
	code, expires := r.issueCode(id)
	s := NewSession(r.ctx, SessionParams{
		ID: id, Rules: rules, Tokens: tokens, Links: links, Tab: tab, StartURL: u,
		LinkBase: base, Site: ns.Site, ViewConsentOnHelp: ns.ViewConsentOnHelp,
		JoinCode:    func() (string, time.Time) { return r.codes.current(id) },
		Reopen:      open,
		JPEGQuality: r.p.JPEGQuality,
		IdleTimeout: r.p.IdleTimeout, CallTimeout: r.p.CallTimeout, Logger: r.log,
		Metrics: r.p.Metrics, Audit: r.p.Audit, OnEnd: r.forget, ProbeInterval: r.p.ProbeInterval, Now: r.p.Now,
		Call: r.p.Call, LiveKit: r.p.LiveKit, Recordings: r.p.Recordings,
		Handoff: handoff != nil || (restored != nil && restored.Handoff), Restored: restored,
		OnSnapshot: r.snapshotHook(id),
	})
	r.mu.Lock()
	r.sessions[id] = s
	r.mu.Unlock()
	if restored != nil {
		return Created{ID: id, URL: u, CreatedAt: s.createdAt, Rules: rules, Site: ns.Site}, nil
	}
	r.log.Info("session created", "session", id, "url", u, "site", ns.Site)
	r.p.Audit.Record("session_created", id, slog.String("url", u), slog.String("site", ns.Site), slog.Any("rules", rules),
		slog.Bool("handoff", handoff != nil))
	return Created{ID: id, URL: u, CreatedAt: s.createdAt, Rules: rules, Links: links,
		JoinCode: code, JoinCodeExpiresAt: expires, Site: ns.Site}, nil
}

func (r *Registry) snapshotHook(id string) func([]byte) {
	if r.p.OnSnapshot == nil {
		return nil
	}
	return func(b []byte) { r.p.OnSnapshot(id, b) }
}

func (r *Registry) reserve() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.p.MaxSessions > 0 && len(r.sessions)+r.creating >= r.p.MaxSessions {
		return fmt.Errorf("%w: this server runs at most %d sessions at once", ErrTooManySessions, r.p.MaxSessions)
	}
	r.creating++
	return nil
}

func (r *Registry) release() {
	r.mu.Lock()
	r.creating--
	r.mu.Unlock()
}

func (r *Registry) forget(id string) {
	r.mu.Lock()
	delete(r.sessions, id)
	r.mu.Unlock()
	r.codes.forget(id)
	if r.p.OnEnd != nil {
		r.p.OnEnd(id)
	}
}

// Redeem lets agent (its account's name and display name), coming from source (an IP
// address), join the session whose join code this is: it answers the session and a link
// of the agent's own. Wrong codes count against the source and the agent; too many lock
// both out for a while.
func (r *Registry) Redeem(code, agentName, displayName, source string) (*Session, string, error) {
	keys := []string{"source:" + source, "agent:" + agentName}
	if r.p.Strikes != nil {
		ctx, cancel := context.WithTimeout(r.ctx, 3*time.Second)
		defer cancel()
		for _, k := range keys {
			locked, err := r.p.Strikes.Locked(ctx, k)
			if err != nil {
				// This node's own count still holds; the cluster's is back soon.
				r.log.Warn("the cluster's count of wrong join codes cannot be read", "err", err)
				break
			}
			if locked {
				return nil, "", ErrLockedOut
			}
		}
	}
	id, err := r.codes.redeem(code, agentName, source)
	if errors.Is(err, ErrBadCode) && r.p.Strikes != nil {
		ctx, cancel := context.WithTimeout(r.ctx, 3*time.Second)
		defer cancel()
		for _, k := range keys {
			if serr := r.p.Strikes.Strike(ctx, k, wrongTriesAllow, wrongTriesWindow, lockOut); serr != nil {
				r.log.Warn("counting a wrong join code for the cluster", "err", serr)
			}
		}
	}
	if err != nil {
		return nil, "", err
	}
	s, err := r.Get(id)
	if err != nil {
		return nil, "", ErrBadCode
	}
	link := s.Seat(Credential{Role: RoleAgent, Name: displayName})
	r.p.Audit.Record("join_code_redeemed", id, slog.String("agent", agentName))
	return s, link, nil
}

// issueCode gives session id a new join code and tells OnJoinCode.
func (r *Registry) issueCode(id string) (string, time.Time) {
	code, exp := r.codes.issue(id)
	if r.p.OnJoinCode != nil {
		r.p.OnJoinCode(id, code)
	}
	return code, exp
}

// NewJoinCode replaces session id's join code (the old one stops working).
func (r *Registry) NewJoinCode(id string) (string, time.Time, error) {
	if _, err := r.Get(id); err != nil {
		return "", time.Time{}, err
	}
	code, exp := r.issueCode(id)
	r.p.Audit.Record("join_code_issued", id)
	return code, exp, nil
}

// Get returns the live session id.
func (r *Registry) Get(id string) (*Session, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	s, ok := r.sessions[id]
	if !ok {
		return nil, ErrSessionNotFound
	}
	return s, nil
}

// Strikes counts wrong join codes per key (a source, an agent) across the nodes of a
// cluster.
type Strikes interface {
	// Locked reports whether key is locked out now.
	Locked(ctx context.Context, key string) (bool, error)
	// Strike counts one wrong code against key: allow of them within window lock it out
	// for lockOut.
	Strike(ctx context.Context, key string, allow int, window, lockOut time.Duration) error
}

// AdmitError is a refused connection: the close code and bye the participant is told.
type AdmitError struct {
	Code    int
	Bye     string
	Message string
	err     error
}

func (e *AdmitError) Error() string { return "admit: " + e.Bye }
func (e *AdmitError) Unwrap() error { return e.err }

// Admit authenticates a participant's hello for session id and joins conn to it. A
// refusal is an *AdmitError; a session this node does not hold also matches
// ErrSessionNotFound.
func (r *Registry) Admit(id string, conn Conn, hello stream.ClientMessage) (*Session, ParticipantID, error) {
	s, err := r.Get(id)
	if err != nil {
		return nil, "", &AdmitError{Code: CloseNotFound, Bye: "not_found", Message: "This session does not exist or has ended.", err: err}
	}
	cred, ok := s.Authenticate(hello.Token)
	if !ok {
		return nil, "", &AdmitError{Code: CloseUnauthorized, Bye: "unauthorized", Message: "This link is not valid for the session.", err: ErrUnauthorized}
	}
	pid, err := s.Join(conn, cred, hello)
	if err != nil {
		return nil, "", &AdmitError{Code: CloseSessionEnded, Bye: "session_ended", Message: "The session has ended.", err: err}
	}
	return s, pid, nil
}

// Len is the number of live sessions.
func (r *Registry) Len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.sessions)
}

// Close ends every session, telling participants why.
func (r *Registry) Close(reason string) {
	all := r.All()
	var wg sync.WaitGroup
	for _, s := range all {
		wg.Go(func() { s.End(reason) })
	}
	wg.Wait()
}

// All are the live sessions.
func (r *Registry) All() []*Session {
	r.mu.Lock()
	defer r.mu.Unlock()
	all := make([]*Session, 0, len(r.sessions))
	for _, s := range r.sessions {
		all = append(all, s)
	}
	return all
}

// originOf is the origin ("https://shop.example") of a validated URL.
func originOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	return u.Scheme + "://" + u.Host
}
