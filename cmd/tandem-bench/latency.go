package main

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// latencyResult is the outcome of the input-to-frame samples.
type latencyResult struct {
	Samples  []time.Duration // one per input whose flip was seen
	TimedOut int             // inputs whose flip never arrived within the timeout
	Unclear  int             // frames whose probe was neither black nor white
	Decoded  int             // frames decoded
	Skipped  int64           // frames the host read but could not queue for decoding
}

// observation is the probe's colour in one decoded frame.
type observation struct {
	Seq    int64
	At     time.Time // when the frame was fully read, before decoding
	Colour colour
}

// prober turns the host's queued frames into observations, in arrival order.
type prober struct {
	host *client
	p    probe
	res  *latencyResult
}

// next decodes the next queued frame, waiting until deadline for one.
func (pr *prober) next(ctx context.Context, deadline <-chan time.Time) (observation, error) {
	select {
	case f := <-pr.host.probes:
		col, err := probeColour(f.Hdr, f.JPEG, pr.p)
		pr.res.Decoded++
		if err != nil {
			return observation{}, err
		}
		if col == colourUnknown {
			pr.res.Unclear++
		}
		return observation{Seq: f.Hdr.Seq, At: f.At, Colour: col}, nil
	case <-pr.host.done:
		return observation{}, pr.host.err
	case <-deadline:
		return observation{}, ErrNoFrame
	case <-ctx.Done():
		return observation{}, ctx.Err()
	}
}

// drain forgets the frames queued so far.
func (pr *prober) drain() {
	for {
		select {
		case <-pr.host.probes:
		default:
			return
		}
	}
}

// measureLatency sends samples mousedown/up pairs from the host and times each to the
// first frame read showing the probe flipped. Samples start spacing apart. When direct is
// set, each is followed by the same input straight through DevTools, so both are measured
// side by side, under the same load.
func measureLatency(ctx context.Context, host *client, p probe, samples int, spacing, timeout time.Duration, direct *directTab) (latencyResult, latencyResult, error) {
	var res, dres latencyResult
	pr := &prober{host: host, p: p, res: &res}
	host.skipped.Store(0)
	host.probing.Store(true)
	defer func() {
		host.probing.Store(false)
		pr.drain()
	}()

	for i := range samples {
		start := time.Now()
		lat, err := pr.sample(ctx, host, timeout)
		switch {
		case errors.Is(err, ErrNoFrame):
			res.TimedOut++
		case err != nil:
			return res, dres, fmt.Errorf("sample %d: %w", i+1, err)
		default:
			res.Samples = append(res.Samples, lat)
		}
		if direct != nil {
			lat, err := direct.sample(ctx, p, timeout)
			switch {
			case errors.Is(err, ErrNoFrame):
				dres.TimedOut++
			case err != nil:
				return res, dres, fmt.Errorf("direct sample %d: %w", i+1, err)
			default:
				dres.Samples = append(dres.Samples, lat)
			}
		}
		if wait := spacing - time.Since(start); wait > 0 {
			if err := sleep(ctx, wait); err != nil {
				return res, dres, err
			}
		}
	}
	res.Skipped = host.skipped.Load()
	if len(res.Samples) == 0 {
		return res, dres, fmt.Errorf("%w: %d inputs sent, server notices: %v", ErrAllTimedOut, samples, host.recentNotices())
	}
	if direct != nil && len(dres.Samples) == 0 {
		return res, dres, fmt.Errorf("%w: %d direct inputs sent", ErrAllTimedOut, samples)
	}
	return res, dres, nil
}

// sample times one mousedown through Tandem to the first frame showing the probe flipped.
func (pr *prober) sample(ctx context.Context, host *client, timeout time.Duration) (time.Duration, error) {
	cur, err := pr.current(ctx, timeout)
	if err != nil {
		return 0, err
	}
	// Frames read before t0 show the page before the input whatever their colour;
	// waitFlip skips them by seq, so they need not be drained here.
	t0 := time.Now()
	if err := host.send(mouse("down", 1)); err != nil {
		return 0, fmt.Errorf("%w: mousedown: %v", ErrDisconnect, err)
	}
	lat, err := pr.waitFlip(ctx, cur, t0, timeout)
	if err := host.send(mouse("up", 0)); err != nil {
		return 0, fmt.Errorf("%w: mouseup: %v", ErrDisconnect, err)
	}
	return lat, err
}

// mouse is a left-button press or release at the middle of the picture.
func mouse(action string, buttons int) map[string]any {
	return map[string]any{"type": "mouse", "action": action, "x": 0.5, "y": 0.5,
		"button": "left", "buttons": buttons, "clickCount": 1, "modifiers": 0}
}

// current returns the probe as the newest frame shows it: it forgets the queued frames
// and decodes the next one read that is clearly black or white.
func (pr *prober) current(ctx context.Context, timeout time.Duration) (observation, error) {
	pr.drain()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		o, err := pr.next(ctx, deadline.C)
		if errors.Is(err, ErrNoFrame) {
			return o, fmt.Errorf("%w: no frame with a black or white probe within %s", ErrProbe, timeout)
		}
		if err != nil || o.Colour != colourUnknown {
			return o, err
		}
	}
}

// waitFlip waits for the first frame read after t0 whose probe shows the colour opposite
// to cur, and returns how long after t0 it was read.
func (pr *prober) waitFlip(ctx context.Context, cur observation, t0 time.Time, timeout time.Duration) (time.Duration, error) {
	want := cur.Colour.flipped()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		o, err := pr.next(ctx, deadline.C)
		if errors.Is(err, ErrNoFrame) {
			return 0, fmt.Errorf("%w: probe did not turn %s within %s", ErrNoFrame, want, timeout)
		}
		if err != nil {
			return 0, err
		}
		if o.Seq <= cur.Seq || !o.At.After(t0) {
			continue // shows the page from before the input
		}
		if o.Colour == want {
			return o.At.Sub(t0), nil
		}
	}
}

// measureStillLatency times inputs on a page that stays still unless pressed (its probe
// black at first), each after the page had been still for still: long enough for the
// screencast to doze (renderer/doze.go). Each is followed, spacing later, by one on the
// same page awake, for comparison.
func measureStillLatency(ctx context.Context, host *client, p probe, samples int, still, spacing, timeout time.Duration) (dozing, awake latencyResult, err error) {
	pr := &prober{host: host, p: p, res: &dozing}
	host.probing.Store(true)
	defer func() {
		host.probing.Store(false)
		pr.drain()
	}()
	// Nothing changes the page but these presses, so the probe's colour is known: no frame
	// comes to tell it.
	cur := observation{Colour: colourBlack}
	press := func(res *latencyResult) error {
		pr.res = res
		pr.drain()
		t0 := time.Now()
		if err := host.send(mouse("down", 1)); err != nil {
			return fmt.Errorf("%w: mousedown: %v", ErrDisconnect, err)
		}
		lat, err := pr.waitFlip(ctx, cur, t0, timeout)
		if err := host.send(mouse("up", 0)); err != nil {
			return fmt.Errorf("%w: mouseup: %v", ErrDisconnect, err)
		}
		switch {
		case errors.Is(err, ErrNoFrame):
			// The page may or may not have flipped: the colour is no longer known.
			return fmt.Errorf("%w: %v", ErrAllTimedOut, err)
		case err != nil:
			return err
		}
		res.Samples = append(res.Samples, lat)
		cur = observation{Colour: cur.Colour.flipped()}
		return nil
	}
	for i := range samples {
		if err := sleep(ctx, still); err != nil {
			return dozing, awake, err
		}
		if err := press(&dozing); err != nil {
			return dozing, awake, fmt.Errorf("still sample %d: %w", i+1, err)
		}
		if err := sleep(ctx, spacing); err != nil {
			return dozing, awake, err
		}
		if err := press(&awake); err != nil {
			return dozing, awake, fmt.Errorf("awake sample %d: %w", i+1, err)
		}
	}
	return dozing, awake, nil
}
