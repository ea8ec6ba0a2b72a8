package proxy_test

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/tandem-cobrowse/tandem/proxy"
	"github.com/tandem-cobrowse/tandem/stream"
)

// before returns the messages c received before the first of type typ, and the number of
// pictures it had received by then.
func (c *client) before(typ string) ([]string, int) {
	c.t.Helper()
	c.waitFor(typ, nil)
	c.mu.Lock()
	defer c.mu.Unlock()
	var types []string
	for _, m := range c.msgs {
		if m["type"] == typ {
			return types, int(m["_frames"].(float64))
		}
		types = append(types, m["type"].(string))
	}
	return types, 0
}

func waitingFor(id string) func(map[string]any) bool {
	return func(m map[string]any) bool {
		for _, p := range m["participants"].([]any) {
			p := p.(map[string]any)
			if p["id"] == id {
				return p["waiting"] == true
			}
		}
		return false
	}
}

func TestAnAgentSeesNothingUntilTheHostAllows(t *testing.T) {
	p := newProvider(t)
	audit := &syncBuffer{}
	h := newHarness(t, func(rp *proxy.RegistryParams, _ *proxy.APIParams) { rp.Audit = proxy.NewAudit(audit) })
	s := h.create(p.URL)
	host := h.join(s.ID, token(s.Links["host"]), "Hana")
	hostID := host.id()
	eventually(t, "the host has a picture", func() bool { return host.frames.Load() > 0 })

	agent := h.join(s.ID, token(s.Links["agent"]), "Ada")
	w := agent.waitFor("waiting", nil)
	agentID := w["participant"].(map[string]any)["id"].(string)
	host.state(waitingFor(agentID))

	// The REST view shows the question to the embed's panel too.
	status, info := h.do("GET", "/api/v1/sessions/"+s.ID, token(s.Links["host"]), "")
	if status != 200 || len(info["waiting"].([]any)) != 1 || info["waiting"].([]any)[0].(map[string]any)["kind"] != "view" {
		t.Fatalf("info while waiting: %d %v", status, info["waiting"])
	}
	// A guest cannot answer for the host.
	guest := h.join(s.ID, token(s.Links["guest"]), "Gus")
	guest.id()
	guest.send(map[string]any{"type": "consent", "participant": agentID, "kind": "view", "allow": true})
	if e := guest.waitFor("error", nil); e["code"] != "forbidden" {
		t.Fatalf("guest answering: %v", e)
	}

	host.send(map[string]any{"type": "consent", "participant": agentID, "kind": "view", "allow": true})
	before, pictures := agent.before("welcome")
	if strings.Join(before, ",") != "waiting" || pictures != 0 {
		t.Fatalf("before the host allowed, the agent received %v and %d pictures", before, pictures)
	}
	agent.state(controllerIs(hostID))
	eventually(t, "the agent has a picture", func() bool { return agent.frames.Load() > 0 })
	for _, ev := range []string{`"event":"consent_asked"`, `"event":"consent_answered"`, `"allowed":true`} {
		if !strings.Contains(audit.String(), ev) {
			t.Fatalf("audit lacks %s:\n%s", ev, audit.String())
		}
	}

	// A second agent is refused: its connection ends with a reason, and it never saw the page.
	other := h.join(s.ID, token(s.Links["agent"]), "Otto")
	otherID := other.waitFor("waiting", nil)["participant"].(map[string]any)["id"].(string)
	status, _ = h.do("POST", "/api/v1/sessions/"+s.ID+"/consent", token(s.Links["host"]),
		fmt.Sprintf(`{"participant":%q,"kind":"view","allow":false}`, otherID))
	if status != http.StatusNoContent {
		t.Fatalf("refusing over REST: %d", status)
	}
	before, pictures = other.before("bye")
	if bye := other.waitFor("bye", nil); bye["code"] != "declined" || strings.Join(before, ",") != "waiting" || pictures != 0 {
		t.Fatalf("refused agent: bye %v after %v and %d pictures", bye, before, pictures)
	}
	// Answering again finds nobody waiting.
	status, out := h.do("POST", "/api/v1/sessions/"+s.ID+"/consent", token(s.Links["host"]),
		fmt.Sprintf(`{"participant":%q,"kind":"view","allow":true}`, otherID))
	if status != http.StatusNotFound || out["error"] != "not_waiting" {
		t.Fatalf("answering twice: %d %v", status, out)
	}
}

func TestControlNeedsTheHostsConsent(t *testing.T) {
	p := newProvider(t)
	h := newHarness(t)
	s := h.createWith(p.URL, `{"agent":{"askToView":false}}`)
	host := h.join(s.ID, token(s.Links["host"]), "Hana")
	hostID := host.id()
	host.state(controllerIs(hostID))
	guest := h.join(s.ID, token(s.Links["guest"]), "Gus")
	guestID := guest.id()
	agent := h.join(s.ID, token(s.Links["agent"]), "Ada")
	agentID := agent.id()

	// Even with nobody in control, the agent's ask waits for the host.
	host.send(map[string]any{"type": "control", "action": "release"})
	host.state(controllerIs(""))
	agent.send(map[string]any{"type": "control", "action": "request"})
	host.state(func(m map[string]any) bool { return m["controller"] == nil && len(m["requests"].([]any)) == 1 })
	agent.send(map[string]any{"type": "control", "action": "take"})
	if e := agent.waitFor("error", nil); e["code"] != "forbidden" {
		t.Fatalf("agent taking: %v", e)
	}
	// A guest in control cannot hand it on to the agent either.
	guest.send(map[string]any{"type": "control", "action": "request"})
	host.state(controllerIs(guestID))
	guest.send(map[string]any{"type": "control", "action": "grant", "participant": agentID})
	if e := guest.waitFor("error", nil); e["code"] != "forbidden" {
		t.Fatalf("guest granting the agent: %v", e)
	}
	// The host's yes, over REST as the embed's panel sends it.
	status, _ := h.do("POST", "/api/v1/sessions/"+s.ID+"/consent", token(s.Links["host"]),
		fmt.Sprintf(`{"participant":%q,"kind":"control","allow":true}`, agentID))
	if status != http.StatusNoContent {
		t.Fatalf("granting over REST: %d", status)
	}
	host.state(controllerIs(agentID))
	agent.click(0.5, 0.5)
	eventually(t, "the agent's click reached the provider", func() bool { return p.hits.Load() == 1 })
}

func TestStopSharingEndsEveryonesView(t *testing.T) {
	p := newProvider(t)
	h := newHarness(t)
	s := h.createWith(p.URL, `{"agent":{"askToView":false},"guest":{"askToView":true}}`)
	host := h.join(s.ID, token(s.Links["host"]), "Hana")
	host.id()
	agent := h.join(s.ID, token(s.Links["agent"]), "Ada")
	agent.id()
	eventually(t, "the agent has a picture", func() bool { return agent.frames.Load() > 0 })
	agent.send(map[string]any{"type": "stop_sharing"})
	if e := agent.waitFor("error", nil); e["code"] != "forbidden" {
		t.Fatalf("an agent stopping: %v", e)
	}
	// Someone still waiting for the host's answer is told too.
	waiting := h.join(s.ID, token(s.Links["guest"]), "Walt")
	waiting.waitFor("waiting", nil)
	host.send(map[string]any{"type": "stop_sharing"})
	bye := agent.waitFor("bye", nil)
	if bye["code"] != "session_ended" || bye["message"] != proxy.StopReason {
		t.Fatalf("agent's bye: %v", bye)
	}
	<-agent.closed
	if bye := waiting.waitFor("bye", nil); bye["code"] != "session_ended" {
		t.Fatalf("the waiting participant's bye: %v", bye)
	}
	if status, _ := h.do("GET", "/api/v1/sessions/"+s.ID, token(s.Links["host"]), ""); status != http.StatusNotFound && status != http.StatusGone {
		t.Fatalf("the session still answers: %d", status)
	}
}

// A client that says nothing in time is told so with a code of its own, not as if its
// token were wrong: it connects again.
func TestSilentClientsAreToldToRetry(t *testing.T) {
	p := newProvider(t)
	h := newHarness(t, func(_ *proxy.RegistryParams, ap *proxy.APIParams) {
		ap.Upgrader = stream.NewUpgrader(stream.Options{HelloTimeout: 200 * time.Millisecond})
	})
	s := h.create(p.URL)
	u := "ws" + strings.TrimPrefix(h.srv.URL, "http") + "/api/v1/sessions/" + s.ID + "/ws"
	ws, _, err := websocket.DefaultDialer.Dial(u, http.Header{"Origin": {h.srv.URL}})
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	var bye map[string]any
	if err := ws.ReadJSON(&bye); err != nil {
		t.Fatal(err)
	}
	if bye["code"] != "hello_timeout" {
		t.Fatalf("bye = %v", bye)
	}
	_, _, err = ws.ReadMessage()
	if ce := (*websocket.CloseError)(nil); !errors.As(err, &ce) || ce.Code != stream.CloseHelloTimeout {
		t.Fatalf("close: %v", err)
	}
}
