package proxy

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/tandem-cobrowse/tandem/metrics"
	"github.com/tandem-cobrowse/tandem/stream"
)

// orderConn notes the order in which deliver hands it frames.
type orderConn struct {
	Conn // only SendFrame is called
	id   ParticipantID
	log  *[]ParticipantID
}

func (c orderConn) SendFrame(*stream.Frame) bool {
	*c.log = append(*c.log, c.id)
	return false
}

// TestFanOutStartsWithTheControllerThenRotates: the controller's writer is woken first
// every frame, and the others take turns at being first, so the viewers woken last (the
// ones that skip when the server cannot keep up) are not the same every frame.
func TestFanOutStartsWithTheControllerThenRotates(t *testing.T) {
	s := &Session{
		rules:   DefaultRules(),
		params:  SessionParams{Now: time.Now},
		metrics: metrics.NewUnregistered(),
		st: state{
			participants: map[ParticipantID]*participant{},
			audiences:    map[audienceID]*audience{},
		},
	}
	var got []ParticipantID
	for i := range 4 {
		id := ParticipantID(fmt.Sprintf("p%d", i))
		s.st.participants[id] = &participant{id: id, role: RoleHost, conn: orderConn{id: id, log: &got}}
		s.st.order = append(s.st.order, id)
	}
	s.st.control.Controller = "p2"
	aud := s.audienceOf(RoleHost)

	firsts := map[ParticipantID]int{}
	for seq := range uint64(8) {
		got = got[:0]
		s.deliver(aud, seq+1, &stream.Frame{})
		if len(got) != 4 {
			t.Fatalf("frame %d went to %v, want all four once", seq+1, got)
		}
		if got[0] != "p2" {
			t.Fatalf("frame %d went first to %s, want the controller p2 (order %v)", seq+1, got[0], got)
		}
		sorted := slices.Clone(got)
		slices.Sort(sorted)
		if !slices.Equal(sorted, []ParticipantID{"p0", "p1", "p2", "p3"}) {
			t.Fatalf("frame %d went to %v, want each viewer once", seq+1, got)
		}
		firsts[got[1]]++
	}
	for _, id := range []ParticipantID{"p0", "p1", "p3"} {
		if firsts[id] == 0 {
			t.Fatalf("%s was never first after the controller in 8 frames: %v", id, firsts)
		}
	}
}
