package app_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/tandem-cobrowse/tandem/call"
	"github.com/tandem-cobrowse/tandem/internal/app"
)

type callStats struct {
	FramesDecoded float64  `json:"framesDecoded"`
	AudioEnergy   float64  `json:"audioEnergy"`
	AudioSamples  float64  `json:"audioSamples"`
	AudioPackets  float64  `json:"audioPackets"`
	Remotes       []string `json:"remotes"`
	Selected      string   `json:"selected"`
	Tracks        int      `json:"tracks"`
}

// waitStats waits until a participant's call receives what want says.
func waitStats(t *testing.T, tabCtx context.Context, who string, want func(callStats) bool) callStats {
	t.Helper()
	deadline := time.Now().Add(45 * time.Second)
	var last callStats
	for time.Now().Before(deadline) {
		st, err := chromedp.Run(tabCtx, chromedp.Evaluate[callStats](`tandemCallStats()`, chromedp.EvalAwaitPromise))
		if err == nil {
			last = st
			if want(st) {
				return st
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	vids, _ := chromedp.Run(tabCtx, chromedp.Evaluate[string](`JSON.stringify([...document.querySelectorAll('#call-tiles video')].map(v => [v.paused, v.readyState, v.muted, !!v.srcObject, v.srcObject && v.srcObject.getTracks().map(t => t.kind + ':' + t.readyState + ':' + t.enabled)]))`))
	t.Fatalf("%s's call never received what it should: last stats %+v; videos %s", who, last, vids)
	return last
}

// TestTwoPeopleTalkThroughTandem: the host and a guest join the call in real Chromium
// with fake camera and microphone; each receives the other's media through Tandem's SFU
// (frames decoded and audio energy grow on the receiving side). The guest, whose role
// publishes audio only by default, sends no video.
func TestTwoPeopleTalkThroughTandem(t *testing.T) {
	exec := chromiumOrSkip(t)
	srv := startServer(t, app.Config{DemoAddr: "127.0.0.1:0", Call: call.Config{UDPAddr: "127.0.0.1:0"}})
	status, s := createSession(t, srv, srv.DemoURL())
	if status != 201 {
		t.Fatalf("create: %d %v", status, s)
	}
	links := s["links"].(map[string]any)
	browser := participantBrowser(t, exec)
	host := openTab(t, browser, links["host"].(string))
	join(t, host, "Hana")
	guest := openTab(t, browser, links["guest"].(string))
	join(t, guest, "Gus")

	for _, p := range []struct {
		ctx  context.Context
		name string
	}{{host, "Hana"}, {guest, "Gus"}} {
		must(t, p.ctx, p.name+" joins the call",
			chromedp.WaitEnabled(chromedp.ID("call-btn")),
			chromedp.Click(chromedp.ID("call-btn")),
			chromedp.WaitVisible(chromedp.ID("call-dock")),
		)
	}
	// Gus hears and sees Hana; Hana hears Gus.
	g := waitStats(t, guest, "Gus", func(s callStats) bool { return s.FramesDecoded > 30 && s.AudioEnergy > 0 })
	h := waitStats(t, host, "Hana", func(s callStats) bool { return s.AudioEnergy > 0 })
	if h.FramesDecoded != 0 {
		t.Fatalf("Hana decoded %v video frames from Gus, whose role publishes audio only", h.FramesDecoded)
	}
	// The media goes to Tandem and nowhere else: every candidate a browser was offered is
	// on Tandem's media port, and so is the pair in use.
	udp, _ := srv.CallPorts()
	for who, st := range map[string]callStats{"Gus": g, "Hana": h} {
		if !strings.HasSuffix(st.Selected, fmt.Sprintf(":%d", udp)) {
			t.Errorf("%s's media goes to %q, not Tandem's port %d", who, st.Selected, udp)
		}
		for _, r := range st.Remotes {
			if !strings.HasSuffix(r, fmt.Sprintf(":%d", udp)) {
				t.Errorf("%s was offered the candidate %q, not on Tandem's port %d", who, r, udp)
			}
		}
	}
	must(t, host, "both tiles show", chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf("#call-tiles .call-tile:nth-child(%d)", 2))))
	shot(t, guest, "call-guest")
	t.Logf("Gus: %+v; Hana: %+v", g, h)
}
