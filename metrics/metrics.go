// Package metrics holds Tandem's Prometheus collectors, served at /metrics.
package metrics

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics are the server's collectors. A nil *Metrics is not valid; tests use New with a
// registry of their own.
type Metrics struct {
	Sessions           prometheus.Gauge
	Participants       *prometheus.GaugeVec   // by role
	FramesProduced     prometheus.Counter     // by Chromium, per session
	FramesDelivered    prometheus.Counter     // written to a viewer
	FramesSkipped      prometheus.Counter     // replaced in a slow viewer's slot before it was written
	FramesMasked       prometheus.Counter     // painted for a masked audience
	FramesWithheld     prometheus.Counter     // kept from a masked audience: boxes unknown
	MaskPaintSeconds   prometheus.Histogram   // time to paint and encode one audience's frame
	InputAccepted      *prometheus.CounterVec // by kind
	InputRefused       *prometheus.CounterVec // by reason
	EgressRefused      prometheus.Counter
	NavigationsBlocked prometheus.Counter
	CrashesRecovered   prometheus.Counter
	WarmTabTakes       *prometheus.CounterVec // session tabs, by how they came: warm|cold
	// Where an input's way to the screen goes, in Tandem's part: InputInject from the
	// message read to Chromium's answer to the dispatch, FrameServe from the frame's
	// arrival from Chromium to its hand-off to the viewers' writers.
	InputInject *prometheus.HistogramVec // by kind
	FrameServe  prometheus.Histogram

	gatherer prometheus.Gatherer
}

// New registers Tandem's collectors on reg. When reg is also a Gatherer (a
// *prometheus.Registry is), Handler serves it.
func New(reg prometheus.Registerer) *Metrics {
	f := func(c prometheus.Collector) { reg.MustRegister(c) }
	m := &Metrics{
		Sessions: prometheus.NewGauge(prometheus.GaugeOpts{Name: "tandem_sessions",
			Help: "Co-browse sessions running now."}),
		Participants: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "tandem_participants",
			Help: "Participants connected now, by role."}, []string{"role"}),
		FramesProduced: prometheus.NewCounter(prometheus.CounterOpts{Name: "tandem_frames_produced_total",
			Help: "Screencast frames produced by Chromium."}),
		FramesDelivered: prometheus.NewCounter(prometheus.CounterOpts{Name: "tandem_frames_delivered_total",
			Help: "Frames written to a viewer."}),
		FramesSkipped: prometheus.NewCounter(prometheus.CounterOpts{Name: "tandem_frames_skipped_total",
			Help: "Frames a slow viewer skipped because a newer frame replaced them."}),
		FramesMasked: prometheus.NewCounter(prometheus.CounterOpts{Name: "tandem_frames_masked_total",
			Help: "Frames painted over for a masked audience (once per audience, not per viewer)."}),
		FramesWithheld: prometheus.NewCounter(prometheus.CounterOpts{Name: "tandem_frames_withheld_total",
			Help: "Frames withheld from a masked audience because the mask boxes were not known."}),
		MaskPaintSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "tandem_mask_paint_seconds",
			Help: "Time to paint and encode one audience's masked frame.", Buckets: prometheus.ExponentialBuckets(0.0005, 2, 12)}),
		InputAccepted: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "tandem_input_events_accepted_total",
			Help: "Input events that passed the gate, by kind."}, []string{"kind"}),
		InputRefused: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "tandem_input_events_refused_total",
			Help: "Input events the gate refused, by reason."}, []string{"reason"}),
		EgressRefused: prometheus.NewCounter(prometheus.CounterOpts{Name: "tandem_egress_refused_total",
			Help: "Connections from Chromium refused by the egress policy."}),
		NavigationsBlocked: prometheus.NewCounter(prometheus.CounterOpts{Name: "tandem_navigations_blocked_total",
			Help: "Navigations refused by a session's navigation rules."}),
		CrashesRecovered: prometheus.NewCounter(prometheus.CounterOpts{Name: "tandem_crashes_recovered_total",
			Help: "Tabs that crashed or hung and were recovered."}),
		WarmTabTakes: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "tandem_session_tabs_total",
			Help: "Tabs opened for sessions, by whether one was ready (warm) or made when asked (cold)."}, []string{"source"}),
		InputInject: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "tandem_input_inject_seconds",
			Help:    "From a participant's input message read to Chromium's answer to its dispatch, by kind.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 2, 14)}, []string{"kind"}),
		FrameServe: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "tandem_frame_serve_seconds",
			Help:    "From a frame's arrival from Chromium to its hand-off to the viewers' writers.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 2, 14)}),
	}
	for _, c := range []prometheus.Collector{m.Sessions, m.Participants, m.FramesProduced, m.FramesDelivered,
		m.FramesSkipped, m.FramesMasked, m.FramesWithheld, m.MaskPaintSeconds, m.InputAccepted, m.InputRefused,
		m.EgressRefused, m.NavigationsBlocked, m.CrashesRecovered, m.WarmTabTakes, m.InputInject, m.FrameServe} {
		f(c)
	}
	if g, ok := reg.(prometheus.Gatherer); ok {
		m.gatherer = g
	}
	return m
}

// NewUnregistered returns collectors registered nowhere, for code that runs without a
// server (tests).
func NewUnregistered() *Metrics { return New(prometheus.NewRegistry()) }

// Handler serves the metrics in Prometheus' text format.
func (m *Metrics) Handler() http.Handler {
	if m.gatherer == nil {
		return http.NotFoundHandler()
	}
	return promhttp.HandlerFor(m.gatherer, promhttp.HandlerOpts{})
}
