package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"runtime/pprof"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tandem-cobrowse/tandem/demo"
	"github.com/tandem-cobrowse/tandem/metrics"
	"github.com/tandem-cobrowse/tandem/renderer"
)

// Bounds of every wait; generous, because a loaded 2-core machine is slow, not broken.
const (
	firstFrameTimeout = 20 * time.Second
	controlTimeout    = 5 * time.Second
	sampleTimeout     = 5 * time.Second
	settle            = 2 * time.Second
	// stillFor is long enough still for a page's screencast to doze (renderer/doze.go).
	stillFor     = renderer.DozeAfter + 2*time.Second
	dialParallel = 8
)

// bench runs the measurements against one server.
type bench struct {
	o    options
	api  *api
	demo string // demo site base URL, ending in /
	say  func(format string, args ...any)
	// warmReady is how many tabs the server has ready for new sessions.
	warmReady func() int
	logger    *slog.Logger
	metrics   *metrics.Metrics // the server's collectors, read for the latency stages
}

func (b *bench) run(ctx context.Context) (report, error) {
	r := report{LoadStart: loadAverage(),
		Viewers: b.o.Viewers, Page: b.demo + b.o.Page, Samples: b.o.Samples, CPUs: runtime.NumCPU(),
		ExtraPage: b.demo + b.o.ExtraPage, Extra: b.o.ExtraSessions, Verbose: b.o.Verbose,
	}

	// First, on a server running no other session: the time is then Tandem's and the
	// page's own, not a share of a machine kept busy by the measured session.
	b.say("timing the first frame of %d fresh sessions", b.o.FreshSessions)
	r.WarmTabs = b.o.WarmTabs
	for i := range b.o.FreshSessions {
		// Sessions arrive one at a time, as they do: the pool is refilled between them.
		if err := b.waitWarm(ctx); err != nil {
			return r, err
		}
		t, err := b.firstFrame(ctx, r.Page, i)
		if err != nil {
			return r, err
		}
		r.TTFF = append(r.TTFF, t)
	}

	b.say("creating the measured session on %s", r.Page)
	// Fan-out is measured with the guests allowed to see masked content, so every viewer
	// shares the one unmasked picture; the masked phase below measures masking.
	sess, err := b.api.createWith(ctx, r.Page, map[string]any{"guest": map[string]any{"seeMasked": true}})
	if err != nil {
		return r, err
	}
	defer func() { _ = b.api.end(context.Background(), sess) }()

	hp := b.api.clientParams(sess, "host", "bench-host")
	pb := probe{X: float64(demo.ProbeX), Y: float64(demo.ProbeY), Size: float64(demo.ProbeSize)}
	hp.Probe = &pb
	host, err := dial(ctx, hp)
	if err != nil {
		return r, err
	}
	defer host.close()
	if err := host.waitFirstFrame(ctx, firstFrameTimeout); err != nil {
		return r, fmt.Errorf("host: %w", err)
	}

	b.say("connecting %d guest viewers", b.o.Viewers)
	viewers, err := b.connectViewers(ctx, sess, b.o.Viewers, "")
	if err != nil {
		return r, err
	}
	defer func() {
		for _, v := range viewers {
			v.close()
		}
	}()
	if err := ensureControl(ctx, host); err != nil {
		return r, err
	}
	if err := sleep(ctx, b.o.Warmup); err != nil {
		return r, err
	}

	b.say("measuring frames and CPU for %s", b.o.Duration)
	if err := b.window(ctx, host, viewers, &r); err != nil {
		return r, err
	}

	r.LoadMid = loadAverage()
	b.say("opening the same page in a Chromium of the bench's own, the latency baseline")
	direct, err := openDirect(ctx, b.o.Chromium, r.Page, b.logger)
	if err != nil {
		return r, err
	}
	b.say("timing %d inputs to the probe flip, each through Tandem and then straight through DevTools", b.o.Samples)
	before, serr := b.readStages()
	r.Latency, r.Direct, err = measureLatency(ctx, host, pb, b.o.Samples, b.o.Spacing, sampleTimeout, direct)
	if after, aerr := b.readStages(); serr == nil && aerr == nil {
		r.Stages = stages{Inject: after.Inject.since(before.Inject), Serve: after.Serve.since(before.Serve)}
	}
	direct.close()
	if err != nil {
		return r, err
	}

	if b.o.StillSamples > 0 {
		b.say("timing %d inputs on a still page, each after %s still", b.o.StillSamples, stillFor)
		if err := b.stillLatency(ctx, &r); err != nil {
			return r, err
		}
	}

	b.say("opening %d extra sessions on %s", b.o.ExtraSessions, r.ExtraPage)
	if err := b.extraSessions(ctx, &r); err != nil {
		return r, err
	}

	if b.o.Masked {
		// A session of its own, with the default rules (guests masked), after the first
		// one's viewers are gone, so both phases have the machine to themselves.
		for _, v := range viewers {
			v.close()
		}
		_ = b.api.end(context.Background(), sess)
		if r.Masked, err = b.maskedPhase(ctx, r.Page); err != nil {
			return r, err
		}
	}
	if b.o.PageViewers > 0 {
		if r.Page2, err = b.pagePhase(ctx, b.demo+b.o.PagePage); err != nil {
			return r, err
		}
	}
	r.LoadEnd = loadAverage()
	return r, nil
}

// maskedPhase runs a session on page with the default rules: the host sees the page
// unmasked, the guests see it masked.
func (b *bench) maskedPhase(ctx context.Context, page string) (maskedResult, error) {
	b.say("creating a session with masked guests on %s", page)
	sess, err := b.api.create(ctx, page)
	if err != nil {
		return maskedResult{}, err
	}
	defer func() { _ = b.api.end(context.Background(), sess) }()
	host, err := dial(ctx, b.api.clientParams(sess, "host", "bench-host-masked"))
	if err != nil {
		return maskedResult{}, err
	}
	defer host.close()
	if err := host.waitFirstFrame(ctx, firstFrameTimeout); err != nil {
		return maskedResult{}, fmt.Errorf("masked host: %w", err)
	}
	viewers, err := b.connectViewers(ctx, sess, b.o.Viewers, "")
	if err != nil {
		return maskedResult{}, err
	}
	defer func() {
		for _, v := range viewers {
			v.close()
		}
	}()
	if err := sleep(ctx, b.o.Warmup); err != nil {
		return maskedResult{}, err
	}
	b.say("measuring the masked and unmasked audiences for %s", b.o.Duration)
	return b.maskedWindow(ctx, host, viewers, b.o.Duration)
}

// connectViewers dials n guests a few at a time and waits until each has its first
// frame, or in Page mode (mode "dom") its first snapshot.
func (b *bench) connectViewers(ctx context.Context, sess session, n int, mode string) ([]*client, error) {
	viewers := make([]*client, n)
	errs := make([]error, n)
	sem := make(chan struct{}, dialParallel)
	var wg sync.WaitGroup
	for i := range viewers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			p := b.api.clientParams(sess, "guest", fmt.Sprintf("bench-%s%d", mode, i+1))
			p.Mode = mode
			c, err := dial(ctx, p)
			if err != nil {
				errs[i] = err
				return
			}
			viewers[i] = c
			if mode == "dom" {
				errs[i] = c.waitFirstSnapshot(ctx, firstFrameTimeout)
			} else {
				errs[i] = c.waitFirstFrame(ctx, firstFrameTimeout)
			}
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err == nil {
			continue
		}
		for _, c := range viewers {
			if c != nil {
				c.close()
			}
		}
		return nil, fmt.Errorf("viewer %d of %d: %w", i+1, len(viewers), err)
	}
	return viewers, nil
}

// ensureControl checks that the host holds control, asking for it once if not.
func ensureControl(ctx context.Context, host *client) error {
	if waitFor(ctx, controlTimeout, host.holdsControl) {
		return nil
	}
	if err := host.send(map[string]any{"type": "control", "action": "request"}); err != nil {
		return fmt.Errorf("%w: request control: %v", ErrNoControl, err)
	}
	if waitFor(ctx, controlTimeout, host.holdsControl) {
		return nil
	}
	return fmt.Errorf("%w: not the controller %s after joining and a request; server notices: %v",
		ErrNoControl, 2*controlTimeout, host.recentNotices())
}

// window measures frame rates, CPU and memory over the options' duration.
func (b *bench) window(ctx context.Context, host *client, viewers []*client, r *report) error {
	u0, err := measure()
	if err != nil {
		return err
	}
	if b.o.CPUProfile != "" {
		stop, err := startCPUProfile(b.o.CPUProfile)
		if err != nil {
			return err
		}
		defer stop()
	}
	t0 := time.Now()
	h0 := host.snapshot()
	v0 := make([]frameStats, len(viewers))
	for i, v := range viewers {
		v0[i] = v.snapshot()
	}
	if err := sleep(ctx, b.o.Duration); err != nil {
		return err
	}
	h1 := host.snapshot()
	v1 := make([]frameStats, len(viewers))
	for i, v := range viewers {
		v1[i] = v.snapshot()
	}
	elapsed := time.Since(t0)
	u1, err := measure()
	if err != nil {
		return err
	}

	if !host.alive() {
		return fmt.Errorf("host during the window: %w", host.err)
	}
	if h1.LastSeq <= h0.LastSeq {
		return fmt.Errorf("%w: the host saw no new frame in %s (seq %d → %d); is %s animating?",
			ErrNoFrame, b.o.Duration, h0.LastSeq, h1.LastSeq, r.Page)
	}
	// Rates share one interval, so produced and delivered compare like for like.
	r.Window = elapsed
	r.SeqFrom, r.SeqTo = h0.LastSeq, h1.LastSeq
	r.Produced = float64(h1.LastSeq-h0.LastSeq) / elapsed.Seconds()
	if n := h1.Count - h0.Count; n > 0 {
		r.FrameBytes = float64(h1.Bytes-h0.Bytes) / float64(n)
	}

	var ageSum time.Duration
	var ageN int64
	for i, v := range viewers {
		got := v1[i].Count - v0[i].Count
		r.ViewerRates = append(r.ViewerRates, float64(got)/elapsed.Seconds())
		// Against the frames produced between this viewer's own two snapshot frames, so
		// the share is exact per viewer and independent of clocks.
		pct := 0.0
		if produced := v1[i].LastSeq - v0[i].LastSeq; produced > 0 {
			pct = 100 * float64(got) / float64(produced)
		}
		r.ViewerPcts = append(r.ViewerPcts, pct)
		if n := v1[i].AgeN - v0[i].AgeN; n > 0 {
			age := (v1[i].AgeSum - v0[i].AgeSum) / time.Duration(n)
			r.WorstAge = max(r.WorstAge, age)
			ageSum += v1[i].AgeSum - v0[i].AgeSum
			ageN += n
		}
		if !v.alive() {
			r.Dropped++
			if r.DropErr == "" {
				r.DropErr = v.err.Error()
			}
		}
	}
	if ageN > 0 {
		r.MeanAge = ageSum / time.Duration(ageN)
	}
	cpuSpan := u1.At.Sub(u0.At).Seconds()
	r.ServerCPU = 100 * (u1.SelfCPU - u0.SelfCPU).Seconds() / cpuSpan
	r.ChromeCPU = 100 * (u1.ChromeCPU - u0.ChromeCPU).Seconds() / cpuSpan
	r.Usage = u1
	return nil
}

// readStages reads the server's histograms of Tandem's part of an input's way: mouse
// input to Chromium, and frames from Chromium to the writers.
func (b *bench) readStages() (stages, error) {
	in, err := readHistogram(b.metrics.InputInject.WithLabelValues("mouse").(prometheus.Metric))
	if err != nil {
		return stages{}, err
	}
	out, err := readHistogram(b.metrics.FrameServe)
	return stages{Inject: in, Serve: out}, err
}

// waitWarm waits until the server's warm tabs are all ready again.
func (b *bench) waitWarm(ctx context.Context) error {
	deadline := time.Now().Add(firstFrameTimeout)
	for b.warmReady() < b.o.WarmTabs {
		if time.Now().After(deadline) {
			return fmt.Errorf("%w: %d of %d warm tabs ready after %s", ErrServer, b.warmReady(), b.o.WarmTabs, firstFrameTimeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
	return nil
}

// firstFrame creates a session and times POST-sent to the host's first frame.
func (b *bench) firstFrame(ctx context.Context, page string, i int) (ttff, error) {
	t0 := time.Now()
	s, err := b.api.create(ctx, page)
	if err != nil {
		return ttff{}, fmt.Errorf("fresh session %d: %w", i+1, err)
	}
	defer func() { _ = b.api.end(context.Background(), s) }()
	post := time.Since(t0)
	c, err := dial(ctx, b.api.clientParams(s, "host", fmt.Sprintf("bench-fresh-%d", i+1)))
	if err != nil {
		return ttff{}, fmt.Errorf("fresh session %d: %w", i+1, err)
	}
	defer c.close()
	if err := c.waitFirstFrame(ctx, firstFrameTimeout); err != nil {
		return ttff{}, fmt.Errorf("fresh session %d: %w", i+1, err)
	}
	return ttff{Total: c.snapshot().FirstAt.Sub(t0), Post: post}, nil
}

// stillLatency times input on a page that is still but for the input (measureStillLatency).
func (b *bench) stillLatency(ctx context.Context, r *report) error {
	sess, err := b.api.create(ctx, b.demo+"animated?paused")
	if err != nil {
		return err
	}
	defer func() { _ = b.api.end(context.Background(), sess) }()
	hp := b.api.clientParams(sess, "host", "bench-still-host")
	pb := probe{X: float64(demo.ProbeX), Y: float64(demo.ProbeY), Size: float64(demo.ProbeSize)}
	hp.Probe = &pb
	host, err := dial(ctx, hp)
	if err != nil {
		return err
	}
	defer host.close()
	if err := host.waitFirstFrame(ctx, firstFrameTimeout); err != nil {
		return fmt.Errorf("still page host: %w", err)
	}
	if err := ensureControl(ctx, host); err != nil {
		return err
	}
	r.StillDozing, r.StillAwake, err = measureStillLatency(ctx, host, pb, b.o.StillSamples,
		stillFor, b.o.Spacing, sampleTimeout)
	return err
}

// extraSessions measures the memory that each further session costs.
func (b *bench) extraSessions(ctx context.Context, r *report) error {
	// Let the fresh sessions' renderer processes go before the baseline.
	if err := sleep(ctx, settle); err != nil {
		return err
	}
	before, err := measure()
	if err != nil {
		return err
	}
	var clients []*client
	var sessions []session
	defer func() {
		for _, c := range clients {
			c.close()
		}
		for _, s := range sessions {
			_ = b.api.end(context.Background(), s)
		}
	}()
	for i := range b.o.ExtraSessions {
		s, err := b.api.create(ctx, r.ExtraPage)
		if err != nil {
			return fmt.Errorf("extra session %d: %w", i+1, err)
		}
		sessions = append(sessions, s)
		c, err := dial(ctx, b.api.clientParams(s, "host", fmt.Sprintf("bench-extra-%d", i+1)))
		if err != nil {
			return fmt.Errorf("extra session %d: %w", i+1, err)
		}
		clients = append(clients, c)
		if err := c.waitFirstFrame(ctx, firstFrameTimeout); err != nil {
			return fmt.Errorf("extra session %d: %w", i+1, err)
		}
	}
	if err := sleep(ctx, settle); err != nil {
		return err
	}
	active, err := measure()
	if err != nil {
		return err
	}
	// A page that stays still has its screencast doze (renderer/doze.go): measure again
	// once it has.
	if err := sleep(ctx, stillFor); err != nil {
		return err
	}
	still, err := measure()
	if err != nil {
		return err
	}
	r.Before, r.Active, r.After = before, active, still
	return nil
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// waitFor polls cond until it holds or timeout passes.
func waitFor(ctx context.Context, timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) || sleep(ctx, 20*time.Millisecond) != nil {
			return cond()
		}
	}
}

// startCPUProfile profiles the whole process (server and bench clients) into path until
// the returned stop is called.
func startCPUProfile(path string) (stop func(), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}
