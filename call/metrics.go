package call

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the SFU's figures: what it forwards, how long a packet spends in it, and
// how many receivers' copies of a video are paused.
type metrics struct {
	packets, bytes prometheus.Counter
	forward        prometheus.Histogram
	paused         prometheus.Gauge
}

func newMetrics(r prometheus.Registerer) *metrics {
	m := &metrics{
		packets: prometheus.NewCounter(prometheus.CounterOpts{Name: "tandem_call_packets_forwarded_total",
			Help: "RTP packets the SFU sent to receivers (one per receiver of each published packet)."}),
		bytes: prometheus.NewCounter(prometheus.CounterOpts{Name: "tandem_call_bytes_forwarded_total",
			Help: "RTP payload and header bytes the SFU sent to receivers."}),
		forward: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "tandem_call_forward_seconds",
			Help:    "From a published packet read by the SFU to its copies handed to every receiver's connection (encrypted and sent).",
			Buckets: []float64{.00002, .00005, .0001, .0002, .0005, .001, .002, .005, .01, .05}}),
		paused: prometheus.NewGauge(prometheus.GaugeOpts{Name: "tandem_call_paused_videos",
			Help: "Receivers' copies of a video paused because their link kept losing it."}),
	}
	if r != nil {
		r.MustRegister(m.packets, m.bytes, m.forward, m.paused)
	}
	return m
}

// forwarded notes one published packet of size bytes handed to n receivers, since read.
func (m *metrics) forwarded(n, size int, since time.Time) {
	if n == 0 {
		return
	}
	m.packets.Add(float64(n))
	m.bytes.Add(float64(n * size))
	m.forward.Observe(time.Since(since).Seconds())
}
