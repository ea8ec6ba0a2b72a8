package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/tandem-cobrowse/tandem/mask"
)

// targetMaskedPct: the masked audience receives at least this share of the frames the
// unmasked one does.
const targetMaskedPct = 90.0

// maskedResult compares the two audiences of the measured session: the host (sees masked
// content) and the guests (see masked elements as blocks; the demo's /animated page has
// a data-tandem-mask element, masked by default).
type maskedResult struct {
	Ran        bool
	Window     time.Duration
	HostRate   float64   // frames per second the host received
	GuestRates []float64 // frames per second each guest received
	Paint      mask.Stats
}

func (m maskedResult) guestMedian() float64 { return median(m.GuestRates) }

// pct is the median guest's rate as a share of the host's.
func (m maskedResult) pct() float64 {
	if m.HostRate == 0 {
		return 0
	}
	return 100 * m.guestMedian() / m.HostRate
}

func (m maskedResult) painting() bool { return m.Paint.Painted+m.Paint.Untouched > 0 }

func (m maskedResult) pass() bool { return !m.Ran || (m.painting() && m.pct() >= targetMaskedPct) }

// maskedWindow counts the frames each audience receives over d, and the time the
// server spent painting them. The server runs in this process, so mask's counters are
// the server's.
func (b *bench) maskedWindow(ctx context.Context, host *client, viewers []*client, d time.Duration) (maskedResult, error) {
	m := maskedResult{Ran: true}
	p0 := mask.ReadStats()
	t0 := time.Now()
	h0 := host.snapshot()
	v0 := make([]frameStats, len(viewers))
	for i, v := range viewers {
		v0[i] = v.snapshot()
	}
	if err := sleep(ctx, d); err != nil {
		return m, err
	}
	h1 := host.snapshot()
	m.Window = time.Since(t0)
	for i, v := range viewers {
		m.GuestRates = append(m.GuestRates, float64(v.snapshot().Count-v0[i].Count)/m.Window.Seconds())
	}
	m.HostRate = float64(h1.Count-h0.Count) / m.Window.Seconds()
	m.Paint = mask.ReadStats().Sub(p0)
	return m, nil
}

func (m maskedResult) print(w io.Writer) {
	if !m.Ran {
		return
	}
	p := func(format string, args ...any) { fmt.Fprintf(w, format+"\n", args...) }
	p("7. Masked audience:              host (unmasked) %.1f /s; guests (masked) median %.1f /s, min %.1f /s = %.1f%% of the host",
		m.HostRate, m.guestMedian(), slices.Min(m.GuestRates), m.pct())
	if !m.painting() {
		p("   0 masked frames: the server did not call mask.Paint in %s, so guests got unmasked", m.Window.Round(time.Millisecond))
		p("   or withheld frames; per-audience masking is not wired into the session yet")
		return
	}
	per := time.Duration(0)
	if m.Paint.Painted > 0 {
		per = m.Paint.Time / time.Duration(m.Paint.Painted)
	}
	p("   painting ("+mask.Codec+"): %d frames painted, %d passed through (no box in view) in %s;", m.Paint.Painted, m.Paint.Untouched,
		m.Window.Round(time.Millisecond))
	p("   server CPU %s per painted frame (decode, paint, encode; once per audience, shared by its viewers)",
		per.Round(10*time.Microsecond))
}

func (m maskedResult) printTarget(w io.Writer) {
	if !m.Ran {
		return
	}
	note := ""
	if !m.painting() {
		note = "; 0 masked frames, masking not integrated"
	}
	fmt.Fprintf(w, "  masked audience receives ≥%.0f%% of the unmasked audience's frames: %s (%.1f%%%s)\n",
		targetMaskedPct, passFail(m.pass() && m.painting()), m.pct(), note)
}
