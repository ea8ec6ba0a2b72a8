package site

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"
)

const adminKey = "test-admin-key-0123456789"

// newAPI serves the sites API under /api/v1 behind a bearer check like the server's.
func newAPI(t *testing.T) (*httptest.Server, *Store) {
	t.Helper()
	st := newStore(t)
	e := echo.New()
	requireKey := func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if c.Request().Header.Get("Authorization") != "Bearer "+adminKey {
				return c.JSON(http.StatusUnauthorized, apiError{Error: "unauthorized", Message: "API key required"})
			}
			return next(c)
		}
	}
	validateRules := func(raw json.RawMessage) error {
		if strings.Contains(string(raw), "bogus") {
			return errors.New("rules.bogus is not a role")
		}
		return nil
	}
	RegisterAPI(e.Group("/api/v1"), st, requireKey, validateRules)
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	return srv, st
}

type reply struct {
	status int
	body   map[string]any
	raw    string
}

func call(t *testing.T, srv *httptest.Server, method, path, contentType, body string, auth bool) reply {
	t.Helper()
	req, err := http.NewRequest(method, srv.URL+"/api/v1"+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if auth {
		req.Header.Set("Authorization", "Bearer "+adminKey)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	r := reply{status: resp.StatusCode, raw: string(b)}
	if len(b) > 0 {
		if err := json.Unmarshal(b, &r.body); err != nil {
			t.Fatalf("%s %s answered non-JSON %q", method, path, b)
		}
	}
	return r
}

const jsonType = "application/json"

func TestAPIRequiresTheKey(t *testing.T) {
	srv, _ := newAPI(t)
	for _, rt := range []struct{ method, path string }{
		{"GET", "/sites"}, {"GET", "/sites/a"}, {"PUT", "/sites/a"}, {"DELETE", "/sites/a"}, {"POST", "/sites/a/keys"},
	} {
		if r := call(t, srv, rt.method, rt.path, jsonType, `{}`, false); r.status != http.StatusUnauthorized {
			t.Errorf("%s %s without the key: %d", rt.method, rt.path, r.status)
		}
	}
}

func TestAPILifecycle(t *testing.T) {
	srv, st := newAPI(t)
	r := call(t, srv, "PUT", "/sites/shop", "application/json; charset=utf-8",
		`{"name":"Shop","allowedOrigins":["https://shop.example/"],"scriptStart":true,"webhookURL":"https://hooks.example/t","rules":{"agent":{}}}`, true)
	if r.status != http.StatusCreated {
		t.Fatalf("PUT new: %d %s", r.status, r.raw)
	}
	secret, _ := r.body["webhookSecret"].(string)
	if !secretRE.MatchString(secret) || r.body["name"] != "Shop" || !pkRE.MatchString(r.body["publishableKey"].(string)) {
		t.Fatalf("PUT answer: %s", r.raw)
	}
	if origins := r.body["allowedOrigins"].([]any); len(origins) != 1 || origins[0] != "https://shop.example" {
		t.Fatalf("origins: %v", origins)
	}
	pk := r.body["publishableKey"]

	// Updating: the secret is not shown again, the publishable key and creation time stay.
	r = call(t, srv, "PUT", "/sites/shop", jsonType, `{"id":"shop","allowedOrigins":["https://shop.example"],"webhookURL":"https://hooks.example/v2"}`, true)
	if r.status != http.StatusOK || r.body["webhookSecret"] != nil || r.body["publishableKey"] != pk || r.body["viewConsent"] != "ask" {
		t.Fatalf("PUT update: %d %s", r.status, r.raw)
	}
	if s, _ := st.Get("shop"); s.WebhookSecret != secret {
		t.Fatal("the update replaced the webhook secret")
	}

	r = call(t, srv, "POST", "/sites/shop/keys", "", "", true)
	key, _ := r.body["apiKey"].(string)
	if r.status != http.StatusCreated || !apiKeyRE.MatchString(key) {
		t.Fatalf("POST keys: %d %s", r.status, r.raw)
	}
	if s, err := st.ByAPIKey(key); err != nil || s.ID != "shop" {
		t.Fatalf("the new key does not find the site: %v", err)
	}

	r = call(t, srv, "GET", "/sites/shop", "", "", true)
	if r.status != http.StatusOK || r.body["id"] != "shop" {
		t.Fatalf("GET: %d %s", r.status, r.raw)
	}
	for _, secretish := range []string{secret, key, "keyHashes", "webhookSecret"} {
		if strings.Contains(r.raw, secretish) {
			t.Fatalf("GET shows %q: %s", secretish, r.raw)
		}
	}
	call(t, srv, "PUT", "/sites/other", jsonType, `{}`, true)
	r = call(t, srv, "GET", "/sites", "", "", true)
	if sites, _ := r.body["sites"].([]any); r.status != http.StatusOK || len(sites) != 2 || strings.Contains(r.raw, secret) {
		t.Fatalf("GET list: %d %s", r.status, r.raw)
	}

	if r = call(t, srv, "DELETE", "/sites/shop", "", "", true); r.status != http.StatusNoContent {
		t.Fatalf("DELETE: %d %s", r.status, r.raw)
	}
	if _, err := st.ByAPIKey(key); !errors.Is(err, ErrNotFound) {
		t.Fatal("the deleted site's key still works")
	}
	for _, rt := range []struct{ method, path string }{{"GET", "/sites/shop"}, {"DELETE", "/sites/shop"}, {"POST", "/sites/shop/keys"}} {
		r := call(t, srv, rt.method, rt.path, "", "", true)
		if r.status != http.StatusNotFound || r.body["error"] != "not_found" || r.body["message"] == "" {
			t.Errorf("%s %s after delete: %d %s", rt.method, rt.path, r.status, r.raw)
		}
	}
	if r = call(t, srv, "GET", "/sites", "", "", true); !strings.Contains(r.raw, `"sites":[{`) {
		t.Fatalf("list after delete: %s", r.raw)
	}
}

func TestAPIRefusals(t *testing.T) {
	srv, _ := newAPI(t)
	big := fmt.Sprintf(`{"name":%q}`, strings.Repeat("x", MaxBodyBytes))
	cases := []struct {
		desc, path, contentType, body string
		status                        int
		code, message                 string
	}{
		{"not JSON", "/sites/a", "text/plain", `{}`, 415, "unsupported_media_type", "application/json"},
		{"no content type", "/sites/a", "", `{}`, 415, "unsupported_media_type", "application/json"},
		{"form", "/sites/a", "application/x-www-form-urlencoded", `a=b`, 415, "unsupported_media_type", ""},
		{"too large", "/sites/a", jsonType, big, 413, "too_large", "at most"},
		{"malformed", "/sites/a", jsonType, `{"name":`, 400, "invalid", "malformed"},
		{"empty body", "/sites/a", jsonType, ``, 400, "invalid", "malformed"},
		{"unknown field", "/sites/a", jsonType, `{"nmae":"x"}`, 400, "invalid", "nmae"},
		{"secret is not settable", "/sites/a", jsonType, `{"webhookSecret":"whsec_mine"}`, 400, "invalid", "webhookSecret"},
		{"key hashes are not settable", "/sites/a", jsonType, `{"keyHashes":["x"]}`, 400, "invalid", "keyHashes"},
		{"trailing data", "/sites/a", jsonType, `{} {}`, 400, "invalid", "after"},
		{"id mismatch", "/sites/a", jsonType, `{"id":"b"}`, 400, "invalid", "differs"},
		{"bad id", "/sites/A", jsonType, `{}`, 400, "invalid", "id"},
		{"bad origin", "/sites/a", jsonType, `{"allowedOrigins":["https://a.example/path"]}`, 400, "invalid", "path"},
		{"bad consent", "/sites/a", jsonType, `{"viewConsent":"never"}`, 400, "invalid", "viewConsent"},
		{"bad webhook", "/sites/a", jsonType, `{"webhookURL":"mailto:x@y"}`, 400, "invalid", "webhookURL"},
		{"rules refused by the validator", "/sites/a", jsonType, `{"rules":{"bogus":{}}}`, 400, "invalid", "rules.bogus"},
		{"rules not an object", "/sites/a", jsonType, `{"rules":[1]}`, 400, "invalid", "rules"},
	}
	for _, tc := range cases {
		t.Run(tc.desc, func(t *testing.T) {
			r := call(t, srv, "PUT", tc.path, tc.contentType, tc.body, true)
			if r.status != tc.status || r.body["error"] != tc.code || !strings.Contains(fmt.Sprint(r.body["message"]), tc.message) {
				t.Fatalf("= %d %s; want %d %s mentioning %q", r.status, r.raw, tc.status, tc.code, tc.message)
			}
		})
	}
	if r := call(t, srv, "GET", "/sites/a", "", "", true); r.status != http.StatusNotFound {
		t.Fatalf("a refused PUT stored the site: %d", r.status)
	}
	if r := call(t, srv, "PUT", "/sites/a", jsonType, `{"rules":null}`, true); r.status != http.StatusCreated {
		t.Fatalf("null rules: %d %s", r.status, r.raw)
	}
}

func TestRegisterAPIWithoutAuthPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("RegisterAPI accepted a nil requireKey")
		}
	}()
	RegisterAPI(echo.New().Group("/api/v1"), newStore(t), nil, nil)
}
