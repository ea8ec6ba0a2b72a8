package main

import "errors"

// Sentinel errors of the bench; every failure wraps one of them so main can say which
// step failed.
var (
	ErrServer      = errors.New("server did not come up")
	ErrAPI         = errors.New("REST API call failed")
	ErrConnect     = errors.New("viewer could not connect")
	ErrNoFrame     = errors.New("no frame arrived in time")
	ErrBadFrame    = errors.New("malformed frame message")
	ErrDisconnect  = errors.New("viewer was disconnected")
	ErrNoControl   = errors.New("host does not hold control")
	ErrProbe       = errors.New("probe square not found in the frame")
	ErrAllTimedOut = errors.New("no input sample produced a flipped probe")
)
