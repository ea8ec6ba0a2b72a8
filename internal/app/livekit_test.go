package app_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"testing"

	"github.com/tandem-cobrowse/tandem/call"
	"github.com/tandem-cobrowse/tandem/internal/app"
)

// TestCallThroughLiveKit: on a server whose calls go through LiveKit, the host and a guest
// in real Chromium (fake camera and microphone) join the call with the room tokens Tandem
// mints, and each receives the other's media from LiveKit; the guest, whose role
// publishes audio only, sends no video, and every candidate and the pair in use are
// LiveKit's ports. It needs a LiveKit server binary, named by TANDEM_LIVEKIT_SERVER; .ci/run
// builds one from the Go module proxy (go install
// github.com/livekit/livekit-server/cmd/server@v1.13.5) and the test skips without it.
func TestCallThroughLiveKit(t *testing.T) {
	bin := os.Getenv("TANDEM_LIVEKIT_SERVER")
	if bin == "" {
		t.Skip("needs a LiveKit server: set TANDEM_LIVEKIT_SERVER to its binary")
	}
	execPath := chromiumOrSkip(t)
	ports := make([]int, 3)
	for i := range ports {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ports[i] = ln.Addr().(*net.TCPAddr).Port
		_ = ln.Close()
	}
	const key, secret = "tandemtest", "a-livekit-secret-for-the-tests-0123456789"
	conf := fmt.Sprintf("port: %d\nbind_addresses: [127.0.0.1]\nrtc:\n  tcp_port: %d\n  udp_port: %d\n  use_external_ip: false\n  node_ip: 127.0.0.1\nkeys:\n  %s: %s\nlogging:\n  level: warn\n",
		ports[0], ports[1], ports[2], key, secret)
	ctx, cancel := context.WithCancel(context.Background())
	lk := exec.CommandContext(ctx, bin, "--config-body", conf)
	lk.Stdout, lk.Stderr = os.Stderr, os.Stderr
	if err := lk.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); _ = lk.Wait() })
	lkURL := fmt.Sprintf("http://127.0.0.1:%d/", ports[0])
	eventually(t, "LiveKit answering", func() bool {
		res, err := http.Get(lkURL)
		if err != nil {
			return false
		}
		res.Body.Close()
		return res.StatusCode == http.StatusOK
	})

	srv := startServer(t, app.Config{DemoAddr: "127.0.0.1:0",
		LiveKit: call.LiveKitConfig{URL: fmt.Sprintf("ws://127.0.0.1:%d", ports[0]), APIKey: key, APISecret: secret}})
	status, s := createSession(t, srv, srv.DemoURL())
	if status != 201 {
		t.Fatalf("create: %d %v", status, s)
	}
	links := s["links"].(map[string]any)
	browser := participantBrowser(t, execPath)
	host := openTab(t, browser, links["host"].(string))
	join(t, host, "Hana")
	guest := openTab(t, browser, links["guest"].(string))
	join(t, guest, "Gus")
	joinCall(t, host, "Hana")
	joinCall(t, guest, "Gus")

	g := waitStats(t, guest, "Gus", func(s callStats) bool { return s.FramesDecoded > 30 && s.AudioEnergy > 0 })
	h := waitStats(t, host, "Hana", func(s callStats) bool { return s.AudioEnergy > 0 })
	if h.FramesDecoded != 0 {
		t.Fatalf("Hana decoded %v video frames from Gus, whose role publishes audio only", h.FramesDecoded)
	}
	mediaOnlyTo(t, "LiveKit's ports", map[string]callStats{"Gus": g, "Hana": h}, ports[1], ports[2])
	shot(t, guest, "call-livekit-guest")
	t.Logf("Gus: %+v; Hana: %+v", g, h)
}
