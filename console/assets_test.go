package console

import (
	"net/http"
	"path"
	"regexp"
	"strings"
	"testing"
)

func TestPage(t *testing.T) {
	env := newEnv(t, nil)
	b := newBrowser(t, env.url, "")
	resp, data := b.do("GET", "/agent", nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /agent: %s", resp.Status)
	}
	for name, want := range map[string]string{
		"Content-Type":            "text/html; charset=utf-8",
		"Content-Security-Policy": pageCSP,
		"X-Content-Type-Options":  "nosniff",
		"Referrer-Policy":         "no-referrer",
		"Cache-Control":           "no-store",
	} {
		if got := resp.Header.Get(name); got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
	for _, directive := range []string{"default-src 'self'", "script-src 'self'", "style-src 'self'", "connect-src 'self'",
		"frame-ancestors 'none'", "form-action 'self'", "base-uri 'none'"} {
		if !strings.Contains(pageCSP, directive+";") && !strings.HasSuffix(pageCSP, directive) {
			t.Errorf("the CSP lacks %q", directive)
		}
	}
	ck := cookieNamed(resp, loginCookie)
	if ck == nil || !ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode || ck.Path != "/" {
		t.Errorf("login cookie = %+v, want HttpOnly, SameSite=Strict, Path=/", ck)
	}
	if !strings.Contains(string(data), "<title>Agent console") {
		t.Error("the page is not the console")
	}
}

// TestAssetsComplete checks what a browser would trip over: every file the page or a
// module refers to is served with the right type, and nothing inline needs the CSP
// relaxed.
func TestAssetsComplete(t *testing.T) {
	env := newEnv(t, nil)
	b := newBrowser(t, env.url, "")
	_, page := b.do("GET", "/agent", nil)

	if regexp.MustCompile(`(?i)\sstyle=|<style|\son[a-z]+=|<script>|javascript:`).Match(page) {
		t.Error("the page has inline style, script or handlers, which the CSP blocks")
	}
	refs := regexp.MustCompile(`(?:src|href)="(/agent/assets/[^"]+)"`).FindAllStringSubmatch(string(page), -1)
	if len(refs) < 2 {
		t.Fatalf("the page refers to %d assets", len(refs))
	}
	seen := map[string]bool{}
	queue := []string{}
	for _, r := range refs {
		queue = append(queue, r[1])
	}
	importRE := regexp.MustCompile(`(?m)^import .* from "\./([^"]+)";`)
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		if seen[p] {
			continue
		}
		seen[p] = true
		resp, body := b.do("GET", p, nil)
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s: %s", p, resp.Status)
			continue
		}
		want := map[string]string{".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8", ".svg": "image/svg+xml"}[path.Ext(p)]
		if got := resp.Header.Get("Content-Type"); got != want {
			t.Errorf("%s: Content-Type %q, want %q", p, got, want)
		}
		if resp.Header.Get("ETag") == "" || resp.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s: headers %v", p, resp.Header)
		}
		for _, m := range importRE.FindAllStringSubmatch(string(body), -1) {
			queue = append(queue, "/agent/assets/"+m[1])
		}
	}
	for _, f := range []string{"agent.js", "api.js", "signin.js", "join.js", "queue.js", "agent.css", "icon.svg"} {
		if !seen["/agent/assets/"+f] {
			t.Errorf("%s is not reachable from the page", f)
		}
	}

	resp, data := b.do("GET", "/agent/assets/nope.js", nil)
	if resp.StatusCode != http.StatusNotFound || errorCode(t, data) != "not_found" {
		t.Errorf("missing asset: %s %s", resp.Status, data)
	}
}

// The page only calls the endpoints this package and the contract define.
func TestPageCallsKnownEndpoints(t *testing.T) {
	known := map[string]bool{
		"/api/v1/agent/me": true, "/api/v1/agent/login-token": true, "/agent/sign-in": true,
		"/agent/sign-out": true, "/api/v1/join": true, "/api/v1/help-requests/events": true,
		"/api/v1/help-requests/": true, "/agent/oidc/login": true,
	}
	pathRE := regexp.MustCompile(`["'` + "`" + `](/(?:api|agent)/[a-z0-9/_.-]*)`)
	for _, f := range []string{"agent.js", "api.js", "signin.js", "join.js", "queue.js"} {
		src, err := embedded.ReadFile("assets/" + f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range pathRE.FindAllStringSubmatch(string(src), -1) {
			if !known[m[1]] {
				t.Errorf("%s calls %s, which nobody serves", f, m[1])
			}
		}
	}
}

func TestAPIAnswersAreNotCached(t *testing.T) {
	env := newEnv(t, nil)
	b := newBrowser(t, env.url, "")
	resp, data := b.do("GET", "/api/v1/agent/me", nil)
	if resp.StatusCode != http.StatusUnauthorized || errorCode(t, data) != "not_signed_in" {
		t.Fatalf("me: %s %s", resp.Status, data)
	}
	for _, r := range []*http.Response{resp, func() *http.Response { r, _ := b.do("GET", "/api/v1/agent/login-token", nil); return r }()} {
		if r.Header.Get("Cache-Control") != "no-store" || r.Header.Get("Content-Type") != "application/json" {
			t.Errorf("%s: headers %v", r.Request.URL.Path, r.Header)
		}
	}
}
