package call

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
	"github.com/prometheus/client_golang/prometheus"
)

// A published track reaches each receiver through a down track of its own, so that one
// receiver whose link cannot carry a video is served without it while everyone else keeps
// theirs. The receivers' reports say how much of the video they lose: a receiver that
// loses more than lossyFraction in lossyReports reports in a row has its copy of that
// video paused (its audio goes on), and resumed after a back-off that doubles while the
// link stays lossy. A paused receiver's keyframe requests do not reach the publisher:
// every keyframe is a burst of bits for the others too.
const (
	lossyFraction = 0.10
	lossyReports  = 2
	pauseFirst    = 4 * time.Second
	pauseLongest  = 32 * time.Second
	// pauseForgotten: a receiver that has kept its video this long since the last
	// pause starts again from pauseFirst.
	pauseForgotten = 30 * time.Second
)

// downTrack is one receiver's copy of a published track.
type downTrack struct {
	to     string
	local  *webrtc.TrackLocalStaticRTP
	video  bool
	paused atomic.Bool
	// dropped counts the packets withheld while paused: later ones are numbered on
	// from the last one sent, so the receiver sees no gap to report or ask for.
	// Only the forwarding goroutine uses it.
	dropped uint16

	mu       sync.Mutex
	lossy    int           // reports in a row above lossyFraction
	backoff  time.Duration // of the next pause
	resumed  time.Time     // when the last pause ended
	timer    *time.Timer   // ends the current pause
	stopped  bool
	onChange func(paused bool)
	// pausedGauge counts the SFU's paused copies; nil counts nothing.
	pausedGauge prometheus.Gauge
}

// write sends pkt, numbered in this receiver's sequence, unless its copy is paused.
func (d *downTrack) write(pkt *rtp.Packet) error {
	if d.paused.Load() {
		d.dropped++
		return nil
	}
	seq := pkt.SequenceNumber
	pkt.SequenceNumber = seq - d.dropped
	err := d.local.WriteRTP(pkt)
	pkt.SequenceNumber = seq
	return err
}

// report takes a receiver report's loss for this track, and pauses the copy when the
// receiver's link keeps losing it.
func (d *downTrack) report(fractionLost uint8, now time.Time) {
	if !d.video || d.paused.Load() {
		return
	}
	d.mu.Lock()
	if float64(fractionLost)/256 <= lossyFraction {
		d.lossy = 0
		d.mu.Unlock()
		return
	}
	d.lossy++
	if d.lossy < lossyReports || d.stopped {
		d.mu.Unlock()
		return
	}
	d.lossy = 0
	if d.backoff == 0 || now.Sub(d.resumed) > pauseForgotten {
		d.backoff = pauseFirst
	}
	wait := d.backoff
	d.backoff = min(2*d.backoff, pauseLongest)
	d.paused.Store(true)
	d.gauge(1)
	d.timer = time.AfterFunc(wait, d.resume)
	onChange := d.onChange
	d.mu.Unlock()
	if onChange != nil {
		onChange(true)
	}
}

func (d *downTrack) resume() {
	d.mu.Lock()
	if d.stopped {
		d.mu.Unlock()
		return
	}
	d.resumed = time.Now()
	if d.paused.Swap(false) {
		d.gauge(-1)
	}
	onChange := d.onChange
	d.mu.Unlock()
	if onChange != nil {
		onChange(false)
	}
}

// stop ends the copy: no pause ends after it.
func (d *downTrack) stop() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.stopped = true
	if d.timer != nil {
		d.timer.Stop()
	}
	if d.paused.Swap(false) {
		d.gauge(-1)
	}
}

func (d *downTrack) gauge(delta float64) {
	if d.pausedGauge != nil {
		d.pausedGauge.Add(delta)
	}
}

// lossOf is the fraction lost that a receiver report gives for ssrc, and whether it
// gives one.
func lossOf(pkt rtcp.Packet, ssrc uint32) (uint8, bool) {
	rr, ok := pkt.(*rtcp.ReceiverReport)
	if !ok {
		return 0, false
	}
	for _, r := range rr.Reports {
		if r.SSRC == ssrc {
			return r.FractionLost, true
		}
	}
	return 0, false
}
