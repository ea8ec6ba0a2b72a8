package proxy

import (
	"log/slog"
	"sync"
	"time"
)

// egressNoticeEvery is how often participants hear of refusals of one host: a
// page with a hundred blocked images says so once.
const egressNoticeEvery = 10 * time.Second

// NotifyEgressRefused tells session sessionID that the egress policy refused a connection
// to host. Every refusal is counted; the audit line is limited to one per session and host
// every 10 seconds, so a page cannot flood the log. Participants are told by the session
// (see egressRefused). It never blocks for long and ignores sessions that are gone.
func (r *Registry) NotifyEgressRefused(sessionID, host, reason string) {
	if r.p.Metrics != nil {
		r.p.Metrics.EgressRefused.Inc()
	}
	if r.egressNotices.allow(sessionID+"\x00"+host, time.Now()) {
		r.p.Audit.Record("egress_refused", sessionID, slog.String("host", host), slog.String("reason", reason))
	}
	s, err := r.Get(sessionID)
	if err != nil {
		return
	}
	now := time.Now()
	_ = s.exec(func() { s.egressRefused(host, reason, now) })
}

// noticeLimiter remembers when each key was last let through.
type noticeLimiter struct {
	mu   sync.Mutex
	last map[string]time.Time
}

func (l *noticeLimiter) allow(key string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.last == nil {
		l.last = map[string]time.Time{}
	}
	if t, ok := l.last[key]; ok && now.Sub(t) < egressNoticeEvery {
		return false
	}
	if len(l.last) > 1024 { // forget what no longer limits anything
		for k, t := range l.last {
			if now.Sub(t) >= egressNoticeEvery {
				delete(l.last, k)
			}
		}
	}
	l.last[key] = now
	return true
}
