package console

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"sync"
	"time"
)

// SessionStore keeps the signed-in browsers' sessions, as opaque values under keys that
// are hashes of their cookies. The nodes of a cluster share one (cluster.KVStore), so an
// agent signed in through one node is signed in on all of them.
type SessionStore interface {
	// Put keeps value under key for at least ttl.
	Put(ctx context.Context, key string, value []byte, ttl time.Duration) error
	// Get returns the value under key, or an error wrapping fs.ErrNotExist (such as
	// ErrNoSession) when there is none.
	Get(ctx context.Context, key string) ([]byte, error)
	// Delete removes key; a missing key is not an error.
	Delete(ctx context.Context, key string) error
}

// ErrNoSession: the store has no session under that key. It wraps fs.ErrNotExist, which
// is what every store's "not found" wraps.
var ErrNoSession = fmt.Errorf("console: no such session: %w", fs.ErrNotExist)

// noSession reports whether err means the store has no such session.
func noSession(err error) bool { return errors.Is(err, fs.ErrNotExist) }

// storeTimeout bounds every call into the store, so a store that hangs fails a request
// instead of holding it.
const storeTimeout = 5 * time.Second

// sweepEvery bounds how often the memory store clears out expired sessions on a write,
// so it never holds more than a TTL's worth of sign-ins without a background goroutine.
const sweepEvery = time.Minute

// session is one signed-in browser.
type session struct {
	agent   Agent
	csrf    string // sent back by the page as X-CSRF-Token on unsafe requests
	expires time.Time
	viaOIDC bool
}

// record is a session as the store keeps it.
type record struct {
	Agent   Agent     `json:"agent"`
	CSRF    string    `json:"csrf"`
	Expires time.Time `json:"expires"`
	ViaOIDC bool      `json:"viaOIDC,omitempty"`
}

// sessions are the signed-in browsers, kept in a store under the SHA-256 of their
// cookie value, so neither the store's contents nor lookup timing give away a live
// cookie.
type sessions struct {
	store SessionStore
	ttl   time.Duration
	log   *slog.Logger
}

// create signs a in and returns the new cookie value and the session.
func (s *sessions) create(ctx context.Context, a Agent, viaOIDC bool, now time.Time) (string, session, error) {
	id := randomToken()
	sess := session{agent: a, csrf: randomToken(), expires: now.Add(s.ttl), viaOIDC: viaOIDC}
	b, err := json.Marshal(record{Agent: a, CSRF: sess.csrf, Expires: sess.expires, ViaOIDC: viaOIDC})
	if err != nil {
		return "", session{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, storeTimeout)
	defer cancel()
	if err := s.store.Put(ctx, storeKey(id), b, s.ttl); err != nil {
		return "", session{}, fmt.Errorf("console: store the session: %w", err)
	}
	return id, sess, nil
}

// get returns the live session of cookie value id: ErrNoSession when there is none (or
// it expired, or its record cannot be read), another error when the store failed.
func (s *sessions) get(ctx context.Context, id string, now time.Time) (session, error) {
	if id == "" {
		return session{}, ErrNoSession
	}
	ctx, cancel := context.WithTimeout(ctx, storeTimeout)
	defer cancel()
	b, err := s.store.Get(ctx, storeKey(id))
	if noSession(err) {
		return session{}, ErrNoSession
	}
	if err != nil {
		return session{}, fmt.Errorf("console: read the session: %w", err)
	}
	var rec record
	err = json.Unmarshal(b, &rec)
	if err == nil && (rec.Agent.Name == "" || rec.CSRF == "") {
		err = errors.New("no agent or no CSRF token")
	}
	if err != nil {
		// Written by another version, say: it signs nobody in, but someone should know.
		s.log.Warn("an agent session record is unreadable; it counts as signed out", "err", err)
		return session{}, ErrNoSession
	}
	// The store may keep a record past its end (clocks differ, expiry is lazy).
	if !now.Before(rec.Expires) {
		return session{}, ErrNoSession
	}
	return session{agent: rec.Agent, csrf: rec.CSRF, expires: rec.Expires, viaOIDC: rec.ViaOIDC}, nil
}

// remove signs out the session of cookie value id, if any.
func (s *sessions) remove(ctx context.Context, id string) error {
	if id == "" {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, storeTimeout)
	defer cancel()
	if err := s.store.Delete(ctx, storeKey(id)); err != nil && !noSession(err) {
		return fmt.Errorf("console: remove the session: %w", err)
	}
	return nil
}

// storeKey is the key of cookie value id: its hex SHA-256.
func storeKey(id string) string {
	h := sha256.Sum256([]byte(id))
	return hex.EncodeToString(h[:])
}

// memoryStore is the default SessionStore: this process's memory. A restart signs
// everyone out, the price of keeping no session secrets on disk.
type memoryStore struct {
	now func() time.Time

	mu        sync.Mutex
	m         map[string]memoryEntry
	lastSweep time.Time
}

type memoryEntry struct {
	value   []byte
	expires time.Time
}

func newMemoryStore(now func() time.Time) *memoryStore {
	return &memoryStore{now: now, m: map[string]memoryEntry{}}
}

func (m *memoryStore) Put(_ context.Context, key string, value []byte, ttl time.Duration) error {
	now := m.now()
	m.mu.Lock()
	defer m.mu.Unlock()
	if now.Sub(m.lastSweep) >= sweepEvery {
		for k, e := range m.m {
			if !now.Before(e.expires) {
				delete(m.m, k)
			}
		}
		m.lastSweep = now
	}
	m.m[key] = memoryEntry{value: value, expires: now.Add(ttl)}
	return nil
}

func (m *memoryStore) Get(_ context.Context, key string) ([]byte, error) {
	now := m.now()
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.m[key]
	if !ok {
		return nil, ErrNoSession
	}
	if !now.Before(e.expires) {
		delete(m.m, key)
		return nil, ErrNoSession
	}
	return e.value, nil
}

func (m *memoryStore) Delete(_ context.Context, key string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.m, key)
	return nil
}

// randomToken is 32 random bytes, base64url without padding (43 characters).
func randomToken() string {
	var b [32]byte
	rand.Read(b[:]) // never fails: crypto/rand aborts the program if the OS cannot deliver
	return base64.RawURLEncoding.EncodeToString(b[:])
}
