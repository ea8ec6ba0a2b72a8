package cluster

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
)

func TestRegistryOnOneNode(t *testing.T) {
	reg := openRegistries(t, startServers(t, 1))[0]
	ctx := context.Background()
	rec := SessionRecord{ID: "s1", Node: "a", URL: "https://example.test/", CreatedAt: time.Now().UTC()}
	rev, err := reg.Claim(ctx, rec)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := reg.Claim(ctx, SessionRecord{ID: "s1", Node: "b"}); !errors.Is(err, ErrTaken) {
		t.Fatalf("second claim: err = %v, want ErrTaken", err)
	}
	got, grev, err := reg.Lookup(ctx, "s1")
	if err != nil || got.Node != "a" || got.URL != rec.URL || grev != rev {
		t.Fatalf("lookup = %+v rev %d, %v; want node a at rev %d", got, grev, err, rev)
	}
	// A move is a compare-and-set: a stale revision loses.
	moved := got
	moved.Node, moved.Moves = "b", 1
	nrev, err := reg.Update(ctx, moved, rev)
	if err != nil {
		t.Fatal(err)
	}
	moved.Node = "c"
	if _, err := reg.Update(ctx, moved, rev); !errors.Is(err, ErrTaken) {
		t.Fatalf("update at a stale revision: err = %v, want ErrTaken", err)
	}
	if got, _, _ := reg.Lookup(ctx, "s1"); got.Node != "b" {
		t.Fatalf("after the lost update the session is on %q, want b", got.Node)
	}
	if err := reg.Release(ctx, "s1"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := reg.Lookup(ctx, "s1"); !errors.Is(err, ErrUnknownSession) {
		t.Fatalf("lookup after release: err = %v, want ErrUnknownSession", err)
	}
	// A released id can be placed again (a session brought back at once, say).
	if _, err := reg.Claim(ctx, SessionRecord{ID: "s1", Node: "c"}); err != nil {
		t.Fatalf("claim after release: %v", err)
	}
	_ = nrev
	if _, _, err := reg.Lookup(ctx, "bad key*"); !errors.Is(err, ErrUnknownSession) {
		t.Fatalf("lookup of an impossible id: err = %v", err)
	}
}

// Nodes racing for the same session id and the same help request: exactly one wins each,
// whichever server of the cluster each one talks to.
func TestClaimsRaceAcrossThreeNodes(t *testing.T) {
	regs := openRegistries(t, startServers(t, 3))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for round := range 5 {
		id := fmt.Sprintf("race-%d", round)
		var wg sync.WaitGroup
		var mu sync.Mutex
		var sessionWins, helpWins []string
		for i, reg := range regs {
			for k := range 2 { // two contenders per node
				node := fmt.Sprintf("n%d-%d", i, k)
				wg.Go(func() {
					_, err := reg.Claim(ctx, SessionRecord{ID: id, Node: node})
					if err != nil && !errors.Is(err, ErrTaken) {
						t.Errorf("claim by %s: %v", node, err)
					}
					herr := reg.ClaimOnce(ctx, "help."+id, node)
					if herr != nil && !errors.Is(herr, ErrTaken) {
						t.Errorf("help claim by %s: %v", node, herr)
					}
					mu.Lock()
					defer mu.Unlock()
					if err == nil {
						sessionWins = append(sessionWins, node)
					}
					if herr == nil {
						helpWins = append(helpWins, node)
					}
				})
			}
		}
		wg.Wait()
		if len(sessionWins) != 1 || len(helpWins) != 1 {
			t.Fatalf("round %d: session won by %v, help request by %v; want exactly one each", round, sessionWins, helpWins)
		}
		// Every node reads the same winner.
		for i, reg := range regs {
			rec, _, err := reg.Lookup(ctx, id)
			if err != nil || rec.Node != sessionWins[0] {
				t.Fatalf("round %d: node %d reads %+v, %v; want %s", round, i, rec, err, sessionWins[0])
			}
		}
	}
}

// Wrong join codes struck at once through three nodes all count: the tenth locks out.
func TestStrikesCountAcrossNodes(t *testing.T) {
	regs := openRegistries(t, startServers(t, 3))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	for i := range 9 {
		wg.Go(func() {
			if err := regs[i%3].Strike(ctx, "source:192.0.2.7", 10, time.Minute, time.Hour); err != nil {
				t.Errorf("strike %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	for i, reg := range regs {
		if locked, err := reg.Locked(ctx, "source:192.0.2.7"); err != nil || locked {
			t.Fatalf("after nine strikes node %d says locked %v, %v", i, locked, err)
		}
	}
	if err := regs[1].Strike(ctx, "source:192.0.2.7", 10, time.Minute, time.Hour); err != nil {
		t.Fatal(err)
	}
	for i, reg := range regs {
		if locked, err := reg.Locked(ctx, "source:192.0.2.7"); err != nil || !locked {
			t.Fatalf("after ten strikes node %d says locked %v, %v", i, locked, err)
		}
	}
	if locked, _ := regs[0].Locked(ctx, "source:192.0.2.8"); locked {
		t.Fatal("another source is locked out too")
	}
}

// The embedded server admits only clients with its secret: the registry and every
// session's pictures go through it.
func TestServerRefusesClientsWithoutTheSecret(t *testing.T) {
	s := startServers(t, 1)[0]
	if nc, err := nats.Connect(s.ClientURL(), nats.MaxReconnects(0)); err == nil {
		nc.Close()
		t.Fatal("a client without the secret connected")
	}
	if nc, err := nats.Connect(s.ClientURL(), nats.Token("wrong-secret-0123456789"), nats.MaxReconnects(0)); err == nil {
		nc.Close()
		t.Fatal("a client with a wrong secret connected")
	}
	nc, err := nats.Connect(s.ClientURL(), nats.Token(testSecret), nats.MaxReconnects(0))
	if err != nil {
		t.Fatalf("a client with the secret: %v", err)
	}
	nc.Close()
	if _, err := StartServer(ServerConfig{Listen: "127.0.0.1:0", DataDir: t.TempDir(), Secret: "short"}); err == nil {
		t.Fatal("a server started with a short secret")
	}
}
