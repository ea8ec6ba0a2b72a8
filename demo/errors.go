package demo

import "errors"

// Validation failures of form fields; the forms show them next to the field.
var (
	errRequired = errors.New("this field is required")
	errTooLong  = errors.New("this is too long")
	errInvalid  = errors.New("this does not look right")
)

// errFormTooLarge is a request body beyond maxFormBytes.
var errFormTooLarge = errors.New("form too large")
