package cluster

import (
	"errors"
	"testing"
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
