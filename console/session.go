package console

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"sync"
	"time"
)

// sweepEvery bounds how often a new session also clears out expired ones, so the map
// never holds more than a TTL's worth of sign-ins without a background goroutine.
const sweepEvery = time.Minute

// session is one signed-in browser.
type session struct {
	agent   Agent
	csrf    string // sent back by the page as X-CSRF-Token on unsafe requests
	expires time.Time
	viaOIDC bool
}

// sessions holds the signed-in browsers in memory: a restart signs everyone out, the
// price of keeping no session secrets on disk. The map is keyed by the SHA-256 of the
// cookie value, so neither a memory dump nor lookup timing gives away a live cookie.
type sessions struct {
	mu        sync.Mutex
	m         map[[sha256.Size]byte]*session
	ttl       time.Duration
	lastSweep time.Time
}

func newSessions(ttl time.Duration) *sessions {
	return &sessions{m: map[[sha256.Size]byte]*session{}, ttl: ttl}
}

// create signs a in and returns the new cookie value and the session.
func (s *sessions) create(a Agent, viaOIDC bool, now time.Time) (string, session) {
	id := randomToken()
	sess := session{agent: a, csrf: randomToken(), expires: now.Add(s.ttl), viaOIDC: viaOIDC}

	s.mu.Lock()
	defer s.mu.Unlock()
	if now.Sub(s.lastSweep) >= sweepEvery {
		for k, v := range s.m {
			if !now.Before(v.expires) {
				delete(s.m, k)
			}
		}
		s.lastSweep = now
	}
	s.m[sha256.Sum256([]byte(id))] = &sess
	return id, sess
}

// get returns the live session of cookie value id.
func (s *sessions) get(id string, now time.Time) (session, bool) {
	if id == "" {
		return session{}, false
	}
	k := sha256.Sum256([]byte(id))
	s.mu.Lock()
	defer s.mu.Unlock()
	sess, ok := s.m[k]
	if !ok {
		return session{}, false
	}
	if !now.Before(sess.expires) {
		delete(s.m, k)
		return session{}, false
	}
	return *sess, true
}

// remove signs out the session of cookie value id, if any.
func (s *sessions) remove(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, sha256.Sum256([]byte(id)))
}

// randomToken is 32 random bytes, base64url without padding (43 characters).
func randomToken() string {
	var b [32]byte
	rand.Read(b[:]) // never fails: crypto/rand aborts the program if the OS cannot deliver
	return base64.RawURLEncoding.EncodeToString(b[:])
}
