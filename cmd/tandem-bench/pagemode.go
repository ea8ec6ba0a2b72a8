package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"time"
)

// targetPageJoin is the time a Page-mode viewer may take from dialling to its first
// snapshot on a session that already has viewers.
const targetPageJoin = 500 * time.Millisecond

// patchKey names one Page-mode patch: its snapshot's generation and its number.
type patchKey struct{ Gen, Seq int64 }

// domStats is what a client has seen of the Page-mode stream. It is guarded by the
// client's mu.
type domStats struct {
	Snapshots int64
	Patches   int64
	Bytes     int64
	Gaps      int64 // patches that did not follow the one before
	last      patchKey
	recording bool
	arrivals  map[patchKey]time.Time // while recording: when each patch was read
}

func (d *domStats) add(m serverMsg, size int, at time.Time) {
	d.Bytes += int64(size)
	switch m.Kind {
	case "snapshot":
		d.Snapshots++
		d.last = patchKey{m.Gen, 0}
	case "patch":
		d.Patches++
		k := patchKey{m.Gen, m.Seq}
		if d.last.Gen == k.Gen && k.Seq != d.last.Seq+1 {
			d.Gaps++
		}
		d.last = k
		if d.recording {
			d.arrivals[k] = at
		}
	}
}

// record starts or stops keeping each patch's arrival time and returns the stats so far.
func (c *client) record(on bool) domStats {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.dom.recording = on
	if on {
		c.dom.arrivals = map[patchKey]time.Time{}
	}
	s := c.dom
	return s
}

// waitFirstSnapshot waits for the first Page-mode snapshot.
func (c *client) waitFirstSnapshot(ctx context.Context, timeout time.Duration) error {
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-c.domFirst:
		return nil
	case <-c.done:
		return c.err
	case <-t.C:
		return fmt.Errorf("%w: %s waited %s for a Page-mode snapshot", ErrNoFrame, c.p.Name, timeout)
	case <-ctx.Done():
		return ctx.Err()
	}
}

// pageResult is the Page-mode phase: many viewers of one page as a DOM.
type pageResult struct {
	Viewers       int
	Page          string
	Window        time.Duration
	Produced      float64   // patches per second, as the host received them
	ViewerPcts    []float64 // % of the host's patches each viewer received
	Gaps          int64     // patches that arrived out of order, over all viewers
	BytesPerSec   []float64 // per viewer
	Spread        []time.Duration
	Dropped       int
	DropErr       string
	ServerCPU     float64 // % of one core
	CPUPerPatch   time.Duration
	CPUPerViewer  time.Duration // per patch and viewer
	Joins         []time.Duration
	MaskedViewers int
}

func (r pageResult) ran() bool { return r.Viewers > 0 }

func (r pageResult) joinMedian() time.Duration {
	xs := make([]float64, len(r.Joins))
	for i, j := range r.Joins {
		xs[i] = float64(j)
	}
	return time.Duration(median(xs))
}

func (r pageResult) pass() bool {
	return !r.ran() || (r.Dropped == 0 && r.Gaps == 0 && slices.Min(r.ViewerPcts) >= targetDeliveredPct &&
		r.joinMedian() < targetPageJoin)
}

// pagePhase runs a session on page whose host and guests all view it in Page mode.
// Guests are masked (the default rules) and the host is not, so two audiences are built.
func (b *bench) pagePhase(ctx context.Context, page string) (pageResult, error) {
	r := pageResult{Viewers: b.o.PageViewers, Page: page}
	b.say("creating a session for %d Page-mode viewers on %s", r.Viewers, page)
	sess, err := b.api.create(ctx, page)
	if err != nil {
		return r, err
	}
	defer func() { _ = b.api.end(context.Background(), sess) }()
	hp := b.api.clientParams(sess, "host", "bench-page-host")
	hp.Mode = "dom"
	host, err := dial(ctx, hp)
	if err != nil {
		return r, err
	}
	defer host.close()
	if err := host.waitFirstSnapshot(ctx, firstFrameTimeout); err != nil {
		return r, fmt.Errorf("page host: %w", err)
	}
	viewers, err := b.connectViewers(ctx, sess, r.Viewers, "dom")
	if err != nil {
		return r, fmt.Errorf("page mode: %w", err)
	}
	defer func() {
		for _, v := range viewers {
			v.close()
		}
	}()
	if err := sleep(ctx, b.o.Warmup); err != nil {
		return r, err
	}

	b.say("measuring %d Page-mode viewers for %s", r.Viewers, b.o.Duration)
	u0, err := measure()
	if err != nil {
		return r, err
	}
	t0 := time.Now()
	h0 := host.record(true)
	v0 := make([]domStats, len(viewers))
	for i, v := range viewers {
		v0[i] = v.record(true)
	}
	if err := sleep(ctx, b.o.Duration); err != nil {
		return r, err
	}
	h1 := host.record(false)
	v1 := make([]domStats, len(viewers))
	for i, v := range viewers {
		v1[i] = v.record(false)
	}
	r.Window = time.Since(t0)
	u1, err := measure()
	if err != nil {
		return r, err
	}
	produced := h1.Patches - h0.Patches
	if produced == 0 {
		return r, fmt.Errorf("%w: the host got no Page-mode change in %s; does %s change?", ErrNoFrame, b.o.Duration, page)
	}
	r.Produced = float64(produced) / r.Window.Seconds()
	for i, v := range viewers {
		got := v1[i].Patches - v0[i].Patches
		r.ViewerPcts = append(r.ViewerPcts, 100*float64(got)/float64(produced))
		r.BytesPerSec = append(r.BytesPerSec, float64(v1[i].Bytes-v0[i].Bytes)/r.Window.Seconds())
		r.Gaps += v1[i].Gaps - v0[i].Gaps
		if !v.alive() {
			r.Dropped++
			if r.DropErr == "" {
				r.DropErr = v.err.Error()
			}
		}
	}
	// Fan-out spread: from the host reading a patch to the last viewer reading it. The
	// host is served first, so this is how far behind the slowest viewer runs.
	for k, at := range h1.arrivals {
		last := at
		complete := true
		for i := range viewers {
			vat, ok := v1[i].arrivals[k]
			if !ok {
				complete = false
				break
			}
			if vat.After(last) {
				last = vat
			}
		}
		if complete {
			r.Spread = append(r.Spread, last.Sub(at))
		}
	}
	slices.Sort(r.Spread)
	span := u1.At.Sub(u0.At)
	cpu := u1.SelfCPU - u0.SelfCPU
	r.ServerCPU = 100 * cpu.Seconds() / span.Seconds()
	r.CPUPerPatch = cpu / time.Duration(produced)
	r.CPUPerViewer = cpu / time.Duration(produced*int64(r.Viewers+1))

	b.say("timing %d Page-mode joins beside %d viewers", b.o.FreshSessions, r.Viewers)
	for i := range b.o.FreshSessions {
		p := b.api.clientParams(sess, "guest", fmt.Sprintf("bench-page-join-%d", i+1))
		p.Mode = "dom"
		t := time.Now()
		c, err := dial(ctx, p)
		if err != nil {
			return r, err
		}
		err = c.waitFirstSnapshot(ctx, firstFrameTimeout)
		r.Joins = append(r.Joins, time.Since(t))
		c.close()
		if err != nil {
			return r, fmt.Errorf("page join %d: %w", i+1, err)
		}
	}
	return r, nil
}

func (r pageResult) print(w io.Writer) {
	if !r.ran() {
		return
	}
	p := func(format string, args ...any) { fmt.Fprintf(w, format+"\n", args...) }
	pct := func(ok bool) string {
		if ok {
			return "PASS"
		}
		return "MISS"
	}
	p("")
	p("Page mode: %d guest viewers + 1 host on %s, window %s", r.Viewers, r.Page, r.Window.Round(time.Millisecond))
	p("  changes produced:   %.1f patches/s (as the host received them)", r.Produced)
	p("  delivered/viewer:   min %.1f%%, median %.1f%%; patches out of order: %d; viewers dropped: %d %s  [%s ≥ %.0f%%, none lost]",
		slices.Min(r.ViewerPcts), median(r.ViewerPcts), r.Gaps, r.Dropped, r.DropErr,
		pct(r.Dropped == 0 && r.Gaps == 0 && slices.Min(r.ViewerPcts) >= targetDeliveredPct), targetDeliveredPct)
	p("  bytes/s per viewer: median %.1f KB/s", median(r.BytesPerSec)/1000)
	if n := len(r.Spread); n > 0 {
		p("  host → last viewer: p50 %s, p95 %s, max %s over %d patches",
			r.Spread[n/2].Round(100*time.Microsecond), r.Spread[n*95/100].Round(100*time.Microsecond),
			r.Spread[n-1].Round(100*time.Microsecond), n)
	}
	p("  server CPU:         %.1f%% of one core; %s per patch, %s per patch per viewer",
		r.ServerCPU, r.CPUPerPatch.Round(time.Microsecond), r.CPUPerViewer.Round(100*time.Nanosecond))
	p("  join → snapshot:    median %s (%v)  [%s < %s]", r.joinMedian().Round(time.Millisecond), roundAll(r.Joins),
		pct(r.joinMedian() < targetPageJoin), targetPageJoin)
}

func roundAll(ds []time.Duration) []time.Duration {
	out := make([]time.Duration, len(ds))
	for i, d := range ds {
		out[i] = d.Round(time.Millisecond)
	}
	return out
}
