package proxy

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
)

func TestAuditWritesOneJSONObjectPerLine(t *testing.T) {
	var buf bytes.Buffer
	a := NewAudit(&buf)
	a.Record("participant_joined", "s1", slog.String("participant", "p2"), slog.String("role", "guest"))
	a.Record("control_changed", "s1", slog.String("from", "p1"), slog.String("to", "p2"), slog.String("by", "p1"))
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d lines: %q", len(lines), buf.String())
	}
	var ev map[string]any
	if err := json.Unmarshal([]byte(lines[1]), &ev); err != nil {
		t.Fatal(err)
	}
	if ev["event"] != "control_changed" || ev["session"] != "s1" || ev["to"] != "p2" || ev["time"] == nil || ev["level"] != nil {
		t.Fatalf("event = %v", ev)
	}
	var nilAudit *Audit
	nilAudit.Record("x", "s") // a nil audit is a no-op
}
