package console

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// rsaKey is generated once: a 2048-bit key takes a noticeable moment.
var rsaKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
})

// idp is a small OpenID Connect provider: discovery, keys, an authorize endpoint that
// approves at once, and a token endpoint that checks the code, the redirect URI, the
// client's secret and the PKCE verifier before it issues an RS256 ID token.
type idp struct {
	t        *testing.T
	srv      *httptest.Server
	clientID string
	secret   string

	mu     sync.Mutex
	grants map[string]grant
	// What the next sign-in looks like; tests change these.
	email         string
	emailVerified any
	name          string
	badState      bool // answer with another state
	badNonce      bool // put another nonce in the ID token
	audience      string
	exchanges     int
}

type grant struct{ nonce, challenge, redirectURI string }

func newIDP(t *testing.T) *idp {
	p := &idp{
		t: t, clientID: "tandem-console", secret: "s3cret",
		grants: map[string]grant{},
		email:  "anna@example.com", emailVerified: true, name: "Anna Agent",
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", p.discovery)
	mux.HandleFunc("GET /jwks", p.jwks)
	mux.HandleFunc("GET /authorize", p.authorize)
	mux.HandleFunc("POST /token", p.token)
	p.srv = httptest.NewServer(mux)
	t.Cleanup(p.srv.Close)
	return p
}

func (p *idp) set(f func(p *idp)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	f(p)
}

func (p *idp) discovery(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{
		"issuer":                                p.srv.URL,
		"authorization_endpoint":                p.srv.URL + "/authorize",
		"token_endpoint":                        p.srv.URL + "/token",
		"jwks_uri":                              p.srv.URL + "/jwks",
		"response_types_supported":              []string{"code"},
		"subject_types_supported":               []string{"public"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"code_challenge_methods_supported":      []string{"S256"},
	})
}

func (p *idp) jwks(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{
		Key: &rsaKey().PublicKey, KeyID: "k1", Algorithm: string(jose.RS256), Use: "sig",
	}}})
}

func (p *idp) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	switch {
	case q.Get("client_id") != p.clientID, q.Get("response_type") != "code",
		q.Get("code_challenge_method") != "S256", q.Get("code_challenge") == "",
		q.Get("nonce") == "", q.Get("state") == "",
		!strings.Contains(" "+q.Get("scope")+" ", " openid "):
		http.Error(w, "bad authorization request: "+r.URL.RawQuery, http.StatusBadRequest)
		return
	}
	code := randomToken()
	p.mu.Lock()
	p.grants[code] = grant{nonce: q.Get("nonce"), challenge: q.Get("code_challenge"), redirectURI: q.Get("redirect_uri")}
	state := q.Get("state")
	if p.badState {
		state = randomToken()
	}
	p.mu.Unlock()
	back, err := url.Parse(q.Get("redirect_uri"))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	bq := back.Query()
	bq.Set("code", code)
	bq.Set("state", state)
	back.RawQuery = bq.Encode()
	http.Redirect(w, r, back.String(), http.StatusFound)
}

func (p *idp) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_request"})
		return
	}
	id, secret, ok := r.BasicAuth()
	if !ok {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	if id != p.clientID || secret != p.secret {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_client"})
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.exchanges++
	code := r.PostForm.Get("code")
	g, ok := p.grants[code]
	delete(p.grants, code) // codes are single use
	sum := sha256.Sum256([]byte(r.PostForm.Get("code_verifier")))
	switch {
	case !ok, r.PostForm.Get("grant_type") != "authorization_code",
		r.PostForm.Get("redirect_uri") != g.redirectURI,
		base64.RawURLEncoding.EncodeToString(sum[:]) != g.challenge:
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_grant"})
		return
	}
	nonce := g.nonce
	if p.badNonce {
		nonce = randomToken()
	}
	aud := p.clientID
	if p.audience != "" {
		aud = p.audience
	}
	now := time.Now()
	claims := map[string]any{
		"iss": p.srv.URL, "sub": "user-1", "aud": aud,
		"iat": now.Unix(), "exp": now.Add(5 * time.Minute).Unix(),
		"nonce": nonce, "email": p.email, "email_verified": p.emailVerified, "name": p.name,
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"access_token": "at-" + randomToken(), "token_type": "Bearer", "expires_in": 300,
		"id_token": p.sign(claims),
	})
}

func (p *idp) sign(claims map[string]any) string {
	signer, err := jose.NewSigner(
		jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: rsaKey(), KeyID: "k1"}},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		p.t.Error(err)
		return ""
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		p.t.Error(err)
		return ""
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		p.t.Error(err)
		return ""
	}
	raw, err := jws.CompactSerialize()
	if err != nil {
		p.t.Error(err)
	}
	return raw
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// newSSOEnv is a console whose single sign-on goes to p.
func newSSOEnv(t *testing.T, p *idp, configure func(*OIDCConfig)) *env {
	return newEnv(t, func(params *Params, base string) {
		cfg := &OIDCConfig{
			Issuer: p.srv.URL, ClientID: p.clientID, ClientSecret: p.secret,
			RedirectURL:    base + "/agent/oidc/callback",
			AllowedDomains: []string{"example.com"},
			ProviderName:   "Example ID",
		}
		if configure != nil {
			configure(cfg)
		}
		params.OIDC = cfg
	})
}

// ssoSignIn runs the browser through the whole flow and returns where it ended up.
func ssoSignIn(t *testing.T, b *browser) *url.URL {
	t.Helper()
	resp, _ := b.do("GET", "/agent/oidc/login", nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("flow ended with %s at %s", resp.Status, resp.Request.URL)
	}
	return resp.Request.URL
}

func TestOIDCSignIn(t *testing.T) {
	p := newIDP(t)
	env := newSSOEnv(t, p, nil)
	b := newBrowser(t, env.url, "")

	// The page learns that single sign-on is on and what to call it.
	resp, data := b.do("GET", "/api/v1/agent/login-token", nil)
	var lt loginTokenAnswer
	if err := json.Unmarshal(data, &lt); err != nil || lt.SSO == nil || lt.SSO.Provider != "Example ID" || lt.SSO.LoginURL != "/agent/oidc/login" {
		t.Fatalf("login-token: %s %s", resp.Status, data)
	}

	end := ssoSignIn(t, b)
	if end.Path != "/agent" || end.RawQuery != "" {
		t.Fatalf("the flow ended at %s", end)
	}
	resp, data = b.do("GET", "/api/v1/agent/me", nil)
	var me meAnswer
	if resp.StatusCode != http.StatusOK || json.Unmarshal(data, &me) != nil {
		t.Fatalf("me: %s %s", resp.Status, data)
	}
	if me.Name != "oidc:anna@example.com" || me.DisplayName != "Anna Agent" || !me.OIDC || me.CSRFToken == "" {
		t.Errorf("me = %+v", me)
	}
	// The single sign-on session is an ordinary one: cookie plus CSRF token.
	b.csrf = me.CSRFToken
	resp, data = b.do("POST", "/api/v1/join", map[string]string{"code": "123456"}, "X-CSRF-Token", b.csrf)
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(data), `"agent":"oidc:anna@example.com"`) {
		t.Errorf("join: %s %s", resp.Status, data)
	}
	// The flow cookie is spent.
	for _, ck := range b.c.Jar.Cookies(mustURL(t, env.url+"/agent/oidc/")) {
		if ck.Name == flowCookie {
			t.Errorf("the flow cookie outlived the flow")
		}
	}
}

func TestOIDCCookies(t *testing.T) {
	p := newIDP(t)
	env := newSSOEnv(t, p, nil)
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Get(env.url + "/agent/oidc/login")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound || !strings.HasPrefix(resp.Header.Get("Location"), p.srv.URL+"/authorize?") {
		t.Fatalf("login: %s to %s", resp.Status, resp.Header.Get("Location"))
	}
	ck := cookieNamed(resp, flowCookie)
	// Lax, not Strict: the provider brings the browser back with a cross-site navigation.
	if ck == nil || !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode || ck.MaxAge <= 0 || ck.MaxAge > 600 {
		t.Fatalf("flow cookie = %+v", ck)
	}
	// The cookie holds this flow's state and the PKCE verifier behind the challenge.
	loc, _ := url.Parse(resp.Header.Get("Location"))
	parts := strings.Split(ck.Value, ".")
	if len(parts) != 4 {
		t.Fatalf("flow cookie value has %d parts", len(parts))
	}
	sum := sha256.Sum256([]byte(parts[2]))
	q := loc.Query()
	if q.Get("state") != parts[0] || q.Get("nonce") != parts[1] || q.Get("code_challenge_method") != "S256" ||
		q.Get("code_challenge") != base64.RawURLEncoding.EncodeToString(sum[:]) {
		t.Errorf("authorization request %s does not match the flow cookie", loc.RawQuery)
	}
}

func TestOIDCRefusals(t *testing.T) {
	for _, tc := range []struct {
		name     string
		idp      func(*idp)
		cfg      func(*OIDCConfig)
		code     string
		logsWhat string
	}{
		{name: "wrong state", idp: func(p *idp) { p.badState = true }, code: "failed", logsWhat: "state"},
		{name: "wrong nonce", idp: func(p *idp) { p.badNonce = true }, code: "failed", logsWhat: "nonce"},
		{name: "wrong audience", idp: func(p *idp) { p.audience = "someone-else" }, code: "failed", logsWhat: "audience"},
		{name: "email not allowed", idp: func(p *idp) { p.email = "mallory@evil.example" }, code: "not_allowed", logsWhat: "mallory@evil.example"},
		{name: "subdomain not allowed", idp: func(p *idp) { p.email = "x@sub.example.com" }, code: "not_allowed", logsWhat: "not in the allowed"},
		{name: "email not verified", idp: func(p *idp) { p.emailVerified = false }, code: "not_allowed", logsWhat: "not verified"},
		{name: "email_verified missing", idp: func(p *idp) { p.emailVerified = nil }, code: "not_allowed", logsWhat: "not verified"},
		{name: "no email", idp: func(p *idp) { p.email = "" }, code: "not_allowed", logsWhat: "no email"},
		{
			name: "no allow list", code: "not_allowed", logsWhat: "lets nobody in",
			cfg: func(c *OIDCConfig) { c.AllowedDomains = nil },
		},
		{
			name: "other email listed", code: "not_allowed", logsWhat: "not in the allowed",
			cfg: func(c *OIDCConfig) { c.AllowedDomains, c.AllowedEmails = nil, []string{"bob@example.com"} },
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newIDP(t)
			if tc.idp != nil {
				p.set(tc.idp)
			}
			env := newSSOEnv(t, p, tc.cfg)
			b := newBrowser(t, env.url, "")
			end := ssoSignIn(t, b)
			if end.Path != "/agent" || end.Query().Get("sso") != tc.code {
				t.Errorf("the flow ended at %s, want /agent?sso=%s", end, tc.code)
			}
			if resp, _ := b.do("GET", "/api/v1/agent/me", nil); resp.StatusCode != http.StatusUnauthorized {
				t.Errorf("me after a refused sign-on: %s", resp.Status)
			}
			if logs := env.logs.String(); !strings.Contains(logs, tc.logsWhat) {
				t.Errorf("the log does not say why (%q):\n%s", tc.logsWhat, logs)
			}
		})
	}
}

func TestOIDCAllowedEmail(t *testing.T) {
	p := newIDP(t)
	p.set(func(p *idp) { p.email, p.name, p.emailVerified = "Bob@Partner.example", "", "true" })
	env := newSSOEnv(t, p, func(c *OIDCConfig) { c.AllowedEmails = []string{"bob@partner.example"} })
	b := newBrowser(t, env.url, "")
	ssoSignIn(t, b)
	_, data := b.do("GET", "/api/v1/agent/me", nil)
	var me meAnswer
	if err := json.Unmarshal(data, &me); err != nil || me.Name != "oidc:bob@partner.example" || me.DisplayName != "bob@partner.example" {
		t.Fatalf("me: %s", data)
	}
}

func TestOIDCCallbackWithoutFlow(t *testing.T) {
	p := newIDP(t)
	env := newSSOEnv(t, p, nil)

	// A callback this browser did not start, say from a link an attacker sent.
	b := newBrowser(t, env.url, "")
	resp, _ := b.do("GET", "/agent/oidc/callback?code=abc&state=def", nil)
	if resp.Request.URL.Query().Get("sso") != "expired" {
		t.Errorf("ended at %s, want sso=expired", resp.Request.URL)
	}

	// The provider reports an error: the person pressed Cancel there.
	loc := startFlow(t, b)
	resp, _ = b.do("GET", "/agent/oidc/callback?error=access_denied&state="+url.QueryEscape(loc.Query().Get("state")), nil)
	if resp.Request.URL.Query().Get("sso") != "denied" {
		t.Errorf("cancelled at the provider: ended at %s, want sso=denied", resp.Request.URL)
	}
	p.set(func(p *idp) {
		if p.exchanges != 0 {
			t.Errorf("%d code exchanges, want none", p.exchanges)
		}
	})
}

// startFlow begins a sign-on in b and returns where the console sends it.
func startFlow(t *testing.T, b *browser) *url.URL {
	t.Helper()
	c := &http.Client{Jar: b.c.Jar, Transport: b.c.Transport, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	r, err := c.Get(b.base + "/agent/oidc/login")
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if r.StatusCode != http.StatusFound {
		t.Fatalf("login: %s", r.Status)
	}
	loc, err := url.Parse(r.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func TestOIDCFlowExpires(t *testing.T) {
	p := newIDP(t)
	env := newSSOEnv(t, p, nil)
	b := newBrowser(t, env.url, "")
	loc := startFlow(t, b)
	// The person takes too long at the provider.
	env.clock.Advance(flowTTL + time.Second)
	resp, _ := b.do("GET", loc.String(), nil)
	if resp.Request.URL.Query().Get("sso") != "expired" {
		t.Errorf("ended at %s, want sso=expired", resp.Request.URL)
	}
}

func TestOIDCOff(t *testing.T) {
	env := newEnv(t, nil)
	b := newBrowser(t, env.url, "")
	for _, path := range []string{"/agent/oidc/login", "/agent/oidc/callback?code=x&state=y"} {
		resp, data := b.do("GET", path, nil)
		if resp.StatusCode != http.StatusNotFound || errorCode(t, data) != "not_found" {
			t.Errorf("%s: %s %s", path, resp.Status, data)
		}
	}
}

func TestOIDCIssuerUnreachable(t *testing.T) {
	dead := httptest.NewServer(http.NotFoundHandler())
	dead.Close()
	_, err := New(Params{Accounts: newFakeAccounts(), OIDC: &OIDCConfig{
		Issuer: dead.URL, ClientID: "c", RedirectURL: "http://localhost/agent/oidc/callback",
	}})
	if err == nil || !strings.Contains(err.Error(), dead.URL) {
		t.Fatalf("New with an unreachable issuer: %v", err)
	}
	if _, err := New(Params{Accounts: newFakeAccounts(), OIDC: &OIDCConfig{Issuer: dead.URL}}); err == nil {
		t.Fatal("New without client ID accepted")
	}
}
