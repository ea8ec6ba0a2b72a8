package proxy

import "errors"

// Errors of the session broker. The HTTP edge maps them to status codes in one place
// (httperrors.go).
var (
	ErrBadRequest        = errors.New("bad request")
	ErrInvalidURL        = errors.New("invalid url")
	ErrSessionNotFound   = errors.New("session not found")
	ErrUnauthorized      = errors.New("unauthorized")
	ErrTooManySessions   = errors.New("too many sessions")
	ErrSessionEnded      = errors.New("session ended")
	ErrUnavailable       = errors.New("browser unavailable")
	ErrParticipantAbsent = errors.New("no such participant")
)

// ErrStartURL means the start URL of a new session could not be loaded.
var ErrStartURL = errors.New("start url could not be loaded")

// ErrEgressRefused means the egress policy refuses a destination; the error says why.
var ErrEgressRefused = errors.New("egress refused")

// ErrNavigationRefused means the session's own navigation rules refuse a URL.
var ErrNavigationRefused = errors.New("navigation refused")
