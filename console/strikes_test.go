package console

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeStrikes counts failures per key the way cluster.Registry does, without windows:
// allow failures lock a key.
type fakeStrikes struct {
	mu     sync.Mutex
	counts map[string]int
	locked map[string]bool
}

func (f *fakeStrikes) Locked(_ context.Context, key string) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.locked[key], nil
}

func (f *fakeStrikes) Strike(_ context.Context, key string, allow int, _, _ time.Duration) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.counts[key]++
	if f.counts[key] >= allow {
		f.locked[key] = true
	}
	return nil
}

// TestWrongPasswordsCountAcrossTheCluster: wrong passwords are counted in the cluster's
// strikes per name and per address, and a name the cluster locked out is refused even
// with the right password, though this node's own rate limit would let it through.
func TestWrongPasswordsCountAcrossTheCluster(t *testing.T) {
	strikes := &fakeStrikes{counts: map[string]int{}, locked: map[string]bool{}}
	env := newEnv(t, func(p *Params, _ string) { p.Strikes = strikes })

	a := newBrowser(t, env.url, "127.0.0.1")
	a.mustSignIn("anna", "correct horse battery")
	if len(strikes.counts) != 0 {
		t.Fatalf("a right password was struck: %v", strikes.counts)
	}
	for i := range strikeName.allow {
		if i%perName.burst == 0 {
			env.clock.Advance(time.Minute) // past this node's own limit
		}
		if resp, data := a.signIn("anna", "wrong password"); resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("wrong password %d: %s %s", i+1, resp.Status, data)
		}
	}
	keys := strikeKeys("127.0.0.1", "anna")
	if strikes.counts[keys[0]] != strikeName.allow || strikes.counts[keys[1]] != strikeName.allow {
		t.Fatalf("strikes %v, want %d against anna's name and address", strikes.counts, strikeName.allow)
	}
	env.clock.Advance(time.Minute)
	resp, data := newBrowser(t, env.url, "127.0.0.9").signIn("anna", "correct horse battery")
	if resp.StatusCode != http.StatusTooManyRequests || !strings.Contains(string(data), "Too many wrong sign-ins") {
		t.Fatalf("anna locked out by the cluster signs in with %s %s, want 429", resp.Status, data)
	}
	if ra := resp.Header.Get("Retry-After"); ra == "" || ra == "0" {
		t.Errorf("Retry-After = %q", ra)
	}
	newBrowser(t, env.url, "127.0.0.9").mustSignIn("bob", "bob's long password")
}
