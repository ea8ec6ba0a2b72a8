package cluster

import (
	"context"
	"errors"
	"io/fs"
	"strings"
	"testing"
	"time"
)

// consoleSessionStore is console.SessionStore, spelled out: the console takes a KVStore
// without this package importing it.
type consoleSessionStore interface {
	Put(ctx context.Context, key string, value []byte, ttl time.Duration) error
	Get(ctx context.Context, key string) ([]byte, error)
	Delete(ctx context.Context, key string) error
}

var _ consoleSessionStore = (*KVStore)(nil)

// openKVStores opens the console's bucket through each server, replicated on all.
func openKVStores(t *testing.T, servers []*Server, maxAge time.Duration) []*KVStore {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	stores := make([]*KVStore, len(servers))
	for i, s := range servers {
		kv, err := OpenKVStore(ctx, connect(t, s), KVStoreConfig{Replicas: len(servers), MaxAge: maxAge})
		if err != nil {
			t.Fatal(err)
		}
		stores[i] = kv
	}
	return stores
}

// hashKey is what the console uses: a hex SHA-256.
var hashKey = strings.Repeat("0123456789abcdef", 4)

func TestKVStore(t *testing.T) {
	servers := startServers(t, 1)
	// Two connections: two nodes' consoles on one server.
	a := openKVStores(t, servers, time.Hour)[0]
	b := openKVStores(t, servers, time.Hour)[0]
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	st, err := a.kv.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Bucket() != ConsoleBucket || st.TTL() != time.Hour || st.History() != 1 {
		t.Errorf("bucket %s keeps %d values for %s; want %s, 1, 1h", st.Bucket(), st.History(), st.TTL(), ConsoleBucket)
	}

	if _, err := b.Get(ctx, hashKey); !errors.Is(err, ErrNoKey) || !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("get of a missing key: %v, want ErrNoKey wrapping fs.ErrNotExist", err)
	}
	if err := a.Put(ctx, hashKey, []byte(`{"agent":"anna"}`), time.Hour); err != nil {
		t.Fatal(err)
	}
	if v, err := b.Get(ctx, hashKey); err != nil || string(v) != `{"agent":"anna"}` {
		t.Fatalf("get through the other connection = %q, %v", v, err)
	}
	// Put replaces.
	if err := b.Put(ctx, hashKey, []byte(`{"agent":"bob"}`), 0); err != nil {
		t.Fatal(err)
	}
	if v, err := a.Get(ctx, hashKey); err != nil || string(v) != `{"agent":"bob"}` {
		t.Fatalf("get after a second put = %q, %v", v, err)
	}
	if err := b.Delete(ctx, hashKey); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Get(ctx, hashKey); !errors.Is(err, ErrNoKey) {
		t.Fatalf("get after delete: %v, want ErrNoKey", err)
	}
	if err := a.Delete(ctx, hashKey); err != nil {
		t.Fatalf("delete of a missing key: %v", err)
	}
	// A deleted key can be put again.
	if err := a.Put(ctx, hashKey, []byte("again"), time.Minute); err != nil {
		t.Fatal(err)
	}
	if v, err := b.Get(ctx, hashKey); err != nil || string(v) != "again" {
		t.Fatalf("get after put, delete, put = %q, %v", v, err)
	}

	// A value the bucket cannot keep for as long as asked is refused, not cut short.
	if err := a.Put(ctx, "other", []byte("x"), 2*time.Hour); err == nil || !strings.Contains(err.Error(), "keeps values for 1h0m0s") {
		t.Errorf("put for longer than the bucket keeps values: %v", err)
	}
	if _, err := a.Get(ctx, "other"); !errors.Is(err, ErrNoKey) {
		t.Errorf("the refused put stored something: %v", err)
	}

	// Keys a bucket cannot hold: nothing to get or delete, and an error to put, which
	// does not repeat the key.
	for _, bad := range []string{"", "a b", "a*", ".a", "a.", strings.Repeat("k", 257)} {
		if _, err := a.Get(ctx, bad); !errors.Is(err, ErrNoKey) {
			t.Errorf("get %q: %v, want ErrNoKey", bad, err)
		}
		if err := a.Delete(ctx, bad); err != nil {
			t.Errorf("delete %q: %v", bad, err)
		}
		err := a.Put(ctx, bad, []byte("x"), time.Minute)
		if err == nil || (bad != "" && strings.Contains(err.Error(), bad)) {
			t.Errorf("put %q: %v", bad, err)
		}
	}
}

func TestOpenKVStoreNeedsMaxAge(t *testing.T) {
	servers := startServers(t, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := OpenKVStore(ctx, connect(t, servers[0]), KVStoreConfig{}); err == nil {
		t.Fatal("a store without a maximum age opened")
	}
}

// What one node puts, the others read and delete, whichever server each talks to.
func TestKVStoreAcrossThreeNodes(t *testing.T) {
	stores := openKVStores(t, startServers(t, 3), time.Hour)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := stores[0].Put(ctx, hashKey, []byte("anna"), time.Hour); err != nil {
		t.Fatal(err)
	}
	for i, s := range stores {
		if v, err := s.Get(ctx, hashKey); err != nil || string(v) != "anna" {
			t.Fatalf("node %d reads %q, %v", i, v, err)
		}
	}
	if err := stores[2].Delete(ctx, hashKey); err != nil {
		t.Fatal(err)
	}
	for i, s := range stores {
		if _, err := s.Get(ctx, hashKey); !errors.Is(err, ErrNoKey) {
			t.Fatalf("node %d after delete: %v, want ErrNoKey", i, err)
		}
	}
}
