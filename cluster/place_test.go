package cluster

import (
	"errors"
	"testing"
	"time"
)

func TestPlace(t *testing.T) {
	tests := []struct {
		name  string
		nodes []NodeInfo
		want  string
		err   error
	}{
		{"the most free slots", []NodeInfo{{Name: "a", Sessions: 5, MaxSessions: 10}, {Name: "b", Sessions: 2, MaxSessions: 10}, {Name: "c", Sessions: 1, MaxSessions: 5}}, "b", nil},
		{"full nodes are skipped", []NodeInfo{{Name: "a", Sessions: 10, MaxSessions: 10}, {Name: "b", Sessions: 9, MaxSessions: 10}}, "b", nil},
		{"draining nodes take none", []NodeInfo{{Name: "a", Sessions: 0, MaxSessions: 10, Draining: true}, {Name: "b", Sessions: 9, MaxSessions: 10}}, "b", nil},
		{"equal slots: the less busy CPU", []NodeInfo{{Name: "a", Sessions: 1, MaxSessions: 10, CPU: 1.5}, {Name: "b", Sessions: 1, MaxSessions: 10, CPU: 0.2}}, "b", nil},
		{"CPU within noise: less memory", []NodeInfo{{Name: "a", Sessions: 1, MaxSessions: 10, CPU: 0.25, MemoryBytes: 900}, {Name: "b", Sessions: 1, MaxSessions: 10, CPU: 0.2, MemoryBytes: 1000}}, "a", nil},
		{"all equal: the first name", []NodeInfo{{Name: "b", MaxSessions: 3}, {Name: "a", MaxSessions: 3}}, "a", nil},
		{"no limit counts as room", []NodeInfo{{Name: "a", Sessions: 3}, {Name: "b", Sessions: 1}}, "b", nil},
		{"nobody has room", []NodeInfo{{Name: "a", Sessions: 2, MaxSessions: 2}, {Name: "b", Draining: true}}, "", ErrNoRoom},
		{"no nodes", nil, "", ErrNoRoom},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Place(tt.nodes)
			if got != tt.want || !errors.Is(err, tt.err) {
				t.Fatalf("Place = %q, %v; want %q, %v", got, err, tt.want, tt.err)
			}
		})
	}
}

func TestNodeToken(t *testing.T) {
	for in, want := range map[string]string{"web-1": "web-1", "web-1.example.com": "web-1-example-com", "a b*>": "a-b--", "node_2": "node_2"} {
		if got := NodeToken(in); got != want {
			t.Errorf("NodeToken(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestPresenceForgetsSilentNodes(t *testing.T) {
	p := newPresence(3 * time.Second)
	now := time.Unix(1000, 0)
	p.now = func() time.Time { return now }
	p.observe(heartbeat{NodeInfo: NodeInfo{Name: "b", Sessions: 2}})
	p.observe(heartbeat{NodeInfo: NodeInfo{Name: "a", Sessions: 1}})
	if live := p.live(); len(live) != 2 || live[0].Name != "a" || live[1].Sessions != 2 || !live[0].Seen.Equal(now) {
		t.Fatalf("live = %+v", live)
	}
	now = now.Add(2 * time.Second)
	p.observe(heartbeat{NodeInfo: NodeInfo{Name: "a", Sessions: 4}})
	now = now.Add(2 * time.Second) // b unheard for 4 s, a for 2 s
	if live := p.live(); len(live) != 1 || live[0].Name != "a" || live[0].Sessions != 4 {
		t.Fatalf("after b went silent, live = %+v", live)
	}
	if p.alive("b") || !p.alive("a") {
		t.Fatal("alive disagrees with live")
	}
	p.observe(heartbeat{NodeInfo: NodeInfo{Name: "a"}, Leaving: true})
	if p.alive("a") || len(p.live()) != 0 {
		t.Fatal("a node that said it leaves is still alive")
	}
}
