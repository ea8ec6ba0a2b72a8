package agent

import "errors"

// Errors of the package; callers match them with errors.Is.
var (
	ErrExists   = errors.New("an agent with this name already exists")
	ErrNotFound = errors.New("no such agent")
	// ErrBadCredentials covers an unknown name, a wrong password and an unknown token
	// alike, so that an answer never tells which names exist.
	ErrBadCredentials = errors.New("wrong name, password or token")
	ErrInvalidName    = errors.New("invalid agent name")
	ErrWeakPassword   = errors.New("password not acceptable")
)
