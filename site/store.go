package site

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"go.etcd.io/bbolt"

	"github.com/tandem-cobrowse/tandem/store"
)

var (
	bucketSites       = []byte("sites")            // id → record (JSON)
	bucketPublishable = []byte("site_publishable") // publishable key → id
	bucketKeys        = []byte("site_keys")        // SHA-256 hex of an API key → id
)

// record is a site as stored: the Site with the secrets its JSON leaves out.
type record struct {
	Site
	WebhookSecret string   `json:"webhookSecret,omitempty"`
	KeyHashes     []string `json:"keyHashes,omitempty"`
}

func (r record) site() Site {
	s := r.Site
	s.WebhookSecret, s.KeyHashes = r.WebhookSecret, r.KeyHashes
	if s.AllowedOrigins == nil {
		s.AllowedOrigins = []string{}
	}
	return s
}

// Store is the sites of one store file; safe for concurrent use.
type Store struct {
	db  *store.DB
	now func() time.Time
}

// NewStore returns the sites kept in db.
func NewStore(db *store.DB) *Store { return &Store{db: db, now: time.Now} }

// Change says what Save did beyond storing the caller's fields.
type Change struct {
	Created bool // there was no site with this ID
	// SecretGenerated: a webhook secret was generated and is in the returned Site's
	// WebhookSecret; this is the one time to show it.
	SecretGenerated bool
}

// Put creates or replaces a site after validating it and filling its defaults, and returns
// it as stored. The fields the store manages are never taken from s for an existing site:
// its publishable key (which may not change), webhook secret, API key hashes and creation
// time stay as they were, so that no caller can overwrite them by leaving them out.
// Setting WebhookURL generates a webhook secret when there is none; clearing it drops the
// secret, so clearing and setting it again is how a secret is rotated.
func (st *Store) Put(s Site) (Site, error) {
	saved, _, err := st.Save(s)
	return saved, err
}

// Save is Put that also reports what it did (see Change).
func (st *Store) Save(s Site) (Site, Change, error) {
	var saved Site
	var ch Change
	err := st.db.Update(func(tx *bbolt.Tx) error {
		var err error
		saved, ch, err = st.save(tx, s)
		return err
	})
	return saved, ch, err
}

func (st *Store) save(tx *bbolt.Tx, s Site) (Site, Change, error) {
	var ch Change
	s, err := normalize(s)
	if err != nil {
		return Site{}, ch, err
	}
	sites, err := tx.CreateBucketIfNotExists(bucketSites)
	if err != nil {
		return Site{}, ch, err
	}
	pub, err := tx.CreateBucketIfNotExists(bucketPublishable)
	if err != nil {
		return Site{}, ch, err
	}
	prev, found, err := get(tx, s.ID)
	if err != nil {
		return Site{}, ch, err
	}
	if found {
		if s.PublishableKey != "" && s.PublishableKey != prev.PublishableKey {
			return Site{}, ch, invalid("the publishableKey of site %q cannot be changed; leave it out", s.ID)
		}
		s.PublishableKey, s.WebhookSecret, s.KeyHashes, s.CreatedAt = prev.PublishableKey, prev.WebhookSecret, prev.KeyHashes, prev.CreatedAt
	} else {
		ch.Created = true
		s.WebhookSecret, s.KeyHashes, s.CreatedAt = "", nil, st.now().UTC()
		if s.PublishableKey == "" {
			for s.PublishableKey == "" || pub.Get([]byte(s.PublishableKey)) != nil {
				if s.PublishableKey, err = newPublishableKey(); err != nil {
					return Site{}, ch, err
				}
			}
		} else if pub.Get([]byte(s.PublishableKey)) != nil {
			return Site{}, ch, invalid("publishableKey is already used by another site")
		}
		if err := pub.Put([]byte(s.PublishableKey), []byte(s.ID)); err != nil {
			return Site{}, ch, err
		}
	}
	switch {
	case s.WebhookURL == "":
		s.WebhookSecret = ""
	case s.WebhookSecret == "":
		if s.WebhookSecret, err = newWebhookSecret(); err != nil {
			return Site{}, ch, err
		}
		ch.SecretGenerated = true
	}
	if err := put(sites, s); err != nil {
		return Site{}, ch, err
	}
	return s, ch, nil
}

// Get returns the site with this ID, secrets included (they stay out of its JSON).
func (st *Store) Get(id string) (Site, error) {
	var s Site
	err := st.db.View(func(tx *bbolt.Tx) error {
		var err error
		s, err = mustGet(tx, id)
		return err
	})
	return s, err
}

// List returns every site, by ID.
func (st *Store) List() ([]Site, error) {
	out := []Site{}
	err := st.db.View(func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucketSites)
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, v []byte) error {
			s, err := decode(k, v)
			if err != nil {
				return err
			}
			out = append(out, s)
			return nil
		})
	})
	return out, err
}

// Remove deletes a site, its publishable key and its API keys.
func (st *Store) Remove(id string) error {
	return st.db.Update(func(tx *bbolt.Tx) error {
		s, err := mustGet(tx, id)
		if err != nil {
			return err
		}
		if err := revoke(tx, s); err != nil {
			return err
		}
		if err := tx.Bucket(bucketPublishable).Delete([]byte(s.PublishableKey)); err != nil {
			return err
		}
		return tx.Bucket(bucketSites).Delete([]byte(id))
	})
}

// ByPublishableKey returns the site whose script tag carries pk.
func (st *Store) ByPublishableKey(pk string) (Site, error) {
	return st.byIndex(bucketPublishable, pk, pk != "")
}

// ByAPIKey returns the site an API key belongs to.
func (st *Store) ByAPIKey(key string) (Site, error) {
	return st.byIndex(bucketKeys, keyHash(key), strings.HasPrefix(key, APIKeyPrefix))
}

func (st *Store) byIndex(bucket []byte, key string, plausible bool) (Site, error) {
	if !plausible {
		return Site{}, ErrNotFound
	}
	var s Site
	err := st.db.View(func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucket)
		if b == nil {
			return ErrNotFound
		}
		id := b.Get([]byte(key))
		if id == nil {
			return ErrNotFound
		}
		var err error
		s, err = mustGet(tx, string(id))
		return err
	})
	return s, err
}

// NewAPIKey creates an API key for the site and returns it; only its hash is kept, so this
// is the one time it can be shown.
func (st *Store) NewAPIKey(id string) (string, error) {
	var key string
	err := st.db.Update(func(tx *bbolt.Tx) error {
		s, err := mustGet(tx, id)
		if err != nil {
			return err
		}
		key, err = addKey(tx, s)
		return err
	})
	return key, err
}

// RevokeAPIKeys invalidates every API key of the site.
func (st *Store) RevokeAPIKeys(id string) error {
	return st.db.Update(func(tx *bbolt.Tx) error {
		s, err := mustGet(tx, id)
		if err != nil {
			return err
		}
		if err := revoke(tx, s); err != nil {
			return err
		}
		s.KeyHashes = nil
		return put(tx.Bucket(bucketSites), s)
	})
}

// The demo site: the bundled demo shop, wired at every start of the server.
const (
	DemoID   = "demo"
	DemoName = "Northwind Outfitters (demo)"
)

// EnsureDemo creates or updates the site of the bundled demo shop with the given origins,
// replaces its API keys with one fresh key and returns the site and that key. The server
// calls it at every start: the key lives only in the server's memory, so the previous
// run's key is useless and is revoked. Settings the administrator may have changed
// (rules, button text, webhook) are kept.
func (st *Store) EnsureDemo(origins []string) (Site, string, error) {
	var s Site
	var key string
	err := st.db.Update(func(tx *bbolt.Tx) error {
		want, found, err := get(tx, DemoID)
		if err != nil {
			return err
		}
		if !found {
			want = Site{ID: DemoID}
		}
		want.Name, want.ScriptStart, want.ViewConsent, want.AllowedOrigins = DemoName, true, ConsentAsk, origins
		if s, _, err = st.save(tx, want); err != nil {
			return err
		}
		if err := revoke(tx, s); err != nil {
			return err
		}
		s.KeyHashes = nil
		if key, err = addKey(tx, s); err != nil {
			return err
		}
		s, err = mustGet(tx, DemoID)
		return err
	})
	return s, key, err
}

// addKey creates an API key for s (as stored in tx) and records its hash.
func addKey(tx *bbolt.Tx, s Site) (string, error) {
	keys, err := tx.CreateBucketIfNotExists(bucketKeys)
	if err != nil {
		return "", err
	}
	key, err := newAPIKey()
	if err != nil {
		return "", err
	}
	h := keyHash(key)
	if err := keys.Put([]byte(h), []byte(s.ID)); err != nil {
		return "", err
	}
	s.KeyHashes = append(slices.Clone(s.KeyHashes), h)
	return key, put(tx.Bucket(bucketSites), s)
}

// revoke removes the index entries of s's API keys; the caller updates the record.
func revoke(tx *bbolt.Tx, s Site) error {
	keys := tx.Bucket(bucketKeys)
	if keys == nil {
		return nil
	}
	for _, h := range s.KeyHashes {
		if err := keys.Delete([]byte(h)); err != nil {
			return err
		}
	}
	return nil
}

func put(b *bbolt.Bucket, s Site) error {
	v, err := json.Marshal(record{Site: s, WebhookSecret: s.WebhookSecret, KeyHashes: s.KeyHashes})
	if err != nil {
		return fmt.Errorf("site: encoding %q: %w", s.ID, err)
	}
	return b.Put([]byte(s.ID), v)
}

func get(tx *bbolt.Tx, id string) (Site, bool, error) {
	b := tx.Bucket(bucketSites)
	if b == nil {
		return Site{}, false, nil
	}
	v := b.Get([]byte(id))
	if v == nil {
		return Site{}, false, nil
	}
	s, err := decode([]byte(id), v)
	return s, err == nil, err
}

func mustGet(tx *bbolt.Tx, id string) (Site, error) {
	s, found, err := get(tx, id)
	if err == nil && !found {
		err = fmt.Errorf("%w: %q", ErrNotFound, id)
	}
	return s, err
}

func decode(k, v []byte) (Site, error) {
	var r record
	if err := json.Unmarshal(v, &r); err != nil {
		return Site{}, fmt.Errorf("site: the record of %q is corrupt: %w", k, err)
	}
	return r.site(), nil
}

// SharedBuckets are the store buckets of sites, which a cluster's nodes share.
func SharedBuckets() []string {
	return []string{string(bucketSites), string(bucketPublishable), string(bucketKeys)}
}

// NodeLocal reports an entry of the demo site, which each node makes for itself at its
// start (with a key only that node knows) and which is therefore never shared.
func NodeLocal(e store.Entry) bool {
	switch e.Bucket {
	case string(bucketSites):
		return string(e.Key) == DemoID
	case string(bucketPublishable), string(bucketKeys):
		return string(e.Value) == DemoID
	}
	return false
}
