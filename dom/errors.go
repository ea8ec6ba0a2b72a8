package dom

import "errors"

var (
	// ErrMalformed means a capture message could not be read.
	ErrMalformed = errors.New("dom: malformed capture message")
	// ErrTooLarge means a capture message is over the limits (nodes, depth, bytes):
	// the page cannot be mirrored sensibly; fall back to pixels.
	ErrTooLarge = errors.New("dom: page too large to mirror")
)
