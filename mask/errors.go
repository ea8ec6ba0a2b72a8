package mask

import "errors"

var (
	// ErrBadJPEG means the frame could not be decoded.
	ErrBadJPEG = errors.New("mask: frame is not a readable JPEG")
	// ErrBadSize means the picture or viewport size is not positive.
	ErrBadSize = errors.New("mask: picture or viewport size not positive")
)
