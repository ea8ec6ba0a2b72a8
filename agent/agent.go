package agent

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"go.etcd.io/bbolt"
	"golang.org/x/crypto/bcrypt"

	"github.com/tandem-cobrowse/tandem/store"
)

// Agent is who an agent is to the rest of Tandem: what sessions and the console show.
type Agent struct {
	Name        string `json:"name"`
	DisplayName string `json:"displayName"`
}

// Account is an agent as the administrator lists it. It carries no secret.
type Account struct {
	Agent
	CreatedAt time.Time `json:"createdAt"`
	Tokens    int       `json:"tokens"` // how many API tokens are valid
}

// Limits of the fields.
const (
	MinPasswordLen    = 10 // characters
	MaxPasswordBytes  = 72 // bcrypt ignores whatever follows
	MaxDisplayNameLen = 80 // characters
	TokenPrefix       = "tdm_agent_"
)

var nameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,39}$`)

var (
	bucketAgents = []byte("agents")       // name → record (JSON)
	bucketTokens = []byte("agent_tokens") // SHA-256 hex of a token → name
)

// record is an account as stored.
type record struct {
	Name         string    `json:"name"`
	DisplayName  string    `json:"displayName"`
	PasswordHash string    `json:"passwordHash"`
	CreatedAt    time.Time `json:"createdAt"`
}

// Accounts is the agent accounts of one store; safe for concurrent use.
type Accounts struct {
	db   *store.DB
	cost int
	now  func() time.Time

	dummyOnce sync.Once
	dummy     []byte
}

// Option configures Accounts.
type Option func(*Accounts)

// WithBcryptCost sets the cost of new password hashes (tests use bcrypt.MinCost).
func WithBcryptCost(cost int) Option { return func(a *Accounts) { a.cost = cost } }

// NewAccounts returns the accounts kept in db.
func NewAccounts(db *store.DB, opts ...Option) *Accounts {
	a := &Accounts{db: db, cost: bcrypt.DefaultCost, now: time.Now}
	for _, o := range opts {
		o(a)
	}
	return a
}

// Add creates an account. The display name defaults to the name.
func (a *Accounts) Add(name, displayName, password string) error {
	if err := checkName(name); err != nil {
		return err
	}
	displayName, err := checkDisplayName(name, displayName)
	if err != nil {
		return err
	}
	if err := checkPassword(password); err != nil {
		return err
	}
	// Hash outside the transaction: it is slow on purpose, and the file is locked while a
	// transaction runs.
	hash, err := bcrypt.GenerateFromPassword([]byte(password), a.cost)
	if err != nil {
		return fmt.Errorf("agent: hashing the password: %w", err)
	}
	rec, err := json.Marshal(record{Name: name, DisplayName: displayName, PasswordHash: string(hash), CreatedAt: a.now().UTC()})
	if err != nil {
		return err
	}
	return a.db.Update(func(tx *bbolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bucketAgents)
		if err != nil {
			return err
		}
		if b.Get([]byte(name)) != nil {
			return fmt.Errorf("%w: %s", ErrExists, name)
		}
		return b.Put([]byte(name), rec)
	})
}

// List returns every account, by name.
func (a *Accounts) List() ([]Account, error) {
	out := []Account{}
	err := a.db.View(func(tx *bbolt.Tx) error {
		tokens := map[string]int{}
		if b := tx.Bucket(bucketTokens); b != nil {
			if err := b.ForEach(func(_, name []byte) error {
				tokens[string(name)]++
				return nil
			}); err != nil {
				return err
			}
		}
		b := tx.Bucket(bucketAgents)
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, v []byte) error {
			var r record
			if err := json.Unmarshal(v, &r); err != nil {
				return fmt.Errorf("agent: the record of %q is corrupt: %w", k, err)
			}
			out = append(out, Account{Agent: r.agent(), CreatedAt: r.CreatedAt, Tokens: tokens[r.Name]})
			return nil
		})
	})
	return out, err
}

// Remove deletes an account and revokes all its tokens.
func (a *Accounts) Remove(name string) error {
	return a.db.Update(func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucketAgents)
		if b == nil || b.Get([]byte(name)) == nil {
			return fmt.Errorf("%w: %s", ErrNotFound, name)
		}
		if err := b.Delete([]byte(name)); err != nil {
			return err
		}
		tb := tx.Bucket(bucketTokens)
		if tb == nil {
			return nil
		}
		// Collect first: deleting while iterating a bbolt cursor skips keys.
		var revoke [][]byte
		if err := tb.ForEach(func(k, v []byte) error {
			if string(v) == name {
				revoke = append(revoke, bytes.Clone(k))
			}
			return nil
		}); err != nil {
			return err
		}
		for _, k := range revoke {
			if err := tb.Delete(k); err != nil {
				return err
			}
		}
		return nil
	})
}

// IssueToken creates an API token for the agent and returns it; only its hash is kept, so
// this is the one time it can be shown.
func (a *Accounts) IssueToken(name string) (string, error) {
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return "", fmt.Errorf("agent: %w", err)
	}
	token := TokenPrefix + base64.RawURLEncoding.EncodeToString(raw)
	err := a.db.Update(func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucketAgents)
		if b == nil || b.Get([]byte(name)) == nil {
			return fmt.Errorf("%w: %s", ErrNotFound, name)
		}
		tb, err := tx.CreateBucketIfNotExists(bucketTokens)
		if err != nil {
			return err
		}
		return tb.Put([]byte(tokenHash(token)), []byte(name))
	})
	if err != nil {
		return "", err
	}
	return token, nil
}

// Verify checks a name and password. A wrong password and an unknown name both answer
// ErrBadCredentials after one bcrypt comparison, so neither the answer nor its time tells
// whether the name exists.
func (a *Accounts) Verify(name, password string) (Agent, error) {
	var r record
	found := false
	if nameRE.MatchString(name) {
		err := a.db.View(func(tx *bbolt.Tx) error {
			var err error
			r, found, err = get(tx, name)
			return err
		})
		if err != nil {
			return Agent{}, err
		}
	}
	hash := a.dummyHash()
	if found {
		hash = []byte(r.PasswordHash)
	}
	// bcrypt reads only the first 72 bytes; a longer password could never have been set,
	// so it must not match one that shares its first 72 bytes.
	cmpErr := bcrypt.CompareHashAndPassword(hash, []byte(password))
	if !found || cmpErr != nil || len(password) > MaxPasswordBytes {
		return Agent{}, ErrBadCredentials
	}
	return r.agent(), nil
}

// ByToken returns the agent an API token belongs to, or ErrBadCredentials.
func (a *Accounts) ByToken(token string) (Agent, error) {
	if !strings.HasPrefix(token, TokenPrefix) {
		return Agent{}, ErrBadCredentials
	}
	var ag Agent
	err := a.db.View(func(tx *bbolt.Tx) error {
		tb := tx.Bucket(bucketTokens)
		if tb == nil {
			return ErrBadCredentials
		}
		name := tb.Get([]byte(tokenHash(token)))
		if name == nil {
			return ErrBadCredentials
		}
		r, found, err := get(tx, string(name))
		if err != nil {
			return err
		}
		if !found {
			return ErrBadCredentials
		}
		ag = r.agent()
		return nil
	})
	return ag, err
}

// dummyHash is what Verify compares unknown names against: a hash at the same cost as real
// ones, so that it takes as long.
func (a *Accounts) dummyHash() []byte {
	a.dummyOnce.Do(func() {
		h, err := bcrypt.GenerateFromPassword([]byte("tandem dummy password, never valid"), a.cost)
		if err != nil {
			panic(fmt.Sprintf("agent: hashing the dummy password: %v", err))
		}
		a.dummy = h
	})
	return a.dummy
}

func get(tx *bbolt.Tx, name string) (record, bool, error) {
	b := tx.Bucket(bucketAgents)
	if b == nil {
		return record{}, false, nil
	}
	v := b.Get([]byte(name))
	if v == nil {
		return record{}, false, nil
	}
	var r record
	if err := json.Unmarshal(v, &r); err != nil {
		return record{}, false, fmt.Errorf("agent: the record of %q is corrupt: %w", name, err)
	}
	return r, true, nil
}

func (r record) agent() Agent { return Agent{Name: r.Name, DisplayName: r.DisplayName} }

func tokenHash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

func checkName(name string) error {
	if !nameRE.MatchString(name) {
		return fmt.Errorf("%w %q: use 1 to 40 lower-case letters, digits, dots, dashes or underscores, starting with a letter or digit", ErrInvalidName, name)
	}
	return nil
}

func checkDisplayName(name, display string) (string, error) {
	display = strings.TrimSpace(display)
	if display == "" {
		return name, nil
	}
	if !utf8.ValidString(display) || utf8.RuneCountInString(display) > MaxDisplayNameLen {
		return "", fmt.Errorf("%w: the display name must be valid text of at most %d characters", ErrInvalidName, MaxDisplayNameLen)
	}
	if strings.IndexFunc(display, unicode.IsControl) >= 0 {
		return "", fmt.Errorf("%w: the display name must not contain control characters", ErrInvalidName)
	}
	return display, nil
}

func checkPassword(p string) error {
	if utf8.RuneCountInString(p) < MinPasswordLen {
		return fmt.Errorf("%w: it must be at least %d characters long", ErrWeakPassword, MinPasswordLen)
	}
	if len(p) > MaxPasswordBytes {
		return fmt.Errorf("%w: it must be at most %d bytes long (bcrypt ignores the rest)", ErrWeakPassword, MaxPasswordBytes)
	}
	return nil
}

// SharedBuckets are the store buckets of agent accounts, which a cluster's nodes share.
func SharedBuckets() []string { return []string{string(bucketAgents), string(bucketTokens)} }
