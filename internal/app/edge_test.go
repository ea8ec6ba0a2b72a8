package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/gorilla/websocket"

	"github.com/tandem-cobrowse/tandem/internal/app"
)

// sessionCount is the number of live sessions, from the health check.
func sessionCount(t *testing.T, srv *app.Server) int {
	t.Helper()
	res, err := http.Get(srv.URL() + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var h struct{ Sessions int }
	if err := json.NewDecoder(res.Body).Decode(&h); err != nil {
		t.Fatal(err)
	}
	return h.Sessions
}

func post(t *testing.T, srv *app.Server, header http.Header, body string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, srv.URL()+"/api/v1/sessions", strings.NewReader(body))
	for k, v := range header {
		req.Header[k] = v
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var out map[string]any
	raw, _ := io.ReadAll(res.Body)
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("answer is not JSON: %q", raw)
	}
	return res.StatusCode, out
}

func TestCreatingSessionsCrossSiteIsRefused(t *testing.T) {
	chromiumOrSkip(t)
	provider := page(t, `<!doctype html><p>Provider</p>`)
	srv := startServer(t, app.Config{AllowedOrigins: []string{"https://partner.example"}, AllowHosts: allowed(provider)})
	body := fmt.Sprintf(`{"url":%q}`, provider.URL+"/")

	t.Run("a page of another origin is refused", func(t *testing.T) {
		status, out := post(t, srv, http.Header{"Origin": {"https://evil.example"}, "Content-Type": {"application/json"}}, body)
		if status != http.StatusForbidden || out["error"] != "cross_origin" {
			t.Fatalf("got %d %v, want 403 cross_origin", status, out)
		}
	})
	t.Run("bodies a form can send without a preflight are refused", func(t *testing.T) {
		for _, ct := range []string{"text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", ""} {
			h := http.Header{"Origin": {srv.URL()}}
			if ct != "" {
				h.Set("Content-Type", ct)
			}
			status, out := post(t, srv, h, body)
			if status != http.StatusUnsupportedMediaType || out["error"] != "unsupported_media_type" {
				t.Fatalf("Content-Type %q: got %d %v, want 415", ct, status, out)
			}
		}
	})
	t.Run("the server's own pages, configured origins and non-browser clients may", func(t *testing.T) {
		for _, origin := range []string{srv.URL(), "https://partner.example", ""} {
			h := http.Header{"Content-Type": {"application/json; charset=utf-8"}}
			if origin != "" {
				h.Set("Origin", origin)
			}
			if status, out := post(t, srv, h, body); status != http.StatusCreated {
				t.Fatalf("origin %q: got %d %v, want 201", origin, status, out)
			}
		}
	})

	t.Run("a hostile page in a real browser creates nothing", func(t *testing.T) {
		before := sessionCount(t, srv)
		hostile := page(t, `<!doctype html><form id=f method=post enctype=text/plain action="`+srv.URL()+`/api/v1/sessions">
			<input name='{"url":"`+provider.URL+`/","x":"' value='"}'></form>`)
		browser := participantBrowser(t, chromiumOrSkip(t))
		tab := openTab(t, browser, hostile.URL)
		api := srv.URL() + "/api/v1/sessions"
		// fetch with no-cors sends simple requests and resolves once the server answered.
		ok, err := chromedp.Run(tab, chromedp.Evaluate[bool](fmt.Sprintf(`Promise.all([
			fetch(%q, {method: 'POST', mode: 'no-cors', headers: {'Content-Type': 'text/plain'}, body: %q}),
			fetch(%q, {method: 'POST', mode: 'no-cors', body: new URLSearchParams({url: %q})}),
		]).then(() => true)`, api, body, api, provider.URL+"/"), chromedp.EvalAwaitPromise))
		if err != nil || !ok {
			t.Fatalf("the hostile fetches did not complete: %v", err)
		}
		// The form navigates to the answer: the round trip is over once it is shown.
		must(t, tab, "post with a form", void(chromedp.Evaluate[bool](`setTimeout(() => document.getElementById('f').submit()), true`)))
		waitAcrossNavigation(t, tab, `location.href.endsWith('/api/v1/sessions') && document.readyState === 'complete'`)
		answer, err := chromedp.Run(tab, chromedp.Evaluate[string](`document.body.innerText`))
		if err != nil || !strings.Contains(answer, "cross_origin") {
			t.Fatalf("the form's answer is %q (%v), want cross_origin", answer, err)
		}
		if n := sessionCount(t, srv); n != before {
			t.Fatalf("%d sessions after the hostile page, %d before", n, before)
		}
	})
}

// waitAcrossNavigation evaluates js until it is true; a navigation in between makes an
// evaluation fail, which is retried.
func waitAcrossNavigation(t *testing.T, tab context.Context, js string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		ok, err := chromedp.Run(tab, chromedp.Evaluate[bool](js))
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: still not true (%v)", js, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// page serves one HTML page.
func page(t *testing.T, html string) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, html)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// allowed is the egress entry that lets sessions open srv (it is on loopback).
func allowed(srv *httptest.Server) []string { return []string{strings.TrimPrefix(srv.URL, "http://")} }

func TestForeignHostsAreRefused(t *testing.T) {
	chromiumOrSkip(t)
	provider := page(t, `<!doctype html><p>Provider</p>`)
	srv := startServer(t, app.Config{PublicURL: "https://cobrowse.example.com", AllowHosts: allowed(provider)})
	_, created := post(t, srv, http.Header{"Content-Type": {"application/json"}}, fmt.Sprintf(`{"url":%q}`, provider.URL+"/"))
	id, _ := created["id"].(string)
	if id == "" {
		t.Fatalf("no session: %v", created)
	}
	port := strings.TrimPrefix(srv.URL(), "http://127.0.0.1")
	wsURL := "ws" + strings.TrimPrefix(srv.URL(), "http") + "/api/v1/sessions/" + id + "/ws"

	t.Run("a WebSocket upgrade for a rebound name is refused before upgrading", func(t *testing.T) {
		host := "rebind.attacker.example" + port
		ws, res, err := websocket.DefaultDialer.Dial(wsURL, http.Header{"Host": {host}, "Origin": {"http://" + host}})
		if err == nil {
			ws.Close()
			t.Fatal("the upgrade succeeded")
		}
		if res == nil || res.StatusCode != http.StatusMisdirectedRequest {
			t.Fatalf("response %v, want 421", res)
		}
		var out map[string]any
		_ = json.NewDecoder(res.Body).Decode(&out)
		if out["error"] != "host_not_allowed" {
			t.Fatalf("body %v", out)
		}
	})
	t.Run("so are the API and the pages", func(t *testing.T) {
		for _, path := range []string{"/", "/api/v1/config", "/api/v1/sessions/" + id} {
			req, _ := http.NewRequest(http.MethodGet, srv.URL()+path, nil)
			req.Host = "rebind.attacker.example" + port
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != http.StatusMisdirectedRequest {
				t.Fatalf("GET %s: %d, want 421", path, res.StatusCode)
			}
		}
	})
	t.Run("names the server answers for, and addresses, are served", func(t *testing.T) {
		for _, host := range []string{"cobrowse.example.com", "127.0.0.1" + port, "localhost" + port} {
			req, _ := http.NewRequest(http.MethodGet, srv.URL()+"/api/v1/config", nil)
			req.Host = host
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != http.StatusOK {
				t.Fatalf("Host %s: %d, want 200", host, res.StatusCode)
			}
		}
		ws, _, err := websocket.DefaultDialer.Dial(wsURL, http.Header{"Origin": {srv.URL()}})
		if err != nil {
			t.Fatalf("upgrade by address: %v", err)
		}
		ws.Close()
	})
}
