package site

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestNormalizeOrigin(t *testing.T) {
	cases := []struct {
		in, want string // want "" means refused
	}{
		{"https://shop.example", "https://shop.example"},
		{"https://shop.example/", "https://shop.example"},
		{"HTTPS://Shop.Example", "https://shop.example"},
		{"http://localhost:8081", "http://localhost:8081"},
		{"https://shop.example:443", "https://shop.example"},
		{"http://shop.example:80/", "http://shop.example"},
		{"http://shop.example:443", "http://shop.example:443"},
		{"https://shop.example:08443", "https://shop.example:8443"},
		{"  https://shop.example  ", "https://shop.example"},
		{"http://[::1]:8081", "http://[::1]:8081"},
		{"http://[::1]", "http://[::1]"},
		{"http://127.0.0.1:8081", "http://127.0.0.1:8081"},
		{"https://shop.example/path", ""},
		{"https://shop.example/?q=1", ""},
		{"https://shop.example?", ""},
		{"https://shop.example#x", ""},
		{"https://user:pw@shop.example", ""},
		{"ftp://shop.example", ""},
		{"shop.example", ""},
		{"//shop.example", ""},
		{"https://", ""},
		{"https://shop.example:", ""},
		{"https://shop.example:0", ""},
		{"https://shop.example:70000", ""},
		{"https://shop.example:http", ""},
		{"https://bücher.example", ""},
		{"javascript:alert(1)", ""},
		{"", ""},
		{"*", ""},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			got, err := NormalizeOrigin(tc.in)
			if tc.want == "" {
				if !errors.Is(err, ErrInvalid) {
					t.Fatalf("NormalizeOrigin(%q) = %q, %v; want ErrInvalid", tc.in, got, err)
				}
				if !strings.Contains(err.Error(), "scheme://host[:port]") {
					t.Fatalf("the error does not say how to write an origin: %v", err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("NormalizeOrigin(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
			}
		})
	}
}

func TestNormalize(t *testing.T) {
	ok := Site{ID: "shop", AllowedOrigins: []string{"https://shop.example"}}
	with := func(f func(*Site)) Site {
		s := ok
		s.AllowedOrigins = append([]string(nil), ok.AllowedOrigins...)
		f(&s)
		return s
	}
	cases := []struct {
		desc string
		in   Site
		want string // part of the error; "" for none
	}{
		{"minimal", ok, ""},
		{"id with dashes", with(func(s *Site) { s.ID = "shop-2" }), ""},
		{"id too long", with(func(s *Site) { s.ID = strings.Repeat("a", 41) }), "id"},
		{"id with a dot", with(func(s *Site) { s.ID = "shop.example" }), "id"},
		{"id upper case", with(func(s *Site) { s.ID = "Shop" }), "id"},
		{"empty id", with(func(s *Site) { s.ID = "" }), "id"},
		{"bad origin", with(func(s *Site) { s.AllowedOrigins = []string{"https://a.example/x"} }), "origin"},
		{"too many origins", with(func(s *Site) { s.AllowedOrigins = make([]string, MaxOrigins+1) }), "allowedOrigins"},
		{"consent help", with(func(s *Site) { s.ViewConsent = "help" }), ""},
		{"consent other", with(func(s *Site) { s.ViewConsent = "always" }), "viewConsent"},
		{"webhook https", with(func(s *Site) { s.WebhookURL = "https://hooks.example/tandem" }), ""},
		{"webhook relative", with(func(s *Site) { s.WebhookURL = "/hook" }), "webhookURL"},
		{"webhook ftp", with(func(s *Site) { s.WebhookURL = "ftp://hooks.example/" }), "webhookURL"},
		{"webhook fragment", with(func(s *Site) { s.WebhookURL = "https://hooks.example/#x" }), "fragment"},
		{"webhook too long", with(func(s *Site) { s.WebhookURL = "https://h.example/" + strings.Repeat("a", MaxURLLen) }), "longer"},
		{"rules object", with(func(s *Site) { s.Rules = json.RawMessage(`{"agent": {}}`) }), ""},
		{"rules array", with(func(s *Site) { s.Rules = json.RawMessage(`[]`) }), "rules"},
		{"rules broken", with(func(s *Site) { s.Rules = json.RawMessage(`{"agent":`) }), "rules"},
		{"name too long", with(func(s *Site) { s.Name = strings.Repeat("n", MaxNameLen+1) }), "name"},
		{"name with a newline", with(func(s *Site) { s.Name = "a\nb" }), "name"},
		{"button text too long", with(func(s *Site) { s.ButtonText = strings.Repeat("b", MaxButtonTextLen+1) }), "buttonText"},
		{"publishable key malformed", with(func(s *Site) { s.PublishableKey = "pk_short" }), "publishableKey"},
		{"publishable key well formed", with(func(s *Site) { s.PublishableKey = "pk_" + strings.Repeat("A", 24) }), ""},
	}
	for _, tc := range cases {
		t.Run(tc.desc, func(t *testing.T) {
			_, err := normalize(tc.in)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v; want ErrInvalid mentioning %q", err, tc.want)
			}
		})
	}
}

func TestNormalizeFillsDefaults(t *testing.T) {
	s, err := normalize(Site{
		ID: "shop", Name: "  ", ButtonText: " Help me ",
		AllowedOrigins: []string{"https://Shop.example/", "https://shop.example", "http://localhost:3000"},
		Rules:          json.RawMessage("{ \"agent\" : { } }\n"),
	})
	if err != nil {
		t.Fatal(err)
	}
	if s.Name != "shop" || s.ViewConsent != ConsentAsk || s.ButtonText != "Help me" {
		t.Fatalf("defaults: %+v", s)
	}
	if strings.Join(s.AllowedOrigins, " ") != "https://shop.example http://localhost:3000" {
		t.Fatalf("origins not normalised and deduplicated: %q", s.AllowedOrigins)
	}
	if string(s.Rules) != `{"agent":{}}` {
		t.Fatalf("rules not compacted: %s", s.Rules)
	}
	for _, null := range []string{"", "null", "  null "} {
		s, err := normalize(Site{ID: "shop", Rules: json.RawMessage(null)})
		if err != nil || s.Rules != nil {
			t.Fatalf("rules %q: %s, %v; want none", null, s.Rules, err)
		}
	}
}
