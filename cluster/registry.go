package cluster

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Sentinel errors of the registry.
var (
	// ErrTaken: a compare-and-set lost; another node claimed the key first.
	ErrTaken = errors.New("cluster: claimed by another node")
	// ErrUnknownSession: the registry has no such session.
	ErrUnknownSession = errors.New("cluster: no such session")
	// ErrNoRoom: no live node can take another session.
	ErrNoRoom = errors.New("cluster: no node has room for another session")
)

// Bucket names. Each is a JetStream key-value bucket.
const (
	sessionsBucket = "tandem_sessions"
	claimsBucket   = "tandem_claims"
	codesBucket    = "tandem_codes"
	helpBucket     = "tandem_help"
	strikesBucket  = "tandem_strikes"
	// transfersBucket is an object store; what it holds is taken within seconds, and
	// whatever is left (its taker died) goes after transferTTL.
	transfersBucket = "tandem_transfers"
	transferTTL     = 10 * time.Minute
)

// NodeInfo is what a node reports of itself on every heartbeat.
type NodeInfo struct {
	Name        string  `json:"name"`
	Sessions    int     `json:"sessions"`
	MaxSessions int     `json:"maxSessions"` // 0: no limit
	MemoryBytes int64   `json:"memoryBytes"` // Chromium's and the node's resident memory
	CPU         float64 `json:"cpu"`         // cores busy, averaged over the last interval
	Draining    bool    `json:"draining,omitempty"`
	// Seen is when this node last heard the report.
	Seen time.Time `json:"seen,omitzero"`
}

// SessionRecord is a session as the cluster knows it: enough to find it, and to start it
// again elsewhere when its node is lost.
type SessionRecord struct {
	ID        string          `json:"id"`
	Node      string          `json:"node"`
	URL       string          `json:"url"` // the page it shows now
	CreatedAt time.Time       `json:"createdAt"`
	Spec      json.RawMessage `json:"spec,omitempty"` // what the holder needs to re-create it
	// Moves counts the times the session was brought back on another node.
	Moves int `json:"moves,omitempty"`
	// Moving: Node is to bring the session back from Spec (its former node was lost,
	// or handed it over while draining).
	Moving bool `json:"moving,omitempty"`
}

// RegistryConfig tunes the registry's buckets.
type RegistryConfig struct {
	// Replicas of every bucket: 1 for a single node, 3 in a cluster of three or more, so
	// the registry outlives any one node.
	Replicas int
}

// Registry is the cluster's shared state in JetStream key-value buckets. Every claim is a
// compare-and-set, so no session is placed twice and nothing is claimed twice.
type Registry struct {
	nc                                     *nats.Conn
	sessions, claims, codes, help, strikes jetstream.KeyValue
	// transfers carries the bodies of API calls passed between nodes that are too big
	// for one NATS message (files given to a page, a page's assets), in chunks.
	transfers jetstream.ObjectStore
}

// OpenRegistry creates the buckets (or binds to them), retrying while JetStream is not yet
// ready, which in a cluster lasts until its servers have elected a leader.
func OpenRegistry(ctx context.Context, nc *nats.Conn, c RegistryConfig) (*Registry, error) {
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, fmt.Errorf("cluster: jetstream: %w", err)
	}
	if c.Replicas <= 0 {
		c.Replicas = 1
	}
	r := &Registry{nc: nc}
	buckets := []struct {
		kv  *jetstream.KeyValue
		cfg jetstream.KeyValueConfig
	}{
		{&r.sessions, jetstream.KeyValueConfig{Bucket: sessionsBucket, History: 1, Storage: jetstream.FileStorage, Replicas: c.Replicas}},
		// Join codes: which session each is for, while it may be redeemed.
		{&r.codes, jetstream.KeyValueConfig{Bucket: codesBucket, History: 1, TTL: CodeTTL, Storage: jetstream.FileStorage, Replicas: c.Replicas}},
		// Wrong join codes per source and agent: a lock-out lasts far less than this.
		{&r.strikes, jetstream.KeyValueConfig{Bucket: strikesBucket, History: 1, TTL: time.Hour, Storage: jetstream.MemoryStorage, Replicas: c.Replicas}},
		// The help queue: every node keeps a copy, kept up to date by a watch.
		{&r.help, jetstream.KeyValueConfig{Bucket: helpBucket, History: 1, TTL: 24 * time.Hour, Storage: jetstream.FileStorage, Replicas: c.Replicas}},
		// A claim (a help request's acceptance, say) only matters for a day.
		{&r.claims, jetstream.KeyValueConfig{Bucket: claimsBucket, History: 1, TTL: 24 * time.Hour, Storage: jetstream.FileStorage, Replicas: c.Replicas}},
	}
	for _, b := range buckets {
		kv, err := retry(ctx, func(ctx context.Context) (jetstream.KeyValue, error) {
			return js.CreateOrUpdateKeyValue(ctx, b.cfg)
		})
		if err != nil {
			return nil, fmt.Errorf("cluster: bucket %s: %w", b.cfg.Bucket, err)
		}
		*b.kv = kv
	}
	r.transfers, err = retry(ctx, func(ctx context.Context) (jetstream.ObjectStore, error) {
		return js.CreateOrUpdateObjectStore(ctx, jetstream.ObjectStoreConfig{
			Bucket: transfersBucket, TTL: transferTTL, Storage: jetstream.FileStorage, Replicas: c.Replicas,
		})
	})
	if err != nil {
		return nil, fmt.Errorf("cluster: bucket %s: %w", transfersBucket, err)
	}
	return r, nil
}

// retry calls f until it succeeds or ctx ends, backing off up to a second. Each attempt
// gets a second, then longer, up to 5 s: nodes that start together create the same
// buckets at once, and JetStream answers one of them and leaves the others' requests
// unanswered; asked again, it finds the bucket made. With a fixed 5 s per attempt, three
// nodes started together took 25-40 s to open their buckets; now about one.
func retry[T any](ctx context.Context, f func(context.Context) (T, error)) (T, error) {
	wait := 50 * time.Millisecond
	attempt := time.Second
	for {
		cctx, cancel := context.WithTimeout(ctx, attempt)
		attempt = min(2*attempt, 5*time.Second)
		v, err := f(cctx)
		cancel()
		if err == nil {
			return v, nil
		}
		select {
		case <-ctx.Done():
			return v, fmt.Errorf("%w (last: %w)", ctx.Err(), err)
		case <-time.After(wait):
		}
		wait = min(2*wait, time.Second)
	}
}

// Claim registers a new session; ErrTaken when its id is already placed.
func (r *Registry) Claim(ctx context.Context, rec SessionRecord) (uint64, error) {
	b, err := json.Marshal(rec)
	if err != nil {
		return 0, err
	}
	rev, err := r.sessions.Create(ctx, rec.ID, b)
	if errors.Is(err, jetstream.ErrKeyExists) {
		return 0, fmt.Errorf("%w: session %s", ErrTaken, rec.ID)
	}
	if err != nil {
		return 0, fmt.Errorf("cluster: claim session %s: %w", rec.ID, err)
	}
	return rev, nil
}

// Lookup finds a session and the revision of its record.
func (r *Registry) Lookup(ctx context.Context, id string) (SessionRecord, uint64, error) {
	var rec SessionRecord
	if !validKey(id) {
		return rec, 0, ErrUnknownSession
	}
	e, err := r.sessions.Get(ctx, id)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return rec, 0, fmt.Errorf("%w: %s", ErrUnknownSession, id)
	}
	if err != nil {
		return rec, 0, fmt.Errorf("cluster: look up session %s: %w", id, err)
	}
	if err := json.Unmarshal(e.Value(), &rec); err != nil {
		return rec, 0, fmt.Errorf("cluster: session %s: %w", id, err)
	}
	return rec, e.Revision(), nil
}

// Update replaces a session's record if it is still at revision rev: ErrTaken when
// someone changed it first (another node brought it back, say).
func (r *Registry) Update(ctx context.Context, rec SessionRecord, rev uint64) (uint64, error) {
	b, err := json.Marshal(rec)
	if err != nil {
		return 0, err
	}
	nrev, err := r.sessions.Update(ctx, rec.ID, b, rev)
	if err != nil {
		if conflict(err) {
			return 0, fmt.Errorf("%w: session %s", ErrTaken, rec.ID)
		}
		return 0, fmt.Errorf("cluster: update session %s: %w", rec.ID, err)
	}
	return nrev, nil
}

// Release forgets a session that ended.
func (r *Registry) Release(ctx context.Context, id string) error {
	if err := r.sessions.Purge(ctx, id); err != nil && !errors.Is(err, jetstream.ErrKeyNotFound) {
		return fmt.Errorf("cluster: release session %s: %w", id, err)
	}
	return nil
}

// ReleaseIf forgets a session only while node holds it: a session another node has
// taken over stays.
func (r *Registry) ReleaseIf(ctx context.Context, id, node string) error {
	rec, rev, err := r.Lookup(ctx, id)
	if errors.Is(err, ErrUnknownSession) {
		return nil
	}
	if err != nil {
		return err
	}
	if rec.Node != node {
		return nil
	}
	if err := r.sessions.Purge(ctx, id, jetstream.LastRevision(rev)); err != nil && !errors.Is(err, jetstream.ErrKeyNotFound) && !conflict(err) {
		return fmt.Errorf("cluster: release session %s: %w", id, err)
	}
	return nil
}

// Sessions lists every registered session.
func (r *Registry) Sessions(ctx context.Context) ([]SessionRecord, error) {
	lister, err := r.sessions.ListKeys(ctx)
	if err != nil {
		return nil, fmt.Errorf("cluster: list sessions: %w", err)
	}
	var out []SessionRecord
	for key := range lister.Keys() {
		rec, _, err := r.Lookup(ctx, key)
		if err == nil {
			out = append(out, rec)
		}
	}
	return out, nil
}

// ClaimOnce claims key for owner: exactly one caller ever wins a key (within a day);
// the others get ErrTaken. Used for accepting a help request, say.
func (r *Registry) ClaimOnce(ctx context.Context, key, owner string) error {
	if !validKey(key) {
		return fmt.Errorf("cluster: claim key %q is not valid", key)
	}
	_, err := r.claims.Create(ctx, key, []byte(owner))
	if errors.Is(err, jetstream.ErrKeyExists) {
		return fmt.Errorf("%w: %s", ErrTaken, key)
	}
	if err != nil {
		return fmt.Errorf("cluster: claim %s: %w", key, err)
	}
	return nil
}

// CodeTTL is how long a join code's entry lasts: longer than a code is valid, so the
// session holding it, not the registry, says a code expired.
const CodeTTL = 15 * time.Minute

// PutCode records which session a join code is for.
func (r *Registry) PutCode(ctx context.Context, code, session string) error {
	if !validKey(code) {
		return fmt.Errorf("cluster: join code %q is not valid", code)
	}
	if _, err := r.codes.Put(ctx, code, []byte(session)); err != nil {
		return fmt.Errorf("cluster: join code: %w", err)
	}
	return nil
}

// CodeSession is the session a join code is for: ErrUnknownSession when none.
func (r *Registry) CodeSession(ctx context.Context, code string) (string, error) {
	if !validKey(code) {
		return "", ErrUnknownSession
	}
	e, err := r.codes.Get(ctx, code)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return "", ErrUnknownSession
	}
	if err != nil {
		return "", fmt.Errorf("cluster: join code: %w", err)
	}
	return string(e.Value()), nil
}

// strikeRecord counts one key's wrong join codes.
type strikeRecord struct {
	Count   int       `json:"count"`
	First   time.Time `json:"first"`
	Blocked time.Time `json:"blocked,omitzero"`
}

// strikeKey hashes what is counted (an address, an agent's name) into a key: the bucket
// holds neither.
func strikeKey(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:16])
}

// Locked reports whether key is locked out now. It reads through the bucket's leader: a
// key-value Get may be answered by a replica that has not yet applied the lock-out another
// node wrote a moment ago, and the guesser's next try, through a third node, would pass.
func (r *Registry) Locked(ctx context.Context, key string) (bool, error) {
	req, err := json.Marshal(map[string]string{"last_by_subj": "$KV." + strikesBucket + "." + strikeKey(key)})
	if err != nil {
		return false, err
	}
	msg, err := r.nc.RequestWithContext(ctx, "$JS.API.STREAM.MSG.GET.KV_"+strikesBucket, req)
	if err != nil {
		return false, fmt.Errorf("cluster: strikes: %w", err)
	}
	var resp struct {
		Message *struct {
			Data []byte `json:"data"`
		} `json:"message"`
		Error *struct {
			Code        int    `json:"code"`
			Description string `json:"description"`
		} `json:"error"`
	}
	if err := json.Unmarshal(msg.Data, &resp); err != nil {
		return false, fmt.Errorf("cluster: strikes: %w", err)
	}
	switch {
	case resp.Error != nil && resp.Error.Code == 404:
		return false, nil // never struck, or expired
	case resp.Error != nil:
		return false, fmt.Errorf("cluster: strikes: %s", resp.Error.Description)
	case resp.Message == nil || len(resp.Message.Data) == 0:
		return false, nil // deleted
	}
	var rec strikeRecord
	if err := json.Unmarshal(resp.Message.Data, &rec); err != nil {
		return false, fmt.Errorf("cluster: strikes: %w", err)
	}
	return time.Now().Before(rec.Blocked), nil
}

// Strike counts one wrong code against key, with compare-and-set so that strikes made
// at once on several nodes all count: allow of them within window lock key out for
// lockOut.
func (r *Registry) Strike(ctx context.Context, key string, allow int, window, lockOut time.Duration) error {
	k := strikeKey(key)
	for attempt := range 30 {
		if attempt > 0 {
			// Another node struck meanwhile: back off a little, at random, and read again.
			time.Sleep(time.Duration(1+mrand.IntN(5*attempt)) * time.Millisecond)
		}
		now := time.Now()
		var rec strikeRecord
		var rev uint64
		e, err := r.strikes.Get(ctx, k)
		switch {
		case errors.Is(err, jetstream.ErrKeyNotFound):
		case err != nil:
			return fmt.Errorf("cluster: strikes: %w", err)
		default:
			rev = e.Revision()
			_ = json.Unmarshal(e.Value(), &rec)
		}
		if rec.First.IsZero() || now.Sub(rec.First) > window {
			rec.Count, rec.First = 0, now
		}
		rec.Count++
		if rec.Count >= allow {
			rec.Blocked, rec.Count, rec.First = now.Add(lockOut), 0, now
		}
		b, _ := json.Marshal(rec)
		if rev == 0 {
			_, err = r.strikes.Create(ctx, k, b)
		} else {
			_, err = r.strikes.Update(ctx, k, b, rev)
		}
		if err == nil {
			return nil
		}
		if !conflict(err) {
			return fmt.Errorf("cluster: strikes: %w", err)
		}
	}
	return fmt.Errorf("cluster: strikes: %w", ErrTaken)
}

// SharedItem is an entry of a shared bucket as a watch sees it: Value is nil when the
// entry was removed.
type SharedItem struct {
	Key   string
	Value []byte
}

// PutHelp stores a help request (JSON) under its id.
func (r *Registry) PutHelp(ctx context.Context, id string, value []byte) error {
	if !validKey(id) {
		return fmt.Errorf("cluster: help request id %q is not valid", id)
	}
	if _, err := r.help.Put(ctx, id, value); err != nil {
		return fmt.Errorf("cluster: help request %s: %w", id, err)
	}
	return nil
}

// DeleteHelp removes a help request.
func (r *Registry) DeleteHelp(ctx context.Context, id string) error {
	if !validKey(id) {
		return nil
	}
	if err := r.help.Delete(ctx, id); err != nil && !errors.Is(err, jetstream.ErrKeyNotFound) {
		return fmt.Errorf("cluster: help request %s: %w", id, err)
	}
	return nil
}

// WatchHelp calls fn with every help request stored now and every change after, in
// order, until ctx ends.
func (r *Registry) WatchHelp(ctx context.Context, fn func(SharedItem)) error {
	w, err := r.help.WatchAll(ctx)
	if err != nil {
		return fmt.Errorf("cluster: watch the help queue: %w", err)
	}
	go func() {
		defer func() { _ = w.Stop() }()
		for {
			select {
			case <-ctx.Done():
				return
			case e, ok := <-w.Updates():
				if !ok {
					return
				}
				if e == nil {
					continue // the end of the values stored before the watch
				}
				item := SharedItem{Key: e.Key()}
				if e.Operation() == jetstream.KeyValuePut {
					item.Value = e.Value()
				}
				fn(item)
			}
		}
	}()
	return nil
}

// conflict reports whether err is a lost compare-and-set: a create of a key that exists,
// or an update at a revision that is no longer the key's (replicated buckets report
// these with another code than single ones; both match here).
func conflict(err error) bool {
	return errors.Is(err, jetstream.ErrKeyExists) || errors.Is(err, jetstream.ErrKeyRevisionMismatch)
}

// validKey: the characters a key-value key may have.
func validKey(k string) bool {
	if k == "" || len(k) > 256 {
		return false
	}
	for _, c := range k {
		ok := c == '-' || c == '_' || c == '.' || c == '=' || c == '/' ||
			('0' <= c && c <= '9') || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z')
		if !ok {
			return false
		}
	}
	return k[0] != '.' && k[len(k)-1] != '.'
}
