package store

import "errors"

// ErrLocked is returned when another process held the file for longer than LockTimeout.
var ErrLocked = errors.New("the database is locked by another process")
