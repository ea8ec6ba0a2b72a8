package console

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// errFakeNotFound is the fake store's own "not found", as a store in another package
// (cluster.KVStore) has: not ErrNoSession, only wrapping fs.ErrNotExist like it.
var errFakeNotFound = fmt.Errorf("fake store: no such key: %w", fs.ErrNotExist)

// fakeStore is a SessionStore shared by consoles that play the nodes of a cluster. It
// keeps every value until deleted, whatever the ttl, so the console alone must refuse
// what has expired.
type fakeStore struct {
	mu   sync.Mutex
	m    map[string][]byte
	puts []fakePut
	err  error // when set, every call fails with it
}

type fakePut struct {
	key string
	ttl time.Duration
}

func newFakeStore() *fakeStore { return &fakeStore{m: map[string][]byte{}} }

func (f *fakeStore) Put(_ context.Context, key string, value []byte, ttl time.Duration) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return f.err
	}
	f.m[key] = append([]byte(nil), value...)
	f.puts = append(f.puts, fakePut{key, ttl})
	return nil
}

func (f *fakeStore) Get(_ context.Context, key string) ([]byte, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return nil, f.err
	}
	v, ok := f.m[key]
	if !ok {
		return nil, errFakeNotFound
	}
	return append([]byte(nil), v...), nil
}

func (f *fakeStore) Delete(_ context.Context, key string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return f.err
	}
	delete(f.m, key)
	return nil
}

func (f *fakeStore) fail(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.err = err
}

// snapshot copies the store's contents.
func (f *fakeStore) snapshot() map[string]string {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[string]string{}
	for k, v := range f.m {
		out[k] = string(v)
	}
	return out
}

func (f *fakeStore) putsSoFar() []fakePut {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]fakePut(nil), f.puts...)
}

func (f *fakeStore) set(key, value string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.m[key] = []byte(value)
}

// nodes are two consoles sharing one store and one clock, as two nodes of a cluster
// behind a load balancer do.
func nodes(t *testing.T, store SessionStore, configure func(p *Params, baseURL string)) (a, b *env, clk *clock) {
	t.Helper()
	clk = &clock{t: time.Now()}
	conf := func(p *Params, base string) {
		p.Now = clk.Now
		p.Sessions = store
		if configure != nil {
			configure(p, base)
		}
	}
	return newEnv(t, conf), newEnv(t, conf), clk
}

// on is the same browser (cookie jar) talking to another node. Both listen on
// 127.0.0.1 and cookies do not care for ports, so the jar sends the same cookie to
// either, as it would to one host name behind a load balancer.
func (b *browser) on(e *env) *browser {
	return &browser{t: b.t, base: e.url, c: b.c, csrf: b.csrf}
}

var hexSHA256 = regexp.MustCompile(`^[0-9a-f]{64}$`)

func TestSharedSessionsAcrossNodes(t *testing.T) {
	store := newFakeStore()
	nodeA, nodeB, _ := nodes(t, store, func(p *Params, _ string) { p.SessionTTL = time.Hour })
	onA := newBrowser(t, nodeA.url, "")
	onA.mustSignIn("anna", "correct horse battery")
	cookie := ""
	for _, ck := range onA.c.Jar.Cookies(mustURL(t, nodeA.url)) {
		if ck.Name == sessionCookie {
			cookie = ck.Value
		}
	}
	if cookie == "" {
		t.Fatal("no session cookie after signing in")
	}

	// The store holds the session under the hash of the cookie, never the cookie.
	kept := store.snapshot()
	if len(kept) != 1 {
		t.Fatalf("the store holds %d records, want 1", len(kept))
	}
	for k, v := range kept {
		if !hexSHA256.MatchString(k) || k != storeKey(cookie) {
			t.Errorf("store key %q is not the hex SHA-256 of the cookie", k)
		}
		if strings.Contains(k, cookie) || strings.Contains(v, cookie) {
			t.Error("the store holds the cookie value")
		}
		var rec record
		if err := json.Unmarshal([]byte(v), &rec); err != nil || rec.Agent.Name != "anna" || rec.CSRF != onA.csrf || rec.ViaOIDC {
			t.Errorf("stored record %s, %v", v, err)
		}
	}
	if puts := store.putsSoFar(); len(puts) != 1 || puts[0].ttl != time.Hour {
		t.Errorf("puts = %+v, want one with the session TTL", puts)
	}

	// Node B knows the cookie, and its CSRF token, without ever having seen either.
	onB := onA.on(nodeB)
	resp, data := onB.do("GET", "/api/v1/agent/me", nil)
	var me meAnswer
	if resp.StatusCode != http.StatusOK || json.Unmarshal(data, &me) != nil {
		t.Fatalf("me on node B: %s %s", resp.Status, data)
	}
	if me.Name != "anna" || me.DisplayName != "Anna Agent" || me.CSRFToken != onA.csrf {
		t.Errorf("me on node B = %+v, want anna with node A's CSRF token", me)
	}
	resp, data = onB.do("POST", "/api/v1/join", map[string]string{"code": "123456"}, "X-CSRF-Token", onA.csrf)
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(data), `"agent":"anna"`) {
		t.Fatalf("join on node B: %s %s", resp.Status, data)
	}
	if resp, data := onB.do("POST", "/api/v1/join", map[string]string{"code": "123456"}, "X-CSRF-Token", "wrong"); resp.StatusCode != http.StatusForbidden || errorCode(t, data) != "csrf" {
		t.Fatalf("join on node B with a wrong token: %s %s", resp.Status, data)
	}

	// Signing out through B ends the session on A too, even for a copy of the cookie.
	old := onA.c.Jar.Cookies(mustURL(t, nodeA.url))
	if resp, data := onB.do("POST", "/agent/sign-out", nil, "X-CSRF-Token", onA.csrf); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("sign out on node B: %s %s", resp.Status, data)
	}
	if n := len(store.snapshot()); n != 0 {
		t.Errorf("the store holds %d records after sign-out", n)
	}
	replay := newBrowser(t, nodeA.url, "")
	replay.c.Jar.SetCookies(mustURL(t, nodeA.url), old)
	if resp, _ := replay.do("GET", "/api/v1/agent/me", nil); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("me on node A after sign-out on node B: %s", resp.Status)
	}
	if resp, _ := replay.do("POST", "/api/v1/join", map[string]string{"code": "123456"}, "X-CSRF-Token", onA.csrf); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("join on node A after sign-out on node B: %s", resp.Status)
	}
}

// Signing in again through B ends the session A started, for every node.
func TestSharedSessionReplacedOnOtherNode(t *testing.T) {
	store := newFakeStore()
	nodeA, nodeB, _ := nodes(t, store, nil)
	onA := newBrowser(t, nodeA.url, "")
	onA.mustSignIn("anna", "correct horse battery")
	first := onA.c.Jar.Cookies(mustURL(t, nodeA.url))
	onA.on(nodeB).mustSignIn("bob", "bob's long password")

	if n := len(store.snapshot()); n != 1 {
		t.Errorf("the store holds %d records, want bob's alone", n)
	}
	replay := newBrowser(t, nodeA.url, "")
	replay.c.Jar.SetCookies(mustURL(t, nodeA.url), first)
	if resp, _ := replay.do("GET", "/api/v1/agent/me", nil); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("the replaced session still works on node A: %s", resp.Status)
	}
}

// The store may keep a record past its end: the console refuses it anyway.
func TestSharedSessionExpiry(t *testing.T) {
	store := newFakeStore()
	nodeA, nodeB, clk := nodes(t, store, func(p *Params, _ string) { p.SessionTTL = time.Hour })
	onA := newBrowser(t, nodeA.url, "")
	onA.mustSignIn("anna", "correct horse battery")
	onB := onA.on(nodeB)

	clk.Advance(59 * time.Minute)
	if resp, _ := onB.do("GET", "/api/v1/agent/me", nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("me on node B before expiry: %s", resp.Status)
	}
	clk.Advance(2 * time.Minute)
	for _, b := range []*browser{onA, onB} {
		if resp, _ := b.do("GET", "/api/v1/agent/me", nil); resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("me on %s after expiry: %s", b.base, resp.Status)
		}
		if resp, _ := b.do("POST", "/api/v1/join", map[string]string{"code": "123456"}, "X-CSRF-Token", onA.csrf); resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("join on %s after expiry: %s", b.base, resp.Status)
		}
	}
	if n := len(store.snapshot()); n != 1 {
		t.Fatalf("the store holds %d records; this test wants it to keep the expired one", n)
	}
}

// A record the console cannot read signs nobody in, and says so in the log.
func TestSharedSessionUnreadable(t *testing.T) {
	store := newFakeStore()
	nodeA, _, _ := nodes(t, store, nil)
	b := newBrowser(t, nodeA.url, "")
	b.mustSignIn("anna", "correct horse battery")
	for _, v := range []string{`{`, `{"agent":{"name":""},"csrf":"x","expires":"2999-01-01T00:00:00Z"}`, `{"agent":{"name":"anna"},"expires":"2999-01-01T00:00:00Z"}`} {
		for k := range store.snapshot() {
			store.set(k, v)
		}
		if resp, _ := b.do("GET", "/api/v1/agent/me", nil); resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("me with record %s: %s", v, resp.Status)
		}
	}
	if !strings.Contains(nodeA.logs.String(), "unreadable") {
		t.Errorf("no word of the unreadable record in the log:\n%s", nodeA.logs.String())
	}
}

// A failing store answers 503, not 401: the agent may well be signed in, and the page
// should not send them back to the sign-in form. The store's error stays in the log.
func TestSessionStoreFailure(t *testing.T) {
	store := newFakeStore()
	nodeA, _, _ := nodes(t, store, nil)
	b := newBrowser(t, nodeA.url, "")
	down := errors.New("store went away at 10.0.0.7")

	store.fail(down)
	if resp, data := b.signIn("anna", "correct horse battery"); resp.StatusCode != http.StatusServiceUnavailable || errorCode(t, data) != "unavailable" {
		t.Fatalf("sign in with the store down: %s %s", resp.Status, data)
	} else if cookieNamed(resp, sessionCookie) != nil {
		t.Error("a failed sign-in set a session cookie")
	}

	store.fail(nil)
	b.mustSignIn("anna", "correct horse battery")
	store.fail(down)
	for _, tc := range []struct{ method, path string }{
		{"GET", "/api/v1/agent/me"},
		{"POST", "/api/v1/join"},
		{"POST", "/agent/sign-out"},
	} {
		resp, data := b.do(tc.method, tc.path, map[string]string{"code": "123456"}, "X-CSRF-Token", b.csrf)
		if resp.StatusCode != http.StatusServiceUnavailable || errorCode(t, data) != "unavailable" {
			t.Errorf("%s %s with the store down: %s %s", tc.method, tc.path, resp.Status, data)
		}
		if strings.Contains(string(data), "10.0.0.7") {
			t.Errorf("%s %s tells the store's error: %s", tc.method, tc.path, data)
		}
		if ck := cookieNamed(resp, sessionCookie); ck != nil {
			t.Errorf("%s %s touched the cookie: %+v", tc.method, tc.path, ck)
		}
	}
	req, _ := http.NewRequest("GET", nodeA.url+"/api/v1/agent/me", nil)
	for _, ck := range b.c.Jar.Cookies(mustURL(t, nodeA.url)) {
		req.AddCookie(ck)
	}
	_, err := nodeA.console.Authenticate(req)
	if !errors.Is(err, ErrNotSignedIn) || !errors.Is(err, ErrUnavailable) || errors.Is(err, down) {
		t.Errorf("Authenticate with the store down: %v; want ErrNotSignedIn and ErrUnavailable, not the store's error", err)
	}
	if !strings.Contains(nodeA.logs.String(), "10.0.0.7") {
		t.Error("the store's error is not in the log")
	}

	// Back up, the session is still there: a failed sign-out ended nothing.
	store.fail(nil)
	if resp, _ := b.do("GET", "/api/v1/agent/me", nil); resp.StatusCode != http.StatusOK {
		t.Errorf("me with the store back: %s", resp.Status)
	}
}

// Single sign-on sessions are shared too, and stay marked as such on every node.
func TestSharedSessionViaOIDC(t *testing.T) {
	p := newIDP(t)
	store := newFakeStore()
	nodeA, nodeB, _ := nodes(t, store, func(params *Params, base string) {
		params.OIDC = &OIDCConfig{
			Issuer: p.srv.URL, ClientID: p.clientID, ClientSecret: p.secret,
			RedirectURL: base + "/agent/oidc/callback", AllowedDomains: []string{"example.com"},
		}
	})
	onA := newBrowser(t, nodeA.url, "")
	if end := ssoSignIn(t, onA); end.Path != "/agent" || end.RawQuery != "" {
		t.Fatalf("the flow ended at %s", end)
	}
	resp, data := onA.on(nodeB).do("GET", "/api/v1/agent/me", nil)
	var me meAnswer
	if resp.StatusCode != http.StatusOK || json.Unmarshal(data, &me) != nil {
		t.Fatalf("me on node B: %s %s", resp.Status, data)
	}
	if me.Name != "oidc:anna@example.com" || !me.OIDC || me.CSRFToken == "" {
		t.Errorf("me on node B = %+v", me)
	}
}

func TestMemoryStore(t *testing.T) {
	clk := &clock{t: time.Now()}
	s := newMemoryStore(clk.Now)
	ctx := context.Background()
	if _, err := s.Get(ctx, "k"); !errors.Is(err, ErrNoSession) {
		t.Fatalf("get of a missing key: %v, want ErrNoSession", err)
	}
	if err := s.Put(ctx, "k", []byte("v"), time.Minute); err != nil {
		t.Fatal(err)
	}
	if v, err := s.Get(ctx, "k"); err != nil || string(v) != "v" {
		t.Fatalf("get = %q, %v", v, err)
	}
	clk.Advance(time.Minute)
	if _, err := s.Get(ctx, "k"); !errors.Is(err, ErrNoSession) {
		t.Fatalf("get after the ttl: %v, want ErrNoSession", err)
	}
	if err := s.Put(ctx, "k", []byte("v"), time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, "k"); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, "k"); err != nil {
		t.Fatalf("delete of a missing key: %v", err)
	}
	if _, err := s.Get(ctx, "k"); !errors.Is(err, ErrNoSession) {
		t.Fatalf("get after delete: %v, want ErrNoSession", err)
	}
	if !errors.Is(ErrNoSession, fs.ErrNotExist) {
		t.Error("ErrNoSession does not wrap fs.ErrNotExist")
	}
}
