package stream

import (
	"errors"
	"fmt"
)

var (
	// ErrOriginNotAllowed means Upgrade refused the request's Origin (it answered 403).
	ErrOriginNotAllowed = errors.New("stream: origin not allowed")
	// ErrQueueFull means a connection's text queue overflowed; the connection is being
	// closed with bye "too_slow".
	ErrQueueFull = errors.New("stream: send queue full")
	// ErrClosed means the connection is closed or closing.
	ErrClosed = errors.New("stream: connection closed")
	// ErrNoHello means the first client message was not a valid hello in time.
	ErrNoHello = errors.New("stream: no hello")
	// ErrHelloTimeout means no first message came in time (a client starved under load,
	// not a wrong token): it wraps ErrNoHello, and clients retry.
	ErrHelloTimeout = fmt.Errorf("%w: not in time", ErrNoHello)
	// ErrBadMessage means a client text message is not a protocol message.
	ErrBadMessage = errors.New("stream: bad message")
	// ErrBadFrame means a binary message is not a frame of docs/protocol.md.
	ErrBadFrame = errors.New("stream: bad frame")
)
