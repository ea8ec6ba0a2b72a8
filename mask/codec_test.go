package mask

import (
	"bytes"
	"image"
	"image/color"
	"image/jpeg"
	"testing"

	"github.com/tandem-cobrowse/tandem/renderer"
)

// TestBothCodecsCoverTheBoxes paints the same frame with the build's codec (Paint) and
// with the portable one (paintGo): each must cover every pixel of the box, and leave
// the picture away from it alone.
func TestBothCodecsCoverTheBoxes(t *testing.T) {
	src := image.NewRGBA(image.Rect(0, 0, 320, 200))
	for y := 0; y < 200; y++ {
		for x := 0; x < 320; x++ {
			src.Set(x, y, color.RGBA{R: 255, G: 0, B: 255, A: 255}) // magenta everywhere
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, src, &jpeg.Options{Quality: 90}); err != nil {
		t.Fatal(err)
	}
	// CSS 160×100 at DPR 2; the box is at odd CSS coordinates to test the rounding.
	box := renderer.Rect{X: 10.5, Y: 20.25, W: 33.3, H: 17.7}
	px := []image.Rectangle{image.Rect(21, 40, 88, 76)}
	built, err := Paint(buf.Bytes(), 320, 200, 160, 100, []renderer.Rect{box}, 80)
	if err != nil {
		t.Fatal(err)
	}
	portable, err := paintGo(buf.Bytes(), 320, 200, 160, 100, []renderer.Rect{box}, px, 80)
	if err != nil {
		t.Fatal(err)
	}
	for name, out := range map[string][]byte{"Paint (" + Codec + ")": built, "paintGo": portable} {
		img, err := jpeg.Decode(bytes.NewReader(out))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for y := 40; y < 76; y++ {
			for x := 21; x < 88; x++ {
				r, g, b, _ := img.At(x, y).RGBA()
				if r>>8 > 180 && g>>8 < 120 && b>>8 > 180 {
					t.Fatalf("%s: pixel (%d,%d) inside the box is still magenta", name, x, y)
				}
			}
		}
		r, g, b, _ := img.At(200, 150).RGBA()
		if !(r>>8 > 200 && g>>8 < 60 && b>>8 > 200) {
			t.Fatalf("%s: a pixel far from the box changed: %d %d %d", name, r>>8, g>>8, b>>8)
		}
	}
}
