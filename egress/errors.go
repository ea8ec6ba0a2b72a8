package egress

import (
	"errors"
	"net/netip"
)

// Errors of the egress policy.
var (
	// ErrBlocked means the policy refuses a destination; the error says why.
	ErrBlocked = errors.New("blocked by egress policy")
	// ErrBadAllowEntry means an allow-list entry could not be parsed.
	ErrBadAllowEntry = errors.New("bad allow-list entry")
)

// BlockedError is a refusal with its human reason ("127.0.0.1 is a loopback address").
type BlockedError struct {
	Host   string     // the host as requested
	Addr   netip.Addr // the address refused; invalid when the URL itself was refused
	Reason string
}

func (e *BlockedError) Error() string { return ErrBlocked.Error() + ": " + e.Reason }

func (e *BlockedError) Unwrap() error { return ErrBlocked }

// Reason is the human reason of a refusal, or err's text for any other error.
func Reason(err error) string {
	var be *BlockedError
	if errors.As(err, &be) {
		return be.Reason
	}
	return err.Error()
}
