//go:build turbojpeg && cgo

package mask

/*
#cgo LDFLAGS: -lturbojpeg
#include <stdlib.h>
#include <string.h>
#include <turbojpeg.h>

// tdm_paint decodes a JPEG into its Y, Cb and Cr planes, fills the rectangles (x0, y0,
// x1, y1 in pixels, four ints each) with one colour, and encodes the planes again with
// the same subsampling: no colour conversion either way. It returns 0, or -1 with err
// set to a static message, or -2 (nothing painted) when the JPEG is not the believed
// bw×bh: the rectangles were clipped to the believed size, and painting them into smaller
// planes would write out of bounds.
static int tdm_paint(const unsigned char *jpg, unsigned long size, int bw, int bh, const int *rects, int nrects,
                     int quality, unsigned char yv, unsigned char cbv, unsigned char crv,
                     unsigned char **out, unsigned long *outSize, int *width, int *height,
                     const char **err) {
	int w, h, subsamp, cs, rc = -1;
	unsigned char *planes[3] = {0, 0, 0};
	int strides[3] = {0, 0, 0};
	tjhandle d = tjInitDecompress(), c = 0;
	if (!d) { *err = "tjInitDecompress failed"; return -1; }
	if (tjDecompressHeader3(d, jpg, size, &w, &h, &subsamp, &cs) != 0) { *err = tjGetErrorStr2(d); goto done; }
	*width = w; *height = h;
	if (w != bw || h != bh) { rc = -2; goto done; }
	int ncomp = subsamp == TJSAMP_GRAY ? 1 : 3;
	for (int i = 0; i < ncomp; i++) {
		strides[i] = tjPlaneWidth(i, w, subsamp);
		planes[i] = malloc((size_t)strides[i] * tjPlaneHeight(i, h, subsamp));
		if (!planes[i]) { *err = "out of memory"; goto done; }
	}
	if (tjDecompressToYUVPlanes(d, jpg, size, planes, w, strides, h, 0) != 0) { *err = tjGetErrorStr2(d); goto done; }
	int hf = tjMCUWidth[subsamp] / 8, vf = tjMCUHeight[subsamp] / 8;
	for (int r = 0; r < nrects; r++) {
		int x0 = rects[4*r], y0 = rects[4*r+1], x1 = rects[4*r+2], y1 = rects[4*r+3];
		for (int y = y0; y < y1; y++) memset(planes[0] + (size_t)y*strides[0] + x0, yv, x1 - x0);
		if (ncomp == 1) continue;
		// A chroma sample shared by covered and uncovered pixels is painted too, so the
		// colour of a masked pixel never bleeds out through subsampling.
		int cx0 = x0 / hf, cx1 = (x1 - 1) / hf, cy0 = y0 / vf, cy1 = (y1 - 1) / vf;
		for (int y = cy0; y <= cy1; y++) {
			memset(planes[1] + (size_t)y*strides[1] + cx0, cbv, cx1 - cx0 + 1);
			memset(planes[2] + (size_t)y*strides[2] + cx0, crv, cx1 - cx0 + 1);
		}
	}
	c = tjInitCompress();
	if (!c) { *err = "tjInitCompress failed"; goto done; }
	*out = 0; *outSize = 0;
	if (tjCompressFromYUVPlanes(c, (const unsigned char **)planes, w, strides, h, subsamp, out, outSize, quality, 0) != 0) {
		*err = tjGetErrorStr2(c); goto done;
	}
	rc = 0;
done:
	for (int i = 0; i < 3; i++) free(planes[i]);
	if (c) tjDestroy(c);
	tjDestroy(d);
	return rc;
}
*/
import "C"

import (
	"fmt"
	"image"
	"image/color"
	"unsafe"
)

// Codec names the JPEG codec masks are painted with.
const Codec = "libjpeg-turbo"

// paintPlanes paints with libjpeg-turbo: several times faster than image/jpeg, which is
// what lets a masked audience keep up with the unmasked one.
func paintPlanes(jpg []byte, imgW, imgH int, px []image.Rectangle, quality int) ([]byte, error) {
	if len(jpg) == 0 || len(px) == 0 {
		return nil, fmt.Errorf("%w: empty picture or nothing to paint", ErrBadJPEG)
	}
	bounds := image.Rect(0, 0, imgW, imgH)
	rects := make([]C.int, 0, 4*len(px))
	for _, r := range px {
		if !r.In(bounds) {
			return nil, fmt.Errorf("mask: box %v outside the %dx%d picture", r, imgW, imgH)
		}
		rects = append(rects, C.int(r.Min.X), C.int(r.Min.Y), C.int(r.Max.X), C.int(r.Max.Y))
	}
	y, cb, cr := color.RGBToYCbCr(Colour.R, Colour.G, Colour.B)
	var out *C.uchar
	var outSize C.ulong
	var w, h C.int
	var cerr *C.char
	rc := C.tdm_paint((*C.uchar)(unsafe.Pointer(&jpg[0])), C.ulong(len(jpg)), C.int(imgW), C.int(imgH),
		&rects[0], C.int(len(px)), C.int(quality), C.uchar(y), C.uchar(cb), C.uchar(cr), &out, &outSize, &w, &h, &cerr)
	switch rc {
	case 0:
	case -2:
		return nil, errSizeChanged{int(w), int(h)}
	default:
		return nil, fmt.Errorf("%w: %s", ErrBadJPEG, C.GoString(cerr))
	}
	defer C.tjFree(out)
	return C.GoBytes(unsafe.Pointer(out), C.int(outSize)), nil
}
