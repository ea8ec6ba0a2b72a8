package mask

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"math"
	"time"

	"github.com/tandem-cobrowse/tandem/renderer"
)

// Colour is the colour of a masked block: a neutral grey, opaque, that
// reads as "something is here" without looking like page content.
var Colour = color.RGBA{R: 0x9a, G: 0xa0, B: 0xa6, A: 0xff}

// Paint covers boxes (CSS px, relative to the frame's frameW×frameH
// viewport) in a JPEG of imgW×imgH pixels with opaque blocks and re-encodes
// it at quality. Boxes are scaled by the picture's device pixel ratio and
// grown outward to whole pixels (and whole chroma samples), so no partly
// covered pixel keeps any of the original. When no box reaches into the
// picture, jpeg is returned as it is, without decoding.
func Paint(jpg []byte, imgW, imgH int, frameW, frameH float64, boxes []renderer.Rect, quality int) ([]byte, error) {
	start := time.Now()
	defer func() { paintNs.Add(uint64(time.Since(start))) }()
	if imgW <= 0 || imgH <= 0 || frameW <= 0 || frameH <= 0 {
		return nil, ErrBadSize
	}
	if len(jpg) == 0 {
		return nil, fmt.Errorf("%w: empty picture", ErrBadJPEG)
	}
	sx, sy := float64(imgW)/frameW, float64(imgH)/frameH
	px := make([]image.Rectangle, 0, len(boxes))
	bounds := image.Rect(0, 0, imgW, imgH)
	for _, b := range boxes {
		if b.W <= 0 || b.H <= 0 || math.IsNaN(b.X+b.Y+b.W+b.H) {
			continue
		}
		r := image.Rect(floor(b.X*sx), floor(b.Y*sy), ceil((b.X+b.W)*sx), ceil((b.Y+b.H)*sy)).Intersect(bounds)
		if !r.Empty() {
			px = append(px, r)
		}
	}
	if len(px) == 0 {
		untouched.Add(1)
		return jpg, nil
	}
	out, err := paintPlanes(jpg, imgW, imgH, px, quality)
	var changed errSizeChanged
	switch {
	case err == nil:
		paints.Add(1)
		return out, nil
	case errors.As(err, &changed):
		// The JPEG's own size wins over what the caller believed; nothing was painted.
		if changed.w == imgW && changed.h == imgH {
			return nil, fmt.Errorf("%w: size check failed at %dx%d", ErrBadJPEG, imgW, imgH)
		}
		return Paint(jpg, changed.w, changed.h, frameW, frameH, boxes, quality)
	case !errors.Is(err, errNoFastCodec):
		return nil, err
	}
	return paintGo(jpg, imgW, imgH, frameW, frameH, boxes, px, quality)
}

// errNoFastCodec: this build has only image/jpeg.
var errNoFastCodec = errors.New("mask: no fast codec in this build")

// errSizeChanged: the JPEG is not the size the caller said.
type errSizeChanged struct{ w, h int }

func (e errSizeChanged) Error() string { return fmt.Sprintf("mask: the picture is %dx%d", e.w, e.h) }

// paintGo paints with image/jpeg: the portable path.
func paintGo(jpg []byte, imgW, imgH int, frameW, frameH float64, boxes []renderer.Rect, px []image.Rectangle, quality int) ([]byte, error) {
	img, err := jpeg.Decode(bytes.NewReader(jpg))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadJPEG, err)
	}
	// The JPEG's own size wins over what the caller believed.
	if b := img.Bounds(); b.Dx() != imgW || b.Dy() != imgH {
		return Paint(jpg, b.Dx(), b.Dy(), frameW, frameH, boxes, quality)
	}
	switch m := img.(type) {
	case *image.YCbCr:
		fillYCbCr(m, px)
	case *image.Gray:
		y, _, _ := color.RGBToYCbCr(Colour.R, Colour.G, Colour.B)
		for _, r := range px {
			for row := r.Min.Y; row < r.Max.Y; row++ {
				i := m.PixOffset(r.Min.X, row)
				fill(m.Pix[i:i+r.Dx()], y)
			}
		}
	default:
		return nil, fmt.Errorf("%w: unsupported colour model %T", ErrBadJPEG, img)
	}
	var out bytes.Buffer
	out.Grow(len(jpg) + len(jpg)/8)
	if err := jpeg.Encode(&out, img, &jpeg.Options{Quality: quality}); err != nil {
		return nil, fmt.Errorf("mask: encoding: %w", err)
	}
	paints.Add(1)
	return out.Bytes(), nil
}

// fillYCbCr paints the planes directly: no conversion to RGB and back. A
// chroma sample shared by covered and uncovered pixels is painted too, so
// the colour of a masked pixel never bleeds out through subsampling.
func fillYCbCr(m *image.YCbCr, px []image.Rectangle) {
	y, cb, cr := color.RGBToYCbCr(Colour.R, Colour.G, Colour.B)
	for _, r := range px {
		for row := r.Min.Y; row < r.Max.Y; row++ {
			i := m.YOffset(r.Min.X, row)
			fill(m.Y[i:i+r.Dx()], y)
		}
		c0, c1 := m.COffset(r.Min.X, r.Min.Y), m.COffset(r.Max.X-1, r.Max.Y-1)
		cx0, cy0 := (c0-m.COffset(0, 0))%m.CStride, (c0-m.COffset(0, 0))/m.CStride
		cx1, cy1 := (c1-m.COffset(0, 0))%m.CStride, (c1-m.COffset(0, 0))/m.CStride
		for row := cy0; row <= cy1; row++ {
			i := m.COffset(0, 0) + row*m.CStride
			fill(m.Cb[i+cx0:i+cx1+1], cb)
			fill(m.Cr[i+cx0:i+cx1+1], cr)
		}
	}
}

func fill(b []byte, v byte) {
	for i := range b {
		b[i] = v
	}
}

func floor(v float64) int { return int(math.Floor(v)) }
func ceil(v float64) int  { return int(math.Ceil(v)) }
