package main

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"image"
	"image/jpeg"
)

// frameKind is byte 0 of a binary frame message (docs/protocol.md, Frames).
const frameKind = 0x01

// frameHeader is the JSON header of a frame message.
type frameHeader struct {
	Seq     int64   `json:"seq"`
	Width   float64 `json:"width"`
	Height  float64 `json:"height"`
	ScrollX float64 `json:"scrollX"`
	ScrollY float64 `json:"scrollY"`
	TS      float64 `json:"ts"`
}

// parseFrame splits a binary frame message into its header and JPEG bytes. The JPEG
// aliases msg.
func parseFrame(msg []byte) (frameHeader, []byte, error) {
	var h frameHeader
	if len(msg) < 5 {
		return h, nil, fmt.Errorf("%w: %d bytes", ErrBadFrame, len(msg))
	}
	if msg[0] != frameKind {
		return h, nil, fmt.Errorf("%w: kind 0x%02x", ErrBadFrame, msg[0])
	}
	n := binary.BigEndian.Uint32(msg[1:5])
	if uint64(n) > uint64(len(msg)-5) {
		return h, nil, fmt.Errorf("%w: header length %d exceeds message of %d bytes", ErrBadFrame, n, len(msg))
	}
	if err := json.Unmarshal(msg[5:5+n], &h); err != nil {
		return h, nil, fmt.Errorf("%w: header: %v", ErrBadFrame, err)
	}
	if h.Width <= 0 || h.Height <= 0 {
		return h, nil, fmt.Errorf("%w: viewport %gx%g", ErrBadFrame, h.Width, h.Height)
	}
	return h, msg[5+n:], nil
}

// colour is what the probe square shows.
type colour int

const (
	colourUnknown colour = iota
	colourBlack
	colourWhite
)

func (c colour) String() string {
	switch c {
	case colourBlack:
		return "black"
	case colourWhite:
		return "white"
	}
	return "unknown"
}

func (c colour) flipped() colour {
	switch c {
	case colourBlack:
		return colourWhite
	case colourWhite:
		return colourBlack
	}
	return colourUnknown
}

// probe is the square of the demo page that flips colour on every mousedown, in CSS px
// of the viewport.
type probe struct{ X, Y, Size float64 }

// probeColour decodes the JPEG and classifies the probe square's centre. It averages a
// small patch so JPEG ringing does not decide, and calls anything between dark and light
// unknown.
func probeColour(h frameHeader, jpg []byte, p probe) (colour, error) {
	img, err := jpeg.Decode(bytes.NewReader(jpg))
	if err != nil {
		return colourUnknown, fmt.Errorf("%w: decode JPEG: %v", ErrBadFrame, err)
	}
	return probeColourImage(h, img, p)
}

func probeColourImage(h frameHeader, img image.Image, p probe) (colour, error) {
	b := img.Bounds()
	sx := float64(b.Dx()) / h.Width
	sy := float64(b.Dy()) / h.Height
	cx := b.Min.X + int((p.X+p.Size/2)*sx)
	cy := b.Min.Y + int((p.Y+p.Size/2)*sy)
	// A patch of a quarter of the square's side, at least one pixel.
	r := int(p.Size * sx / 8)
	if r < 0 {
		r = 0
	}
	if !(image.Point{cx, cy}.In(b)) {
		return colourUnknown, fmt.Errorf("%w: centre (%d,%d) outside a %dx%d picture", ErrProbe, cx, cy, b.Dx(), b.Dy())
	}
	var sum, n float64
	for y := cy - r; y <= cy+r; y++ {
		for x := cx - r; x <= cx+r; x++ {
			if !(image.Point{x, y}.In(b)) {
				continue
			}
			cr, cg, cb, _ := img.At(x, y).RGBA()
			// Rec. 601 luma on 16-bit channels, scaled to 0..255.
			sum += (0.299*float64(cr) + 0.587*float64(cg) + 0.114*float64(cb)) / 257
			n++
		}
	}
	switch luma := sum / n; {
	case luma < 64:
		return colourBlack, nil
	case luma > 192:
		return colourWhite, nil
	}
	return colourUnknown, nil
}
