package proxy

import "testing"

func TestMatchURL(t *testing.T) {
	cases := []struct {
		pattern, url string
		want         bool
	}{
		{"https://shop.example/checkout*", "https://shop.example/checkout?step=2", true},
		{"https://shop.example/checkout*", "https://shop.example/cart", false},
		{"*://*.example.com/*", "http://a.b.example.com/x", true},
		{"*://*.example.com/*", "http://example.org/x", false},
		{"*/checkout*", "HTTP://Shop.Example/checkout", true},
		{"http://x/a", "http://x/a", true},
		{"http://x/a", "http://x/ab", false},
		{"http://x/A*", "http://x/a", false}, // paths are case-sensitive
		{"*", "anything", true},
		{"a*a*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", false},
	}
	for _, tc := range cases {
		if got := MatchURL(tc.pattern, tc.url); got != tc.want {
			t.Errorf("MatchURL(%q, %q) = %v, want %v", tc.pattern, tc.url, got, tc.want)
		}
	}
}

func TestNavigationRules(t *testing.T) {
	n := NavigationRules{Allow: []string{"https://shop.example/*"}, Deny: []string{"*/admin*"}}
	for url, want := range map[string]bool{
		"https://shop.example/":         true,
		"https://shop.example/admin/x":  false,
		"https://evil.example/":         false,
		"https://shop.example/products": true,
	} {
		if got, why := n.Allows(url); got != want || (!got && why == "") {
			t.Errorf("Allows(%q) = %v %q, want %v", url, got, why, want)
		}
	}
	if ok, _ := (NavigationRules{}).Allows("http://anything/"); !ok {
		t.Error("empty rules must allow")
	}
}
