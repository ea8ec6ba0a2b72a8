package mask

import (
	"bytes"
	"fmt"
	"image/jpeg"
)

// ImageSize reads the pixel size of a JPEG from its header, without decoding it.
func ImageSize(jpg []byte) (w, h int, err error) {
	c, err := jpeg.DecodeConfig(bytes.NewReader(jpg))
	if err != nil {
		return 0, 0, fmt.Errorf("%w: %w", ErrBadJPEG, err)
	}
	return c.Width, c.Height, nil
}
