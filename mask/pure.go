//go:build !(turbojpeg && cgo)

package mask

import "image"

// Codec names the JPEG codec masks are painted with.
const Codec = "image/jpeg"

// paintPlanes has no faster codec in this build (build with -tags turbojpeg for
// libjpeg-turbo); Paint uses image/jpeg.
func paintPlanes([]byte, int, int, []image.Rectangle, int) ([]byte, error) {
	return nil, errNoFastCodec
}
