package proxy

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"time"

	"golang.org/x/time/rate"
)

// Snapshot is what another node needs to bring a session back when the node holding it
// is lost: its page, rules, participants and control. It holds no secret in the clear:
// tokens, seats and resume tokens only as hashes. Handed-over sign-in state is never in
// it, so a session brought back starts signed out.
type Snapshot struct {
	ID                string                `json:"id"`
	URL               string                `json:"url"`
	Rules             Rules                 `json:"rules"`
	Site              string                `json:"site,omitempty"`
	LinkBase          string                `json:"linkBase"`
	CreatedAt         time.Time             `json:"createdAt"`
	TokenHashes       map[Role][]string     `json:"tokenHashes"`
	Seats             []SeatSnapshot        `json:"seats,omitempty"`
	Participants      []ParticipantSnapshot `json:"participants,omitempty"`
	Joined            int                   `json:"joined"`
	RoleCount         map[Role]int          `json:"roleCount,omitempty"`
	Controller        ParticipantID         `json:"controller,omitempty"`
	Handoff           bool                  `json:"handoff,omitempty"`
	ViewConsentOnHelp bool                  `json:"viewConsentOnHelp,omitempty"`
	// Restores counts the times the session was brought back.
	Restores int `json:"restores,omitempty"`
	// Handover: its node handed it over on purpose (draining) rather than being lost.
	Handover bool `json:"handover,omitempty"`
}

// SeatSnapshot is a seat (a link of its own for one person) by its token's hash.
type SeatSnapshot struct {
	Key     string `json:"key"`
	Role    Role   `json:"role"`
	Name    string `json:"name,omitempty"`
	Consent string `json:"consent,omitempty"`
}

// ParticipantSnapshot is a participant, by its resume token's hash.
type ParticipantSnapshot struct {
	ID         ParticipantID `json:"id"`
	Name       string        `json:"name"`
	Role       Role          `json:"role"`
	Color      string        `json:"color"`
	ResumeHash string        `json:"resumeHash"`
	Seat       string        `json:"seat,omitempty"`
	Waiting    bool          `json:"waiting,omitempty"`
	Mode       string        `json:"mode,omitempty"`
}

// restoreGrace is how long the participants of a session brought back keep their seats
// while they reconnect.
const restoreGrace = time.Minute

// snapshot is the session as another node would bring it back.
func (s *Session) snapshot() Snapshot {
	sn := Snapshot{
		ID: s.id, URL: s.st.page.URL, Rules: s.rules, Site: s.params.Site, LinkBase: s.params.LinkBase,
		CreatedAt: s.createdAt, TokenHashes: s.tokenHashes, Joined: s.st.joined, RoleCount: s.st.roleCount,
		Controller: s.st.control.Controller, Handoff: s.params.Handoff, ViewConsentOnHelp: s.params.ViewConsentOnHelp,
		Restores: s.restores,
	}
	if sn.URL == "" {
		sn.URL = s.params.StartURL
	}
	s.seatsMu.Lock()
	for key, c := range s.seats {
		sn.Seats = append(sn.Seats, SeatSnapshot{Key: key, Role: c.Role, Name: c.Name, Consent: c.Consent})
	}
	s.seatsMu.Unlock()
	for _, id := range s.st.order {
		p := s.st.participants[id]
		sn.Participants = append(sn.Participants, ParticipantSnapshot{ID: p.id, Name: p.name, Role: p.role, Color: p.color,
			ResumeHash: p.resumeHash, Seat: p.seat, Waiting: p.waiting, Mode: p.mode})
	}
	return sn
}

// shareSnapshot hands the session's snapshot to OnSnapshot when it changed.
func (s *Session) shareSnapshot() {
	if s.params.OnSnapshot == nil || s.st.ended {
		return
	}
	b, err := json.Marshal(s.snapshot())
	if err != nil {
		s.log.Warn("session snapshot", "err", err)
		return
	}
	if bytes.Equal(b, s.st.lastSnapshot) {
		return
	}
	s.st.lastSnapshot = b
	s.params.OnSnapshot(b)
}

// restore takes a snapshot's participants, seats and control into the new session.
// Participants are seated without connections and keep their seats for restoreGrace.
func (s *Session) restore(sn *Snapshot) {
	s.createdAt = sn.CreatedAt
	s.restores = sn.Restores + 1
	s.handover = sn.Handover
	for role, hashes := range sn.TokenHashes {
		s.tokenHashes[role] = append(s.tokenHashes[role], hashes...)
	}
	for _, seat := range sn.Seats {
		s.seats[seat.Key] = Credential{Role: seat.Role, Name: seat.Name, Consent: seat.Consent, seat: seat.Key}
	}
	s.st.joined = sn.Joined
	for role, n := range sn.RoleCount {
		s.st.roleCount[role] = n
	}
	for _, ps := range sn.Participants {
		p := &participant{
			id: ps.ID, name: ps.Name, role: ps.Role, color: ps.Color, resumeHash: ps.ResumeHash, seat: ps.Seat,
			waiting: ps.Waiting, mode: ps.Mode, limiter: rate.NewLimiter(inputRate, inputBurst),
			told: map[Refusal]time.Time{}, restored: true,
		}
		if p.mode == "" {
			p.mode = s.rules.For(p.role).Mode
		}
		s.st.participants[p.id] = p
		s.st.order = append(s.st.order, p.id)
	}
	if _, ok := s.st.participants[sn.Controller]; ok {
		s.st.control.Controller = sn.Controller
	}
	s.log.Info("session brought back", "participants", len(sn.Participants), "controller", sn.Controller, "restores", s.restores)
	s.audit.Record("session_restored", s.id, slog.String("url", sn.URL), slog.Int("participants", len(sn.Participants)),
		slog.Bool("handoff_lost", sn.Handoff))
	time.AfterFunc(restoreGrace, func() {
		_ = s.exec(func() {
			for _, id := range append([]ParticipantID(nil), s.st.order...) {
				if p := s.st.participants[id]; p != nil && p.restored && p.conn == nil && p.gen == 0 {
					s.remove(p) // never came back
				}
			}
		})
	})
}

// tellRestored tells a participant who comes back to a session brought back on another
// node what happened, once.
func (s *Session) tellRestored(p *participant) {
	if !p.restored || p.toldRestored {
		return
	}
	p.toldRestored = true
	msg := "The server that held this session went away. The session was brought back on another server at its last page."
	if s.handover {
		msg = "The session moved to another server, at the same page."
	}
	if s.params.Handoff {
		msg += " The visitor's sign-in could not be carried over: the page is signed out."
	}
	_ = p.conn.Send(noticeMsg{Type: "notice", Level: "warning", Code: "session_restored", Message: msg})
}

// HandoverJSON is the session's snapshot now, as JSON, for a node it is handed to.
func (s *Session) HandoverJSON() ([]byte, error) {
	var b []byte
	var err error
	if cerr := s.call(func() {
		sn := s.snapshot()
		sn.Handover = true
		b, err = json.Marshal(sn)
	}); cerr != nil {
		return nil, cerr
	}
	return b, err
}

// EndMoved ends the session here because another node takes it over: its participants
// are told to reconnect (bye "session_moved"), not that it ended.
func (s *Session) EndMoved(message string) {
	_ = s.call(func() {
		s.st.moved = true
		s.finish(message)
	})
	<-s.done
}
