package proxy

import (
	"context"
	"io"
	"log/slog"

	"github.com/tandem-cobrowse/tandem/auditlog"
)

// Audit writes the audit log: one JSON object per line for every event a security team
// asks about (sessions, joins, leaves, changes of control, refused navigations and
// connections). Tokens never appear in it. Lines are hash-chained (package auditlog).
type Audit struct{ log *slog.Logger }

// NewAudit writes to w, chaining its lines unless w already is a chain (one that
// continues a file's); a nil w discards.
func NewAudit(w io.Writer) *Audit {
	if w == nil {
		return &Audit{log: slog.New(slog.DiscardHandler)}
	}
	if _, chained := w.(*auditlog.Writer); !chained {
		w = auditlog.NewWriter(w, auditlog.Head{})
	}
	h := slog.NewJSONHandler(w, &slog.HandlerOptions{ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
		switch a.Key {
		case slog.LevelKey:
			return slog.Attr{} // every line is an event, not a log level
		case slog.MessageKey:
			a.Key = "event"
		}
		return a
	}})
	return &Audit{log: slog.New(h)}
}

// Record writes one event.
func (a *Audit) Record(event, session string, attrs ...slog.Attr) {
	if a == nil {
		return
	}
	a.log.LogAttrs(context.Background(), slog.LevelInfo, event, append([]slog.Attr{slog.String("session", session)}, attrs...)...)
}
