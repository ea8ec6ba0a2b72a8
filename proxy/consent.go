package proxy

import (
	"errors"
	"log/slog"
	"time"

	"github.com/tandem-cobrowse/tandem/stream"
)

// Consent kinds: what the host is asked.
const (
	ConsentView    = "view"    // may this participant see the page?
	ConsentControl = "control" // may this participant take control?
)

// CloseDeclined closes the connection of a participant the host did not let in.
const CloseDeclined = 4003

// ErrNoConsentPending means the host answered a question nobody is asking.
var ErrNoConsentPending = errors.New("nobody is waiting for that answer")

// Waiting is a question put to the host, as the REST API shows it.
type Waiting struct {
	Participant ParticipantID `json:"participant"`
	Name        string        `json:"name"`
	Role        Role          `json:"role"`
	Kind        string        `json:"kind"`
	Since       time.Time     `json:"since"`
}

// park holds a participant who needs the host's consent: it is told it is waiting, the
// host sees it in the state's participants (waiting: true), and nothing of the page
// reaches it. A reconnect while waiting replaces the parked connection.
func (s *Session) park(p *participant, conn Conn, hello stream.ClientMessage) {
	first := p.waitConn == nil && p.waitSince.IsZero()
	if p.waitConn != nil {
		p.waitConn.Close(CloseReplaced, "replaced", "You joined this session from another window.")
	}
	p.waitConn, p.waitHello = conn, hello
	if p.waitSince.IsZero() {
		p.waitSince = s.now()
	}
	s.disarmIdle()
	_ = conn.Send(waitingMsg{Type: "waiting", Participant: s.info(p),
		Message: "Waiting for the host to let you see the page."})
	if first {
		s.log.Info("consent asked", "participant", p.id, "kind", ConsentView)
		s.audit.Record("consent_asked", s.id, slog.String("participant", string(p.id)), slog.String("name", p.name),
			slog.String("role", string(p.role)), slog.String("kind", ConsentView))
	}
	s.broadcastState()
}

// withdraw forgets a waiting participant whose connection closed before the host
// answered.
func (s *Session) withdraw(p *participant) {
	s.audit.Record("consent_withdrawn", s.id, slog.String("participant", string(p.id)), slog.String("kind", ConsentView))
	p.waitConn = nil
	s.remove(p)
	if s.connected() == 0 {
		s.armIdle()
	}
}

// consentImplied records and announces a consent the host gave by an earlier act (asking
// for help on a site that says so), so it is never silent.
func (s *Session) consentImplied(p *participant, why string) {
	s.audit.Record("consent_implied", s.id, slog.String("participant", string(p.id)), slog.String("name", p.name),
		slog.String("role", string(p.role)), slog.String("kind", ConsentView), slog.String("why", why))
	s.broadcast(notice("info", "consent_implied", p.name+" can see the page: "+why))
}

// Consent answers a question put to the host: by is the host participant (or "" for the
// REST API, which acts with the host's token).
func (s *Session) Consent(target ParticipantID, kind string, allow bool) error {
	var err error
	if cerr := s.call(func() { err = s.consent("", target, kind, allow) }); cerr != nil {
		return cerr
	}
	return err
}

func (s *Session) consent(by ParticipantID, target ParticipantID, kind string, allow bool) error {
	switch kind {
	case ConsentView:
		p := s.st.participants[target]
		if p == nil || !p.waiting {
			return ErrNoConsentPending
		}
		s.audit.Record("consent_answered", s.id, slog.String("participant", string(p.id)), slog.String("name", p.name),
			slog.String("role", string(p.role)), slog.String("kind", kind), slog.Bool("allowed", allow),
			slog.String("by", s.hostLabel(by)))
		conn, hello := p.waitConn, p.waitHello
		p.waiting, p.waitConn, p.waitHello = false, nil, stream.ClientMessage{}
		if !allow {
			if conn != nil {
				conn.Close(CloseDeclined, "declined", "The host did not allow you to see the page.")
			}
			s.remove(p)
			return nil
		}
		if conn == nil {
			return nil // gone meanwhile; a reconnect enters without asking again
		}
		s.enter(p, conn, hello, false)
		s.broadcast(notice("info", "participant_admitted", p.name+" can now see the page."))
		return nil
	case ConsentControl:
		host := by
		if host == "" {
			host = s.hostID()
		}
		if host == "" {
			return ErrNoConsentPending
		}
		action := ControlDeny
		if allow {
			action = ControlGrant
		}
		err := s.applyControl(ControlOp{Action: action, Actor: host, Target: target, Now: s.now(), Gesture: s.st.gesture.active()})
		if errors.Is(err, ErrNoRequest) || errors.Is(err, ErrParticipantAbsent) {
			return ErrNoConsentPending
		}
		return err
	}
	return ErrUnknownConsent
}

// ErrUnknownConsent means a consent answer of a kind that does not exist.
var ErrUnknownConsent = errors.New(`kind must be "view" or "control"`)

// hostID is the host participant's id, or "" when the host never joined.
func (s *Session) hostID() ParticipantID {
	for _, id := range s.st.order {
		if p := s.st.participants[id]; p.role == RoleHost {
			return p.id
		}
	}
	return ""
}

func (s *Session) hostLabel(by ParticipantID) string {
	if by == "" {
		return "host (api)"
	}
	return string(by)
}

// waitingList is every question the host has not answered yet.
func (s *Session) waitingList() []Waiting {
	out := []Waiting{}
	for _, id := range s.st.order {
		if p := s.st.participants[id]; p.waiting {
			out = append(out, Waiting{Participant: p.id, Name: p.name, Role: p.role, Kind: ConsentView, Since: p.waitSince})
		}
	}
	for _, r := range s.st.control.Requests {
		if p := s.st.participants[r.ID]; p != nil {
			out = append(out, Waiting{Participant: p.id, Name: p.name, Role: p.role, Kind: ConsentControl, Since: r.At})
		}
	}
	return out
}

// JoinCode is the session's current join code and when it expires; "" when it has none.
func (s *Session) JoinCode() (string, time.Time) {
	if s.params.JoinCode == nil {
		return "", time.Time{}
	}
	return s.params.JoinCode()
}

// consentMessage is the host's answer over its connection.
func (s *Session) consentMessage(p *participant, m stream.ClientMessage) {
	if p.role != RoleHost {
		_ = p.conn.Send(errMsg("forbidden", "only the host answers requests to see the page or take control"))
		return
	}
	var err error
	switch {
	case m.Allow == nil:
		err = errors.New(`"allow" (true or false) is required`)
	default:
		err = s.consent(p.id, ParticipantID(m.Participant), m.Kind, *m.Allow)
	}
	if err != nil {
		code := "bad_message"
		if errors.Is(err, ErrNoConsentPending) {
			code = "not_found"
		}
		_ = p.conn.Send(errMsg(code, err.Error()))
	}
}

// StopReason is what everyone is told when the host stops sharing.
const StopReason = "The host stopped sharing; the session has ended."

// stopSharing is the host's one button that ends everyone's view at once: the session
// ends, its tab and browser context (and any handed-over sign-in) with it.
func (s *Session) stopSharing(p *participant) {
	if p.role != RoleHost {
		_ = p.conn.Send(errMsg("forbidden", "only the host can stop sharing"))
		return
	}
	s.audit.Record("sharing_stopped", s.id, slog.String("by", string(p.id)))
	s.finish(StopReason)
}

// Notify tells everyone in the session m (a notice of the API's doing).
func (s *Session) Notify(m noticeMsg) {
	_ = s.exec(func() { s.broadcast(m) })
}
