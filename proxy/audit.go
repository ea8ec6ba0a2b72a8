package proxy

import (
	"context"
	"io"
	"log/slog"
)

// Audit writes the audit log: one JSON object per line for every event a security team
// asks about (sessions, joins, leaves, changes of control, refused navigations and
// connections). Tokens never appear in it.
type Audit struct{ log *slog.Logger }

// NewAudit writes to w; a nil w discards.
func NewAudit(w io.Writer) *Audit {
	if w == nil {
		return &Audit{log: slog.New(slog.DiscardHandler)}
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
