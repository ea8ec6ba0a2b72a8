package proxy

import (
	"crypto/rand"
	"errors"
	"fmt"
	"math/big"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Errors of join codes.
var (
	// ErrBadCode is every wrong, expired or ended code alike, so an answer never tells
	// which codes exist.
	ErrBadCode = errors.New("that code is wrong or has expired")
	// ErrCodeUsed means this agent has already joined with this code.
	ErrCodeUsed = errors.New("you have already joined with this code; use the link you were given")
	// ErrLockedOut means too many wrong codes from this source or agent.
	ErrLockedOut = errors.New("too many wrong codes; wait a while before trying again")
)

// Join code tuning.
const (
	JoinCodeTTL      = 10 * time.Minute
	codeDigits       = 6
	wrongTriesAllow  = 10               // wrong codes per source (and per agent) ...
	wrongTriesWindow = 15 * time.Minute // ... within this long before lock-out
	lockOut          = 15 * time.Minute
	seatsPerCode     = 10 // agents one code admits
	// Across the server, wrong codes are limited too, so many sources together cannot
	// sweep the million codes: at most this many a minute.
	wrongPerMinute = 60
)

type joinCode struct {
	code     string
	session  string
	expires  time.Time
	redeemed map[string]bool // by agent
}

type strikes struct {
	count   int
	first   time.Time
	blocked time.Time // locked out until
}

// joinCodes are the live join codes of a registry: six digits, one per session, expiring,
// redeemable once per agent, with lock-out of sources and agents that guess.
type joinCodes struct {
	now func() time.Time

	mu        sync.Mutex
	byCode    map[string]*joinCode
	bySession map[string]*joinCode
	strikes   map[string]*strikes // "source:1.2.3.4", "agent:anna"
	wrong     *rate.Limiter
}

func newJoinCodes(now func() time.Time) *joinCodes {
	return &joinCodes{now: now, byCode: map[string]*joinCode{}, bySession: map[string]*joinCode{},
		strikes: map[string]*strikes{}, wrong: rate.NewLimiter(rate.Every(time.Minute/wrongPerMinute), wrongPerMinute)}
}

// issue gives session a fresh code, replacing its old one.
func (j *joinCodes) issue(session string) (string, time.Time) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.sweep()
	if old := j.bySession[session]; old != nil {
		delete(j.byCode, old.code)
	}
	var code string
	for {
		n, err := rand.Int(rand.Reader, big.NewInt(1_000_000))
		if err != nil {
			panic(err) // crypto/rand does not fail
		}
		code = fmt.Sprintf("%0*d", codeDigits, n.Int64())
		if j.byCode[code] == nil {
			break
		}
	}
	c := &joinCode{code: code, session: session, expires: j.now().Add(JoinCodeTTL), redeemed: map[string]bool{}}
	j.byCode[code], j.bySession[session] = c, c
	return code, c.expires
}

// current is session's live code, "" when it has none or it expired.
func (j *joinCodes) current(session string) (string, time.Time) {
	j.mu.Lock()
	defer j.mu.Unlock()
	c := j.bySession[session]
	if c == nil || !j.now().Before(c.expires) {
		return "", time.Time{}
	}
	return c.code, c.expires
}

// redeem checks code for agent coming from source and returns its session.
func (j *joinCodes) redeem(code, agent, source string) (string, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	now := j.now()
	keys := []string{"source:" + source, "agent:" + agent}
	for _, k := range keys {
		if s := j.strikes[k]; s != nil && now.Before(s.blocked) {
			return "", ErrLockedOut
		}
	}
	c := j.byCode[code]
	if c == nil || !now.Before(c.expires) || len(c.redeemed) >= seatsPerCode {
		if !j.wrong.AllowN(now, 1) {
			return "", ErrLockedOut
		}
		for _, k := range keys {
			j.strike(k, now)
		}
		return "", ErrBadCode
	}
	if c.redeemed[agent] {
		return "", ErrCodeUsed
	}
	c.redeemed[agent] = true
	return c.session, nil
}

func (j *joinCodes) strike(key string, now time.Time) {
	s := j.strikes[key]
	if s == nil || now.Sub(s.first) > wrongTriesWindow {
		s = &strikes{first: now}
		j.strikes[key] = s
	}
	s.count++
	if s.count >= wrongTriesAllow {
		s.blocked = now.Add(lockOut)
		s.count, s.first = 0, now
	}
}

// forget drops a session's code when the session ends.
func (j *joinCodes) forget(session string) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if c := j.bySession[session]; c != nil {
		delete(j.byCode, c.code)
		delete(j.bySession, session)
	}
}

// sweep drops expired codes and stale strikes; called with mu held.
func (j *joinCodes) sweep() {
	now := j.now()
	for code, c := range j.byCode {
		if !now.Before(c.expires) {
			delete(j.byCode, code)
			delete(j.bySession, c.session)
		}
	}
	for k, s := range j.strikes {
		if now.After(s.blocked) && now.Sub(s.first) > wrongTriesWindow {
			delete(j.strikes, k)
		}
	}
}
