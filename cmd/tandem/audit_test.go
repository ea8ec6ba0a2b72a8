package main

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tandem-cobrowse/tandem/auditlog"
	"github.com/tandem-cobrowse/tandem/proxy"
)

// TestAuditVerify: a log the server wrote verifies; the same log with one line edited,
// removed or moved does not, and the command names the line.
func TestAuditVerify(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	f, chain, err := auditlog.OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	a := proxy.NewAudit(chain)
	for _, ev := range []string{"session_created", "participant_joined", "control_changed", "participant_left", "session_ended"} {
		a.Record(ev, "s1", slog.String("participant", "p1"))
	}
	f.Close()

	run := func(args ...string) (int, string) {
		var out, errb bytes.Buffer
		code := runAudit(args, strings.NewReader(""), &out, &errb)
		return code, out.String() + errb.String()
	}
	if code, out := run("verify", path); code != 0 || !strings.Contains(out, "OK: 5 lines") {
		t.Fatalf("verify of an intact log: %d %q", code, out)
	}

	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfter(string(b), "\n")
	for _, tc := range []struct {
		name  string
		lines []string
		want  string
	}{
		{"edited", []string{lines[0], strings.Replace(lines[1], `"participant":"p1"`, `"participant":"p2"`, 1), lines[2], lines[3], lines[4]}, "line 3 "},
		{"removed", []string{lines[0], lines[1], lines[3], lines[4]}, "line 3 "},
		{"moved", []string{lines[0], lines[2], lines[1], lines[3], lines[4]}, "line 2 "},
	} {
		bad := filepath.Join(t.TempDir(), tc.name+".log")
		if err := os.WriteFile(bad, []byte(strings.Join(tc.lines, "")), 0o600); err != nil {
			t.Fatal(err)
		}
		code, out := run("verify", bad)
		if code != 1 || !strings.Contains(out, "BROKEN") || !strings.Contains(out, tc.want) {
			t.Errorf("%s line: verify = %d %q, want 1 naming %q", tc.name, code, out, strings.TrimSpace(tc.want))
		}
	}
	if code, _ := run("check", path); code != 2 {
		t.Errorf("a wrong command exits %d, want 2", code)
	}
}
