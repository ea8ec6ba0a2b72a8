package app_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	cdppage "github.com/chromedp/cdproto/page"
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
	Joins         int      `json:"joins"`
	Tracks        int      `json:"tracks"`
	// For the call bench.
	BytesReceived       float64 `json:"bytesReceived"`
	BytesSent           float64 `json:"bytesSent"`
	VideosDecoding      int     `json:"videosDecoding"`
	JitterBufferDelay   float64 `json:"jitterBufferDelay"`
	JitterBufferEmitted float64 `json:"jitterBufferEmitted"`
}

// callSession starts a server with calls on, creates a session on its demo site, and
// starts the participants' Chromium.
func callSession(t *testing.T) (*app.Server, map[string]any, context.Context) {
	t.Helper()
	exec := chromiumOrSkip(t)
	srv := startServer(t, app.Config{DemoAddr: "127.0.0.1:0", Call: call.Config{UDPAddr: "127.0.0.1:0"}})
	status, s := createSession(t, srv, srv.DemoURL())
	if status != 201 {
		t.Fatalf("create: %d %v", status, s)
	}
	return srv, s["links"].(map[string]any), participantBrowser(t, exec)
}

// joinCall presses Join call in a participant's viewer.
func joinCall(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	must(t, ctx, name+" joins the call",
		chromedp.WaitEnabled(chromedp.ID("call-btn")),
		chromedp.Click(chromedp.ID("call-btn")),
		chromedp.WaitVisible(chromedp.ID("call-dock")),
	)
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
	srv, links, browser := callSession(t)
	host := openTab(t, browser, links["host"].(string))
	join(t, host, "Hana")
	guest := openTab(t, browser, links["guest"].(string))
	join(t, guest, "Gus")

	joinCall(t, host, "Hana")
	joinCall(t, guest, "Gus")
	// Gus hears and sees Hana; Hana hears Gus.
	g := waitStats(t, guest, "Gus", func(s callStats) bool { return s.FramesDecoded > 30 && s.AudioEnergy > 0 })
	h := waitStats(t, host, "Hana", func(s callStats) bool { return s.AudioEnergy > 0 })
	if h.FramesDecoded != 0 {
		t.Fatalf("Hana decoded %v video frames from Gus, whose role publishes audio only", h.FramesDecoded)
	}
	// The media goes to Tandem and nowhere else: every candidate a browser was offered is
	// on Tandem's media port, and so is the pair in use.
	udp, _ := srv.CallPorts()
	mediaOnlyTo(t, "Tandem's media port", map[string]callStats{"Gus": g, "Hana": h}, udp)
	must(t, host, "both tiles show", chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf("#call-tiles .call-tile:nth-child(%d)", 2))))
	shot(t, guest, "call-guest")

	// Hana folds the dock away: the videos go, the call's sound stays, the page is free.
	must(t, host, "Hana hides the videos", chromedp.Click(chromedp.ID("call-fold")), chromedp.WaitNotVisible(chromedp.ID("call-tiles")))
	heard := h.AudioEnergy
	waitStats(t, host, "Hana, folded", func(s callStats) bool { return s.AudioEnergy > heard })
	shot(t, host, "call-folded")
	must(t, host, "Hana shows them again", chromedp.Click(chromedp.ID("call-fold")), chromedp.WaitVisible(chromedp.ID("call-tiles")))
	t.Logf("Gus: %+v; Hana: %+v", g, h)
}

// TestTheCallComesBackAfterAReconnect: when a participant's connection drops (here its
// WebSocket is closed under the viewer), the viewer reconnects and is back in the call
// by itself, receiving the others again.
func TestTheCallComesBackAfterAReconnect(t *testing.T) {
	srv, links, browser := callSession(t)
	host := openTab(t, browser, links["host"].(string))
	join(t, host, "Hana")
	// Gus's viewer keeps its WebSockets where the test can reach them.
	guest := openTab(t, browser, "about:blank")
	if _, err := chromedp.Call(guest, cdppage.AddScriptToEvaluateOnNewDocument, cdppage.AddScriptToEvaluateOnNewDocumentParams{
		Source: `(() => { const WS = WebSocket; window.__sockets = [];
			window.WebSocket = function (...a) { const s = new WS(...a); window.__sockets.push(s); return s; };
			window.WebSocket.prototype = WS.prototype; Object.assign(window.WebSocket, WS); })()`,
	}); err != nil {
		t.Fatal(err)
	}
	must(t, guest, "Gus opens his link", chromedp.Navigate(links["guest"].(string)))
	join(t, guest, "Gus")
	joinCall(t, host, "Hana")
	joinCall(t, guest, "Gus")
	waitStats(t, guest, "Gus", func(s callStats) bool { return s.Joins == 1 && s.FramesDecoded > 10 })

	must(t, guest, "Gus's connection drops", chromedp.Evaluate[chromedp.Void](`window.__sockets.forEach((s) => s.close())`))
	st := waitStats(t, guest, "Gus, back", func(s callStats) bool { return s.Joins == 2 && s.FramesDecoded > 10 })
	if !strings.HasSuffix(st.Selected, fmt.Sprintf(":%d", func() int { u, _ := srv.CallPorts(); return u }())) {
		t.Fatalf("after the reconnect Gus's media goes to %q", st.Selected)
	}
	waitStats(t, host, "Hana", func(s callStats) bool { return s.AudioEnergy > 0 })
}

// mediaOnlyTo checks that every ICE candidate each participant was offered, and the pair
// in use, are on one of ports: the call's media goes there and nowhere else.
func mediaOnlyTo(t *testing.T, what string, stats map[string]callStats, ports ...int) {
	t.Helper()
	on := func(c string) bool {
		for _, p := range ports {
			if strings.HasSuffix(c, fmt.Sprintf(":%d", p)) {
				return true
			}
		}
		return false
	}
	for who, st := range stats {
		if !on(st.Selected) {
			t.Errorf("%s's call media goes to %q, not %s %v", who, st.Selected, what, ports)
		}
		for _, r := range st.Remotes {
			if !on(r) {
				t.Errorf("%s was offered the candidate %q, not on %s %v", who, r, what, ports)
			}
		}
	}
}
