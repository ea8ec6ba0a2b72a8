package mask

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"image/jpeg"
	"testing"

	"github.com/tandem-cobrowse/tandem/renderer"
)

// picture is a w×h JPEG, white with a magenta square at (x, y, s).
func picture(t testing.TB, w, h, x, y, s int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for py := range h {
		for px := range w {
			c := color.RGBA{255, 255, 255, 255}
			if px >= x && px < x+s && py >= y && py < y+s {
				c = color.RGBA{255, 0, 255, 255}
			}
			img.SetRGBA(px, py, c)
		}
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 80}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// magenta counts pixels near #ff00ff in a JPEG, in r (all if r is empty).
func magenta(t testing.TB, jpg []byte, r image.Rectangle) int {
	t.Helper()
	img, err := jpeg.Decode(bytes.NewReader(jpg))
	if err != nil {
		t.Fatal(err)
	}
	if r.Empty() {
		r = img.Bounds()
	}
	n := 0
	yc, fast := img.(*image.YCbCr)
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			var c color.Color
			if fast {
				yi, ci := yc.YOffset(x, y), yc.COffset(x, y)
				c = color.YCbCr{Y: yc.Y[yi], Cb: yc.Cb[ci], Cr: yc.Cr[ci]}
			} else {
				c = img.At(x, y)
			}
			if isMagenta(c) {
				n++
			}
		}
	}
	return n
}

// isMagenta: what a viewer would read as the page's magenta. JPEG keeps a
// flat magenta area within a few levels; mixtures at its edges (blended
// with the white or grey next to it) fail the green test.
func isMagenta(c color.Color) bool {
	r, g, b, _ := c.RGBA()
	return r>>8 > 190 && g>>8 < 80 && b>>8 > 190
}

func grey(t testing.TB, jpg []byte, x, y int) bool {
	img, err := jpeg.Decode(bytes.NewReader(jpg))
	if err != nil {
		t.Fatal(err)
	}
	r, g, b, _ := img.At(x, y).RGBA()
	near := func(v uint32, w uint8) bool { d := int(v>>8) - int(w); return d > -8 && d < 8 }
	return near(r, Colour.R) && near(g, Colour.G) && near(b, Colour.B)
}

func TestPaintCoversBoxes(t *testing.T) {
	t.Run("a box partly outside the picture is painted where it is inside", func(t *testing.T) {
		src := picture(t, 200, 100, 150, 60, 50) // the square runs off the right and bottom
		if magenta(t, src, image.Rectangle{}) == 0 {
			t.Fatal("test picture has no magenta")
		}
		out, err := Paint(src, 200, 100, 200, 100, []renderer.Rect{{X: 148, Y: 58, W: 100, H: 100}}, 80)
		if err != nil {
			t.Fatal(err)
		}
		if n := magenta(t, out, image.Rectangle{}); n != 0 {
			t.Fatalf("%d magenta pixels left", n)
		}
		if !grey(t, out, 190, 90) {
			t.Fatal("the box is not the mask colour")
		}
		if grey(t, out, 20, 20) || magenta(t, out, image.Rect(0, 0, 140, 50)) != 0 {
			t.Fatal("outside the box changed")
		}
	})

	t.Run("boxes in CSS px are scaled by the device pixel ratio", func(t *testing.T) {
		src := picture(t, 400, 200, 200, 100, 40) // dpr 2: the CSS box is at 100,50 size 20
		out, err := Paint(src, 400, 200, 200, 100, []renderer.Rect{{X: 100, Y: 50, W: 20, H: 20}}, 80)
		if err != nil {
			t.Fatal(err)
		}
		if n := magenta(t, out, image.Rectangle{}); n != 0 {
			t.Fatalf("%d magenta pixels left", n)
		}
		if !grey(t, out, 238, 138) || grey(t, out, 190, 90) {
			t.Fatal("the painted block is not where the CSS box is at dpr 2")
		}
	})

	t.Run("a frame no box reaches is returned as it is", func(t *testing.T) {
		src := picture(t, 200, 100, 10, 10, 20)
		before := ReadStats()
		out, err := Paint(src, 200, 100, 200, 100, []renderer.Rect{{X: 300, Y: 10, W: 10, H: 10}, {X: 10, Y: -50, W: 10, H: 40}}, 80)
		if err != nil {
			t.Fatal(err)
		}
		if &out[0] != &src[0] || len(out) != len(src) {
			t.Fatal("the frame was re-encoded")
		}
		if d := ReadStats().Sub(before); d.Untouched != 1 || d.Painted != 0 {
			t.Fatalf("stats %+v, want one untouched", d)
		}
	})

	// Both directions, in the build's codec (Paint) and the portable one (paintGo): a
	// believed size larger than the JPEG's once made libjpeg-turbo write past its planes.
	for _, c := range []struct {
		name                 string
		realW, realH         int
		believedW, believedH int
	}{
		{"believed smaller than the JPEG", 200, 100, 100, 50},
		{"believed larger than the JPEG", 100, 50, 400, 200},
		{"believed larger in one direction only", 200, 40, 200, 400},
	} {
		t.Run("a wrong picture size is corrected from the JPEG: "+c.name, func(t *testing.T) {
			// The frame is 200×100 CSS px; the magenta square is at its centre.
			src := picture(t, c.realW, c.realH, c.realW/2, c.realH/2, max(4, c.realW/10))
			boxes := []renderer.Rect{{X: 0, Y: 0, W: 200, H: 100}}
			for name, paint := range map[string]func() ([]byte, error){
				"Paint (" + Codec + ")": func() ([]byte, error) {
					return Paint(src, c.believedW, c.believedH, 200, 100, boxes, 80)
				},
				"paintGo": func() ([]byte, error) {
					px := []image.Rectangle{image.Rect(0, 0, c.believedW, c.believedH)}
					return paintGo(src, c.believedW, c.believedH, 200, 100, boxes, px, 80)
				},
			} {
				out, err := paint()
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				if w, h, err := ImageSize(out); err != nil || w != c.realW || h != c.realH {
					t.Fatalf("%s: painted picture is %dx%d (%v), want %dx%d", name, w, h, err, c.realW, c.realH)
				}
				if n := magenta(t, out, image.Rectangle{}); n != 0 {
					t.Fatalf("%s: %d magenta pixels left", name, n)
				}
			}
		})
	}

	t.Run("an empty or broken picture is an error, not a crash", func(t *testing.T) {
		box := []renderer.Rect{{X: 0, Y: 0, W: 10, H: 10}}
		for _, jpg := range [][]byte{nil, {}, []byte("not a jpeg"), picture(t, 40, 20, 5, 5, 4)[:30]} {
			if _, err := Paint(jpg, 40, 20, 40, 20, box, 80); !errors.Is(err, ErrBadJPEG) {
				t.Fatalf("Paint(%d bytes) = %v, want ErrBadJPEG", len(jpg), err)
			}
		}
	})
}

func TestKeyIsCanonical(t *testing.T) {
	a := Key([]string{"b", "a", "b"})
	if a != Key([]string{"a", "b"}) || a == Key([]string{"a"}) || Key(nil) != "" {
		t.Fatalf("keys: %q", a)
	}
	if got := Selectors(a); len(got) != 2 || got[0] != "a" || got[1] != "b" {
		t.Fatalf("Selectors(%q) = %q", a, got)
	}
}

func TestForAudience(t *testing.T) {
	src := picture(t, 200, 100, 50, 50, 20)
	f := renderer.Frame{JPEG: src, Width: 200, Height: 100}
	if out, ok, err := ForAudience(f, nil, 200, 100, 80); err != nil || !ok || &out[0] != &src[0] {
		t.Fatal("the unmasked audience does not get the frame as it is")
	}
	if _, ok, _ := ForAudience(f, []string{"x"}, 200, 100, 80); ok {
		t.Fatal("a frame with unknown boxes was not withheld")
	}
	f.Masks = renderer.MaskState{Known: true, Boxes: map[string][]renderer.Rect{"x": {{X: 48, Y: 48, W: 24, H: 24}}}}
	out, ok, err := ForAudience(f, []string{"x", "y"}, 200, 100, 80)
	if err != nil || !ok || magenta(t, out, image.Rectangle{}) != 0 {
		t.Fatalf("masked audience: ok %v err %v", ok, err)
	}
}

func BenchmarkPaint(b *testing.B) {
	src := picture(b, 1280, 800, 300, 200, 200)
	boxes := []renderer.Rect{{X: 298, Y: 198, W: 204, H: 204}}
	b.SetBytes(int64(len(src)))
	for b.Loop() {
		if _, err := Paint(src, 1280, 800, 1280, 800, boxes, 80); err != nil {
			b.Fatal(err)
		}
	}
}
