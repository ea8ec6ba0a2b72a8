package recording

import (
	"bytes"
	"errors"
	"testing"
	"time"
)

func TestRecordingsRoundTripAndAreCapped(t *testing.T) {
	st, err := NewStore(t.TempDir(), 200, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	w, err := st.Create("sess_1", t0)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Frame(t0.Add(40*time.Millisecond), []byte{1, 0, 0, 0, 2, '{', '}', 0xff, 0xd8}); err != nil {
		t.Fatal(err)
	}
	if err := w.Event(t0.Add(90*time.Millisecond), map[string]string{"type": "chat", "text": "hi"}); err != nil {
		t.Fatal(err)
	}
	if err := w.Frame(t0.Add(time.Second), bytes.Repeat([]byte{1}, 300)); !errors.Is(err, ErrFull) {
		t.Fatalf("a record past the cap: %v, want ErrFull", err)
	}
	if err := w.Event(t0.Add(2*time.Second), map[string]string{"type": "chat"}); !errors.Is(err, ErrFull) {
		t.Fatalf("after the cap: %v, want ErrFull", err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}

	list, err := st.List()
	if err != nil || len(list) != 1 || list[0].Session != "sess_1" || !list[0].Started.Equal(t0) || list[0].ID != w.ID {
		t.Fatalf("List = %+v, %v", list, err)
	}
	f, err := st.Open(w.ID)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var got []Record
	if err := Read(f, func(r Record) error {
		r.Data = bytes.Clone(r.Data)
		got = append(got, r)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Kind != KindFrame || got[0].At != 40*time.Millisecond ||
		got[1].Kind != KindEvent || string(got[1].Data) != `{"text":"hi","type":"chat"}` {
		t.Fatalf("records %+v", got)
	}

	if _, err := st.Open("../../etc/passwd"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("a path for an id: %v", err)
	}
	if n, err := st.Prune(t0.Add(2 * time.Hour)); err != nil || n != 1 {
		t.Fatalf("Prune = %d, %v", n, err)
	}
	if err := st.Delete(w.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Delete after prune: %v", err)
	}
	if err := Read(bytes.NewReader([]byte("not one")), func(Record) error { return nil }); !errors.Is(err, ErrBadFile) {
		t.Fatalf("Read of a non-recording: %v", err)
	}
}

// TestTwoRecordingsInOneSecond: stopping and starting again at once makes a second
// recording, not an error.
func TestTwoRecordingsInOneSecond(t *testing.T) {
	st, err := NewStore(t.TempDir(), 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	for _, at := range []time.Time{t0, t0.Add(300 * time.Millisecond)} {
		w, err := st.Create("sess_1", at)
		if err != nil {
			t.Fatal(err)
		}
		w.Close()
	}
	if list, err := st.List(); err != nil || len(list) != 2 || !list[0].Started.Equal(t0.Add(300*time.Millisecond)) {
		t.Fatalf("List = %+v, %v", list, err)
	}
}
