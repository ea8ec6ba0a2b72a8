package console

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/labstack/echo/v4"
	"golang.org/x/oauth2"
)

// OIDCConfig turns on single sign-on through an OpenID Connect provider. Only agents
// whose verified email is listed in AllowedEmails or lies in AllowedDomains get in;
// with both empty nobody does, so a misconfiguration never opens the console to every
// account the provider knows.
type OIDCConfig struct {
	Issuer       string // the provider's issuer URL; discovery is Issuer/.well-known/openid-configuration
	ClientID     string
	ClientSecret string
	RedirectURL  string // the public URL of /agent/oidc/callback, as registered with the provider
	// AllowedEmails are addresses let in, compared without regard to case.
	AllowedEmails []string
	// AllowedDomains let in every address of a domain, e.g. "example.com"; subdomains
	// must be listed on their own.
	AllowedDomains []string
	// ProviderName is the sign-in button's "Sign in with ..." text; "Single sign-on" when empty.
	ProviderName string
}

const (
	ssoLoginPath = "/agent/oidc/login"
	flowCookie   = "tandem_oidc"
	// flowTTL bounds a sign-in at the provider, including typing a password and a
	// second factor.
	flowTTL         = 10 * time.Minute
	exchangeTimeout = 15 * time.Second
)

// errNotAllowed marks an identity the provider vouched for but the console refuses.
var errNotAllowed = errors.New("not allowed")

// sso is a configured OpenID Connect relying party.
type sso struct {
	oauth        oauth2.Config
	verifier     *oidc.IDTokenVerifier
	emails       map[string]bool
	domains      map[string]bool
	providerName string
}

func newSSO(ctx context.Context, cfg OIDCConfig, now func() time.Time, log *slog.Logger) (*sso, error) {
	if cfg.Issuer == "" || cfg.ClientID == "" || cfg.RedirectURL == "" {
		return nil, errors.New("issuer, client ID and redirect URL are required")
	}
	provider, err := oidc.NewProvider(ctx, cfg.Issuer)
	if err != nil {
		return nil, fmt.Errorf("discover provider %s: %w", cfg.Issuer, err)
	}
	s := &sso{
		oauth: oauth2.Config{
			ClientID:     cfg.ClientID,
			ClientSecret: cfg.ClientSecret,
			RedirectURL:  cfg.RedirectURL,
			Endpoint:     provider.Endpoint(),
			Scopes:       []string{oidc.ScopeOpenID, "email", "profile"},
		},
		verifier:     provider.Verifier(&oidc.Config{ClientID: cfg.ClientID, Now: now}),
		emails:       map[string]bool{},
		domains:      map[string]bool{},
		providerName: cfg.ProviderName,
	}
	if s.providerName == "" {
		s.providerName = "Single sign-on"
	}
	for _, e := range cfg.AllowedEmails {
		if e = strings.ToLower(strings.TrimSpace(e)); e != "" {
			s.emails[e] = true
		}
	}
	for _, d := range cfg.AllowedDomains {
		if d = strings.ToLower(strings.TrimPrefix(strings.TrimSpace(d), "@")); d != "" {
			s.domains[d] = true
		}
	}
	if len(s.emails) == 0 && len(s.domains) == 0 {
		log.Warn("single sign-on lets nobody in: no allowed emails or domains are configured", "issuer", cfg.Issuer)
	}
	return s, nil
}

// flow is what the browser keeps between leaving for the provider and coming back:
// state ties the answer to this browser, nonce ties the ID token to this sign-in, and
// the PKCE verifier ties the code to whoever asked for it.
type flow struct {
	state, nonce, verifier string
	started                time.Time
}

func (f flow) encode() string {
	return strings.Join([]string{f.state, f.nonce, f.verifier, fmt.Sprint(f.started.Unix())}, ".")
}

// readFlow is the flow of r's cookie, unless it is missing, malformed or stale.
func readFlow(r *http.Request, now time.Time) (flow, bool) {
	ck, err := r.Cookie(flowCookie)
	if err != nil {
		return flow{}, false
	}
	parts := strings.Split(ck.Value, ".")
	if len(parts) != 4 || parts[0] == "" || parts[1] == "" || parts[2] == "" {
		return flow{}, false
	}
	var unix int64
	if _, err := fmt.Sscan(parts[3], &unix); err != nil {
		return flow{}, false
	}
	f := flow{state: parts[0], nonce: parts[1], verifier: parts[2], started: time.Unix(unix, 0)}
	if age := now.Sub(f.started); age < -time.Minute || age > flowTTL {
		return flow{}, false
	}
	return f, true
}

// flowCookie must be SameSite=Lax: the provider sends the browser back with a
// cross-site navigation, which never carries Strict cookies.
func (c *Console) flowCookie(value string, maxAge int) *http.Cookie {
	ck := c.cookie(flowCookie, value, "/agent/oidc/", maxAge)
	ck.SameSite = http.SameSiteLaxMode
	return ck
}

// ssoLogin sends the browser to the provider.
func (c *Console) ssoLogin(ec echo.Context) error {
	if c.sso == nil {
		return ssoOff(ec)
	}
	f := flow{state: randomToken(), nonce: randomToken(), verifier: oauth2.GenerateVerifier(), started: c.now()}
	ec.SetCookie(c.flowCookie(f.encode(), int(flowTTL/time.Second)))
	noStore(ec)
	return ec.Redirect(http.StatusFound, c.sso.oauth.AuthCodeURL(f.state,
		oidc.Nonce(f.nonce), oauth2.S256ChallengeOption(f.verifier)))
}

// ssoCallback is where the provider sends the browser back. Whatever happens, the flow
// cookie is spent, and the browser lands on the console page, which explains a
// refusal by the sso query parameter.
func (c *Console) ssoCallback(ec echo.Context) error {
	if c.sso == nil {
		return ssoOff(ec)
	}
	r := ec.Request()
	ec.SetCookie(c.flowCookie("", -1))
	f, ok := readFlow(r, c.now())
	if !ok {
		return c.ssoRefuse(ec, "expired", errors.New("no sign-in in progress, or it took too long"))
	}
	q := r.URL.Query()
	if e := q.Get("error"); e != "" {
		return c.ssoRefuse(ec, "denied", fmt.Errorf("the provider answered %.64q", e))
	}
	if !sameToken(q.Get("state"), f.state) {
		return c.ssoRefuse(ec, "failed", errors.New("state does not match this browser's sign-in"))
	}
	a, err := c.sso.agent(r.Context(), q.Get("code"), f)
	if errors.Is(err, errNotAllowed) {
		return c.ssoRefuse(ec, "not_allowed", err)
	}
	if err != nil {
		return c.ssoRefuse(ec, "failed", err)
	}
	if _, err := c.startSession(ec, a, true); err != nil {
		return c.ssoRefuse(ec, "failed", fmt.Errorf("agent %s: %w", a.Name, err))
	}
	c.log.Info("agent signed in", "agent", a.Name, "addr", addrKey(r.RemoteAddr), "via", "oidc")
	noStore(ec)
	return ec.Redirect(http.StatusSeeOther, "/agent")
}

func (c *Console) ssoRefuse(ec echo.Context, code string, why error) error {
	c.log.Warn("single sign-on refused", "reason", why.Error(), "addr", addrKey(ec.Request().RemoteAddr))
	noStore(ec)
	return ec.Redirect(http.StatusSeeOther, "/agent?sso="+code)
}

func ssoOff(ec echo.Context) error {
	return fail(ec, http.StatusNotFound, "not_found", "Single sign-on is not configured.")
}

// agent redeems code and turns the ID token into an agent, if its email may come in.
func (s *sso) agent(ctx context.Context, code string, f flow) (Agent, error) {
	ctx, cancel := context.WithTimeout(ctx, exchangeTimeout)
	defer cancel()
	tok, err := s.oauth.Exchange(ctx, code, oauth2.VerifierOption(f.verifier))
	if err != nil {
		return Agent{}, fmt.Errorf("redeem code: %w", err)
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return Agent{}, errors.New("the token answer has no id_token")
	}
	idt, err := s.verifier.Verify(ctx, raw) // signature, issuer, audience, expiry
	if err != nil {
		return Agent{}, fmt.Errorf("verify ID token: %w", err)
	}
	if !sameToken(idt.Nonce, f.nonce) {
		return Agent{}, errors.New("the ID token's nonce does not match this sign-in")
	}
	var claims struct {
		Email         string   `json:"email"`
		EmailVerified flexBool `json:"email_verified"`
		Name          string   `json:"name"`
	}
	if err := idt.Claims(&claims); err != nil {
		return Agent{}, fmt.Errorf("read ID token claims: %w", err)
	}
	email := strings.ToLower(strings.TrimSpace(claims.Email))
	switch {
	case email == "":
		return Agent{}, fmt.Errorf("%w: the ID token has no email (subject %q)", errNotAllowed, idt.Subject)
	case !bool(claims.EmailVerified):
		return Agent{}, fmt.Errorf("%w: %s is not verified by the provider", errNotAllowed, email)
	case !s.allowed(email):
		return Agent{}, fmt.Errorf("%w: %s is not in the allowed emails or domains", errNotAllowed, email)
	}
	display := strings.TrimSpace(claims.Name)
	if display == "" {
		display = email
	}
	return Agent{Name: "oidc:" + email, DisplayName: display}, nil
}

func (s *sso) allowed(email string) bool {
	at := strings.LastIndexByte(email, '@')
	return s.emails[email] || (at > 0 && s.domains[email[at+1:]])
}

// flexBool reads a JSON boolean, or the string "true"/"false" some providers send.
type flexBool bool

func (b *flexBool) UnmarshalJSON(data []byte) error {
	switch string(data) {
	case "true", `"true"`:
		*b = true
	case "false", `"false"`, "null":
		*b = false
	default:
		return fmt.Errorf("email_verified is %s, not a boolean", data)
	}
	return nil
}
