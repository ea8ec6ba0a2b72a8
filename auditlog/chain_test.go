package auditlog

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// chainOf writes n events through slog's JSON handler, as the server does.
func chainOf(t *testing.T, n int) []string {
	t.Helper()
	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(NewWriter(&buf, Head{}), nil))
	for i := range n {
		log.Info("participant_joined", "session", "s1", "participant", fmt.Sprintf("p%d", i+1))
	}
	return strings.Split(strings.TrimRight(buf.String(), "\n"), "\n")
}

func verify(lines []string) (Report, error) {
	return Verify(strings.NewReader(strings.Join(lines, "\n") + "\n"))
}

func TestAChainVerifies(t *testing.T) {
	lines := chainOf(t, 5)
	if !strings.HasPrefix(lines[0], `{"seq":1,"prev":"`+Genesis+`","time":`) {
		t.Fatalf("first line %s", lines[0])
	}
	rep, err := verify(lines)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Lines != 5 || rep.Head.Seq != 5 || len(rep.Head.Hash) != 64 {
		t.Fatalf("report %+v", rep)
	}
}

// TestTamperingIsDetected: editing, removing, inserting or moving one line, anywhere, is
// named at the first line that no longer follows.
func TestTamperingIsDetected(t *testing.T) {
	for _, tc := range []struct {
		name   string
		tamper func([]string) []string
		line   string
	}{
		{"an edited value", func(l []string) []string {
			l[2] = strings.Replace(l[2], `"participant":"p3"`, `"participant":"p9"`, 1)
			return l
		}, "line 4 "},
		{"an edited last line's neighbour", func(l []string) []string {
			l[3] = strings.Replace(l[3], "participant_joined", "participant_left", 1)
			return l
		}, "line 5 "},
		{"a removed line", func(l []string) []string { return append(l[:2:2], l[3:]...) }, "line 3 "},
		{"a removed first line", func(l []string) []string { return l[1:] }, "line 1 "},
		{"two lines swapped", func(l []string) []string {
			l[1], l[2] = l[2], l[1]
			return l
		}, "line 2 "},
		{"a line inserted", func(l []string) []string {
			return append(l[:2:2], append([]string{l[1]}, l[2:]...)...)
		}, "line 3 "},
		{"a line that is not JSON", func(l []string) []string {
			l[1] = "hello"
			return l
		}, "line 2 "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := verify(tc.tamper(chainOf(t, 5)))
			if !errors.Is(err, ErrBroken) {
				t.Fatalf("Verify = %v, want ErrBroken", err)
			}
			if !strings.Contains(err.Error(), tc.line) {
				t.Fatalf("Verify = %v, want it to name %q", err, strings.TrimSpace(tc.line))
			}
		})
	}
}

// TestOpenFileContinuesTheChain: a server restarted on the same file extends its chain,
// and refuses a file whose chain is broken.
func TestOpenFileContinuesTheChain(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	for run := range 2 {
		f, w, err := OpenFile(path)
		if err != nil {
			t.Fatal(err)
		}
		log := slog.New(slog.NewJSONHandler(w, nil))
		log.Info("session_created", "run", run)
		log.Info("session_ended", "run", run)
		f.Close()
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Verify(f)
	f.Close()
	if err != nil || rep.Lines != 4 {
		t.Fatalf("after two runs: %+v, %v", rep, err)
	}
	b, _ := os.ReadFile(path)
	if err := os.WriteFile(path, bytes.Replace(b, []byte(`"run":0`), []byte(`"run":7`), 1), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := OpenFile(path); !errors.Is(err, ErrBroken) {
		t.Fatalf("OpenFile on a tampered log = %v, want ErrBroken", err)
	}
}

func TestWriterRefusesWhatIsNotAnObject(t *testing.T) {
	w := NewWriter(&bytes.Buffer{}, Head{})
	if _, err := w.Write([]byte("plain text\n")); !errors.Is(err, ErrNotJSON) {
		t.Fatalf("Write = %v, want ErrNotJSON", err)
	}
	if w.Head().Seq != 0 {
		t.Fatal("a refused line counted")
	}
}
