package proxy

import "time"

// refusal is a connection of the page that the egress policy refused.
type refusal struct {
	reason string
	at     time.Time // the newest one to this host
	told   time.Time // when participants were last told of this host
}

// Refusals a joiner is told of: those of the last half minute, a few at most.
const (
	refusalMemory = 30 * time.Second
	refusalsTold  = 5
)

// egressRefused notes a refusal and tells the participants, at most once per host every
// egressNoticeEvery, so a page with a hundred blocked images says so once. With nobody
// connected (the start page loads before anyone joins) it is kept for the first joiners.
func (s *Session) egressRefused(host, reason string, at time.Time) {
	if s.st.refusals == nil {
		s.st.refusals = map[string]*refusal{}
	}
	r := s.st.refusals[host]
	if r == nil {
		if len(s.st.refusals) >= 64 {
			s.forgetRefusals(at)
		}
		r = &refusal{}
		s.st.refusals[host] = r
	}
	r.reason, r.at = reason, at
	if s.connected() == 0 || at.Sub(r.told) < egressNoticeEvery {
		return
	}
	r.told = at
	s.broadcast(egressNotice(host, reason))
}

// tellRefusals gives a joiner the refusals of the last half minute.
func (s *Session) tellRefusals(p *participant) {
	now := s.now()
	n := 0
	for host, r := range s.st.refusals {
		if now.Sub(r.at) > refusalMemory || n == refusalsTold {
			continue
		}
		_ = p.conn.Send(egressNotice(host, r.reason))
		n++
	}
}

func (s *Session) forgetRefusals(now time.Time) {
	for host, r := range s.st.refusals {
		if now.Sub(r.at) > refusalMemory {
			delete(s.st.refusals, host)
		}
	}
	if len(s.st.refusals) >= 64 {
		clear(s.st.refusals) // a page trying very many hosts: start over rather than grow
	}
}

func egressNotice(host, reason string) noticeMsg {
	return notice("warning", "egress_refused", "Blocked "+host+": "+reason)
}
