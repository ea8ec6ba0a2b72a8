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

// ErrCrossOrigin means a browser page of another origin tried to call the API.
var ErrCrossOrigin = errors.New("cross-origin request refused")

// ErrMediaType means a request body that is not application/json.
var ErrMediaType = errors.New("unsupported media type")

// ErrHostNotAllowed means a request named a Host the server does not answer for (a name
// rebound to the server's address by DNS).
var ErrHostNotAllowed = errors.New("host not allowed")

// ErrConflict means the request clashes with the state of things (asking twice).
var ErrConflict = errors.New("conflict")

// ErrAlreadyAccepted means another agent accepted a help request first.
var ErrAlreadyAccepted = errors.New("already accepted")

// ErrCSRF means a request authenticated by an agent's cookie lacked the console's
// security token: a page of another site may have sent it.
var ErrCSRF = errors.New("the request lacks the agent console's security token (X-CSRF-Token); reload the console")
