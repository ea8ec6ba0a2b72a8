package cluster

import (
	"sort"
	"sync"
	"time"
)

// presenceSubject carries every node's heartbeat. Liveness rides on plain NATS messages,
// not on JetStream: a node's loss must be seen at once, even while the key-value
// buckets elect new leaders because of it.
const presenceSubject = "tandem.presence"

// heartbeat is what a node publishes on presenceSubject.
type heartbeat struct {
	NodeInfo
	Leaving bool `json:"leaving,omitempty"` // the node leaves on purpose: forget it now
}

// presence is the live nodes as this node hears them: a node unheard for ttl is gone.
type presence struct {
	ttl time.Duration
	now func() time.Time

	mu   sync.Mutex
	seen map[string]NodeInfo // Seen is when this node last heard it
}

func newPresence(ttl time.Duration) *presence {
	return &presence{ttl: ttl, now: time.Now, seen: map[string]NodeInfo{}}
}

func (p *presence) observe(hb heartbeat) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if hb.Leaving {
		delete(p.seen, hb.Name)
		return
	}
	n := hb.NodeInfo
	n.Seen = p.now()
	p.seen[n.Name] = n
}

// live are the nodes heard within ttl, by name.
func (p *presence) live() []NodeInfo {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	out := make([]NodeInfo, 0, len(p.seen))
	for name, n := range p.seen {
		if now.Sub(n.Seen) < p.ttl {
			out = append(out, n)
		} else {
			delete(p.seen, name)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func (p *presence) alive(name string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	n, ok := p.seen[name]
	return ok && p.now().Sub(n.Seen) < p.ttl
}
