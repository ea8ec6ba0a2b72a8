package store

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

// LockTimeout is how long a transaction waits for another process to release the file.
const LockTimeout = 5 * time.Second

// DB is the store at one path. It holds no open file between transactions (see the
// package comment); it is safe for concurrent use.
type DB struct {
	path    string
	timeout time.Duration // LockTimeout; shorter in tests
	// mu orders this process's own transactions, so that they queue here instead of
	// polling the flock every 50ms as bbolt does.
	mu sync.RWMutex
}

// Open creates the file (0600) and its directory (0700) when missing and checks that the
// file is a usable bbolt database.
func Open(path string) (*DB, error) {
	if path == "" {
		return nil, errors.New("store: no database path")
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("store: creating the directory of %s: %w", path, err)
	}
	db := &DB{path: path, timeout: LockTimeout}
	// An empty read-write transaction creates and checks the file.
	if err := db.Update(func(*bbolt.Tx) error { return nil }); err != nil {
		return nil, err
	}
	return db, nil
}

// Path is the file's path.
func (db *DB) Path() string { return db.path }

// View runs fn in a read-only transaction.
func (db *DB) View(fn func(*bbolt.Tx) error) error {
	db.mu.RLock()
	defer db.mu.RUnlock()
	return db.with(true, func(b *bbolt.DB) error { return b.View(fn) })
}

// Update runs fn in a read-write transaction, committed when fn returns nil.
func (db *DB) Update(fn func(*bbolt.Tx) error) error {
	db.mu.Lock()
	defer db.mu.Unlock()
	return db.with(false, func(b *bbolt.DB) error { return b.Update(fn) })
}

// with opens the file, runs fn and closes it again. Errors from fn come back unwrapped, so
// that callers can match their own sentinels.
func (db *DB) with(readOnly bool, fn func(*bbolt.DB) error) error {
	b, err := bbolt.Open(db.path, 0o600, &bbolt.Options{Timeout: db.timeout, ReadOnly: readOnly})
	if errors.Is(err, bolterrors.ErrTimeout) {
		return fmt.Errorf("store: %s: %w (waited %s)", db.path, ErrLocked, db.timeout)
	}
	if err != nil {
		return fmt.Errorf("store: opening %s: %w", db.path, err)
	}
	ferr := fn(b)
	if cerr := b.Close(); cerr != nil && ferr == nil {
		return fmt.Errorf("store: closing %s: %w", db.path, cerr)
	}
	return ferr
}

// Entry is one key of one bucket. In Apply, a nil Value deletes the key.
type Entry struct {
	Bucket     string
	Key, Value []byte
}

// Entries reads every key of the named buckets; a missing bucket has none.
func (db *DB) Entries(buckets ...string) ([]Entry, error) {
	var out []Entry
	err := db.View(func(tx *bbolt.Tx) error {
		for _, name := range buckets {
			b := tx.Bucket([]byte(name))
			if b == nil {
				continue
			}
			err := b.ForEach(func(k, v []byte) error {
				if v == nil {
					return nil // a nested bucket: not an entry
				}
				out = append(out, Entry{Bucket: name, Key: bytes.Clone(k), Value: bytes.Clone(v)})
				return nil
			})
			if err != nil {
				return err
			}
		}
		return nil
	})
	return out, err
}

// Apply writes entries in one transaction, creating their buckets as needed.
func (db *DB) Apply(entries ...Entry) error {
	return db.Update(func(tx *bbolt.Tx) error {
		for _, e := range entries {
			b, err := tx.CreateBucketIfNotExists([]byte(e.Bucket))
			if err != nil {
				return err
			}
			if e.Value == nil {
				err = b.Delete(e.Key)
			} else {
				err = b.Put(e.Key, e.Value)
			}
			if err != nil {
				return err
			}
		}
		return nil
	})
}
