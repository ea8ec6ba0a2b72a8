package main

import (
	"fmt"
	"io"
	"math"
	"runtime"
	"slices"
	"sort"
	"strings"
	"time"
)

// Targets the report judges.
const (
	targetDeliveredPct = 95.0
	targetFirstFrame   = 300 * time.Millisecond // p95, with warm tabs
)

// ttff is one fresh session's time to first frame.
type ttff struct {
	Total time.Duration // POST sent → first frame read at the host
	Post  time.Duration // POST sent → 201 read (tab opened and navigated)
}

// report is everything measured.
type report struct {
	Viewers   int
	Page      string
	CPUs      int
	Window    time.Duration
	Samples   int
	ExtraPage string
	Extra     int
	Verbose   bool

	Produced       float64 // frames per second, from the host's seq numbers
	FrameBytes     float64 // mean JPEG size of the host's frames in the window
	SeqFrom, SeqTo int64
	MeanAge        time.Duration // frame read time − capture time, over all viewers' frames
	WorstAge       time.Duration // the same, for the viewer with the highest mean
	LoadStart      string
	LoadMid        string
	LoadEnd        string
	ViewerRates    []float64 // frames per second delivered, per viewer
	ViewerPcts     []float64 // % of the frames produced meanwhile, per viewer
	Dropped        int
	DropErr        string
	Latency        latencyResult
	Direct         latencyResult // the same input in a tab read straight through DevTools
	Stages         stages        // the server's own timings over the latency samples
	// Inputs on a still page: after it was still long enough for the screencast to doze,
	// and again while it was awake.
	StillDozing, StillAwake latencyResult
	TTFF                    []ttff
	WarmTabs                int
	ServerCPU               float64 // % of one core
	ChromeCPU               float64 // % of one core
	Usage                   usage   // at the end of the window
	// Around the extra sessions: before, just opened (their first frames sent), and
	// after their pages had been still long enough for the screencast to doze.
	Before, Active, After usage
	Masked                maskedResult
	Page2                 pageResult // the Page-mode phase
}

func (r report) minPct() float64 { return slices.Min(r.ViewerPcts) }

func (r report) ttffPercentile(p float64) time.Duration {
	xs := make([]float64, len(r.TTFF))
	for i, t := range r.TTFF {
		xs[i] = float64(t.Total)
	}
	return time.Duration(percentile(xs, p))
}

func (r report) deliveryPass() bool { return r.Dropped == 0 && r.minPct() >= targetDeliveredPct }
func (r report) ttffPass() bool     { return r.ttffPercentile(95) < targetFirstFrame }
func (r report) passed() bool {
	return r.deliveryPass() && r.ttffPass() && r.Masked.pass() && r.Page2.pass()
}

func (r report) print(w io.Writer) {
	p := func(format string, args ...any) { fmt.Fprintf(w, format+"\n", args...) }
	p("")
	p("Tandem bench: %d guest viewers + 1 host on %s", r.Viewers, r.Page)
	p("machine: %d CPUs, %s/%s, %s; 1-min load average %s at start, %s after the window, %s at end",
		r.CPUs, runtime.GOOS, runtime.GOARCH, runtime.Version(), r.LoadStart, r.LoadMid, r.LoadEnd)
	p("window: %s", r.Window.Round(time.Millisecond))
	p("")

	p("1. Frames produced by Chromium:  %.1f /s  (seq %d → %d over %s, seen by the host)",
		r.Produced, r.SeqFrom, r.SeqTo, r.Window.Round(time.Millisecond))
	p("   mean frame %.0f KiB: %.0f MiB/s to all %d viewers at the produced rate",
		r.FrameBytes/1024, r.FrameBytes*r.Produced*float64(r.Viewers+1)/(1<<20), r.Viewers+1)

	minRate, medRate := slices.Min(r.ViewerRates), median(r.ViewerRates)
	p("2. Frames delivered per viewer:  min %.1f /s (%.1f%%), median %.1f /s (%.1f%%)",
		minRate, r.minPct(), medRate, median(r.ViewerPcts))
	p("   %% = frames a viewer received / frames produced between its own first and last frame of the window")
	p("   frame age on arrival (read time − capture ts): mean %s over all viewers, worst viewer mean %s",
		r.MeanAge.Round(time.Millisecond), r.WorstAge.Round(time.Millisecond))
	if r.Dropped > 0 {
		p("   %d of %d viewers were disconnected: %s", r.Dropped, r.Viewers, r.DropErr)
	}

	lat := make([]float64, len(r.Latency.Samples))
	for i, d := range r.Latency.Samples {
		lat[i] = float64(d)
	}
	ms := func(x float64) string { return fmt.Sprintf("%.0f ms", x/float64(time.Millisecond)) }
	p("3. Input-to-frame latency:       p50 %s, p95 %s  (min %s, max %s; %d of %d inputs measured, %d timed out after %s)",
		ms(percentile(lat, 50)), ms(percentile(lat, 95)), ms(slices.Min(lat)), ms(slices.Max(lat)),
		len(r.Latency.Samples), r.Samples, r.Latency.TimedOut, sampleTimeout)
	p("   host mousedown sent → first frame read whose probe square shows the flipped colour")
	if len(r.Direct.Samples) > 0 {
		dl := make([]float64, len(r.Direct.Samples))
		for i, d := range r.Direct.Samples {
			dl[i] = float64(d)
		}
		p("   straight through DevTools (same page, a Chromium of the bench's own): p50 %s, p95 %s (%d of %d measured)",
			ms(percentile(dl, 50)), ms(percentile(dl, 95)), len(r.Direct.Samples), r.Samples)
		p("   Tandem's overhead: p50 %s, p95 %s (difference of the percentiles)",
			ms(percentile(lat, 50)-percentile(dl, 50)), ms(percentile(lat, 95)-percentile(dl, 95)))
	}
	if st := r.Stages; st.Inject.count > 0 && st.Serve.count > 0 {
		d := func(x time.Duration) string { return fmt.Sprintf("%.2f ms", float64(x)/float64(time.Millisecond)) }
		p("   where Tandem's part goes (server histograms over the samples):")
		p("     input read → Chromium's answer to the dispatch: p50 %s, p95 %s, mean %s (%d mouse events)",
			d(st.Inject.quantile(0.5)), d(st.Inject.quantile(0.95)), d(st.Inject.mean()), st.Inject.count)
		p("     frame from Chromium → viewers' writers:          p50 %s, p95 %s, mean %s (%d frames)",
			d(st.Serve.quantile(0.5)), d(st.Serve.quantile(0.95)), d(st.Serve.mean()), st.Serve.count)
	}
	p("   (%d frames decoded, %d with an unclear probe, %d not queued for decoding)",
		r.Latency.Decoded, r.Latency.Unclear, r.Latency.Skipped)
	if r.Verbose {
		p("   samples in order: %s", strings.Join(durations(r.Latency.Samples), ", "))
	}
	if n := len(r.StillDozing.Samples); n > 0 {
		pct := func(res latencyResult, q float64) string {
			v := make([]float64, len(res.Samples))
			for i, d := range res.Samples {
				v[i] = float64(d)
			}
			return ms(percentile(v, q))
		}
		p("   on a still page (demo animated?paused), the first input after %s still (screencast dozing): p50 %s, max %s (%d inputs);",
			stillFor, pct(r.StillDozing, 50), pct(r.StillDozing, 100), n)
		p("   the same page 300 ms after the input before (awake): p50 %s, max %s (%d inputs)",
			pct(r.StillAwake, 50), pct(r.StillAwake, 100), len(r.StillAwake.Samples))
	}

	parts := make([]string, len(r.TTFF))
	for i, t := range r.TTFF {
		parts[i] = fmt.Sprintf("%s (POST %s)", t.Total.Round(time.Millisecond), t.Post.Round(time.Millisecond))
	}
	p("4. Time to first frame:          p50 %s, p95 %s over %d fresh sessions, one at a time, no other session running (%d warm tabs)",
		r.ttffPercentile(50).Round(time.Millisecond), r.ttffPercentile(95).Round(time.Millisecond), len(r.TTFF), r.WarmTabs)
	p("   POST sent → first frame at the host: %s", strings.Join(parts, ", "))

	u := r.Usage
	p("5. CPU over the window:          server process %.0f%% of one core (includes the bench's %d WebSocket clients),",
		r.ServerCPU, r.Viewers+1)
	p("                                 Chromium %.0f%% of one core (%d processes)", r.ChromeCPU, u.ChromeProcs)
	p("   Memory at the end:            Go heap in use %s, process RSS %s; Chromium RSS %s (PSS %s)",
		mib(u.HeapInuse), mib(u.SelfRSS), mib(u.ChromeRSS), mib(u.ChromePSS))

	n := int64(r.Extra)
	rss := (r.After.SelfRSS + r.After.ChromeRSS) - (r.Before.SelfRSS + r.Before.ChromeRSS)
	pss := (r.After.SelfRSS + r.After.ChromePSS) - (r.Before.SelfRSS + r.Before.ChromePSS)
	activePSS := (r.Active.SelfRSS + r.Active.ChromePSS) - (r.Before.SelfRSS + r.Before.ChromePSS)
	p("6. Memory per extra session:     %s RSS (Go %s + Chromium %s); %s counting Chromium by PSS",
		mib(rss/n), mib((r.After.SelfRSS-r.Before.SelfRSS)/n), mib((r.After.ChromeRSS-r.Before.ChromeRSS)/n), mib(pss/n))
	p("   (an RSS sum counts shared pages once per process, so it overstates; PSS splits them between sharers)")
	p("   Chromium PSS per extra session by process: %s", pssByKind(r.Before, r.After, n))
	p("   the page still for %s (screencast dozing); just opened, full-size screencast: %s PSS (%s)",
		stillFor, mib(activePSS/n), pssByKind(r.Before, r.Active, n))
	p("   %d sessions on %s with one viewer each; Chromium processes %d → %d",
		r.Extra, r.ExtraPage, r.Before.ChromeProcs, r.After.ChromeProcs)

	r.Masked.print(w)
	r.Page2.print(w)

	p("")
	p("Targets:")
	p("  viewers receive ≥%.0f%% of produced frames: %s (min %.1f%%%s)", targetDeliveredPct,
		passFail(r.deliveryPass()), r.minPct(), dropNote(r.Dropped))
	p("  time to first frame p95 < %s: %s (p95 %s, max %s)", targetFirstFrame, passFail(r.ttffPass()),
		r.ttffPercentile(95).Round(time.Millisecond), r.ttffMax().Round(time.Millisecond))
	r.Masked.printTarget(w)
	if r.Page2.ran() {
		p("  Page mode: every viewer keeps up (≥%.0f%%, none lost) and joins in < %s: %s",
			targetDeliveredPct, targetPageJoin, passFail(r.Page2.pass()))
	}
}

func (r report) ttffMax() time.Duration {
	var m time.Duration
	for _, t := range r.TTFF {
		m = max(m, t.Total)
	}
	return m
}

func durations(ds []time.Duration) []string {
	out := make([]string, len(ds))
	for i, d := range ds {
		out[i] = d.Round(time.Millisecond).String()
	}
	return out
}

func passFail(ok bool) string {
	if ok {
		return "PASS"
	}
	return "FAIL"
}

func dropNote(n int) string {
	if n == 0 {
		return ""
	}
	return fmt.Sprintf(", %d viewers disconnected", n)
}

// mib formats bytes as MiB, keeping the sign.
func mib(b int64) string {
	v := float64(b) / (1 << 20)
	if math.Abs(v) < 10 {
		return fmt.Sprintf("%.1f MiB", v)
	}
	return fmt.Sprintf("%.0f MiB", v)
}

// pssByKind lists the growth of Chromium's PSS per extra session by process kind,
// largest first; kinds that grew less than 0.5 MiB a session are left out.
func pssByKind(before, after usage, n int64) string {
	type kind struct {
		name  string
		bytes int64
	}
	var ks []kind
	for name, b := range after.ChromePSSByKind {
		if d := (b - before.ChromePSSByKind[name]) / n; d >= 512<<10 {
			ks = append(ks, kind{name, d})
		}
	}
	sort.Slice(ks, func(i, j int) bool { return ks[i].bytes > ks[j].bytes })
	parts := make([]string, len(ks))
	for i, k := range ks {
		parts[i] = k.name + " " + mib(k.bytes)
	}
	return strings.Join(parts, ", ")
}
