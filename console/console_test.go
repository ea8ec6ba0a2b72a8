package console

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestSignIn(t *testing.T) {
	env := newEnv(t, nil)
	b := newBrowser(t, env.url, "")

	resp, data := b.signIn("anna", "correct horse battery")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("sign in: %s %s", resp.Status, data)
	}
	var me meAnswer
	if err := json.Unmarshal(data, &me); err != nil {
		t.Fatal(err)
	}
	if me.Name != "anna" || me.DisplayName != "Anna Agent" || len(me.CSRFToken) != 43 {
		t.Fatalf("sign-in answer = %+v", me)
	}
	if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control = %q, want no-store", cc)
	}
	ck := cookieNamed(resp, sessionCookie)
	if ck == nil {
		t.Fatal("no session cookie")
	}
	if !ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode || ck.Path != "/" || ck.Secure {
		t.Errorf("session cookie = %+v, want HttpOnly, SameSite=Strict, Path=/, not Secure", ck)
	}
	if ck.MaxAge != int(DefaultSessionTTL/time.Second) {
		t.Errorf("session cookie Max-Age = %d, want %d", ck.MaxAge, int(DefaultSessionTTL/time.Second))
	}

	resp, data = b.do("GET", "/api/v1/agent/me", nil)
	var again meAnswer
	if resp.StatusCode != http.StatusOK || json.Unmarshal(data, &again) != nil {
		t.Fatalf("me: %s %s", resp.Status, data)
	}
	if again.Name != "anna" || again.CSRFToken != me.CSRFToken || again.OIDC {
		t.Errorf("me = %+v, want anna with the sign-in's CSRF token", again)
	}

	// The cookie and the token together pass the agent-only API.
	resp, data = b.do("POST", "/api/v1/join", map[string]string{"code": "123456"}, "X-CSRF-Token", b.csrf)
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(data), `"agent":"anna"`) {
		t.Fatalf("join: %s %s", resp.Status, data)
	}
	// Safe methods need no token: the event stream is a GET.
	resp, data = b.do("GET", "/api/v1/help-requests/events", nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(data), `"agent":"anna"`) {
		t.Fatalf("events: %s %s", resp.Status, data)
	}

	logs := env.logs.String()
	for _, secret := range []string{"correct horse battery", ck.Value, me.CSRFToken} {
		if strings.Contains(logs, secret) {
			t.Errorf("the log contains a secret: %q", secret)
		}
	}
	if !strings.Contains(logs, "agent signed in") {
		t.Errorf("no sign-in in the log:\n%s", logs)
	}
}

func TestSignInDisplayNameDefaultsToName(t *testing.T) {
	env := newEnv(t, nil)
	b := newBrowser(t, env.url, "")
	_, data := b.signIn("bob", "bob's long password")
	var me meAnswer
	if err := json.Unmarshal(data, &me); err != nil || me.DisplayName != "bob" {
		t.Fatalf("answer %s", data)
	}
}

func TestSignInWrongPassword(t *testing.T) {
	env := newEnv(t, nil)
	b := newBrowser(t, env.url, "")
	for _, creds := range [][2]string{{"anna", "wrong password!"}, {"nobody", "correct horse battery"}, {"anna", ""}, {"", ""}} {
		resp, data := b.signIn(creds[0], creds[1])
		if resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("%q: %s %s", creds, resp.Status, data)
		}
		if got := strings.TrimSpace(string(data)); got != `{"error":"bad_credentials","message":"Wrong name or password."}` {
			t.Errorf("%q: body %s", creds, got)
		}
		if cookieNamed(resp, sessionCookie) != nil {
			t.Errorf("%q: a refused sign-in set a session cookie", creds)
		}
	}
	if resp, data := b.do("GET", "/api/v1/agent/me", nil); resp.StatusCode != http.StatusUnauthorized || errorCode(t, data) != "not_signed_in" {
		t.Fatalf("me after refused sign-ins: %s %s", resp.Status, data)
	}
	if strings.Contains(env.logs.String(), "wrong password!") {
		t.Error("the log contains a tried password")
	}
}

func TestSignInMalformed(t *testing.T) {
	env := newEnv(t, nil)
	b := newBrowser(t, env.url, "")
	token := b.loginToken()
	resp, data := b.do("POST", "/agent/sign-in", "not an object", "Origin", env.url, "X-CSRF-Token", token)
	if resp.StatusCode != http.StatusBadRequest || errorCode(t, data) != "bad_request" {
		t.Fatalf("%s %s", resp.Status, data)
	}
}

// With SecureCookies every cookie is Secure. The jar would not send Secure cookies
// over plain HTTP, so this test carries them by hand.
func TestSecureCookies(t *testing.T) {
	env := newEnv(t, func(p *Params, _ string) { p.SecureCookies = true })
	client := &http.Client{}

	resp, err := client.Get(env.url + "/agent")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	login := cookieNamed(resp, loginCookie)
	if login == nil || !login.Secure || !login.HttpOnly || login.SameSite != http.SameSiteStrictMode {
		t.Fatalf("login cookie = %+v, want Secure, HttpOnly, SameSite=Strict", login)
	}

	req, _ := http.NewRequest("POST", env.url+"/agent/sign-in",
		strings.NewReader(`{"name":"anna","password":"correct horse battery"}`))
	req.Header.Set("Origin", env.url)
	req.Header.Set("X-CSRF-Token", login.Value)
	req.AddCookie(&http.Cookie{Name: loginCookie, Value: login.Value})
	resp, err = client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("sign in: %s", resp.Status)
	}
	ck := cookieNamed(resp, sessionCookie)
	if ck == nil || !ck.Secure || !ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode || ck.Path != "/" {
		t.Fatalf("session cookie = %+v, want Secure, HttpOnly, SameSite=Strict, Path=/", ck)
	}
}

func TestCSRF(t *testing.T) {
	env := newEnv(t, nil)
	b := newBrowser(t, env.url, "")
	b.mustSignIn("anna", "correct horse battery")

	for name, hdr := range map[string][]string{
		"missing": nil,
		"wrong":   {"X-CSRF-Token", strings.Repeat("x", 43)},
		"empty":   {"X-CSRF-Token", ""},
	} {
		resp, data := b.do("POST", "/api/v1/join", map[string]string{"code": "123456"}, hdr...)
		if resp.StatusCode != http.StatusForbidden || errorCode(t, data) != "csrf" {
			t.Errorf("join with %s token: %s %s", name, resp.Status, data)
		}
		resp, data = b.do("POST", "/api/v1/help-requests/r1/accept", nil, hdr...)
		if resp.StatusCode != http.StatusForbidden || errorCode(t, data) != "csrf" {
			t.Errorf("accept with %s token: %s %s", name, resp.Status, data)
		}
		resp, data = b.do("POST", "/agent/sign-out", nil, hdr...)
		if resp.StatusCode != http.StatusForbidden || errorCode(t, data) != "csrf" {
			t.Errorf("sign-out with %s token: %s %s", name, resp.Status, data)
		}
	}
	// None of that signed the agent out.
	if resp, _ := b.do("GET", "/api/v1/agent/me", nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("me: %s", resp.Status)
	}
	if resp, data := b.do("POST", "/api/v1/help-requests/r1/accept", nil, "X-CSRF-Token", b.csrf); resp.StatusCode != http.StatusOK {
		t.Fatalf("accept with the token: %s %s", resp.Status, data)
	}
}

func TestAuthenticateErrors(t *testing.T) {
	env := newEnv(t, nil)
	b := newBrowser(t, env.url, "")
	b.mustSignIn("anna", "correct horse battery")
	u := b.c.Jar.Cookies(mustURL(t, env.url))

	r := httptest.NewRequest("POST", env.url+"/api/v1/join", nil)
	if _, err := env.console.Authenticate(r); !errors.Is(err, ErrNotSignedIn) {
		t.Errorf("no credentials: %v, want ErrNotSignedIn", err)
	}
	for _, ck := range u {
		r.AddCookie(ck)
	}
	if _, err := env.console.Authenticate(r); !errors.Is(err, ErrCSRF) {
		t.Errorf("cookie without token: %v, want ErrCSRF", err)
	}
	r.Header.Set("X-CSRF-Token", b.csrf)
	if a, err := env.console.Authenticate(r); err != nil || a.Name != "anna" {
		t.Errorf("cookie with token: %v %v", a, err)
	}
	r.Header.Set("Authorization", "Bearer tdm_agent_unknown")
	if _, err := env.console.Authenticate(r); !errors.Is(err, ErrNotSignedIn) {
		t.Errorf("a wrong agent token must not fall back to the cookie: %v", err)
	}
}

func TestLoginCSRF(t *testing.T) {
	env := newEnv(t, nil)
	body := map[string]string{"name": "anna", "password": "correct horse battery"}

	b := newBrowser(t, env.url, "")
	token := b.loginToken()
	for _, tc := range []struct {
		name    string
		headers []string
		code    string
	}{
		{"no Origin", []string{"X-CSRF-Token", token}, "bad_origin"},
		{"foreign Origin", []string{"Origin", "https://evil.example", "X-CSRF-Token", token}, "bad_origin"},
		{"null Origin", []string{"Origin", "null", "X-CSRF-Token", token}, "bad_origin"},
		{"other port", []string{"Origin", "http://127.0.0.1:1", "X-CSRF-Token", token}, "bad_origin"},
		{"no login token", []string{"Origin", env.url}, "csrf"},
		{"wrong login token", []string{"Origin", env.url, "X-CSRF-Token", strings.Repeat("y", 43)}, "csrf"},
	} {
		resp, data := b.do("POST", "/agent/sign-in", body, tc.headers...)
		if resp.StatusCode != http.StatusForbidden || errorCode(t, data) != tc.code {
			t.Errorf("%s: %s %s, want 403 %s", tc.name, resp.Status, data, tc.code)
		}
		if cookieNamed(resp, sessionCookie) != nil {
			t.Errorf("%s: a session cookie was set", tc.name)
		}
	}

	// A browser that never loaded the page has no login cookie: a token learnt
	// elsewhere does not help it.
	other := newBrowser(t, env.url, "")
	resp, data := other.do("POST", "/agent/sign-in", body, "Origin", env.url, "X-CSRF-Token", token)
	if resp.StatusCode != http.StatusForbidden || errorCode(t, data) != "csrf" {
		t.Errorf("without the login cookie: %s %s", resp.Status, data)
	}

	// The page's own request passes.
	resp, data = b.do("POST", "/agent/sign-in", body, "Origin", env.url, "X-CSRF-Token", token)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("proper sign-in: %s %s", resp.Status, data)
	}
}

// Behind a proxy the request may not name the public origin; the configured public
// URL and https (when the server is public over https) still count as our own.
func TestSignInOriginBehindProxy(t *testing.T) {
	env := newEnv(t, func(p *Params, _ string) { p.PublicURL = "https://tandem.example/" })
	b := newBrowser(t, env.url, "")
	body := map[string]string{"name": "anna", "password": "correct horse battery"}
	token := b.loginToken()
	if resp, data := b.do("POST", "/agent/sign-in", body, "Origin", "https://evil.example", "X-CSRF-Token", token); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("foreign origin: %s %s", resp.Status, data)
	}
	if resp, data := b.do("POST", "/agent/sign-in", body, "Origin", "https://tandem.example", "X-CSRF-Token", token); resp.StatusCode != http.StatusOK {
		t.Fatalf("public origin: %s %s", resp.Status, data)
	}

	// SecureCookies: the proxy terminated TLS and did not say so.
	secure := newEnv(t, func(p *Params, _ string) { p.SecureCookies = true })
	c := secure.console
	for origin, want := range map[string]bool{
		"https://" + strings.TrimPrefix(secure.url, "http://"): true,
		secure.url:              true,
		"https://evil.example":  false,
		"http://tandem.example": false,
	} {
		r := httptest.NewRequest("POST", secure.url+"/agent/sign-in", nil)
		r.Header.Set("Origin", origin)
		if got := c.sameOrigin(r); got != want {
			t.Errorf("sameOrigin(%s) = %v, want %v", origin, got, want)
		}
	}
}

func TestLoginTokenIsStable(t *testing.T) {
	env := newEnv(t, nil)
	b := newBrowser(t, env.url, "")
	first := b.loginToken()
	if again := b.loginToken(); again != first {
		t.Errorf("the login token changed between page loads: the page would carry a stale one")
	}
	// Without a page load first, the endpoint sets the cookie itself.
	fresh := newBrowser(t, env.url, "")
	resp, data := fresh.do("GET", "/api/v1/agent/login-token", nil)
	ck := cookieNamed(resp, loginCookie)
	if ck == nil || !strings.Contains(string(data), ck.Value) {
		t.Fatalf("login-token without cookie: %s, cookie %v", data, ck)
	}
	if strings.Contains(string(data), "sso") {
		t.Errorf("single sign-on is off but the answer mentions it: %s", data)
	}
}

func TestRateLimit(t *testing.T) {
	env := newEnv(t, nil)

	// Per name: five wrong passwords for anna, then no more tries for anna from anywhere.
	a := newBrowser(t, env.url, "127.0.0.1")
	for i := range 5 {
		if resp, data := a.signIn("anna", "wrong password"); resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("attempt %d: %s %s", i+1, resp.Status, data)
		}
	}
	resp, data := a.signIn("anna", "wrong password")
	if resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("6th attempt: %s %s", resp.Status, data)
	}
	if got := strings.TrimSpace(string(data)); got != `{"error":"rate_limited","message":"Too many sign-in attempts; wait a minute."}` {
		t.Errorf("6th attempt body: %s", got)
	}
	if ra := resp.Header.Get("Retry-After"); ra == "" || ra == "0" {
		t.Errorf("Retry-After = %q", ra)
	}
	// Even the right password waits: the limit is on attempts, not on failures.
	if resp, _ := newBrowser(t, env.url, "127.0.0.2").signIn("anna", "correct horse battery"); resp.StatusCode != http.StatusTooManyRequests {
		t.Errorf("anna from another address: %s, want 429", resp.Status)
	}
	// Another name is not disturbed, from the same address or another.
	newBrowser(t, env.url, "127.0.0.1").mustSignIn("bob", "bob's long password")
	newBrowser(t, env.url, "127.0.0.2").mustSignIn("bob", "bob's long password")

	// Per address: one source trying many names runs out too.
	c := newBrowser(t, env.url, "127.0.0.3")
	for i := range perAddr.burst {
		if resp, data := c.signIn(nameN(i), "guess"); resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("spray attempt %d: %s %s", i+1, resp.Status, data)
		}
	}
	if resp, _ := c.signIn("bob", "bob's long password"); resp.StatusCode != http.StatusTooManyRequests {
		t.Errorf("after %d attempts from one address: %s, want 429", perAddr.burst, resp.Status)
	}
	newBrowser(t, env.url, "127.0.0.4").mustSignIn("bob", "bob's long password")

	// A minute later anna may try again.
	env.clock.Advance(time.Minute)
	a.mustSignIn("anna", "correct horse battery")
	if !strings.Contains(env.logs.String(), "rate limited") {
		t.Error("rate limiting was not logged")
	}
}

func nameN(i int) string { return "agent" + string(rune('a'+i)) }

func TestBearerToken(t *testing.T) {
	env := newEnv(t, nil)
	b := newBrowser(t, env.url, "")

	resp, data := b.do("GET", "/api/v1/agent/me", nil, "Authorization", "Bearer "+goodToken)
	var me meAnswer
	if resp.StatusCode != http.StatusOK || json.Unmarshal(data, &me) != nil || me.Name != "anna" || me.CSRFToken != "" {
		t.Fatalf("me with token: %s %s", resp.Status, data)
	}
	// No CSRF token needed: a browser never sends Authorization on its own.
	resp, data = b.do("POST", "/api/v1/join", map[string]string{"code": "123456"}, "Authorization", "Bearer "+goodToken)
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(data), `"agent":"anna"`) {
		t.Fatalf("join with token: %s %s", resp.Status, data)
	}
	for _, auth := range []string{"Bearer tdm_agent_nope", "Bearer tdm_site_whatever", "Basic YW5uYTpwdw==", "Bearer "} {
		resp, data = b.do("POST", "/api/v1/join", map[string]string{"code": "123456"}, "Authorization", auth)
		if resp.StatusCode != http.StatusUnauthorized || errorCode(t, data) != "not_signed_in" {
			t.Errorf("join with %q: %s %s", auth, resp.Status, data)
		}
	}
	if strings.Contains(env.logs.String(), goodToken) {
		t.Error("the log contains an agent token")
	}
}

func TestSignOut(t *testing.T) {
	env := newEnv(t, nil)
	b := newBrowser(t, env.url, "")
	b.mustSignIn("anna", "correct horse battery")
	old := b.c.Jar.Cookies(mustURL(t, env.url))

	resp, data := b.do("POST", "/agent/sign-out", nil, "X-CSRF-Token", b.csrf)
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("sign out: %s %s", resp.Status, data)
	}
	if ck := cookieNamed(resp, sessionCookie); ck == nil || ck.MaxAge >= 0 {
		t.Errorf("sign-out did not clear the cookie: %+v", ck)
	}
	if resp, _ := b.do("GET", "/api/v1/agent/me", nil); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("me after sign-out: %s", resp.Status)
	}
	// The old cookie, replayed, is dead on the server too.
	replay := newBrowser(t, env.url, "")
	replay.c.Jar.SetCookies(mustURL(t, env.url), old)
	if resp, _ := replay.do("GET", "/api/v1/agent/me", nil); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("me with the old cookie: %s", resp.Status)
	}
	if resp, data := b.do("POST", "/agent/sign-out", nil, "X-CSRF-Token", b.csrf); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("second sign-out: %s %s", resp.Status, data)
	}
}

func TestSignInReplacesSession(t *testing.T) {
	env := newEnv(t, nil)
	b := newBrowser(t, env.url, "")
	b.mustSignIn("anna", "correct horse battery")
	first := b.c.Jar.Cookies(mustURL(t, env.url))
	b.mustSignIn("bob", "bob's long password")

	replay := newBrowser(t, env.url, "")
	replay.c.Jar.SetCookies(mustURL(t, env.url), first)
	if resp, _ := replay.do("GET", "/api/v1/agent/me", nil); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("the session before a new sign-in still works: %s", resp.Status)
	}
}

func TestSessionExpiry(t *testing.T) {
	env := newEnv(t, func(p *Params, _ string) { p.SessionTTL = time.Hour })
	b := newBrowser(t, env.url, "")
	b.mustSignIn("anna", "correct horse battery")

	env.clock.Advance(59 * time.Minute)
	if resp, _ := b.do("GET", "/api/v1/agent/me", nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("me before expiry: %s", resp.Status)
	}
	env.clock.Advance(2 * time.Minute)
	if resp, _ := b.do("GET", "/api/v1/agent/me", nil); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("me after expiry: %s", resp.Status)
	}
	if resp, _ := b.do("POST", "/api/v1/join", map[string]string{"code": "123456"}, "X-CSRF-Token", b.csrf); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("join after expiry: %s", resp.Status)
	}
}

func TestSessionsSweep(t *testing.T) {
	clk := &clock{t: time.Now()}
	store := newMemoryStore(clk.Now)
	s := &sessions{store: store, ttl: time.Hour, log: slog.New(slog.DiscardHandler)}
	ctx := context.Background()
	for range 3 {
		if _, _, err := s.create(ctx, Agent{Name: "anna"}, false, clk.Now()); err != nil {
			t.Fatal(err)
		}
	}
	clk.Advance(2 * time.Hour)
	if _, _, err := s.create(ctx, Agent{Name: "bob"}, false, clk.Now()); err != nil {
		t.Fatal(err)
	}
	if len(store.m) != 1 {
		t.Errorf("%d sessions after the others expired, want 1", len(store.m))
	}
}

func TestAddrKey(t *testing.T) {
	for in, want := range map[string]string{
		"192.0.2.7:5000":             "192.0.2.7",
		"[::ffff:192.0.2.7]:5000":    "192.0.2.7",
		"[2001:db8:1:2:3:4:5:6]:443": "2001:db8:1:2::/64",
		"[2001:db8:1:2:ff::1]:1":     "2001:db8:1:2::/64",
		"[fe80::1%eth0]:80":          "fe80::/64",
		"not an address":             "not an address",
	} {
		if got := addrKey(in); got != want {
			t.Errorf("addrKey(%q) = %q, want %q", in, got, want)
		}
	}
}
