package cluster

import "cmp"

// unlimited stands for the free slots of a node without --max-sessions.
const unlimited = 1 << 20

// freeSlots is how many more sessions n may take (negative: none).
func freeSlots(n NodeInfo) int {
	if n.Draining {
		return -1
	}
	if n.MaxSessions <= 0 {
		return unlimited - n.Sessions
	}
	return n.MaxSessions - n.Sessions
}

// Place picks the live node with the most room for one more session: the most free
// session slots, then the least busy CPU, then the least memory in use, then the name (so
// every node that places with the same reports picks the same). ErrNoRoom when none can
// take one.
func Place(nodes []NodeInfo) (string, error) {
	var best *NodeInfo
	for i := range nodes {
		n := &nodes[i]
		if freeSlots(*n) <= 0 {
			continue
		}
		if best == nil || roomier(*n, *best) {
			best = n
		}
	}
	if best == nil {
		return "", ErrNoRoom
	}
	return best.Name, nil
}

// roomier reports whether a has more room than b.
func roomier(a, b NodeInfo) bool {
	if c := cmp.Compare(freeSlots(a), freeSlots(b)); c != 0 {
		return c > 0
	}
	// CPU differences under a tenth of a core are noise between two samples.
	if d := a.CPU - b.CPU; d < -0.1 || d > 0.1 {
		return d < 0
	}
	if a.MemoryBytes != b.MemoryBytes {
		return a.MemoryBytes < b.MemoryBytes
	}
	return a.Name < b.Name
}
