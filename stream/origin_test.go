package stream

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

func TestOrigin(t *testing.T) {
	t.Run("same origin is accepted", func(t *testing.T) {
		h := newHarness(t, Options{})
		h.dial(nil) // Origin: the server's own URL
	})

	t.Run("a client without Origin is accepted", func(t *testing.T) {
		h := newHarness(t, Options{})
		h.dial(http.Header{"Origin": nil})
	})

	t.Run("foreign origin is refused with 403 JSON before upgrading", func(t *testing.T) {
		h := newHarness(t, Options{})
		ws, resp, err := h.dialRaw(http.Header{"Origin": {"https://evil.example"}})
		if err == nil {
			_ = ws.Close()
			t.Fatal("dial succeeded")
		}
		if resp == nil || resp.StatusCode != http.StatusForbidden {
			t.Fatalf("response %v, want 403", resp)
		}
		if ct := resp.Header.Get("Content-Type"); ct != "application/json; charset=utf-8" {
			t.Errorf("Content-Type %q", ct)
		}
		var body httpError
		if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
			t.Fatalf("body: %v", err)
		}
		if body.Error != "forbidden" || body.Message == "" {
			t.Errorf("body %+v", body)
		}
		select {
		case err := <-h.errs:
			if !errors.Is(err, ErrOriginNotAllowed) {
				t.Errorf("Upgrade returned %v, want ErrOriginNotAllowed", err)
			}
		case <-time.After(wait):
			t.Fatal("Upgrade did not return")
		}
	})

	t.Run("configured list is accepted besides the own origin", func(t *testing.T) {
		h := newHarness(t, Options{AllowedOrigins: []string{"https://app.example.org"}})
		h.dial(http.Header{"Origin": {"https://app.example.org"}})
		h.dial(http.Header{"Origin": {"HTTPS://App.Example.org:443"}})
		h.dial(nil)
		_, resp, err := h.dialRaw(http.Header{"Origin": {"https://app.example.org.evil.example"}})
		if err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
			t.Fatalf("unlisted origin: err %v, response %v; want 403", err, resp)
		}
	})

	t.Run("star accepts any origin", func(t *testing.T) {
		h := newHarness(t, Options{AllowedOrigins: []string{"*"}})
		h.dial(http.Header{"Origin": {"https://anything.example"}})
	})
}

func TestOriginOK(t *testing.T) {
	u := NewUpgrader(Options{AllowedOrigins: []string{"http://localhost:3000/"}})
	cases := []struct {
		name, host, origin, proto string
		tls, want                 bool
	}{
		{"same host and scheme", "tandem.example", "http://tandem.example", "", false, true},
		{"host compared without case", "Tandem.Example", "http://tandem.EXAMPLE", "", false, true},
		{"default port dropped", "tandem.example", "http://tandem.example:80", "", false, true},
		{"other port", "tandem.example", "http://tandem.example:8080", "", false, false},
		{"other scheme", "tandem.example", "https://tandem.example", "", false, false},
		{"tls request", "tandem.example", "https://tandem.example", "", true, true},
		{"behind a TLS proxy", "tandem.example", "https://tandem.example", "https", false, true},
		{"listed origin, trailing slash in config", "tandem.example", "http://localhost:3000", "", false, true},
		{"other host", "tandem.example", "http://evil.example", "", false, false},
		{"suffix is not a match", "tandem.example", "http://tandem.example.evil.example", "", false, false},
		{"opaque origin", "tandem.example", "null", "", false, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "http://"+tc.host+"/ws", nil)
			if tc.tls {
				r = httptest.NewRequest(http.MethodGet, "https://"+tc.host+"/ws", nil)
			}
			r.Host = tc.host
			r.Header.Set("Origin", tc.origin)
			if tc.proto != "" {
				r.Header.Set("X-Forwarded-Proto", tc.proto)
			}
			if got := u.origins.Allowed(r); got != tc.want {
				t.Errorf("Allowed = %v, want %v", got, tc.want)
			}
		})
	}
}
