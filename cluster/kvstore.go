package cluster

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// ConsoleBucket keeps the agent console's signed-in sessions, so that an agent who
// signed in through one node is known on every node behind the load balancer.
const ConsoleBucket = "tandem_console"

// ErrNoKey: a KVStore has no value under the key. It wraps fs.ErrNotExist, which is how
// a caller that does not know this package (the console's session store) recognises it.
var ErrNoKey = fmt.Errorf("cluster: no such key: %w", fs.ErrNotExist)

// KVStoreConfig configures a KVStore's bucket.
type KVStoreConfig struct {
	// Bucket is the bucket's name; ConsoleBucket when empty.
	Bucket string
	// Replicas of the bucket, as RegistryConfig.Replicas.
	Replicas int
	// MaxAge is how long the bucket keeps a value after its last Put, so values vanish
	// on their own; required. For the console it is the session TTL.
	MaxAge time.Duration
}

// KVStore is a plain key-value store in a JetStream bucket whose values expire. Its
// methods are those of console.SessionStore, which it satisfies without this package
// importing the console.
type KVStore struct {
	kv     jetstream.KeyValue
	bucket string
	maxAge time.Duration
}

// OpenKVStore creates the bucket (or binds to it, taking on c's settings), retrying
// while JetStream is not yet ready, as OpenRegistry does.
func OpenKVStore(ctx context.Context, nc *nats.Conn, c KVStoreConfig) (*KVStore, error) {
	if c.Bucket == "" {
		c.Bucket = ConsoleBucket
	}
	if c.MaxAge <= 0 {
		return nil, fmt.Errorf("cluster: bucket %s: a store's values need a maximum age", c.Bucket)
	}
	if c.Replicas <= 0 {
		c.Replicas = 1
	}
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, fmt.Errorf("cluster: jetstream: %w", err)
	}
	cfg := jetstream.KeyValueConfig{Bucket: c.Bucket, History: 1, TTL: c.MaxAge, Storage: jetstream.MemoryStorage, Replicas: c.Replicas}
	kv, err := retry(ctx, func(ctx context.Context) (jetstream.KeyValue, error) {
		return js.CreateOrUpdateKeyValue(ctx, cfg)
	})
	if err != nil {
		return nil, fmt.Errorf("cluster: bucket %s: %w", c.Bucket, err)
	}
	return &KVStore{kv: kv, bucket: c.Bucket, maxAge: c.MaxAge}, nil
}

// Put stores value under key for the bucket's MaxAge. A ttl longer than that is an
// error rather than a value that vanishes early: it means the nodes disagree on how
// long a console session lasts. Errors leave the key out: it may derive from a secret.
func (s *KVStore) Put(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	if !validKey(key) {
		return fmt.Errorf("cluster: bucket %s: a key of %d characters is not valid", s.bucket, len(key))
	}
	if ttl > s.maxAge {
		return fmt.Errorf("cluster: bucket %s keeps values for %s, not %s", s.bucket, s.maxAge, ttl)
	}
	if _, err := s.kv.Put(ctx, key, value); err != nil {
		return fmt.Errorf("cluster: put in bucket %s: %w", s.bucket, err)
	}
	return nil
}

// Get returns the value under key, or ErrNoKey.
func (s *KVStore) Get(ctx context.Context, key string) ([]byte, error) {
	if !validKey(key) {
		return nil, ErrNoKey
	}
	e, err := s.kv.Get(ctx, key)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil, ErrNoKey
	}
	if err != nil {
		return nil, fmt.Errorf("cluster: get from bucket %s: %w", s.bucket, err)
	}
	return e.Value(), nil
}

// Delete drops key and its history; a key with no value is no error.
func (s *KVStore) Delete(ctx context.Context, key string) error {
	if !validKey(key) {
		return nil
	}
	if err := s.kv.Purge(ctx, key); err != nil && !errors.Is(err, jetstream.ErrKeyNotFound) {
		return fmt.Errorf("cluster: delete from bucket %s: %w", s.bucket, err)
	}
	return nil
}
