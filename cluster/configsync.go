package cluster

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/tandem-cobrowse/tandem/store"
)

// ConfigBucket holds the configuration every node shares: the entries of the store
// buckets that a ConfigSync names (sites and agent accounts).
const ConfigBucket = "tandem_config"

// ConfigSyncConfig configures a ConfigSync.
type ConfigSyncConfig struct {
	DB      *store.DB
	Buckets []string // the store buckets to share
	// Local reports an entry that stays this node's own: never shared, never replaced
	// (the demo site, whose key each node makes at its start).
	Local    func(store.Entry) bool
	Replicas int           // of the bucket, as RegistryConfig.Replicas
	Every    time.Duration // how often the file is read for changes; 1 s when 0
	Logger   *slog.Logger
}

// ConfigSync keeps the named buckets of every node's store file alike. Changes come from
// the server (the sites API) and from the `tandem sites` and `tandem agents` commands,
// which write the file directly; so the file is read every Every, and what changed since
// the last look goes to the tandem_config bucket, key by key. Every node watches that
// bucket and writes what the others changed into its own file, where its stores read it
// as before.
//
// When it starts, a node takes the cluster's copy of every key the cluster has and shares
// the keys only it has: so the first node seeds the cluster, a node added later gets
// everything, and an edit made to a stopped node's file is overwritten unless it is a key
// of its own. Two nodes changing one key at once end with the same value, the later one.
type ConfigSync struct {
	cfg   ConfigSyncConfig
	kv    jetstream.KeyValue
	known map[string][]byte // KV key → the value both the file and the bucket hold
	log   *slog.Logger
	stop  context.CancelFunc
	done  chan struct{}
}

// StartConfigSync merges this node's file with the cluster's copy and keeps them alike
// until Close.
func StartConfigSync(ctx context.Context, nc *nats.Conn, c ConfigSyncConfig) (*ConfigSync, error) {
	if c.Every <= 0 {
		c.Every = time.Second
	}
	if c.Replicas <= 0 {
		c.Replicas = 1
	}
	if c.Local == nil {
		c.Local = func(store.Entry) bool { return false }
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, fmt.Errorf("cluster: jetstream: %w", err)
	}
	kv, err := retry(ctx, func(ctx context.Context) (jetstream.KeyValue, error) {
		return js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
			Bucket: ConfigBucket, History: 1, Storage: jetstream.FileStorage, Replicas: c.Replicas,
		})
	})
	if err != nil {
		return nil, fmt.Errorf("cluster: bucket %s: %w", ConfigBucket, err)
	}
	wctx, stop := context.WithCancel(context.Background())
	s := &ConfigSync{cfg: c, kv: kv, known: map[string][]byte{}, log: c.Logger.With("component", "config-sync"),
		stop: stop, done: make(chan struct{})}
	w, err := kv.WatchAll(wctx)
	if err != nil {
		stop()
		return nil, fmt.Errorf("cluster: watching %s: %w", ConfigBucket, err)
	}
	if err := s.merge(ctx, w); err != nil {
		stop()
		return nil, err
	}
	go s.run(wctx, w)
	return s, nil
}

// Close stops keeping the file alike.
func (s *ConfigSync) Close() {
	s.stop()
	<-s.done
}

// merge reads the cluster's copy (the watch's first values), takes it into the file, and
// shares the keys only this node has.
func (s *ConfigSync) merge(ctx context.Context, w jetstream.KeyWatcher) error {
	cluster := map[string][]byte{}
	for initial := true; initial; {
		select {
		case e, ok := <-w.Updates():
			if !ok {
				return fmt.Errorf("cluster: watching %s: closed", ConfigBucket)
			}
			if e == nil {
				initial = false // the bucket's current values have all come
				continue
			}
			if e.Operation() == jetstream.KeyValuePut {
				cluster[e.Key()] = e.Value()
			}
		case <-ctx.Done():
			return fmt.Errorf("cluster: reading %s: %w", ConfigBucket, ctx.Err())
		}
	}
	local, err := s.readFile()
	if err != nil {
		return err
	}
	var take []store.Entry
	for key, v := range cluster {
		e, ok := entryOf(key, v)
		if !ok || !slices.Contains(s.cfg.Buckets, e.Bucket) || s.cfg.Local(e) {
			continue
		}
		if !bytes.Equal(local[key], v) {
			take = append(take, e)
		}
		s.known[key] = v
	}
	if err := s.cfg.DB.Apply(take...); err != nil {
		return fmt.Errorf("cluster: taking the shared configuration: %w", err)
	}
	for key, v := range local {
		if _, ok := cluster[key]; ok {
			continue
		}
		if _, err := s.kv.Put(ctx, key, v); err != nil {
			return fmt.Errorf("cluster: sharing the configuration: %w", err)
		}
		s.known[key] = v
	}
	s.log.Info("configuration shared", "taken", len(take), "keys", len(s.known))
	return nil
}

// run is the one goroutine that owns known: it applies the others' changes as they come
// and shares this node's file's changes every Every.
func (s *ConfigSync) run(ctx context.Context, w jetstream.KeyWatcher) {
	defer close(s.done)
	defer func() { _ = w.Stop() }()
	tick := time.NewTicker(s.cfg.Every)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case e, ok := <-w.Updates():
			if !ok {
				return
			}
			if e != nil {
				s.take(e)
			}
		case <-tick.C:
			s.share(ctx)
		}
	}
}

// take writes another node's change into the file, unless the file has it already (this
// node's own change, coming back).
func (s *ConfigSync) take(e jetstream.KeyValueEntry) {
	key := e.Key()
	entry, ok := entryOf(key, nil)
	if !ok || !slices.Contains(s.cfg.Buckets, entry.Bucket) {
		return
	}
	if e.Operation() == jetstream.KeyValuePut {
		if v, ok := s.known[key]; ok && bytes.Equal(v, e.Value()) {
			return
		}
		if entry.Value = e.Value(); s.cfg.Local(entry) {
			return
		}
		if err := s.cfg.DB.Apply(entry); err != nil {
			s.log.Warn("taking a shared change", "key", key, "err", err)
			return
		}
		s.known[key] = e.Value()
		return
	}
	if _, ok := s.known[key]; !ok {
		return
	}
	if err := s.cfg.DB.Apply(entry); err != nil { // nil Value: deleted
		s.log.Warn("taking a shared deletion", "key", key, "err", err)
		return
	}
	delete(s.known, key)
}

// share puts what changed in the file since the last look into the bucket.
func (s *ConfigSync) share(ctx context.Context) {
	local, err := s.readFile()
	if err != nil {
		s.log.Warn("reading the store for changes", "err", err)
		return
	}
	for key, v := range local {
		if old, ok := s.known[key]; ok && bytes.Equal(old, v) {
			continue
		}
		if _, err := s.kv.Put(ctx, key, v); err != nil {
			s.log.Warn("sharing a change", "key", key, "err", err)
			continue
		}
		s.known[key] = v
	}
	for key := range s.known {
		if _, ok := local[key]; ok {
			continue
		}
		if err := s.kv.Delete(ctx, key); err != nil && !errors.Is(err, jetstream.ErrKeyNotFound) {
			s.log.Warn("sharing a deletion", "key", key, "err", err)
			continue
		}
		delete(s.known, key)
	}
}

// readFile is the file's shared entries by KV key.
func (s *ConfigSync) readFile() (map[string][]byte, error) {
	entries, err := s.cfg.DB.Entries(s.cfg.Buckets...)
	if err != nil {
		return nil, err
	}
	out := make(map[string][]byte, len(entries))
	for _, e := range entries {
		if !s.cfg.Local(e) {
			out[configKey(e)] = e.Value
		}
	}
	return out, nil
}

// configKey names an entry in the bucket: BUCKET.KEY, the key in unpadded URL base64
// (store keys may hold any byte; KV keys may not).
func configKey(e store.Entry) string {
	return e.Bucket + "." + base64.RawURLEncoding.EncodeToString(e.Key)
}

// entryOf is the store entry a KV key names, with value v.
func entryOf(key string, v []byte) (store.Entry, bool) {
	bucket, k, ok := strings.Cut(key, ".")
	if !ok {
		return store.Entry{}, false
	}
	raw, err := base64.RawURLEncoding.DecodeString(k)
	if err != nil || len(raw) == 0 {
		return store.Entry{}, false
	}
	return store.Entry{Bucket: bucket, Key: raw, Value: v}, true
}
