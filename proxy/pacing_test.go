package proxy

import (
	"testing"
	"time"

	"github.com/tandem-cobrowse/tandem/renderer"
)

// window feeds the pacer one window of frames to an audience of n of whom skipped skip
// each, and judges it.
func (p *pacer) window(t0 *time.Time, n, skipped int) {
	for range 10 {
		*t0 = t0.Add(paceWindow / 10)
		p.served(*t0, n, skipped)
	}
	*t0 = t0.Add(time.Millisecond)
	p.adapt(*t0)
}

// TestPacingFollowsWhatTheServerCanWrite: a big audience that skips often slows the served
// rate, down to a floor; one that stops skipping brings it back to every frame; a small
// audience never paces, however much it skips.
func TestPacingFollowsWhatTheServerCanWrite(t *testing.T) {
	now := time.Unix(1_000_000, 0)
	var p pacer
	p.adapt(now)

	p.window(&now, 20, 10) // half of a small audience skips: its own networks
	if p.interval != 0 {
		t.Fatalf("a small audience paced the session to %s", p.interval)
	}

	p.window(&now, 1000, 100) // a tenth of a big one skips: the server is the limit
	if p.interval != paceFastest {
		t.Fatalf("interval %s after a congested window, want %s", p.interval, paceFastest)
	}
	prev := p.interval
	p.window(&now, 1000, 100)
	if p.interval <= prev {
		t.Fatalf("interval %s after two congested windows, want above %s", p.interval, prev)
	}
	for range 50 {
		p.window(&now, 1000, 100)
	}
	if p.interval != paceSlowest {
		t.Fatalf("interval %s after long congestion, want the floor %s", p.interval, paceSlowest)
	}

	p.window(&now, 1000, 10) // 1%: neither congested nor clear; the interval holds
	if p.interval != paceSlowest {
		t.Fatalf("interval %s after an in-between window, want it held at %s", p.interval, paceSlowest)
	}
	for range 50 {
		p.window(&now, 1000, 0)
	}
	if p.interval != 0 {
		t.Fatalf("interval %s after a long clear spell, want every frame", p.interval)
	}
}

// TestPacingHoldsTheNewestFrame: within the interval a frame waits, a newer one replaces
// it, and the newest goes out when the interval has passed.
func TestPacingHoldsTheNewestFrame(t *testing.T) {
	now := time.Unix(1_000_000, 0)
	p := pacer{interval: 100 * time.Millisecond}
	if p.hold(renderer.Frame{Seq: 1}, now) {
		t.Fatal("the first frame was held")
	}
	p.served(now, 100, 0)
	if p.due() != nil {
		t.Fatal("a timer is armed with nothing held")
	}
	if !p.hold(renderer.Frame{Seq: 2}, now.Add(30*time.Millisecond)) || !p.hold(renderer.Frame{Seq: 3}, now.Add(60*time.Millisecond)) {
		t.Fatal("frames within the interval were not held")
	}
	select {
	case <-p.due():
	case <-time.After(10 * time.Second):
		t.Fatal("the held frame never came due")
	}
	f := p.release()
	if f == nil || f.Seq != 3 {
		t.Fatalf("released %v, want the newest held frame 3", f)
	}
	if p.hold(renderer.Frame{Seq: 4}, now.Add(200*time.Millisecond)) {
		t.Fatal("a frame after the interval was held")
	}
}
