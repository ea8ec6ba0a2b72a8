package main

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"image"
	"image/color"
	"image/draw"
	"image/jpeg"
	"testing"
)

// frameMsg builds a binary frame message as docs/protocol.md describes it.
func frameMsg(t *testing.T, h frameHeader, jpg []byte) []byte {
	t.Helper()
	hj, err := json.Marshal(h)
	if err != nil {
		t.Fatal(err)
	}
	msg := []byte{frameKind, 0, 0, 0, 0}
	binary.BigEndian.PutUint32(msg[1:], uint32(len(hj)))
	return append(append(msg, hj...), jpg...)
}

// picture is a JPEG of w×h pixels in bg with a square of fg at (x, y) of side size.
func picture(t *testing.T, w, h int, bg, fg color.Color, x, y, size int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	draw.Draw(img, img.Bounds(), image.NewUniform(bg), image.Point{}, draw.Src)
	draw.Draw(img, image.Rect(x, y, x+size, y+size), image.NewUniform(fg), image.Point{}, draw.Src)
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 80}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

var (
	grey  = color.Gray{Y: 128}
	black = color.Black
	white = color.White
)

func TestProbeColour(t *testing.T) {
	p := probe{X: 100, Y: 50, Size: 40}
	tests := []struct {
		name     string
		cssW     float64 // header width; the picture is cssW*dpr wide
		dpr      int
		fg       color.Color
		atX, atY int // where the square is drawn, in picture pixels
		want     colour
	}{
		{"a black square at dpr 1 reads black", 640, 1, black, 100, 50, colourBlack},
		{"a white square at dpr 1 reads white", 640, 1, white, 100, 50, colourWhite},
		{"a grey square reads unknown", 640, 1, grey, 100, 50, colourUnknown},
		{"the square is found at dpr 2 through the scale", 640, 2, black, 200, 100, colourBlack},
		{"a square at CSS coordinates in a dpr 2 picture is missed", 640, 2, black, 100, 50, colourUnknown},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w, h := int(tc.cssW)*tc.dpr, 400*tc.dpr
			size := int(p.Size) * tc.dpr
			jpg := picture(t, w, h, grey, tc.fg, tc.atX, tc.atY, size)
			hdr, body, err := parseFrame(frameMsg(t, frameHeader{Seq: 7, Width: tc.cssW, Height: 400}, jpg))
			if err != nil {
				t.Fatal(err)
			}
			if hdr.Seq != 7 {
				t.Fatalf("seq = %d, want 7", hdr.Seq)
			}
			got, err := probeColour(hdr, body, p)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Fatalf("colour = %s, want %s", got, tc.want)
			}
		})
	}
}

func TestProbeOutsideThePictureIsAnError(t *testing.T) {
	jpg := picture(t, 64, 64, white, black, 0, 0, 8)
	_, err := probeColour(frameHeader{Width: 64, Height: 64}, jpg, probe{X: 100, Y: 100, Size: 10})
	if !errors.Is(err, ErrProbe) {
		t.Fatalf("err = %v, want ErrProbe", err)
	}
}

func TestParseFrameRejectsMalformedMessages(t *testing.T) {
	good := frameMsg(t, frameHeader{Seq: 1, Width: 10, Height: 10}, []byte{0xff, 0xd8})
	tooLong := bytes.Clone(good)
	binary.BigEndian.PutUint32(tooLong[1:], uint32(len(good)))
	wrongKind := bytes.Clone(good)
	wrongKind[0] = 0x02
	noSize := frameMsg(t, frameHeader{Seq: 1}, nil)
	for name, msg := range map[string][]byte{
		"shorter than the prefix":          {frameKind, 0, 0},
		"another message kind":             wrongKind,
		"a header length past the end":     tooLong,
		"a header that is not JSON":        append([]byte{frameKind, 0, 0, 0, 2}, "{x"...),
		"a header without a viewport size": noSize,
	} {
		t.Run(name, func(t *testing.T) {
			if _, _, err := parseFrame(msg); !errors.Is(err, ErrBadFrame) {
				t.Fatalf("err = %v, want ErrBadFrame", err)
			}
		})
	}
	if _, jpg, err := parseFrame(good); err != nil || !bytes.Equal(jpg, []byte{0xff, 0xd8}) {
		t.Fatalf("good frame: jpg = %x, err = %v", jpg, err)
	}
}

func TestColourFlips(t *testing.T) {
	if colourBlack.flipped() != colourWhite || colourWhite.flipped() != colourBlack || colourUnknown.flipped() != colourUnknown {
		t.Fatal("flipped does not swap black and white")
	}
}
