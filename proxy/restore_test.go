package proxy_test

import (
	"bytes"
	"context"
	"encoding/json"
	"sync"
	"testing"

	"github.com/tandem-cobrowse/tandem/proxy"
)

// A session whose node is lost comes back elsewhere from its snapshot: the same links
// admit, participants resume as themselves, control is where it was, and nobody's secret
// was ever in the snapshot.
func TestASessionComesBackFromItsSnapshot(t *testing.T) {
	p := newProvider(t)
	var mu sync.Mutex
	var latest []byte
	h := newHarness(t, func(rp *proxy.RegistryParams, _ *proxy.APIParams) {
		rp.OnSnapshot = func(id string, b []byte) {
			mu.Lock()
			latest = b
			mu.Unlock()
		}
	})
	snapshot := func() (proxy.Snapshot, []byte) {
		mu.Lock()
		defer mu.Unlock()
		var sn proxy.Snapshot
		_ = json.Unmarshal(latest, &sn)
		return sn, latest
	}
	c := h.create(p.URL + "/")
	host := h.join(c.ID, token(c.Links["host"]), "Hana")
	guest := h.join(c.ID, token(c.Links["guest"]), "Gus")
	hostID, guestID := host.id(), guest.id()
	hostResume := host.waitFor("welcome", nil)["resumeToken"].(string)
	guestResume := guest.waitFor("welcome", nil)["resumeToken"].(string)

	guest.send(map[string]any{"type": "control", "action": "request"})
	host.waitFor("state", func(m map[string]any) bool { return len(m["requests"].([]any)) > 0 })
	host.send(map[string]any{"type": "control", "action": "grant", "participant": guestID})
	guest.state(func(m map[string]any) bool { return m["controller"] == guestID })
	eventually(t, "a snapshot with the guest in control", func() bool {
		sn, _ := snapshot()
		return sn.Controller == proxy.ParticipantID(guestID) && len(sn.Participants) == 2
	})
	sn, raw := snapshot()
	for _, secret := range []string{token(c.Links["host"]), token(c.Links["guest"]), token(c.Links["agent"]), hostResume, guestResume} {
		if bytes.Contains(raw, []byte(secret)) {
			t.Fatal("a token or resume token is in the snapshot in the clear")
		}
	}
	if sn.URL != p.URL+"/" || sn.Rules.For(proxy.RoleGuest).Control != true {
		t.Fatalf("snapshot = %+v", sn)
	}

	// The node is lost: here, the session ends, and is brought back from its snapshot.
	s, err := h.reg.Get(c.ID)
	if err != nil {
		t.Fatal(err)
	}
	s.End("node lost")
	<-s.Done()
	eventually(t, "the session gone", func() bool { _, err := h.reg.Get(c.ID); return err != nil })
	if err := h.reg.Restore(context.Background(), sn); err != nil {
		t.Fatal(err)
	}
	if err := h.reg.Restore(context.Background(), sn); err == nil {
		t.Fatal("a session was brought back twice on one node")
	}

	g2 := h.resume(c.ID, token(c.Links["guest"]), guestResume)
	if id := g2.id(); id != guestID {
		t.Fatalf("the guest came back as %s, want %s", id, guestID)
	}
	if w := g2.waitFor("welcome", nil); w["resumeToken"] != guestResume {
		t.Fatalf("the guest's resume token changed: %v", w["resumeToken"])
	}
	g2.waitFor("notice", func(m map[string]any) bool { return m["code"] == "session_restored" })
	g2.state(func(m map[string]any) bool { return m["controller"] == guestID })
	h2 := h.resume(c.ID, token(c.Links["host"]), hostResume)
	if id := h2.id(); id != hostID {
		t.Fatalf("the host came back as %s, want %s", id, hostID)
	}
	// Control is where it was: the guest's click reaches the provider.
	g2.waitFor("state", func(m map[string]any) bool { return m["controller"] == guestID })
	eventually(t, "a frame for the guest", func() bool { return g2.frames.Load() > 0 })
	g2.click(0.5, 0.5)
	eventually(t, "the guest's click at the provider", func() bool { return p.hits.Load() == 1 })

	// A wrong token is still refused.
	bad := h.join(c.ID, "not-a-token", "Eve")
	bad.waitFor("bye", func(m map[string]any) bool { return m["code"] == "unauthorized" })
}
