package proxy_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tandem-cobrowse/tandem/help"
	"github.com/tandem-cobrowse/tandem/proxy"
)

// testAgents signs agents in by a header, standing in for the console's cookie.
func testAgents(r *http.Request) (proxy.Agent, error) {
	if r.Header.Get("X-Test-CSRF") == "wrong" {
		return proxy.Agent{}, proxy.ErrCSRF
	}
	name := r.Header.Get("X-Test-Agent")
	if name == "" {
		return proxy.Agent{}, errors.New("not signed in")
	}
	return proxy.Agent{Name: name, DisplayName: strings.ToUpper(name[:1]) + name[1:]}, nil
}

// testSites is one site, "shop", keyed pk_shop / tdm_site_shop.
type testSites struct{ site proxy.Site }

func (s testSites) ByAPIKey(k string) (proxy.Site, bool) { return s.site, k == "tdm_site_shop" }
func (s testSites) ByPublishableKey(k string) (proxy.Site, bool) {
	return s.site, k == "pk_shop"
}
func (s testSites) Get(id string) (proxy.Site, bool) { return s.site, id == s.site.ID }

// call makes a request with headers; it answers the status and the JSON body.
func (h *harness) call(method, path string, hdr map[string]string, body string) (int, map[string]any, http.Header) {
	h.t.Helper()
	req, _ := http.NewRequest(method, h.srv.URL+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	var out map[string]any
	_ = json.Unmarshal(raw, &out)
	return res.StatusCode, out, res.Header
}

func TestJoinCodeAdmitsSignedInAgentsOnly(t *testing.T) {
	p := newProvider(t)
	var now atomic.Pointer[time.Time]
	start := time.Now()
	now.Store(&start)
	h := newHarness(t, func(rp *proxy.RegistryParams, ap *proxy.APIParams) {
		rp.Now = func() time.Time { return *now.Load() }
		ap.Agent = testAgents
	})
	s := h.create(p.URL)
	if !regexp.MustCompile(`^\d{6}$`).MatchString(s.JoinCode) {
		t.Fatalf("join code %q", s.JoinCode)
	}
	wrong := fmt.Sprintf("%06d", (atoi(s.JoinCode)+1)%1_000_000)
	join := func(agent, code string) (int, map[string]any) {
		hdr := map[string]string{}
		if agent != "" {
			hdr["X-Test-Agent"] = agent
		}
		status, out, _ := h.call("POST", "/api/v1/join", hdr, fmt.Sprintf(`{"code":%q}`, code))
		return status, out
	}
	// Without an agent's sign-in, the right code and a wrong one get the same answer.
	for _, code := range []string{s.JoinCode, wrong} {
		if status, out := join("", code); status != 401 || out["error"] != "unauthorized" {
			t.Fatalf("no agent, code %s: %d %v", code, status, out)
		}
	}
	host := h.join(s.ID, token(s.Links["host"]), "Hana")
	host.id()
	// A signed-in agent's cookie sent by another site's page, without the console's token.
	status, out, _ := h.call("POST", "/api/v1/join", map[string]string{"X-Test-CSRF": "wrong"}, fmt.Sprintf(`{"code":%q}`, s.JoinCode))
	if status != http.StatusForbidden || out["error"] != "csrf" {
		t.Fatalf("a cross-site request: %d %v", status, out)
	}

	status, out = join("anna", s.JoinCode[:3]+" "+s.JoinCode[3:]) // as the visitor reads it out
	if status != 200 || out["id"] != s.ID {
		t.Fatalf("redeem: %d %v", status, out)
	}
	if status, again := join("anna", s.JoinCode); status != http.StatusConflict || again["error"] != "code_used" {
		t.Fatalf("same agent again: %d %v", status, again)
	}
	// The agent's link names the agent, not whatever the client says.
	agent := h.join(s.ID, token(out["link"].(string)), "I am the host")
	w := agent.waitFor("waiting", nil)
	if name := w["participant"].(map[string]any)["name"]; name != "Anna" {
		t.Fatalf("agent's name %v", name)
	}
	// The same link in a second tab is the same person: it takes over, it does not add one.
	again := h.join(s.ID, token(out["link"].(string)), "")
	if w2 := again.waitFor("waiting", nil); w2["participant"].(map[string]any)["id"] != w["participant"].(map[string]any)["id"] {
		t.Fatalf("a second tab of the same seat is another participant: %v", w2)
	}
	if bye := agent.waitFor("bye", nil); bye["code"] != "replaced" {
		t.Fatalf("the first tab's bye: %v", bye)
	}
	agent = again

	// Ten wrong codes lock this source out: the right code too, for everyone from here.
	for i := range 10 {
		if status, out := join("mallory", wrong); status != 404 || out["error"] != "bad_code" {
			t.Fatalf("wrong code %d: %d %v", i, status, out)
		}
	}
	if status, out := join("mallory", s.JoinCode); status != 429 {
		t.Fatalf("after ten wrong codes: %d %v", status, out)
	}
	if status, _ := join("bob", s.JoinCode); status != 429 {
		t.Fatalf("another agent from the locked-out source: %d", status)
	}
	// Nothing else was disturbed: the host still has the session, and the agent waits.
	host.state(waitingFor(agent.waitFor("waiting", nil)["participant"].(map[string]any)["id"].(string)))
	later := start.Add(16 * time.Minute)
	now.Store(&later)
	// The code expired meanwhile; a fresh one works.
	if status, _ := join("bob", s.JoinCode); status != 404 {
		t.Fatalf("expired code: %d", status)
	}
	status, fresh, _ := h.call("POST", "/api/v1/sessions/"+s.ID+"/join-code", map[string]string{"Authorization": "Bearer " + token(s.Links["host"])}, "")
	if status != 200 {
		t.Fatalf("new code: %d %v", status, fresh)
	}
	if status, out := join("bob", fresh["joinCode"].(string)); status != 200 || out["id"] != s.ID {
		t.Fatalf("fresh code: %d %v", status, out)
	}
}

func atoi(s string) int {
	n := 0
	for _, r := range s {
		n = n*10 + int(r-'0')
	}
	return n
}

func TestEmbedStartsSessionsFromTheSitesOwnPagesOnly(t *testing.T) {
	p := newProvider(t)
	sites := testSites{proxy.Site{ID: "shop", AllowedOrigins: []string{p.URL}, ScriptStart: true,
		Rules: json.RawMessage(`{"guest":{"view":false}}`), ButtonText: "Shop with us", WebhookSecret: "whsec_x"}}
	h := newHarness(t, func(_ *proxy.RegistryParams, ap *proxy.APIParams) { ap.Sites = sites })
	// What the embed learns of its site before anyone presses anything: public settings.
	status, pub, _ := h.call("GET", "/api/v1/embed/sites/pk_shop", map[string]string{"Origin": "https://anywhere.example"}, "")
	if status != 200 || pub["buttonText"] != "Shop with us" || len(pub) != 2 {
		t.Fatalf("site settings for the embed: %d %v", status, pub)
	}
	if status, _, _ := h.call("GET", "/api/v1/embed/sites/pk_nope", nil, ""); status != 404 {
		t.Fatalf("unknown site: %d", status)
	}
	body := func(pk, url string) string { return fmt.Sprintf(`{"site":%q,"url":%q}`, pk, url) }

	cases := []struct {
		name, origin, body, code string
		status                   int
	}{
		{"foreign origin", "https://evil.example", body("pk_shop", p.URL+"/"), "cross_origin", 403},
		{"no origin", "", body("pk_shop", p.URL+"/"), "cross_origin", 403},
		{"unknown key", p.URL, body("pk_nope", p.URL+"/"), "unauthorized", 401},
		{"page elsewhere", p.URL, body("pk_shop", "https://elsewhere.example/"), "site_refused", 403},
		{"rules smuggled", p.URL, `{"site":"pk_shop","url":"` + p.URL + `/","rules":{}}`, "bad_request", 400},
		{"cookies smuggled", p.URL, `{"site":"pk_shop","url":"` + p.URL + `/","cookies":[]}`, "bad_request", 400},
	}
	for _, c := range cases {
		hdr := map[string]string{}
		if c.origin != "" {
			hdr["Origin"] = c.origin
		}
		status, out, _ := h.call("POST", "/api/v1/embed/sessions", hdr, c.body)
		if status != c.status || out["error"] != c.code || out["message"] == "" {
			t.Errorf("%s: %d %v", c.name, status, out)
		}
	}
	if h.reg.Len() != 0 {
		t.Fatalf("%d sessions were created by refused requests", h.reg.Len())
	}

	status, out, hdr := h.call("POST", "/api/v1/embed/sessions", map[string]string{"Origin": p.URL},
		`{"site":"pk_shop","url":"`+p.URL+`/","storage":{"local":{"theme":"dark"}},"fields":[{"selector":"#q","value":"tents"}]}`)
	if status != 201 || hdr.Get("Access-Control-Allow-Origin") != p.URL || !strings.Contains(out["hostLink"].(string), "#token=") {
		t.Fatalf("embed create: %d %v %v", status, out, hdr)
	}
	if out["links"] != nil {
		t.Fatalf("the embed learns the other roles' links: %v", out)
	}
	// The site's rules hold, not the defaults.
	_, info, _ := h.call("GET", "/api/v1/sessions/"+out["id"].(string), map[string]string{"Authorization": "Bearer " + token(out["hostLink"].(string))}, "")
	if info["site"] != "shop" || info["rules"].(map[string]any)["guest"].(map[string]any)["view"] != false {
		t.Fatalf("session info: %v", info)
	}

	// A site that starts sessions from its backend only refuses the script.
	h2 := newHarness(t, func(_ *proxy.RegistryParams, ap *proxy.APIParams) {
		s := sites
		s.site.ScriptStart = false
		ap.Sites = s
	})
	if status, out, _ := h2.call("POST", "/api/v1/embed/sessions", map[string]string{"Origin": p.URL}, body("pk_shop", p.URL+"/")); status != 403 || out["error"] != "site_refused" {
		t.Fatalf("script start off: %d %v", status, out)
	}
}

func TestHelpRequestsAreAcceptedOnceEach(t *testing.T) {
	p := newProvider(t)
	queue := help.New(time.Minute, nil)
	sites := testSites{proxy.Site{ID: "shop", AllowedOrigins: []string{p.URL}, ViewConsentOnHelp: true}}
	h := newHarness(t, func(_ *proxy.RegistryParams, ap *proxy.APIParams) {
		ap.Agent, ap.Help, ap.Sites = testAgents, queue, sites
	})
	// Two visitors, each in a session of the site started by its backend.
	var visitors []created
	var hosts []*client
	for range 2 {
		status, out, _ := h.call("POST", "/api/v1/sessions", map[string]string{"Authorization": "Bearer tdm_site_shop"},
			fmt.Sprintf(`{"url":%q}`, p.URL+"/"))
		if status != 201 {
			t.Fatalf("create: %d %v", status, out)
		}
		b, _ := json.Marshal(out)
		var c created
		_ = json.Unmarshal(b, &c)
		visitors = append(visitors, c)
		host := h.join(c.ID, token(c.Links["host"]), "Visitor")
		host.id()
		hosts = append(hosts, host)
	}
	ask := func(v created, auth string) (int, map[string]any) {
		status, out, _ := h.call("POST", "/api/v1/help-requests", map[string]string{"Authorization": "Bearer " + auth, "Origin": p.URL},
			fmt.Sprintf(`{"session":%q,"name":"Sam","topic":"My order"}`, v.ID))
		return status, out
	}
	if status, out := ask(visitors[0], token(visitors[0].Links["guest"])); status != 401 {
		t.Fatalf("a guest asking for help: %d %v", status, out)
	}
	var ids []string
	for _, v := range visitors {
		status, out := ask(v, token(v.Links["host"]))
		if status != 201 || out["status"] != "waiting" || out["name"] != "Sam" {
			t.Fatalf("ask: %d %v", status, out)
		}
		ids = append(ids, out["id"].(string))
	}
	if status, _ := ask(visitors[0], token(visitors[0].Links["host"])); status != http.StatusConflict {
		t.Fatalf("asking twice: %d", status)
	}
	if status, _, _ := h.call("GET", "/api/v1/help-requests", nil, ""); status != 401 {
		t.Fatalf("queue without an agent: %d", status)
	}
	status, list, _ := h.call("GET", "/api/v1/help-requests", map[string]string{"X-Test-Agent": "anna"}, "")
	if status != 200 || len(list["requests"].([]any)) != 2 {
		t.Fatalf("queue: %d %v", status, list)
	}

	// Two agents race for both requests: each request goes to exactly one of them.
	type result struct {
		agent, request, link string
		status               int
	}
	results := make(chan result, 4)
	var wg sync.WaitGroup
	for _, agent := range []string{"anna", "bob"} {
		for _, id := range ids {
			wg.Go(func() {
				status, out, _ := h.call("POST", "/api/v1/help-requests/"+id+"/accept", map[string]string{"X-Test-Agent": agent}, "")
				link, _ := out["link"].(string)
				results <- result{agent, id, link, status}
			})
		}
	}
	wg.Wait()
	close(results)
	won := map[string]result{}
	for r := range results {
		switch r.status {
		case 200:
			if _, twice := won[r.request]; twice {
				t.Fatalf("request %s accepted twice", r.request)
			}
			won[r.request] = r
		case http.StatusConflict:
		default:
			t.Fatalf("accept: %+v", r)
		}
	}
	if len(won) != 2 {
		t.Fatalf("accepted: %v", won)
	}
	// The queue is empty; the winner lands in the visitor's session, seen at once because
	// this site counts asking for help as consent, and the visitor is told so.
	_, list, _ = h.call("GET", "/api/v1/help-requests", map[string]string{"X-Test-Agent": "anna"}, "")
	if len(list["requests"].([]any)) != 0 {
		t.Fatalf("queue after accepting: %v", list)
	}
	r := won[ids[0]]
	agent := h.join(visitors[0].ID, token(r.link), "")
	welcome := agent.waitFor("welcome", nil)
	want := strings.ToUpper(r.agent[:1]) + r.agent[1:]
	if welcome["participant"].(map[string]any)["name"] != want || welcome["participant"].(map[string]any)["role"] != "agent" {
		t.Fatalf("agent's welcome: %v", welcome["participant"])
	}
	hosts[0].waitFor("notice", func(m map[string]any) bool { return m["code"] == "help_accepted" })
	hosts[0].waitFor("notice", func(m map[string]any) bool {
		return m["code"] == "consent_implied" && strings.Contains(m["message"].(string), want)
	})
	_, info, _ := h.call("GET", "/api/v1/sessions/"+visitors[0].ID, map[string]string{"Authorization": "Bearer " + token(visitors[0].Links["host"])}, "")
	if hr := info["help"].(map[string]any); hr["status"] != "accepted" || hr["agent"] != want {
		t.Fatalf("the visitor's view of the request: %v", hr)
	}
}
