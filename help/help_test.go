package help

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestAcceptIsOnceUnderARace(t *testing.T) {
	q := New(time.Minute, nil)
	r, err := q.Add(Request{Session: "s1", Name: "Sam"})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins := 0
	for i := range 50 {
		wg.Go(func() {
			_, err := q.Accept(r.ID, string(rune('a'+i%26)))
			if err == nil {
				mu.Lock()
				wins++
				mu.Unlock()
			} else if !errors.Is(err, ErrTaken) {
				t.Errorf("accept: %v", err)
			}
		})
	}
	wg.Wait()
	if wins != 1 {
		t.Fatalf("%d agents won one request", wins)
	}
	if got := q.Waiting(); len(got) != 0 {
		t.Fatalf("still waiting: %v", got)
	}
}

func TestQueueTellsOverdueAndForgetsEndedSessions(t *testing.T) {
	now := time.Unix(1000, 0)
	q := New(2*time.Minute, func() time.Time { return now })
	changed, stop := q.Subscribe()
	defer stop()
	a, _ := q.Add(Request{Session: "s1", Name: "A"})
	<-changed
	if _, err := q.Add(Request{Session: "s1", Name: "again"}); !errors.Is(err, ErrDuplicate) {
		t.Fatalf("second ask of a session: %v", err)
	}
	if got := q.Overdue(); len(got) != 0 {
		t.Fatalf("overdue at once: %v", got)
	}
	now = now.Add(2 * time.Minute)
	if got := q.Overdue(); len(got) != 1 || got[0].ID != a.ID {
		t.Fatalf("overdue: %v", got)
	}
	if got := q.Overdue(); len(got) != 0 {
		t.Fatalf("told twice: %v", got)
	}
	if r, ok := q.ForSession("s1"); !ok || !r.Overdue {
		t.Fatalf("for session: %v %v", r, ok)
	}
	q.Forget("s1")
	<-changed
	if _, err := q.Get(a.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("after the session ended: %v", err)
	}
}

func TestWebhooksAreSignedAndRetried(t *testing.T) {
	var mu sync.Mutex
	calls := 0
	got := make(chan *http.Request, 1)
	var body []byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		calls++
		n := calls
		mu.Unlock()
		if n == 1 {
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return
		}
		body, _ = io.ReadAll(r.Body)
		got <- r
	}))
	defer srv.Close()
	n := &Notifier{Backoff: time.Millisecond}
	n.Deliver(t.Context(), srv.URL, "whsec_test", Event{Type: "help_request.created", Request: Request{ID: "hr_1", Name: "Sam"}})
	r := <-got
	sig := r.Header.Get(SignatureHeader)
	ts, mac, ok := strings.Cut(strings.TrimPrefix(sig, "t="), ",v1=")
	if !ok {
		t.Fatalf("signature %q", sig)
	}
	h := hmac.New(sha256.New, []byte("whsec_test"))
	h.Write([]byte(ts + "."))
	h.Write(body)
	if hex.EncodeToString(h.Sum(nil)) != mac {
		t.Fatalf("the signature does not verify: %q over %s", sig, body)
	}
	if !strings.Contains(string(body), `"type":"help_request.created"`) || !strings.Contains(string(body), `"hr_1"`) {
		t.Fatalf("body %s", body)
	}
}

// In a cluster, each acceptance is claimed by key; one given back is claimed anew.
func TestSharedAcceptanceIsClaimedOncePerTry(t *testing.T) {
	q := New(time.Minute, nil)
	claimed := map[string]bool{}
	q.Share(func(key string) error {
		if claimed[key] {
			return ErrTaken
		}
		claimed[key] = true
		return nil
	}, func(Request, bool) {})
	r, err := q.Add(Request{Session: "s1", Name: "Vera"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := q.Accept(r.ID, "Anna"); err != nil {
		t.Fatal(err)
	}
	q.Undo(r.ID) // Anna's seat could not be made
	if _, err := q.Accept(r.ID, "Ben"); err != nil {
		t.Fatalf("accepting a request given back: %v", err)
	}
	// Another node's copy still saying "waiting" cannot win the same try.
	other := New(time.Minute, nil)
	other.Share(func(key string) error {
		if claimed[key] {
			return ErrTaken
		}
		claimed[key] = true
		return nil
	}, func(Request, bool) {})
	stale, _ := q.Get(r.ID)
	stale.Status, stale.Agent = Waiting, ""
	other.Apply(stale)
	if _, err := other.Accept(r.ID, "Carl"); !errors.Is(err, ErrTaken) {
		t.Fatalf("a stale copy accepted the same try: %v", err)
	}
	if len(claimed) != 2 {
		t.Fatalf("claims %v, want two keys", claimed)
	}
}
