// Package help is the queue of visitors asking for help (the "instant share"): a visitor
// on a provider's page asks, the request waits in the queue, and the first agent to
// accept it joins the visitor's session. Accepting is decided in one place, under one
// lock, so two agents racing for a request never both get it.
package help

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"
)

// Errors of the queue.
var (
	ErrNotFound = errors.New("no such help request")
	// ErrTaken means another agent accepted the request first.
	ErrTaken = errors.New("another agent already accepted this request")
	// ErrDuplicate means the session already has a request waiting.
	ErrDuplicate = errors.New("this session has already asked for help")
)

// Status of a request.
const (
	Waiting  = "waiting"
	Accepted = "accepted"
)

// Request is one visitor's ask for help.
type Request struct {
	ID         string    `json:"id"`
	Session    string    `json:"session"`
	Site       string    `json:"site,omitempty"`
	Name       string    `json:"name"`
	Topic      string    `json:"topic"`
	Title      string    `json:"title"`
	URL        string    `json:"url"`
	CreatedAt  time.Time `json:"createdAt"`
	Status     string    `json:"status"`
	Agent      string    `json:"agent,omitempty"` // display name of who accepted
	AcceptedAt time.Time `json:"acceptedAt,omitzero"`
	// Overdue: it has waited longer than the queue's patience.
	Overdue bool `json:"overdue"`
	// Undone counts acceptances given back (the agent's seat could not be made): each
	// acceptance is claimed anew in a cluster.
	Undone int `json:"undone,omitempty"`
}

// Queue holds the requests of one server, or its copy of a cluster's. The zero value is
// not usable; use New.
type Queue struct {
	now      func() time.Time
	patience time.Duration
	// claim, if set, makes an acceptance exclusive across the cluster (Share): the key
	// is the request's id and how many acceptances it has given back.
	claim func(key string) error
	// shared, if set, is told of every change made here, to pass to the other nodes.
	shared func(r Request, removed bool)

	mu        sync.Mutex
	byID      map[string]*Request
	order     []string // oldest first
	listeners map[chan struct{}]struct{}
}

// New returns a queue whose requests become overdue after patience.
func New(patience time.Duration, now func() time.Time) *Queue {
	if now == nil {
		now = time.Now
	}
	return &Queue{now: now, patience: patience, byID: map[string]*Request{}, listeners: map[chan struct{}]struct{}{}}
}

// Add puts r in the queue (ID, CreatedAt and Status are set here) and returns it.
func (q *Queue) Add(r Request) (Request, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for _, id := range q.order {
		if o := q.byID[id]; o.Session == r.Session && o.Status == Waiting {
			return Request{}, ErrDuplicate
		}
	}
	b := make([]byte, 12)
	rand.Read(b)
	r.ID = "hr_" + base64.RawURLEncoding.EncodeToString(b)
	r.CreatedAt = q.now().UTC()
	r.Status, r.Agent, r.AcceptedAt, r.Overdue = Waiting, "", time.Time{}, false
	q.byID[r.ID] = &r
	q.order = append(q.order, r.ID)
	q.changed(&r, false)
	return r, nil
}

// Share makes the queue one of a cluster's copies: claim decides an acceptance for the
// whole cluster (nil for exactly one caller of a key, an error wrapping ErrTaken for the
// others),
// and shared is told of every change made here. Changes made elsewhere come in through
// Apply and Remove. Call it before the queue is used.
func (q *Queue) Share(claim func(id string) error, shared func(r Request, removed bool)) {
	q.claim, q.shared = claim, shared
}

// Accept gives request id to agent, once: the second agent gets ErrTaken.
func (q *Queue) Accept(id, agent string) (Request, error) {
	q.mu.Lock()
	r := q.byID[id]
	if r == nil {
		q.mu.Unlock()
		return Request{}, ErrNotFound
	}
	if r.Status != Waiting {
		q.mu.Unlock()
		return Request{}, ErrTaken
	}
	key := fmt.Sprintf("%s-%d", id, r.Undone)
	q.mu.Unlock()
	if q.claim != nil {
		// Outside the lock: the cluster's answer takes a round trip.
		if err := q.claim(key); err != nil {
			return Request{}, err
		}
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	r = q.byID[id]
	if r == nil {
		return Request{}, ErrNotFound
	}
	if r.Status != Waiting && q.claim == nil {
		return Request{}, ErrTaken
	}
	r.Status, r.Agent, r.AcceptedAt = Accepted, agent, q.now().UTC()
	q.changed(r, false)
	return q.view(r), nil
}

// Apply takes in a request as another node of the cluster changed it.
func (q *Queue) Apply(r Request) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if old := q.byID[r.ID]; old != nil {
		*old = r
	} else {
		q.byID[r.ID] = &r
		q.order = append(q.order, r.ID)
		slices.SortStableFunc(q.order, func(a, b string) int { return q.byID[a].CreatedAt.Compare(q.byID[b].CreatedAt) })
	}
	q.signal()
}

// Remove drops a request another node of the cluster removed.
func (q *Queue) Remove(id string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.byID[id] == nil {
		return
	}
	delete(q.byID, id)
	q.order = slices.DeleteFunc(q.order, func(o string) bool { return o == id })
	q.signal()
}

// Undo puts an accepted request back in the queue (the agent's seat could not be made).
func (q *Queue) Undo(id string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if r := q.byID[id]; r != nil && r.Status == Accepted {
		r.Status, r.Agent, r.AcceptedAt = Waiting, "", time.Time{}
		r.Undone++ // the next acceptance is a new claim
		q.changed(r, false)
	}
}

// Waiting lists the requests nobody has accepted, oldest first.
func (q *Queue) Waiting() []Request {
	q.mu.Lock()
	defer q.mu.Unlock()
	out := []Request{}
	for _, id := range q.order {
		if r := q.byID[id]; r.Status == Waiting {
			out = append(out, q.view(r))
		}
	}
	return out
}

// ForSession is the newest request of a session, if it has one.
func (q *Queue) ForSession(session string) (Request, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for _, id := range slices.Backward(q.order) {
		if r := q.byID[id]; r.Session == session {
			return q.view(r), true
		}
	}
	return Request{}, false
}

// Get returns request id.
func (q *Queue) Get(id string) (Request, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	r := q.byID[id]
	if r == nil {
		return Request{}, ErrNotFound
	}
	return q.view(r), nil
}

// Forget drops every request of a session that ended.
func (q *Queue) Forget(session string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.order = slices.DeleteFunc(q.order, func(id string) bool {
		r := q.byID[id]
		if r.Session == session {
			delete(q.byID, id)
			q.changed(r, true)
			return true
		}
		return false
	})
}

// Overdue returns the waiting requests that have become overdue since the last call,
// marking them; the caller tells their visitors.
func (q *Queue) Overdue() []Request {
	q.mu.Lock()
	defer q.mu.Unlock()
	var out []Request
	for _, id := range q.order {
		r := q.byID[id]
		if r.Status == Waiting && !r.Overdue && q.now().Sub(r.CreatedAt) >= q.patience {
			r.Overdue = true
			out = append(out, *r)
			q.changed(r, false)
		}
	}
	return out
}

// Subscribe returns a channel that receives a signal whenever the queue changes (signals
// coalesce: a slow reader sees one for many changes), and a function that ends it.
func (q *Queue) Subscribe() (<-chan struct{}, func()) {
	ch := make(chan struct{}, 1)
	q.mu.Lock()
	q.listeners[ch] = struct{}{}
	q.mu.Unlock()
	return ch, func() {
		q.mu.Lock()
		delete(q.listeners, ch)
		q.mu.Unlock()
	}
}

// view is r as callers see it; overdue is computed, so it is right between sweeps.
func (q *Queue) view(r *Request) Request {
	v := *r
	v.Overdue = r.Overdue || (r.Status == Waiting && q.now().Sub(r.CreatedAt) >= q.patience)
	return v
}

// changed passes a change made here to the cluster and signals every listener; called
// with mu held.
func (q *Queue) changed(r *Request, removed bool) {
	if q.shared != nil {
		q.shared(*r, removed)
	}
	q.signal()
}

// signal tells every listener the queue changed; called with mu held.
func (q *Queue) signal() {
	for ch := range q.listeners {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}
