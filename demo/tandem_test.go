package demo

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/tandem-cobrowse/tandem/ui"
)

// fakeTandem is Tandem's POST /api/v1/sessions, recording what the shop sends; it also
// serves the real embed script and answers the embed's polls.
type fakeTandem struct {
	srv    *httptest.Server
	mu     sync.Mutex
	auths  []string
	bodies []tandemSessionRequest
	raw    []map[string]any
	answer func(w http.ResponseWriter) // nil: 201 with a session
}

const siteAPIKey = "tdm_site_test-key"

func newFakeTandem(t *testing.T) *fakeTandem {
	t.Helper()
	f := &fakeTandem{}
	mux := http.NewServeMux()
	mux.Handle("GET /embed.js", ui.Handler())
	mux.HandleFunc("POST /api/v1/sessions", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var body tandemSessionRequest
		var raw map[string]any
		if json.Unmarshal(b, &body) != nil || json.Unmarshal(b, &raw) != nil {
			t.Errorf("the shop sent %q", b)
		}
		f.mu.Lock()
		f.auths = append(f.auths, r.Header.Get("Authorization"))
		f.bodies = append(f.bodies, body)
		f.raw = append(f.raw, raw)
		answer := f.answer
		f.mu.Unlock()
		if answer != nil {
			answer(w)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		fmt.Fprintf(w, `{"id":"s1","url":%q,"createdAt":"2026-01-01T00:00:00Z","rules":{},
			"links":{"host":"%[2]s/s/s1#token=host-tok","agent":"%[2]s/s/s1#token=AGENT-SECRET","guest":"%[2]s/s/s1#token=GUEST-SECRET"},
			"joinCode":"123456","joinCodeExpiresAt":"2099-01-01T00:00:00Z"}`, body.URL, f.srv.URL)
	})
	// What the embed polls, with CORS for the shop's origin.
	mux.HandleFunc("OPTIONS /api/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Access-Control-Allow-Origin", r.Header.Get("Origin"))
		w.Header().Set("Access-Control-Allow-Methods", "GET, POST, DELETE")
		w.Header().Set("Access-Control-Allow-Headers", "Authorization, Content-Type")
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("GET /api/v1/sessions/s1", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Access-Control-Allow-Origin", r.Header.Get("Origin"))
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"id":"s1","participants":[],"waiting":[]}`)
	})
	mux.HandleFunc("GET /s/", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "<!doctype html><title>viewer</title>")
	})
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

// shopWithTandem serves the shop connected to f, and a client that keeps cookies.
func shopWithTandem(t *testing.T, f *fakeTandem) (*httptest.Server, *http.Client) {
	t.Helper()
	srv := httptest.NewServer(Handler(nil, Options{TandemURL: f.srv.URL + "/", SiteKey: "pk_demo", APIKey: siteAPIKey}))
	t.Cleanup(srv.Close)
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return srv, &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// startFrom posts to /tandem/start as a page with origin would.
func startFrom(t *testing.T, c *http.Client, srv *httptest.Server, origin, ctype, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/tandem/start", strings.NewReader(body))
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	req.Header.Set("Content-Type", ctype)
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	code, h, b := read(t, res)
	if ct := h.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
	return code, b
}

func TestTandemStartHandsTheVisitorOver(t *testing.T) {
	f := newFakeTandem(t)
	srv, c := shopWithTandem(t, f)
	if code, _, _ := post(t, c, srv.URL+"/login", url.Values{"username": {"skye"}, "password": {"trail"}}); code != http.StatusSeeOther {
		t.Fatalf("sign-in: status %d", code)
	}
	u, _ := url.Parse(srv.URL)
	var signIn string
	for _, ck := range c.Jar.Cookies(u) {
		if ck.Name == cookieName {
			signIn = ck.Value
		}
	}
	if signIn == "" {
		t.Fatal("no sign-in cookie")
	}

	code, body := startFrom(t, c, srv, srv.URL, "application/json", fmt.Sprintf(`{"url":%q}`, srv.URL+"/checkout?step=2"))
	if code != http.StatusCreated {
		t.Fatalf("status %d: %s", code, body)
	}
	var ans map[string]any
	if err := json.Unmarshal([]byte(body), &ans); err != nil {
		t.Fatal(err)
	}
	if ans["id"] != "s1" || ans["joinCode"] != "123456" || ans["joinCodeExpiresAt"] != "2099-01-01T00:00:00Z" || len(ans) != 4 {
		t.Errorf("answer %s", body)
	}
	if links, _ := ans["links"].(map[string]any); len(links) != 1 || links["host"] != f.srv.URL+"/s/s1#token=host-tok" {
		t.Errorf("links %v", links)
	}
	if strings.Contains(body, "SECRET") {
		t.Errorf("the agent or guest link reached the page: %s", body)
	}

	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.auths) != 1 || f.auths[0] != "Bearer "+siteAPIKey {
		t.Fatalf("Authorization %q", f.auths)
	}
	got := f.bodies[0]
	if got.URL != srv.URL+"/checkout?step=2" {
		t.Errorf("url %q", got.URL)
	}
	want := handoffCookie{Name: cookieName, Value: signIn, Domain: "127.0.0.1", Path: "/", HTTPOnly: true, SameSite: "Lax"}
	if len(got.Handoff.Cookies) != 1 || got.Handoff.Cookies[0] != want {
		t.Errorf("cookies %+v, want %+v", got.Handoff.Cookies, want)
	}
	h, _ := f.raw[0]["handoff"].(map[string]any)
	if fmt.Sprint(h["headers"]) != "map[]" || fmt.Sprint(h["storage"]) != "map[]" {
		t.Errorf("handoff %v", h)
	}
}

func TestTandemStartRefuses(t *testing.T) {
	f := newFakeTandem(t)
	srv, c := shopWithTandem(t, f)
	page := fmt.Sprintf(`{"url":%q}`, srv.URL+"/")
	cases := []struct {
		name, origin, ctype, body string
		status                    int
	}{
		{"a foreign origin", "http://evil.example", "application/json", page, http.StatusForbidden},
		{"a look-alike origin", srv.URL + ".evil.example", "application/json", page, http.StatusForbidden},
		{"no origin", "", "application/json", page, http.StatusForbidden},
		{"a form post", srv.URL, "application/x-www-form-urlencoded", "url=x", http.StatusUnsupportedMediaType},
		{"text", srv.URL, "text/plain", page, http.StatusUnsupportedMediaType},
		{"a page of another site", srv.URL, "application/json", `{"url":"http://evil.example/"}`, http.StatusBadRequest},
		{"a script URL", srv.URL, "application/json", `{"url":"javascript:alert(1)"}`, http.StatusBadRequest},
		{"credentials in the URL", srv.URL, "application/json", fmt.Sprintf(`{"url":%q}`, strings.Replace(srv.URL, "//", "//a:b@", 1)+"/"), http.StatusBadRequest},
		{"no url", srv.URL, "application/json", `{}`, http.StatusBadRequest},
		{"not JSON", srv.URL, "application/json", `{"url":`, http.StatusBadRequest},
		{"too large", srv.URL, "application/json", `{"url":"` + strings.Repeat("a", maxStartBody) + `"}`, http.StatusBadRequest},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, body := startFrom(t, c, srv, tc.origin, tc.ctype, tc.body)
			var e apiError
			if code != tc.status || json.Unmarshal([]byte(body), &e) != nil || e.Error == "" || e.Message == "" {
				t.Errorf("status %d, body %s; want %d with an error and a message", code, body, tc.status)
			}
		})
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.bodies) != 0 {
		t.Errorf("Tandem was called %d times", len(f.bodies))
	}
}

func TestTandemStartPassesTandemErrorsOn(t *testing.T) {
	f := newFakeTandem(t)
	srv, c := shopWithTandem(t, f)
	page := fmt.Sprintf(`{"url":%q}`, srv.URL+"/")
	cases := []struct {
		name    string
		answer  func(w http.ResponseWriter)
		status  int
		errCode string
		message string
	}{
		{"a refusal keeps its status and message", func(w http.ResponseWriter) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusTooManyRequests)
			_, _ = io.WriteString(w, `{"error":"too_many_sessions","message":"All co-browsing seats are taken."}`)
		}, http.StatusTooManyRequests, "too_many_sessions", "All co-browsing seats are taken."},
		{"a failure is a 502", func(w http.ResponseWriter) {
			w.WriteHeader(http.StatusInternalServerError)
			_, _ = io.WriteString(w, `{"error":"internal","message":"Chromium crashed."}`)
		}, http.StatusBadGateway, "internal", "Chromium crashed."},
		{"a non-JSON refusal gets a message", func(w http.ResponseWriter) {
			w.WriteHeader(http.StatusForbidden)
			_, _ = io.WriteString(w, "forbidden")
		}, http.StatusForbidden, "tandem_error", "The co-browse service refused to start the session."},
		{"an answer without a host link is a 502", func(w http.ResponseWriter) {
			w.WriteHeader(http.StatusCreated)
			_, _ = io.WriteString(w, `{"id":"s1"}`)
		}, http.StatusBadGateway, "bad_gateway", "The co-browse service sent an answer the shop cannot use."},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f.mu.Lock()
			f.answer = tc.answer
			f.mu.Unlock()
			code, body := startFrom(t, c, srv, srv.URL, "application/json; charset=utf-8", page)
			var e apiError
			if err := json.Unmarshal([]byte(body), &e); err != nil || code != tc.status || e.Error != tc.errCode || e.Message != tc.message {
				t.Errorf("status %d, %s", code, body)
			}
		})
	}
	t.Run("Tandem down is a 502", func(t *testing.T) {
		f.srv.Close()
		code, body := startFrom(t, c, srv, srv.URL, "application/json", page)
		if code != http.StatusBadGateway || !strings.Contains(body, `"tandem_unavailable"`) {
			t.Errorf("status %d, %s", code, body)
		}
	})
}

func TestEveryPageCarriesTheEmbedWhenConnected(t *testing.T) {
	f := newFakeTandem(t)
	srv, c := shopWithTandem(t, f)
	tag := fmt.Sprintf(`<script src="%s/embed.js" data-tandem-site="pk_demo" data-tandem-start="/tandem/start" data-tandem-help="true" async></script>`, f.srv.URL)
	for _, p := range []string{"/", "/products/storm-shell-jacket", "/login", "/checkout", "/notes", "/nope"} {
		_, _, body := get(t, c, srv.URL+p)
		if !strings.Contains(body, tag) {
			t.Errorf("%s lacks the embed script", p)
		}
	}
	plain, pc := newServer(t)
	if _, _, body := get(t, pc, plain.URL+"/"); strings.Contains(body, "embed.js") {
		t.Error("the shop without Tandem carries the embed")
	}
	res, err := pc.Post(plain.URL+"/tandem/start", "application/json", strings.NewReader(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	if code, _, _ := read(t, res); code < 400 {
		t.Errorf("POST /tandem/start without Tandem: status %d", code)
	}
}

// TestEmbedOnTheShop signs in on the shop in Chromium and starts co-browsing from its
// button: the shop's backend starts the session with the HttpOnly sign-in cookie.
func TestEmbedOnTheShop(t *testing.T) {
	execPath := chromiumPath(t)
	f := newFakeTandem(t)
	srv, _ := shopWithTandem(t, f)

	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(execPath),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("no-sandbox", os.Geteuid() == 0),
		chromedp.WindowSize(1280, 800),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	ctx, cancel := chromedp.NewContext(allocCtx)
	defer cancel()
	ctx, cancelT := context.WithTimeout(ctx, 60*time.Second)
	defer cancelT()

	const shadow = `document.querySelector('tandem-cobrowse').shadowRoot`
	poll := func(expr string) {
		t.Helper()
		if _, err := chromedp.Run(ctx, chromedp.Poll[bool]("!!("+expr+")",
			// By interval: animation frames stop once the host window covers the tab.
			chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(15*time.Second))); err != nil {
			state, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`JSON.stringify(window.Tandem && Tandem.state)`))
			t.Fatalf("waiting for %s: %v (embed state %s)", expr, err, state)
		}
	}
	click := func(expr string) {
		t.Helper()
		poll(expr)
		r, err := chromedp.Run(ctx, chromedp.Evaluate[struct{ X, Y float64 }](`(() => { const r = (`+expr+`).getBoundingClientRect();
			return {X: r.left + r.width / 2, Y: r.top + r.height / 2}; })()`))
		if err != nil {
			t.Fatal(err)
		}
		if err := chromedp.Do(ctx, chromedp.MouseClickXY(r.X, r.Y)); err != nil {
			t.Fatal(err)
		}
	}
	if err := chromedp.Do(ctx,
		chromedp.Navigate(srv.URL+"/login"),
		chromedp.SendKeys(chromedp.CSS(`input[name=username]`), "skye"),
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), "trail"),
		chromedp.Submit(chromedp.CSS(`input[name=password]`)),
		chromedp.WaitVisible(chromedp.CSS(`.signed-in`)),
	); err != nil {
		t.Fatal(err)
	}
	poll(`document.querySelector('.signed-in') && window.Tandem && document.querySelector('tandem-cobrowse')`)
	click(shadow + `.querySelector('.launch')`)
	click(`[...` + shadow + `.querySelectorAll('button')].find((b) => b.textContent === 'Start co-browsing')`)
	poll(shadow + `.querySelector('.code span').textContent === '123 456'`)

	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.bodies) != 1 {
		t.Fatalf("%d sessions started", len(f.bodies))
	}
	b := f.bodies[0]
	if b.URL != srv.URL+"/" || len(b.Handoff.Cookies) != 1 || b.Handoff.Cookies[0].Name != cookieName || !b.Handoff.Cookies[0].HTTPOnly {
		t.Errorf("session request %+v", b)
	}
}
