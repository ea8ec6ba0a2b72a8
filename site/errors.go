package site

import "errors"

// Errors of the package; callers match them with errors.Is.
var (
	ErrNotFound = errors.New("no such site")
	// ErrInvalid is wrapped with what is wrong, in words fit to show the administrator.
	ErrInvalid = errors.New("invalid site")
)
