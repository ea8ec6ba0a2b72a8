package proxy_test

import (
	"log/slog"
	"strings"
	"testing"

	"github.com/tandem-cobrowse/tandem/call"
	"github.com/tandem-cobrowse/tandem/proxy"
)

// TestTheCallFollowsTheRoleRules: joining the call grants what the role's call rule
// allows, whatever the client asks; Tandem offers at once to a member who publishes;
// everyone learns who is in the call; signalling from outside the call is refused.
func TestTheCallFollowsTheRoleRules(t *testing.T) {
	sfu, err := call.New(call.Config{UDPAddr: "127.0.0.1:0", Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sfu.Close() })
	p := newProvider(t)
	h := newHarness(t, func(rp *proxy.RegistryParams, _ *proxy.APIParams) { rp.Call = sfu })
	s := h.createWith(p.URL, `{"guest":{"call":{"audio":false}},"agent":{"call":{"video":false},"askToView":false}}`)
	host := h.join(s.ID, token(s.Links["host"]), "Hana")
	hostID := host.id()
	guest := h.join(s.ID, token(s.Links["guest"]), "Gus")
	guestID := guest.id()
	agent := h.join(s.ID, token(s.Links["agent"]), "Ada")

	host.send(map[string]any{"type": "call", "action": "join"})
	j := host.waitFor("call_joined", nil)
	if j["audio"] != true || j["video"] != true {
		t.Fatalf("the host was granted %v", j)
	}
	offer := host.waitFor("rtc", func(m map[string]any) bool { return m["sdp"] != nil })
	sdp := offer["sdp"].(map[string]any)
	if sdp["type"] != "offer" || strings.Count(sdp["sdp"].(string), "a=recvonly") != 2 {
		t.Fatalf("the host's offer does not receive its audio and video: %v", sdp)
	}

	guest.send(map[string]any{"type": "call", "action": "join", "audio": true, "video": true})
	if g := guest.waitFor("call_joined", nil); g["audio"] != false || g["video"] != false {
		t.Fatalf("a guest whose rule allows nothing was granted %v", g)
	}
	st := host.waitFor("call_state", func(m map[string]any) bool { return len(m["members"].([]any)) == 2 })
	for _, m := range st["members"].([]any) {
		m := m.(map[string]any)
		if m["id"] == guestID && (m["audio"] != false || m["video"] != false) {
			t.Fatalf("call_state says the guest publishes: %v", m)
		}
		if m["id"] == hostID && (m["audio"] != true || m["video"] != true) {
			t.Fatalf("call_state says %v for the host", m)
		}
	}

	// Not in the call: its signals are refused.
	agent.send(map[string]any{"type": "rtc", "candidate": map[string]any{"candidate": "candidate:1 1 udp 1 10.0.0.1 9 typ host"}})
	agent.waitFor("error", func(m map[string]any) bool { return m["code"] == "conflict" })
	agent.send(map[string]any{"type": "call", "action": "join", "video": true})
	if a := agent.waitFor("call_joined", nil); a["audio"] != true || a["video"] != false {
		t.Fatalf("an agent whose rule allows audio only was granted %v", a)
	}
	// A client's own offer is not how the call works.
	agent.send(map[string]any{"type": "rtc", "sdp": map[string]any{"type": "offer", "sdp": "v=0"}})
	agent.waitFor("error", func(m map[string]any) bool { return m["code"] == "bad_message" })

	host.send(map[string]any{"type": "call", "action": "leave"})
	guest.waitFor("call_state", func(m map[string]any) bool {
		for _, mem := range m["members"].([]any) {
			if mem.(map[string]any)["id"] == hostID {
				return false
			}
		}
		return len(m["members"].([]any)) == 2
	})
}
