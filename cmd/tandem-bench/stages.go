package main

import (
	"fmt"
	"math"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// histogram is a reading of a Prometheus histogram: cumulative counts at upper bounds.
type histogram struct {
	count  uint64
	sum    float64
	bounds []float64
	cum    []uint64
}

func readHistogram(m prometheus.Metric) (histogram, error) {
	var d dto.Metric
	if err := m.Write(&d); err != nil {
		return histogram{}, fmt.Errorf("reading %s: %w", m.Desc(), err)
	}
	h := d.GetHistogram()
	out := histogram{count: h.GetSampleCount(), sum: h.GetSampleSum()}
	for _, b := range h.GetBucket() {
		out.bounds = append(out.bounds, b.GetUpperBound())
		out.cum = append(out.cum, b.GetCumulativeCount())
	}
	return out, nil
}

// since is what was observed between an earlier reading and this one.
func (h histogram) since(earlier histogram) histogram {
	d := histogram{count: h.count - earlier.count, sum: h.sum - earlier.sum, bounds: h.bounds}
	for i := range h.cum {
		var e uint64
		if i < len(earlier.cum) {
			e = earlier.cum[i]
		}
		d.cum = append(d.cum, h.cum[i]-e)
	}
	return d
}

// quantile estimates quantile q (0..1) by linear interpolation inside its bucket.
func (h histogram) quantile(q float64) time.Duration {
	if h.count == 0 {
		return 0
	}
	rank := q * float64(h.count)
	lo, prev := 0.0, uint64(0)
	for i, c := range h.cum {
		if float64(c) >= rank {
			hi := h.bounds[i]
			if c == prev {
				return seconds(hi)
			}
			return seconds(lo + (hi-lo)*(rank-float64(prev))/float64(c-prev))
		}
		lo, prev = h.bounds[i], c
	}
	return seconds(lo) // beyond the last bound
}

func (h histogram) mean() time.Duration {
	if h.count == 0 {
		return 0
	}
	return seconds(h.sum / float64(h.count))
}

func seconds(s float64) time.Duration {
	if math.IsInf(s, 0) || math.IsNaN(s) {
		return 0
	}
	return time.Duration(s * float64(time.Second))
}

// stages are Tandem's own parts of an input's way to the screen, from the server's
// histograms over the latency samples.
type stages struct {
	Inject, Serve histogram
}
