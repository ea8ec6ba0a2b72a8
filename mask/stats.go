package mask

import (
	"sync/atomic"
	"time"
)

// Counters of all painting in the process, for benchmarks and metrics.
var (
	paints    atomic.Uint64 // frames decoded, painted and encoded
	untouched atomic.Uint64 // frames returned as they were (no box in the picture)
	paintNs   atomic.Uint64 // time spent in Paint, both kinds
)

// Stats is a snapshot of the painting counters.
type Stats struct {
	Painted   uint64        // frames re-encoded with blocks
	Untouched uint64        // frames passed through unchanged
	Time      time.Duration // total time in Paint
}

// ReadStats returns the counters since the process started.
func ReadStats() Stats {
	return Stats{Painted: paints.Load(), Untouched: untouched.Load(), Time: time.Duration(paintNs.Load())}
}

// PerFrame is the mean time per Paint call.
func (s Stats) PerFrame() time.Duration {
	n := s.Painted + s.Untouched
	if n == 0 {
		return 0
	}
	return s.Time / time.Duration(n)
}

// Sub is the difference of two snapshots, s taken after old.
func (s Stats) Sub(old Stats) Stats {
	return Stats{Painted: s.Painted - old.Painted, Untouched: s.Untouched - old.Untouched, Time: s.Time - old.Time}
}
