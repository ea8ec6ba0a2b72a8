package app_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/tandem-cobrowse/tandem/call"
	"github.com/tandem-cobrowse/tandem/internal/app"
)

// TestBenchFourPartyCall measures a call of four participants in real Chromium, each
// publishing a 640x360 camera (Chromium's fake one) and a microphone through Tandem's SFU
// and receiving the other three: the bitrate Tandem forwards, the server's CPU per
// forwarded stream, the time a packet spends in the SFU, and what the receivers' jitter
// buffers add. A measurement, not a check: run it with
// TANDEM_BENCH=1 go test -run TestBenchFourPartyCall -v ./internal/app/
func TestBenchFourPartyCall(t *testing.T) {
	if os.Getenv("TANDEM_BENCH") == "" {
		t.Skip("a measurement: set TANDEM_BENCH=1")
	}
	execPath := chromiumOrSkip(t)
	srv := startServer(t, app.Config{DemoAddr: "127.0.0.1:0", Call: call.Config{UDPAddr: "127.0.0.1:0"}})
	body := fmt.Sprintf(`{"url":%q,"rules":{"guest":{"call":{"audio":true,"video":true}}}}`, srv.DemoURL())
	res, err := http.Post(srv.URL()+"/api/v1/sessions", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	var created struct{ Links map[string]string }
	_ = json.NewDecoder(res.Body).Decode(&created)
	res.Body.Close()
	browser := participantBrowser(t, execPath)

	names := []string{"Hana", "Gus", "Gita", "Gabe"}
	var tabs []contextAndName
	for i, name := range names {
		link := created.Links["guest"] + "&p=" + strconv.Itoa(i)
		if i == 0 {
			link = created.Links["host"]
		}
		tab := openTab(t, browser, link)
		join(t, tab, name)
		joinCall(t, tab, name)
		tabs = append(tabs, contextAndName{tab, name})
	}
	for _, p := range tabs {
		waitStats(t, p.ctx, p.name, func(s callStats) bool { return s.VideosDecoding == 3 && s.AudioEnergy > 0 })
	}

	const window = 20 * time.Second
	before := snapshotCall(t, srv, tabs)
	time.Sleep(window) // the measurement window itself, not a wait for an event
	after := snapshotCall(t, srv, tabs)
	secs := after.at.Sub(before.at).Seconds()

	streams := 4 * 3 * 2 // each of 4 publishes audio and video to 3 others
	forwardedBits := (after.metric["tandem_call_bytes_forwarded_total"] - before.metric["tandem_call_bytes_forwarded_total"]) * 8 / secs
	packets := (after.metric["tandem_call_packets_forwarded_total"] - before.metric["tandem_call_packets_forwarded_total"]) / secs
	cpu := (after.cpu - before.cpu).Seconds() / secs
	var received, sent, frames, jbDelay, jbEmitted float64
	for i := range tabs {
		received += after.stats[i].BytesReceived - before.stats[i].BytesReceived
		sent += after.stats[i].BytesSent - before.stats[i].BytesSent
		frames += after.stats[i].FramesDecoded - before.stats[i].FramesDecoded
		jbDelay += after.stats[i].JitterBufferDelay - before.stats[i].JitterBufferDelay
		jbEmitted += after.stats[i].JitterBufferEmitted - before.stats[i].JitterBufferEmitted
	}
	p50, p95 := histogramQuantile(before.buckets, after.buckets, 0.5), histogramQuantile(before.buckets, after.buckets, 0.95)
	t.Logf("four-party call over %.1f s (%d forwarded streams, %d video):", secs, streams, streams/2)
	t.Logf("  forwarded by Tandem: %.2f Mbit/s, %.0f packets/s (publishers sent %.2f Mbit/s; receivers got %.2f Mbit/s)",
		forwardedBits/1e6, packets, sent*8/secs/1e6, received*8/secs/1e6)
	t.Logf("  video frames decoded: %.1f /s per received video", frames/secs/12)
	t.Logf("  server process CPU: %.1f%% of a core, %.2f%% per forwarded stream (the test process: server and chromedp)",
		100*cpu, 100*cpu/float64(streams))
	t.Logf("  a packet in the SFU (read to sent to every receiver): p50 %s, p95 %s", p50, p95)
	if jbEmitted > 0 {
		t.Logf("  receivers' jitter buffer delay: mean %.0f ms", 1000*jbDelay/jbEmitted)
	}
	shot(t, tabs[0].ctx, "call-four-party")
	if forwardedBits == 0 || frames == 0 {
		t.Fatal("nothing was forwarded in the window")
	}
}

type contextAndName struct {
	ctx  context.Context
	name string
}

type callSnapshot struct {
	at      time.Time
	cpu     time.Duration
	metric  map[string]float64
	buckets map[float64]float64 // tandem_call_forward_seconds: upper bound → cumulative count
	stats   []callStats
}

func snapshotCall(t *testing.T, srv *app.Server, tabs []contextAndName) callSnapshot {
	t.Helper()
	s := callSnapshot{at: time.Now(), metric: map[string]float64{}, buckets: map[float64]float64{}}
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	s.cpu = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	res, err := http.Get(srv.URL() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	sc := bufio.NewScanner(res.Body)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "tandem_call_") {
			continue
		}
		name, value, ok := strings.Cut(line, " ")
		v, err := strconv.ParseFloat(value, 64)
		if !ok || err != nil {
			continue
		}
		if le, ok := strings.CutPrefix(name, `tandem_call_forward_seconds_bucket{le="`); ok {
			bound, err := strconv.ParseFloat(strings.TrimSuffix(le, `"}`), 64)
			if err == nil {
				s.buckets[bound] = v
			}
			continue
		}
		s.metric[name] = v
	}
	for _, p := range tabs {
		st, err := chromedp.Run(p.ctx, chromedp.Evaluate[callStats](`tandemCallStats()`, chromedp.EvalAwaitPromise))
		if err != nil {
			t.Fatal(err)
		}
		s.stats = append(s.stats, st)
	}
	return s
}

// histogramQuantile is the q quantile of the observations between two snapshots of a
// cumulative histogram, as the upper bound of the bucket it falls in.
func histogramQuantile(before, after map[float64]float64, q float64) time.Duration {
	var bounds []float64
	for b := range after {
		bounds = append(bounds, b)
	}
	sort.Float64s(bounds)
	total := after[math.Inf(1)] - before[math.Inf(1)]
	if total == 0 {
		return 0
	}
	for _, b := range bounds {
		if after[b]-before[b] >= q*total {
			if math.IsInf(b, 1) {
				return -1
			}
			return time.Duration(b * float64(time.Second))
		}
	}
	return -1
}
