package warm

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

type item struct {
	n    int
	dead atomic.Bool
}

type maker struct {
	mu        sync.Mutex
	made      int
	fail      int // the next fail Makes fail
	discarded chan int
}

func newMaker() *maker {
	return &maker{discarded: make(chan int, 100)}
}

func (m *maker) make(ctx context.Context) (*item, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail > 0 {
		m.fail--
		return nil, errors.New("chromium is away")
	}
	m.made++
	return &item{n: m.made}, nil
}

func (m *maker) params(size int) Params[*item] {
	return Params[*item]{
		Size:    size,
		Make:    m.make,
		Alive:   func(it *item) bool { return !it.dead.Load() },
		Discard: func(it *item) { m.discarded <- it.n },
		Backoff: time.Millisecond,
		Logger:  slog.New(slog.DiscardHandler),
	}
}

// waitReady waits until the pool holds n ready items.
func waitReady[T any](t *testing.T, p *Pool[T], n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for p.Ready() != n {
		if time.Now().After(deadline) {
			t.Fatalf("%d ready, want %d", p.Ready(), n)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestPoolHandsOutEachItemOnceAndRefills: a Get takes a ready item, which is never handed
// out again, and the pool makes another in its place.
func TestPoolHandsOutEachItemOnceAndRefills(t *testing.T) {
	m := newMaker()
	var warmTakes, coldTakes atomic.Int32
	p := m.params(2)
	p.OnTake = func(warm bool) {
		if warm {
			warmTakes.Add(1)
		} else {
			coldTakes.Add(1)
		}
	}
	pool := New(context.Background(), p)
	t.Cleanup(pool.Close)
	waitReady(t, pool, 2)
	seen := map[int]bool{}
	for i := range 2 {
		it, err := pool.Get(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if seen[it.n] {
			t.Fatalf("item %d handed out twice", it.n)
		}
		seen[it.n] = true
		if i == 0 {
			waitReady(t, pool, 2) // the first Get's replacement
		}
	}
	if warmTakes.Load() != 2 || coldTakes.Load() != 0 {
		t.Fatalf("warm %d, cold %d; want 2 warm", warmTakes.Load(), coldTakes.Load())
	}
	waitReady(t, pool, 2)
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.made != 4 {
		t.Fatalf("%d made, want 4: two handed out and two ready", m.made)
	}
}

// TestPoolRetriesAfterFailuresAndFallsBack: while making fails, Get makes its own item,
// and the pool fills once making works again.
func TestPoolRetriesAfterFailuresAndFallsBack(t *testing.T) {
	m := newMaker()
	m.fail = 3
	pool := New(context.Background(), m.params(1))
	t.Cleanup(pool.Close)
	waitReady(t, pool, 1)
	it, err := pool.Get(context.Background())
	if err != nil || it.n != 1 {
		t.Fatalf("Get = %v, %v; want the first item made after the failures", it, err)
	}
}

// TestPoolDiscardsDeadReadyItems: Get never returns an item that is no longer alive.
func TestPoolDiscardsDeadReadyItems(t *testing.T) {
	m := newMaker()
	var ready []*item
	var mu sync.Mutex
	p := m.params(1)
	mk := p.Make
	p.Make = func(ctx context.Context) (*item, error) {
		it, err := mk(ctx)
		if err == nil {
			mu.Lock()
			ready = append(ready, it)
			mu.Unlock()
		}
		return it, err
	}
	pool := New(context.Background(), p)
	t.Cleanup(pool.Close)
	waitReady(t, pool, 1)
	mu.Lock()
	ready[0].dead.Store(true)
	mu.Unlock()
	it, err := pool.Get(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if it.n == 1 {
		t.Fatal("Get handed out a dead item")
	}
	select {
	case n := <-m.discarded:
		if n != 1 {
			t.Fatalf("discarded %d, want the dead item 1", n)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the dead item was not discarded")
	}
}

// TestClosedPoolDiscardsAndRefuses: Close frees the ready items, and Get then fails.
func TestClosedPoolDiscardsAndRefuses(t *testing.T) {
	m := newMaker()
	pool := New(context.Background(), m.params(1))
	waitReady(t, pool, 1)
	pool.Close()
	select {
	case <-m.discarded:
	default:
		t.Fatal("Close did not discard the ready item")
	}
	if _, err := pool.Get(context.Background()); !errors.Is(err, ErrClosed) {
		t.Fatalf("Get after Close = %v, want ErrClosed", err)
	}
}

// TestPoolRefillsAtOnceWhenEmpty: with a refill delay, a pool that still holds an item
// waits before replacing a taken one, but one emptied by a Get makes the next at once.
func TestPoolRefillsAtOnceWhenEmpty(t *testing.T) {
	m := newMaker()
	p := m.params(2)
	p.RefillDelay = time.Hour
	pool := New(context.Background(), p)
	t.Cleanup(pool.Close)
	waitReady(t, pool, 2)
	for range 2 {
		if _, err := pool.Get(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	waitReady(t, pool, 2) // within the test's deadline, not the hour
}
