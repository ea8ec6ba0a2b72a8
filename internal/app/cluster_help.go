package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/tandem-cobrowse/tandem/cluster"
	"github.com/tandem-cobrowse/tandem/help"
)

// sharedHelp keeps this node's copy of the help queue in step with the cluster's: the
// changes made here go to a key-value bucket, in order, by one goroutine; the changes
// other nodes make come back through a watch. Accepting a request is decided by a
// compare-and-set claim, so exactly one agent in the cluster gets it.
type sharedHelp struct {
	node  string
	reg   *cluster.Registry
	queue *help.Queue
	log   *slog.Logger

	mu      sync.Mutex
	pending []helpChange
	wake    chan struct{}
}

type helpChange struct {
	r       help.Request
	removed bool
}

// sharedRequest is a help request as stored: with the node that last changed it, so a
// node does not take back its own changes.
type sharedRequest struct {
	Node    string       `json:"node"`
	Request help.Request `json:"request"`
}

func shareHelp(ctx context.Context, node string, reg *cluster.Registry, queue *help.Queue, log *slog.Logger) error {
	h := &sharedHelp{node: node, reg: reg, queue: queue, log: log, wake: make(chan struct{}, 1)}
	queue.Share(h.claim, h.changed)
	go h.write(ctx)
	return reg.WatchHelp(ctx, h.apply)
}

// claim accepts a request (key: its id and acceptances given back) for this node, once
// in the whole cluster.
func (h *sharedHelp) claim(key string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := h.reg.ClaimOnce(ctx, "help-"+key, h.node)
	if errors.Is(err, cluster.ErrTaken) {
		return fmt.Errorf("%w (through another node)", help.ErrTaken)
	}
	return err
}

// changed queues a change made here for the bucket; called under the queue's lock.
func (h *sharedHelp) changed(r help.Request, removed bool) {
	h.mu.Lock()
	h.pending = append(h.pending, helpChange{r, removed})
	h.mu.Unlock()
	select {
	case h.wake <- struct{}{}:
	default:
	}
}

func (h *sharedHelp) write(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-h.wake:
		}
		h.mu.Lock()
		batch := h.pending
		h.pending = nil
		h.mu.Unlock()
		for _, c := range batch {
			wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			var err error
			if c.removed {
				err = h.reg.DeleteHelp(wctx, c.r.ID)
			} else {
				var b []byte
				if b, err = json.Marshal(sharedRequest{Node: h.node, Request: c.r}); err == nil {
					err = h.reg.PutHelp(wctx, c.r.ID, b)
				}
			}
			cancel()
			if err != nil {
				h.log.Warn("sharing the help queue", "request", c.r.ID, "err", err)
			}
		}
	}
}

// apply takes in what another node changed.
func (h *sharedHelp) apply(item cluster.SharedItem) {
	if item.Value == nil {
		h.queue.Remove(item.Key)
		return
	}
	var s sharedRequest
	if json.Unmarshal(item.Value, &s) != nil || s.Node == h.node {
		return
	}
	h.queue.Apply(s.Request)
}
