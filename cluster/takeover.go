package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"
)

// ErrMoving: the session's node was lost (or handed it over); it is being brought back
// on another node. Try again in a moment.
var ErrMoving = errors.New("cluster: the session is being brought back on another node")

// scanEvery: a node looks for sessions to bring back this often even when it saw no node
// go, in heartbeats (a node that joins late finds the orphans of one lost before).
const scanEvery = 20

type entry struct {
	rec SessionRecord
	rev uint64
}

// entries are every session record with its revision.
func (r *Registry) entries(ctx context.Context) ([]entry, error) {
	lister, err := r.sessions.ListKeys(ctx)
	if err != nil {
		return nil, fmt.Errorf("cluster: list sessions: %w", err)
	}
	var out []entry
	for key := range lister.Keys() {
		rec, rev, err := r.Lookup(ctx, key)
		if err == nil {
			out = append(out, entry{rec, rev})
		}
	}
	return out, nil
}

// snapshots writes each session's newest snapshot into its record: newest wins per
// session, written by one goroutine.
type snapshots struct {
	mu      sync.Mutex
	pending map[string][]byte
	wake    chan struct{}
}

// Track stores a session's newest snapshot in the registry, so another node can bring
// the session back if this one is lost. It never blocks.
func (n *Node) Track(id string, snapshot []byte) {
	n.snaps.mu.Lock()
	n.snaps.pending[id] = snapshot
	n.snaps.mu.Unlock()
	select {
	case n.snaps.wake <- struct{}{}:
	default:
	}
}

func (n *Node) writeSnapshots() {
	for {
		select {
		case <-n.ctx.Done():
			return
		case <-n.snaps.wake:
		}
		n.snaps.mu.Lock()
		batch := n.snaps.pending
		n.snaps.pending = map[string][]byte{}
		n.snaps.mu.Unlock()
		for id, b := range batch {
			if err := n.writeSnapshot(id, b); err != nil {
				n.log.Warn("storing a session's snapshot", "session", id, "err", err)
			}
		}
	}
}

func (n *Node) writeSnapshot(id string, b []byte) error {
	var page struct {
		URL string `json:"url"`
	}
	_ = json.Unmarshal(b, &page)
	for range 3 { // a compare-and-set lost to another writer of the record: read it again
		ctx, cancel := context.WithTimeout(n.ctx, 5*time.Second)
		rec, rev, err := n.reg.Lookup(ctx, id)
		if err != nil {
			cancel()
			if errors.Is(err, ErrUnknownSession) {
				return nil // ended meanwhile
			}
			return err
		}
		if rec.Node != n.name || rec.Moving {
			cancel()
			return nil // another node holds it now
		}
		rec.Spec = b
		if page.URL != "" {
			rec.URL = page.URL
		}
		_, err = n.reg.Update(ctx, rec, rev)
		cancel()
		if !errors.Is(err, ErrTaken) {
			return err
		}
	}
	return ErrTaken
}

// Release forgets a session that ended here, unless another node has taken it over.
func (n *Node) Release(id string) {
	n.snaps.mu.Lock()
	delete(n.snaps.pending, id)
	n.snaps.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.WithoutCancel(n.ctx), 5*time.Second)
	defer cancel()
	if err := n.reg.ReleaseIf(ctx, id, n.name); err != nil {
		n.log.Warn("releasing a session", "session", id, "err", err)
	}
}

// MoveAway hands a session held here to the node with the most room, which brings it
// back from snapshot; it returns that node.
func (n *Node) MoveAway(ctx context.Context, id string, snapshot []byte) (string, error) {
	target, err := n.Place()
	if err != nil {
		return "", err
	}
	if target == n.name {
		return "", fmt.Errorf("%w: only this node has room", ErrNoRoom)
	}
	rec, rev, err := n.reg.Lookup(ctx, id)
	if err != nil {
		return "", err
	}
	if rec.Node != n.name {
		return "", fmt.Errorf("%w: session %s is held by %s", ErrTaken, id, rec.Node)
	}
	rec.Node, rec.Moving, rec.Moves, rec.Spec = target, true, rec.Moves+1, snapshot
	if _, err := n.reg.Update(ctx, rec, rev); err != nil {
		return "", err
	}
	// Tell the taker at once rather than at its next scan.
	_ = n.nc.Publish(adoptSubject(target), nil)
	n.log.Info("session handed over", "session", id, "to", target)
	return target, nil
}

// adopt brings back the sessions handed to this node, on its first scan those it held
// before it restarted, and of those whose node is gone the ones placement gives it.
// Every node plans from the same reports, so each orphan has one taker; the
// compare-and-set settles any disagreement, and an orphan nobody took for a while is
// taken by whoever sees it.
func (n *Node) adopt(live []NodeInfo, first bool) {
	if !n.adopting.CompareAndSwap(false, true) {
		n.rescan.Store(true) // a scan is under way: another follows it
		return
	}
	defer func() {
		n.adopting.Store(false)
		if n.rescan.Swap(false) {
			go n.adopt(n.Nodes(), !n.scanned.Load())
		}
	}()
	// Short: while a bucket elects a new leader a request hangs until its timeout, and
	// the next heartbeat asks again.
	ctx, cancel := context.WithTimeout(n.ctx, 2*time.Second)
	defer cancel()
	entries, err := n.reg.entries(ctx)
	if err != nil {
		// Often the buckets electing new leaders after a node's loss: look again at the
		// next heartbeat.
		n.log.Warn("looking for sessions to bring back", "err", err)
		n.retry.Store(true)
		return
	}
	// Every node plans from the same heartbeats, its own included, so they agree.
	alive := map[string]bool{}
	plan := append([]NodeInfo(nil), live...)
	for _, l := range live {
		alive[l.Name] = true
	}
	now := time.Now()
	seen := map[string]bool{}
	for _, e := range entries {
		switch {
		case e.rec.Node == n.name && e.rec.Moving:
			n.bringBack(e)
		case first && e.rec.Node == n.name && e.rec.CreatedAt.Before(n.startedAt) && !n.holds(e.rec.ID):
			// This node's own session from before it restarted: bring it back here.
			n.log.Warn("bringing back a session this node held before it restarted", "session", e.rec.ID)
			n.bringBack(e)
		case e.rec.Node != n.name && !alive[e.rec.Node]:
			seen[e.rec.ID] = true
			since, ok := n.orphans[e.rec.ID]
			if !ok {
				since = now
				n.orphans[e.rec.ID] = now
			}
			n.retry.Store(true) // until nobody's session is orphaned, look at every heartbeat
			target, err := Place(plan)
			if err != nil {
				continue // nobody has room; try again next time
			}
			for i := range plan {
				if plan[i].Name == target {
					plan[i].Sessions++ // the next orphan goes where there is room after this one
				}
			}
			if target != n.name && now.Sub(since) < n.presence.ttl {
				continue // its taker will bring it back
			}
			if n.draining.Load() {
				continue
			}
			e.rec.Node, e.rec.Moving, e.rec.Moves = n.name, true, e.rec.Moves+1
			rev, err := n.reg.Update(ctx, e.rec, e.rev)
			if err != nil {
				continue // another node took it first
			}
			n.log.Warn("bringing back a session whose node is gone", "session", e.rec.ID)
			n.bringBack(entry{e.rec, rev})
		}
	}
	for id := range n.orphans {
		if !seen[id] {
			delete(n.orphans, id)
		}
	}
	if first {
		n.scanned.Store(true)
	}
}

// bringBack restores a session placed here from its snapshot, once, off the heartbeat.
func (n *Node) bringBack(e entry) {
	n.mu.Lock()
	if n.restoring[e.rec.ID] {
		n.mu.Unlock()
		return
	}
	n.restoring[e.rec.ID] = true
	n.mu.Unlock()
	go func() {
		defer func() {
			n.mu.Lock()
			delete(n.restoring, e.rec.ID)
			n.mu.Unlock()
		}()
		ctx, cancel := context.WithTimeout(n.ctx, time.Minute)
		defer cancel()
		start := time.Now()
		var err error
		if len(e.rec.Spec) == 0 {
			err = errors.New("no snapshot was stored")
		} else {
			err = n.restore(ctx, e.rec)
		}
		if err != nil {
			n.log.Warn("a session could not be brought back; it ends", "session", e.rec.ID, "err", err)
			n.metrics.restoreFailed.Inc()
			_ = n.reg.ReleaseIf(ctx, e.rec.ID, n.name)
			return
		}
		n.metrics.restored.Observe(time.Since(start).Seconds())
		// Brought back: the record says so, unless the session ended meanwhile.
		for range 3 {
			rec, rev, err := n.reg.Lookup(ctx, e.rec.ID)
			if err != nil || rec.Node != n.name || !rec.Moving {
				return
			}
			rec.Moving = false
			if _, err := n.reg.Update(ctx, rec, rev); !errors.Is(err, ErrTaken) {
				return
			}
		}
	}()
}
