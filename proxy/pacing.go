package proxy

import (
	"time"

	"github.com/tandem-cobrowse/tandem/renderer"
)

// Fan-out pacing. Every viewer has a newest-wins frame slot: a viewer whose writer is
// still busy with one frame when the next comes skips the older. One slow viewer skips
// alone. But when most of a big audience skips, the server itself cannot write frames as
// fast as Chromium paints them, and every viewer gets an uneven stream with a random
// tenth of the frames missing. Then the session serves fewer frames, evenly spaced,
// that everyone gets: the served rate follows what the server can write, and comes back
// up when it can write more.
const (
	// pacingFrom is the smallest audience whose skips pace the session: below it a
	// viewer on a slow network would slow everyone.
	pacingFrom = 50
	// paceWindow is how often the skips are judged.
	paceWindow = 500 * time.Millisecond
	// paceTooMany and paceFew are the shares of skipped deliveries above which the
	// interval grows and below which it shrinks.
	paceTooMany = 0.015
	paceFew     = 0.004
	// paceFastest is the interval below which frames go unpaced (60 fps); paceSlowest
	// the longest interval pacing sets (5 fps).
	paceFastest = time.Second / 60
	paceSlowest = time.Second / 5
)

// pacer is owned by the session goroutine.
type pacer struct {
	interval   time.Duration // shortest time between served frames; 0 = every frame
	lastServed time.Time
	pending    *renderer.Frame // the newest frame held back
	timer      *time.Timer     // serves pending at lastServed+interval
	// deliveries and skips are counted over the current window.
	windowFrom        time.Time
	deliveries, skips int
	largest           int // the largest audience one frame went to in the window
}

// hold reports whether f must wait for the interval; if so it is kept, replacing an older
// held frame, and the timer is armed.
func (p *pacer) hold(f renderer.Frame, now time.Time) bool {
	if p.interval == 0 || now.Sub(p.lastServed) >= p.interval {
		return false
	}
	p.pending = &f
	if p.timer == nil {
		p.timer = time.NewTimer(p.lastServed.Add(p.interval).Sub(now))
	}
	return true
}

// due is the timer's channel, nil when nothing is held.
func (p *pacer) due() <-chan time.Time {
	if p.timer == nil {
		return nil
	}
	return p.timer.C
}

// release hands back the held frame once the timer fired.
func (p *pacer) release() *renderer.Frame {
	p.timer = nil
	f := p.pending
	p.pending = nil
	return f
}

// served notes that a frame went to n viewers, skipped of whom replaced a frame not
// yet written.
func (p *pacer) served(now time.Time, n, skipped int) {
	p.lastServed = now
	p.deliveries += n
	p.skips += skipped
	p.largest = max(p.largest, n)
}

// reported adds what another node's viewers of the session did with the frames relayed
// to them: they pace the session like its own viewers.
func (p *pacer) reported(deliveries, skipped, largest int) {
	p.deliveries += deliveries
	p.skips += skipped
	p.largest = max(p.largest, largest)
}

// adapt judges the window that ended: the interval grows when a big audience skipped
// often, and shrinks back when it hardly did.
func (p *pacer) adapt(now time.Time) {
	if now.Sub(p.windowFrom) < paceWindow {
		return
	}
	share := 0.0
	if p.deliveries > 0 {
		share = float64(p.skips) / float64(p.deliveries)
	}
	switch {
	case p.largest >= pacingFrom && share > paceTooMany:
		p.interval = min(max(p.interval*11/10, paceFastest), paceSlowest)
	case share < paceFew || p.largest < pacingFrom:
		p.interval = p.interval * 9 / 10
		if p.interval < paceFastest {
			p.interval = 0
		}
	}
	p.windowFrom, p.deliveries, p.skips, p.largest = now, 0, 0, 0
}

// stop forgets a held frame.
func (p *pacer) stop() {
	if p.timer != nil {
		p.timer.Stop()
		p.timer = nil
	}
	p.pending = nil
}
