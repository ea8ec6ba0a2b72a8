package renderer

import (
	"bytes"
	"image/jpeg"
)

// blankPicture reports whether a JPEG shows nothing but the blank tab's white. The first
// paint of a page reaches the screencast before Chromium says it painted (its lifecycle
// event waits for the frame to be presented), so a picture that is not blank shows the
// page already. A picture that cannot be read counts as blank.
func blankPicture(jpg []byte) bool {
	img, err := jpeg.Decode(bytes.NewReader(jpg))
	if err != nil {
		return true
	}
	b := img.Bounds()
	stepX, stepY := max(b.Dx()/64, 1), max(b.Dy()/48, 1)
	for y := b.Min.Y + stepY/2; y < b.Max.Y; y += stepY {
		for x := b.Min.X + stepX/2; x < b.Max.X; x += stepX {
			r, g, bl, _ := img.At(x, y).RGBA()
			if r>>8 < 248 || g>>8 < 248 || bl>>8 < 248 {
				return false
			}
		}
	}
	return true
}
