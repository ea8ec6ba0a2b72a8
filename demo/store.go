package demo

import (
	"container/list"
	"crypto/rand"
	"encoding/hex"
	"maps"
	"slices"
	"sync"
	"time"
)

// maxSessions bounds the memory of the demo: past it, the least recently used visitor's
// cart and notes are forgotten.
const maxSessions = 10_000

// maxNotes is how many support messages a visitor keeps; older ones drop off.
const maxNotes = 20

// visitor is what the shop remembers about one browser: who signed in, the cart and the
// messages sent to support.
type visitor struct {
	User  string
	Cart  map[string]int // product slug → quantity
	Notes []note         // newest first
}

type note struct {
	Text string
	At   time.Time
}

// CartCount is the number of items in the cart.
func (v visitor) CartCount() int {
	n := 0
	for _, q := range v.Cart {
		n += q
	}
	return n
}

// store keeps visitors by session id. Handlers run on many goroutines and each access is
// short, so a mutex guards it; the handler has no lifetime that could end an owner goroutine.
type store struct {
	mu    sync.Mutex
	max   int
	byID  map[string]*list.Element // of *entry
	order *list.List               // front is most recently used
}

type entry struct {
	id string
	v  visitor
}

func newStore(max int) *store {
	return &store{max: max, byID: make(map[string]*list.Element), order: list.New()}
}

// get returns a copy of the visitor with id, and whether it exists.
func (s *store) get(id string) (visitor, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	el, ok := s.byID[id]
	if !ok {
		return visitor{}, false
	}
	s.order.MoveToFront(el)
	return clone(el.Value.(*entry).v), true
}

// update applies fn to the visitor with id, creating it when unknown (id "" always
// creates), and returns the id it is stored under.
func (s *store) update(id string, fn func(*visitor)) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	el, ok := s.byID[id]
	if !ok {
		id = newID()
		el = s.order.PushFront(&entry{id: id})
		s.byID[id] = el
		s.evict()
	}
	s.order.MoveToFront(el)
	fn(&el.Value.(*entry).v)
	return id
}

// rotate moves the visitor at id to a fresh id, so that an id seen before sign-in is
// worthless after it. It returns the new id.
func (s *store) rotate(id string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var v visitor
	if el, ok := s.byID[id]; ok {
		v = el.Value.(*entry).v
		s.order.Remove(el)
		delete(s.byID, id)
	}
	nid := newID()
	s.byID[nid] = s.order.PushFront(&entry{id: nid, v: v})
	s.evict()
	return nid
}

func (s *store) evict() {
	for s.order.Len() > s.max {
		el := s.order.Back()
		s.order.Remove(el)
		delete(s.byID, el.Value.(*entry).id)
	}
}

func clone(v visitor) visitor {
	v.Cart = maps.Clone(v.Cart)
	v.Notes = slices.Clone(v.Notes)
	return v
}

func newID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return hex.EncodeToString(b)
}
