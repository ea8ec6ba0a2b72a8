package main

import (
	"context"
	"errors"
	"image/color"
	"testing"
	"time"
)

// fakeHost is a client with no connection whose probe queue the test fills.
func fakeHost() *client {
	return &client{p: clientParams{Name: "fake"}, done: make(chan struct{}), probes: make(chan probeFrame, probeBacklog)}
}

func TestWaitFlipIgnoresFramesFromBeforeTheInput(t *testing.T) {
	p := probe{X: 8, Y: 8, Size: 48}
	blackJPG := picture(t, 320, 200, grey, black, 8, 8, 48)
	whiteJPG := picture(t, 320, 200, grey, white, 8, 8, 48)
	hdr := func(seq int64) frameHeader { return frameHeader{Seq: seq, Width: 320, Height: 200} }

	host := fakeHost()
	res := &latencyResult{}
	pr := &prober{host: host, p: p, res: res}
	t0 := time.Now()
	host.probes <- probeFrame{Hdr: hdr(1), At: t0.Add(-20 * time.Millisecond), JPEG: blackJPG}
	cur, err := pr.next(context.Background(), nil)
	if err != nil || cur.Colour != colourBlack {
		t.Fatalf("current = %+v, %v; want black", cur, err)
	}
	// Read before t0, so it cannot show the input's effect even though it is white.
	host.probes <- probeFrame{Hdr: hdr(2), At: t0.Add(-time.Millisecond), JPEG: whiteJPG}
	host.probes <- probeFrame{Hdr: hdr(3), At: t0.Add(30 * time.Millisecond), JPEG: blackJPG}
	host.probes <- probeFrame{Hdr: hdr(4), At: t0.Add(70 * time.Millisecond), JPEG: whiteJPG}
	host.probes <- probeFrame{Hdr: hdr(5), At: t0.Add(90 * time.Millisecond), JPEG: whiteJPG}

	lat, err := pr.waitFlip(context.Background(), cur, t0, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if lat != 70*time.Millisecond {
		t.Fatalf("latency = %s, want 70ms (the first white frame read after t0)", lat)
	}
	if res.Decoded != 4 {
		t.Fatalf("decoded %d frames, want 4", res.Decoded)
	}
}

func TestWaitFlipTimesOutWithoutAFlip(t *testing.T) {
	host := fakeHost()
	pr := &prober{host: host, p: probe{X: 8, Y: 8, Size: 48}, res: &latencyResult{}}
	jpg := picture(t, 320, 200, grey, color.Black, 8, 8, 48)
	t0 := time.Now()
	host.probes <- probeFrame{Hdr: frameHeader{Seq: 2, Width: 320, Height: 200}, At: t0.Add(time.Millisecond), JPEG: jpg}
	cur := observation{Seq: 1, At: t0, Colour: colourBlack}
	_, err := pr.waitFlip(context.Background(), cur, t0, 200*time.Millisecond)
	if !errors.Is(err, ErrNoFrame) {
		t.Fatalf("err = %v, want ErrNoFrame", err)
	}
}

func TestCurrentSkipsUnclearFramesAndForgetsOldOnes(t *testing.T) {
	host := fakeHost()
	res := &latencyResult{}
	pr := &prober{host: host, p: probe{X: 8, Y: 8, Size: 48}, res: res}
	// Queued before current is called: stale, must be drained rather than decoded.
	host.probes <- probeFrame{Hdr: frameHeader{Seq: 1, Width: 320, Height: 200}, At: time.Now(), JPEG: picture(t, 320, 200, grey, white, 8, 8, 48)}
	unclear := picture(t, 320, 200, grey, grey, 8, 8, 48)
	blackJPG := picture(t, 320, 200, grey, black, 8, 8, 48)
	go func() {
		for len(host.probes) > 0 { // wait until current has drained the stale frame
			time.Sleep(time.Millisecond)
		}
		host.probes <- probeFrame{Hdr: frameHeader{Seq: 2, Width: 320, Height: 200}, At: time.Now(), JPEG: unclear}
		host.probes <- probeFrame{Hdr: frameHeader{Seq: 3, Width: 320, Height: 200}, At: time.Now(), JPEG: blackJPG}
	}()
	o, err := pr.current(context.Background(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if o.Seq != 3 || o.Colour != colourBlack || res.Unclear != 1 {
		t.Fatalf("current = %+v with %d unclear; want seq 3 black after 1 unclear", o, res.Unclear)
	}
}
