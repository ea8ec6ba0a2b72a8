package console

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
)

// fakeAccounts stands in for agent.Accounts.
type fakeAccounts struct {
	passwords map[string]string // name -> password
	display   map[string]string // name -> display name
	tokens    map[string]string // token -> name
}

var errBadCredentials = errors.New("bad credentials")

func newFakeAccounts() *fakeAccounts {
	return &fakeAccounts{
		passwords: map[string]string{"anna": "correct horse battery", "bob": "bob's long password"},
		display:   map[string]string{"anna": "Anna Agent", "bob": ""},
		tokens:    map[string]string{goodToken: "anna"},
	}
}

func (f *fakeAccounts) Verify(name, password string) (Agent, error) {
	if pw, ok := f.passwords[name]; !ok || pw != password {
		return Agent{}, errBadCredentials
	}
	return Agent{Name: name, DisplayName: f.display[name]}, nil
}

func (f *fakeAccounts) ByToken(token string) (Agent, error) {
	name, ok := f.tokens[token]
	if !ok {
		return Agent{}, errBadCredentials
	}
	return Agent{Name: name, DisplayName: f.display[name]}, nil
}

var goodToken = "tdm_agent_" + strings.Repeat("A", 43)

// clock is a test clock the console reads through Params.Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// syncBuffer collects log output from the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// env is a console on a real HTTP server, with fake versions of the endpoints the
// lead implements elsewhere, guarded the way the real ones are (RequireAgent).
type env struct {
	url     string
	console *Console
	clock   *clock
	logs    *syncBuffer
}

func newEnv(t *testing.T, configure func(p *Params, baseURL string)) *env {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	base := "http://" + srv.Listener.Addr().String()
	clk := &clock{t: time.Now()}
	logs := &syncBuffer{}
	p := Params{
		Accounts: newFakeAccounts(),
		Logger:   slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Now:      clk.Now,
	}
	if configure != nil {
		configure(&p, base)
	}
	c, err := New(p)
	if err != nil {
		t.Fatal(err)
	}
	e := echo.New()
	c.Register(e)
	registerFakeAPI(e, c)
	srv.Config.Handler = e
	srv.Start()
	t.Cleanup(srv.Close)
	return &env{url: base, console: c, clock: clk, logs: logs}
}

// registerFakeAPI adds stand-ins for POST /api/v1/join, the help queue's event stream
// and accepting a request. Each answers with the agent RequireAgent let through.
func registerFakeAPI(e *echo.Echo, c *Console) {
	e.POST("/api/v1/join", func(ec echo.Context) error {
		a, _ := AgentFrom(ec)
		var body struct{ Code string }
		if err := ec.Bind(&body); err != nil || body.Code != "123456" {
			return ec.JSON(http.StatusNotFound, apiError{"bad_code", "That code is wrong or has expired."})
		}
		return ec.JSON(http.StatusOK, map[string]string{"id": "s1", "link": "/s/s1#token=x", "agent": a.Name})
	}, c.RequireAgent)
	e.GET("/api/v1/help-requests/events", func(ec echo.Context) error {
		a, _ := AgentFrom(ec)
		ec.Response().Header().Set("Content-Type", "text/event-stream")
		_, err := fmt.Fprintf(ec.Response(), "data: {\"requests\":[],\"agent\":%q}\n\n", a.Name)
		return err
	}, c.RequireAgent)
	e.POST("/api/v1/help-requests/:id/accept", func(ec echo.Context) error {
		a, _ := AgentFrom(ec)
		if ec.Param("id") == "taken" {
			return ec.JSON(http.StatusConflict, apiError{"already_accepted", "Another agent took this request."})
		}
		return ec.JSON(http.StatusOK, map[string]string{"id": ec.Param("id"), "session": "s1", "link": "/s/s1#token=y", "agent": a.Name})
	}, c.RequireAgent)
}

// browser is an HTTP client with a cookie jar, optionally from a given loopback
// address so tests can play several sources.
type browser struct {
	t    *testing.T
	base string
	c    *http.Client
	csrf string // the session's token after signIn
}

func newBrowser(t *testing.T, base, fromIP string) *browser {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	tr := &http.Transport{}
	if fromIP != "" {
		d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(fromIP)}}
		tr.DialContext = d.DialContext
	}
	t.Cleanup(tr.CloseIdleConnections)
	return &browser{t: t, base: base, c: &http.Client{Jar: jar, Transport: tr, Timeout: 10 * time.Second}}
}

// do sends a request to path below the console, or to an absolute URL; body is
// JSON-encoded unless nil; headers are name/value pairs.
func (b *browser) do(method, path string, body any, headers ...string) (*http.Response, []byte) {
	b.t.Helper()
	var rd io.Reader
	if body != nil {
		j, err := json.Marshal(body)
		if err != nil {
			b.t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	target := path
	if !strings.HasPrefix(path, "http") {
		target = b.base + path
	}
	req, err := http.NewRequestWithContext(context.Background(), method, target, rd)
	if err != nil {
		b.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		b.t.Fatal(err)
	}
	return resp, data
}

// loginToken loads the console page and asks for the login token, as the page does.
func (b *browser) loginToken() string {
	b.t.Helper()
	if resp, _ := b.do("GET", "/agent", nil); resp.StatusCode != http.StatusOK {
		b.t.Fatalf("GET /agent: %s", resp.Status)
	}
	resp, data := b.do("GET", "/api/v1/agent/login-token", nil)
	var out struct{ Token string }
	if resp.StatusCode != http.StatusOK || json.Unmarshal(data, &out) != nil || out.Token == "" {
		b.t.Fatalf("login token: %s %s", resp.Status, data)
	}
	return out.Token
}

// signIn signs in the way the console page does and returns the answer.
func (b *browser) signIn(name, password string) (*http.Response, []byte) {
	b.t.Helper()
	token := b.loginToken()
	resp, data := b.do("POST", "/agent/sign-in", map[string]string{"name": name, "password": password},
		"Origin", b.base, "X-CSRF-Token", token)
	if resp.StatusCode == http.StatusOK {
		var me meAnswer
		if err := json.Unmarshal(data, &me); err != nil {
			b.t.Fatal(err)
		}
		b.csrf = me.CSRFToken
	}
	return resp, data
}

func (b *browser) mustSignIn(name, password string) {
	b.t.Helper()
	if resp, data := b.signIn(name, password); resp.StatusCode != http.StatusOK {
		b.t.Fatalf("sign in as %s: %s %s", name, resp.Status, data)
	}
}

// errorCode is the "error" of a JSON error answer, checking its shape on the way.
func errorCode(t *testing.T, data []byte) string {
	t.Helper()
	var e map[string]string
	if err := json.Unmarshal(data, &e); err != nil || e["error"] == "" || e["message"] == "" {
		t.Fatalf("not a JSON error answer: %s", data)
	}
	return e["error"]
}

func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func cookieNamed(resp *http.Response, name string) *http.Cookie {
	for _, c := range resp.Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}
