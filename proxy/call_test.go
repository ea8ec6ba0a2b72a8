package proxy_test

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

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

// TestCallsThroughLiveKit: with LiveKit configured, joining the call answers a room token
// for the session's room whose grants are the role's call rule, and leaving the call takes
// the participant out of the LiveKit room.
func TestCallsThroughLiveKit(t *testing.T) {
	removed := make(chan string, 4)
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body map[string]string
		_ = json.NewDecoder(r.Body).Decode(&body)
		if strings.HasSuffix(r.URL.Path, "/RemoveParticipant") {
			removed <- body["room"] + "/" + body["identity"]
		}
		_, _ = w.Write([]byte(`{}`))
	}))
	t.Cleanup(api.Close)
	const secret = "a-livekit-api-secret-of-32-chars!"
	lk, err := call.NewLiveKit(call.LiveKitConfig{URL: "ws" + strings.TrimPrefix(api.URL, "http"), APIKey: "key", APISecret: secret})
	if err != nil {
		t.Fatal(err)
	}
	p := newProvider(t)
	h := newHarness(t, func(rp *proxy.RegistryParams, _ *proxy.APIParams) { rp.LiveKit = lk })
	s := h.createWith(p.URL, `{}`)
	guest := h.join(s.ID, token(s.Links["guest"]), "Gus")
	guestID := guest.id()

	guest.send(map[string]any{"type": "call", "action": "join", "audio": true, "video": true})
	j := guest.waitFor("call_joined", nil)
	if j["audio"] != true || j["video"] != false {
		t.Fatalf("the guest was granted %v, want audio only", j)
	}
	join, _ := j["livekit"].(map[string]any)
	if join == nil || join["url"] != lk.URL() || join["room"] != "tandem-"+s.ID {
		t.Fatalf("call_joined.livekit = %v", j["livekit"])
	}
	var claims struct {
		jwt.RegisteredClaims
		Video struct {
			Room              string   `json:"room"`
			CanPublishSources []string `json:"canPublishSources"`
		} `json:"video"`
	}
	if _, err := jwt.ParseWithClaims(join["token"].(string), &claims, func(*jwt.Token) (any, error) { return []byte(secret), nil }); err != nil {
		t.Fatal(err)
	}
	if claims.Subject != guestID || claims.Video.Room != "tandem-"+s.ID || len(claims.Video.CanPublishSources) != 1 || claims.Video.CanPublishSources[0] != "microphone" {
		t.Fatalf("the guest's token: subject %q, grants %+v", claims.Subject, claims.Video)
	}

	guest.send(map[string]any{"type": "call", "action": "leave"})
	select {
	case got := <-removed:
		if got != "tandem-"+s.ID+"/"+guestID {
			t.Fatalf("removed %q from LiveKit, want the guest", got)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("leaving the call did not take the guest out of the LiveKit room")
	}
}
