package main

import (
	"bytes"
	"context"
	"fmt"
	"image/jpeg"
	"log/slog"
	"os"
	"time"

	"github.com/tandem-cobrowse/tandem/renderer"
)

// directTab is the baseline of the input-to-frame latency: the same page in a tab of a
// Chromium of the bench's own, driven and watched straight through DevTools (input
// dispatched, screencast frames read), with no Tandem between. Tandem's overhead is its
// latency minus this one, measured in the same run on the same machine.
type directTab struct {
	browser *renderer.Browser
	tab     *renderer.Tab
}

func openDirect(ctx context.Context, chromium, pageURL string, logger *slog.Logger) (*directTab, error) {
	b, err := renderer.Start(ctx, renderer.Config{
		ExecPath: chromium, NoSandbox: os.Geteuid() == 0, JPEGQuality: 80, Logger: logger,
		DozeAfter: -1, // the reference is Chromium's own screencast, always at full size
	})
	if err != nil {
		return nil, fmt.Errorf("%w: direct Chromium: %v", ErrServer, err)
	}
	tab, err := b.NewTab(ctx, renderer.Viewport{Width: 1280, Height: 800, DPR: 1})
	if err != nil {
		b.Close()
		return nil, fmt.Errorf("%w: direct tab: %v", ErrServer, err)
	}
	if err := tab.Navigate(ctx, pageURL); err != nil {
		b.Close()
		return nil, fmt.Errorf("%w: direct tab: %v", ErrServer, err)
	}
	return &directTab{browser: b, tab: tab}, nil
}

func (d *directTab) close() { _ = d.browser.Close() }

// colourOf reads the probe in one frame.
func (d *directTab) colourOf(f renderer.Frame, p probe) (colour, error) {
	img, err := jpeg.Decode(bytes.NewReader(f.JPEG))
	if err != nil {
		return colourUnknown, fmt.Errorf("%w: decode JPEG: %v", ErrBadFrame, err)
	}
	return probeColourImage(frameHeader{Width: f.Width, Height: f.Height}, img, p)
}

// next waits for the tab's next frame, noting when it was read.
func (d *directTab) next(ctx context.Context, deadline <-chan time.Time) (renderer.Frame, time.Time, error) {
	select {
	case f, ok := <-d.tab.Frames():
		if !ok {
			return f, time.Time{}, fmt.Errorf("%w: the direct tab closed", ErrServer)
		}
		return f, time.Now(), nil
	case <-deadline:
		return renderer.Frame{}, time.Time{}, ErrNoFrame
	case <-ctx.Done():
		return renderer.Frame{}, time.Time{}, ctx.Err()
	}
}

// sample times one mousedown to the first frame read that shows the probe flipped.
func (d *directTab) sample(ctx context.Context, p probe, timeout time.Duration) (time.Duration, error) {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	var cur colour
	var curSeq uint64
	for cur == colourUnknown {
		f, _, err := d.next(ctx, deadline.C)
		if err != nil {
			return 0, err
		}
		if cur, err = d.colourOf(f, p); err != nil {
			return 0, err
		}
		curSeq = f.Seq
	}
	t0 := time.Now()
	down := renderer.MouseInput{Action: "down", X: 0.5, Y: 0.5, Button: "left", Buttons: 1, ClickCount: 1}
	if err := d.tab.Mouse(ctx, down); err != nil {
		return 0, fmt.Errorf("direct mousedown: %w", err)
	}
	defer func() {
		up := down
		up.Action, up.Buttons = "up", 0
		_ = d.tab.Mouse(ctx, up)
	}()
	for {
		f, at, err := d.next(ctx, deadline.C)
		if err != nil {
			return 0, err
		}
		if f.Seq <= curSeq || !at.After(t0) {
			continue
		}
		c, err := d.colourOf(f, p)
		if err != nil {
			return 0, err
		}
		if c == cur.flipped() {
			return at.Sub(t0), nil
		}
	}
}
