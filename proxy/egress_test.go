package proxy_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/tandem-cobrowse/tandem/proxy"
)

func TestCreateRefusesWhatThePoliciesRefuse(t *testing.T) {
	p := newProvider(t)
	h := newHarness(t, func(rp *proxy.RegistryParams, ap *proxy.APIParams) {
		rp.CheckURL = func(ctx context.Context, u string) error {
			switch {
			case strings.Contains(u, "/internal"):
				return fmt.Errorf("%w: 10.0.0.1 is a private address", proxy.ErrEgressRefused)
			case strings.Contains(u, "/nxdomain"):
				return errors.New("resolving nowhere.example: no such host")
			}
			return nil
		}
	})
	for _, tc := range []struct {
		body, code, message string
		status              int
	}{
		{fmt.Sprintf(`{"url":%q}`, p.URL+"/internal"), "egress_refused", "10.0.0.1 is a private address", http.StatusForbidden},
		{fmt.Sprintf(`{"url":%q}`, p.URL+"/nxdomain"), "start_url_failed", "no such host", http.StatusUnprocessableEntity},
		{fmt.Sprintf(`{"url":%q,"rules":{"navigation":{"deny":[%q]}}}`, p.URL+"/other", p.URL+"/oth*"), "navigation_refused", "the session's rules deny", http.StatusForbidden},
		{fmt.Sprintf(`{"url":%q,"rules":{"navigation":{"allow":["https://elsewhere.example/*"]}}}`, p.URL+"/other"), "navigation_refused", "not on the session's allow list", http.StatusForbidden},
	} {
		status, out := h.do("POST", "/api/v1/sessions", "", tc.body)
		if status != tc.status || out["error"] != tc.code || !strings.Contains(fmt.Sprint(out["message"]), tc.message) {
			t.Errorf("%s: got %d %v, want %d %s %q", tc.body, status, out, tc.status, tc.code, tc.message)
		}
	}
	if h.reg.Len() != 0 {
		t.Fatalf("%d sessions were created", h.reg.Len())
	}
}

func TestSessionRulesBlockNavigationInTheTab(t *testing.T) {
	p := newProvider(t)
	h := newHarness(t)
	status, out := h.do("POST", "/api/v1/sessions", "", fmt.Sprintf(`{"url":%q,"rules":{"navigation":{"deny":[%q]}}}`, p.URL, p.URL+"/oth*"))
	if status != http.StatusCreated {
		t.Fatalf("create: %d %v", status, out)
	}
	id := out["id"].(string)
	links := out["links"].(map[string]any)
	host := h.join(id, token(links["host"].(string)), "Hana")
	host.state(controllerIs(host.id()))
	host.send(map[string]any{"type": "navigate", "url": p.URL + "/other"})
	// Until the session shows renderer.NavigationBlocked, the tab's own refusal is what
	// can be seen: the page never becomes "Other page".
	host.state(func(m map[string]any) bool {
		return strings.HasSuffix(fmt.Sprint(m["url"]), "/other") && m["loading"] == false
	})
	if n := host.count("state", func(m map[string]any) bool { return m["title"] == "Other page" }); n != 0 {
		t.Fatalf("the denied page loaded (%d states say so)", n)
	}
}

func TestEgressNoticesAreRateLimitedPerHost(t *testing.T) {
	p := newProvider(t)
	h := newHarness(t)
	s := h.create(p.URL)
	host := h.join(s.ID, token(s.Links["host"]), "Hana")
	host.id()
	for range 50 {
		h.reg.NotifyEgressRefused(s.ID, "127.0.0.1", "127.0.0.1 is a loopback address")
	}
	h.reg.NotifyEgressRefused(s.ID, "10.0.0.1", "10.0.0.1 is a private address")
	h.reg.NotifyEgressRefused("no-such-session", "10.0.0.1", "ignored")
	host.waitFor("notice", func(m map[string]any) bool {
		return m["code"] == "egress_refused" && strings.Contains(fmt.Sprint(m["message"]), "10.0.0.1 is a private address")
	})
	n := host.count("notice", func(m map[string]any) bool {
		return m["code"] == "egress_refused" && strings.Contains(fmt.Sprint(m["message"]), "loopback")
	})
	if n != 1 {
		t.Fatalf("%d loopback notices, want 1", n)
	}
}

func TestRefusalsBeforeAnyoneJoinedAreToldToTheFirstJoiner(t *testing.T) {
	p := newProvider(t)
	h := newHarness(t)
	s := h.create(p.URL)
	// The start page loads, and is refused things, before the host has joined.
	h.reg.NotifyEgressRefused(s.ID, "169.254.169.254", "169.254.169.254 is a link-local address")
	host := h.join(s.ID, token(s.Links["host"]), "Hana")
	host.waitFor("notice", func(m map[string]any) bool {
		return m["code"] == "egress_refused" && strings.Contains(fmt.Sprint(m["message"]), "169.254.169.254")
	})
}

// count is the number of messages of type typ received so far that match.
func (c *client) count(typ string, match func(map[string]any) bool) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, m := range c.msgs {
		if m["type"] == typ && match(m) {
			n++
		}
	}
	return n
}
