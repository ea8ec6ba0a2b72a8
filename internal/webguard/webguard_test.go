package webguard

import (
	"net/http/httptest"
	"testing"
)

func TestHostPolicy(t *testing.T) {
	p := NewHostPolicy("https://cobrowse.example.com/", "tandem.internal:8443", "")
	for host, want := range map[string]bool{
		"127.0.0.1:8080":                    true,
		"[::1]:8080":                        true,
		"10.0.0.7":                          true,
		"localhost:8080":                    true,
		"app.localhost":                     true,
		"cobrowse.example.com":              true,
		"CoBrowse.Example.com.:443":         true,
		"tandem.internal":                   true,
		"evil.example":                      false,
		"evil.example:8080":                 false,
		"cobrowse.example.com.evil.example": false,
		"":                                  false,
	} {
		if got := p.Allowed(host); got != want {
			t.Errorf("Allowed(%q) = %v, want %v", host, got, want)
		}
	}
}

func TestOrigins(t *testing.T) {
	o := NewOrigins([]string{"https://app.example.org"})
	req := func(host, origin string) bool {
		r := httptest.NewRequest("POST", "http://"+host+"/api", nil)
		if origin != "" {
			r.Header.Set("Origin", origin)
		}
		return o.Allowed(r)
	}
	if !req("127.0.0.1:8080", "") {
		t.Error("a request without Origin (curl) was refused")
	}
	if !req("127.0.0.1:8080", "http://127.0.0.1:8080") {
		t.Error("the same origin was refused")
	}
	if !req("127.0.0.1:8080", "HTTPS://App.Example.org:443") {
		t.Error("a configured origin was refused")
	}
	for _, bad := range []string{"https://evil.example", "http://127.0.0.1:9999", "null", "https://app.example.org.evil.example"} {
		if req("127.0.0.1:8080", bad) {
			t.Errorf("origin %q was accepted", bad)
		}
	}
}
