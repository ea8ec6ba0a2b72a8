package stream

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// frameCounter reads a client's frames and remembers how many came and the newest seq.
type frameCounter struct {
	ws    *websocket.Conn
	count atomic.Int64
	last  atomic.Uint64
	err   error // why reading stopped, valid after done
	done  chan struct{}
}

func countFrames(t *testing.T, ws *websocket.Conn) *frameCounter {
	fc := &frameCounter{ws: ws, done: make(chan struct{})}
	go func() {
		defer close(fc.done)
		for {
			mt, msg, err := ws.ReadMessage()
			if err != nil {
				fc.err = err
				return
			}
			if mt != websocket.BinaryMessage {
				continue
			}
			h, _, err := ParseFrame(msg)
			if err != nil {
				fc.err = err
				return
			}
			fc.count.Add(1)
			fc.last.Store(h.Seq)
		}
	}()
	return fc
}

// awaitSeq waits until the newest frame fc saw is seq.
func (fc *frameCounter) awaitSeq(seq uint64) error {
	deadline := time.Now().Add(wait)
	for fc.last.Load() != seq {
		select {
		case <-fc.done:
			return fmt.Errorf("reading stopped at seq %d: %v", fc.last.Load(), fc.err)
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("stuck at seq %d, want %d", fc.last.Load(), seq)
		}
		time.Sleep(time.Millisecond)
	}
	return nil
}

func TestSlowViewer(t *testing.T) {
	const (
		fast  = 3
		burst = 100
	)
	// A long write timeout: the stuck viewer must stay connected, stuck, all along.
	h := newHarness(t, Options{WriteTimeout: time.Minute})
	var conns []*Conn
	var counters []*frameCounter
	for range fast {
		ws, c := h.dial(nil)
		run(context.Background(), c)
		conns = append(conns, c)
		counters = append(counters, countFrames(t, ws))
	}
	slowWS, slow := h.dial(nil)
	shrinkBuffers(t, slow, slowWS)
	run(context.Background(), slow)
	conns = append(conns, slow)

	jpeg := fakeJPEG(30<<10, 3)
	for seq := uint64(1); seq <= burst; seq++ {
		f, err := NewFrame(FrameHeader{Seq: seq, Width: 800, Height: 600}, jpeg)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range conns {
			c.SendFrame(f)
		}
		// Every fast viewer gets every frame while the slow one is stuck: if its writes
		// held up the others, this would time out.
		for i, fc := range counters {
			if err := fc.awaitSeq(seq); err != nil {
				t.Fatalf("fast viewer %d: %v", i, err)
			}
		}
	}
	for i, fc := range counters {
		if n := fc.count.Load(); n != burst {
			t.Errorf("fast viewer %d got %d frames, want %d", i, n, burst)
		}
	}

	// The stuck viewer starts reading: it gets what its buffers held, then the newest frame,
	// and none of the frames replaced while it was stuck.
	sc := countFrames(t, slowWS)
	if err := sc.awaitSeq(burst); err != nil {
		t.Fatalf("slow viewer: %v", err)
	}
	if n := sc.count.Load(); n >= burst/2 {
		t.Errorf("slow viewer got %d of %d frames; stale frames were not skipped", n, burst)
	}
	t.Logf("slow viewer got %d of %d frames", sc.count.Load(), burst)
}

func TestQueueOverflow(t *testing.T) {
	h := newHarness(t, Options{QueueSize: 4, WriteTimeout: time.Minute})
	ws, c := h.dial(nil)
	shrinkBuffers(t, c, ws)
	res, _ := run(context.Background(), c)
	if err := c.Send(map[string]string{"type": "ready"}); err != nil {
		t.Fatal(err)
	}
	if m := readJSON(t, ws); m["type"] != "ready" { // the writer is running
		t.Fatalf("got %v", m)
	}

	// The client reads nothing: the writer blocks once the socket buffers are full, then the
	// queue fills.
	msg := []byte(`{"type":"state","pad":"` + strings.Repeat("x", 8<<10) + `"}`)
	var sent int
	var err error
	for sent = 0; sent < 10_000; sent++ {
		if err = c.SendText(msg); err != nil {
			break
		}
	}
	if !errors.Is(err, ErrQueueFull) {
		t.Fatalf("after %d messages SendText returned %v, want ErrQueueFull", sent, err)
	}
	if err := c.SendText(msg); !errors.Is(err, ErrClosed) {
		t.Errorf("SendText after the overflow: %v, want ErrClosed", err)
	}

	// Now the client reads: what was queued, then bye too_slow and close code 4008.
	var got int
	_ = ws.SetReadDeadline(time.Now().Add(wait))
	for {
		m := readJSON(t, ws)
		if m["type"] == "bye" {
			if m["code"] != "too_slow" {
				t.Errorf("bye %v, want code too_slow", m)
			}
			break
		}
		got++
	}
	if got != sent {
		t.Errorf("received %d messages before the bye, want the %d accepted", got, sent)
	}
	if ce := readClose(t, ws); ce.Code != CloseTooSlow {
		t.Errorf("close code %d, want %d", ce.Code, CloseTooSlow)
	}
	if err := awaitErr(t, res); !errors.Is(err, ErrQueueFull) {
		t.Errorf("Run returned %v, want ErrQueueFull", err)
	}
}

func TestConcurrentSenders(t *testing.T) {
	// Many goroutines send text and frames at once; every text arrives once, and the
	// newest frame arrives last.
	const senders, each = 8, 50
	h := newHarness(t, Options{QueueSize: senders * each})
	ws, c := h.dial(nil)
	run(context.Background(), c)
	f, err := NewFrame(FrameHeader{Seq: 9, Width: 1, Height: 1}, []byte{1})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for s := range senders {
		wg.Go(func() {
			for i := range each {
				if err := c.Send(map[string]any{"type": "n", "s": s, "i": i}); err != nil {
					t.Error(err)
				}
				c.SendFrame(f)
			}
		})
	}
	wg.Wait()
	seen := map[[2]int]bool{}
	_ = ws.SetReadDeadline(time.Now().Add(wait))
	for len(seen) < senders*each {
		mt, b, err := ws.ReadMessage()
		if err != nil {
			t.Fatalf("after %d texts: %v", len(seen), err)
		}
		if mt != websocket.TextMessage {
			continue
		}
		var m struct{ S, I int }
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		k := [2]int{m.S, m.I}
		if seen[k] {
			t.Fatalf("text %v arrived twice", k)
		}
		seen[k] = true
	}
}

// TestLatestNeverOverflows: a client that stops reading is never closed for messages sent
// with SendLatest; when it reads again it gets the newest, after what was queued before.
func TestLatestNeverOverflows(t *testing.T) {
	h := newHarness(t, Options{QueueSize: 4, WriteTimeout: time.Minute})
	ws, c := h.dial(nil)
	shrinkBuffers(t, c, ws)
	run(context.Background(), c)
	if err := c.Send(map[string]string{"type": "ready"}); err != nil {
		t.Fatal(err)
	}
	if m := readJSON(t, ws); m["type"] != "ready" {
		t.Fatalf("got %v", m)
	}
	const n = 10_000
	pad := strings.Repeat("x", 8<<10)
	for i := range n {
		c.SendLatest([]byte(fmt.Sprintf(`{"type":"state","n":%d,"pad":%q}`, i, pad)))
	}
	// Queued after the newest state: it must arrive after it, and it fits the queue.
	if err := c.Send(map[string]string{"type": "after"}); err != nil {
		t.Fatalf("a queued message after %d states: %v", n, err)
	}
	_ = ws.SetReadDeadline(time.Now().Add(wait))
	last := -1
	for {
		m := readJSON(t, ws)
		if m["type"] == "after" {
			break
		}
		if m["type"] != "state" {
			t.Fatalf("got %v", m["type"])
		}
		k := int(m["n"].(float64))
		if k <= last {
			t.Fatalf("state %d after %d", k, last)
		}
		last = k
	}
	if last != n-1 {
		t.Fatalf("the last state read before the later message is %d, want the newest %d", last, n-1)
	}
}
