package stream

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/gorilla/websocket"
)

// Conn is one participant's WebSocket. Send, SendText, SendFrame, Close, Done and
// RemoteAddr are safe for concurrent use; ReadHello and Run belong to the goroutine that
// upgraded the connection.
type Conn struct {
	ws     *websocket.Conn
	opts   Options
	log    *slog.Logger
	remote string

	queue      chan []byte           // text messages, drained by the writer
	frame      atomic.Pointer[Frame] // newest-wins slot
	frameReady chan struct{}         // capacity 1: "the slot may hold a frame"
	// latest is a newest-wins slot for a text message that a later one makes obsolete
	// (the session's state): a client slow to read it skips to the newest, and is never
	// closed for it.
	latest      atomic.Pointer[[]byte]
	latestReady chan struct{}

	readMu sync.Mutex // one reader at a time: ReadHello, Run's reader, the idle closer

	mu       sync.Mutex
	running  bool          // Run owns the writing
	req      *closeRequest // the first Close
	cause    error         // why the connection ended: the first reason wins, nil included
	causeSet bool

	closing chan struct{} // closed by the first Close
	done    chan struct{} // closed once the socket is closed and the goroutines are gone
}

type closeRequest struct {
	code    int
	byeCode string
	bye     []byte
}

func newConn(ws *websocket.Conn, opts Options, remote string) *Conn {
	ws.SetReadLimit(opts.ReadLimit)
	ws.EnableWriteCompression(false)
	return &Conn{
		ws:          ws,
		opts:        opts,
		log:         opts.Logger.With("remote", remote),
		remote:      remote,
		queue:       make(chan []byte, opts.QueueSize),
		frameReady:  make(chan struct{}, 1),
		latestReady: make(chan struct{}, 1),
		closing:     make(chan struct{}),
		done:        make(chan struct{}),
	}
}

// RemoteAddr is the peer's address as the HTTP server saw it.
func (c *Conn) RemoteAddr() string { return c.remote }

// Done is closed when the connection is gone: socket closed, goroutines ended.
func (c *Conn) Done() <-chan struct{} { return c.done }

// SendFrame puts f in the connection's frame slot, replacing a frame not yet written, and
// reports whether it did (the viewer skips that one). It never blocks and never
// allocates.
func (c *Conn) SendFrame(f *Frame) (skipped bool) {
	if f == nil || c.isClosing() {
		return false
	}
	if old := c.frame.Swap(f); old != nil {
		skipped = true
		if c.opts.FrameSkipped != nil {
			c.opts.FrameSkipped() // a newer frame replaced one this viewer never got
		}
	}
	select {
	case c.frameReady <- struct{}{}:
	default: // the writer is already told
	}
	return skipped
}

// SendLatest puts b, a text message that the next one makes obsolete, in the connection's
// newest-wins text slot: it is written after the text messages queued before it, unless
// a newer one replaces it first. It never blocks and never closes the connection itself;
// b must not be changed afterwards.
func (c *Conn) SendLatest(b []byte) {
	if c.isClosing() {
		return
	}
	c.latest.Store(&b)
	select {
	case c.latestReady <- struct{}{}:
	default:
	}
}

// Send JSON-encodes v and queues it with SendText.
func (c *Conn) Send(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("stream: encode %T: %w", v, err)
	}
	return c.SendText(b)
}

// SendText queues b as a text message; b must not be changed afterwards. When the queue is
// full the client is not keeping up: the connection is closed with bye "too_slow" (close
// code 4008) and ErrQueueFull returned.
func (c *Conn) SendText(b []byte) error {
	if c.isClosing() {
		return ErrClosed
	}
	// A message in the newest-wins slot was sent before b: it goes first.
	if l := c.latest.Swap(nil); l != nil && !c.enqueue(*l) {
		return c.tooSlow()
	}
	if c.enqueue(b) {
		return nil
	}
	return c.tooSlow()
}

func (c *Conn) enqueue(b []byte) bool {
	select {
	case c.queue <- b:
		return true
	default:
		return false
	}
}

func (c *Conn) tooSlow() error {
	c.log.Info("websocket client too slow", "queued", len(c.queue))
	c.Close(CloseTooSlow, "too_slow", "Your connection did not keep up with the session.")
	return ErrQueueFull
}

// Close queues a bye with byeCode and message, flushes what is queued and the bye within
// one write deadline, then closes with the WebSocket close code. It returns at once (Done
// tells when the connection is gone); only the first call counts.
func (c *Conn) Close(code int, byeCode, message string) {
	bye, _ := json.Marshal(ByeMessage{Type: "bye", Code: byeCode, Message: message})
	c.mu.Lock()
	if c.req != nil {
		c.mu.Unlock()
		return
	}
	c.req = &closeRequest{code: code, byeCode: byeCode, bye: bye}
	if code == CloseTooSlow {
		c.setCauseLocked(fmt.Errorf("%w: %w", ErrClosed, ErrQueueFull))
	} else {
		c.setCauseLocked(fmt.Errorf("%w: %s", ErrClosed, byeCode))
	}
	running := c.running
	c.mu.Unlock()
	close(c.closing)
	if !running {
		go c.closeIdle() // nobody else writes: do it here, without making the caller wait
	}
}

func (c *Conn) isClosing() bool {
	select {
	case <-c.closing:
		return true
	default:
		return false
	}
}

func (c *Conn) closeRequest() *closeRequest {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.req
}

func (c *Conn) setCause(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.setCauseLocked(err)
}

func (c *Conn) setCauseLocked(err error) {
	if !c.causeSet {
		c.cause, c.causeSet = err, true
	}
}

func (c *Conn) err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cause
}

// closeIdle closes a connection that Run never started (a refused hello, say).
func (c *Conn) closeIdle() {
	defer close(c.done)
	c.writeBye(c.closeRequest())
	if c.readMu.TryLock() { // not while ReadHello reads: closing the socket ends that read
		c.awaitCloseReply(nil)
		c.readMu.Unlock()
	}
	_ = c.ws.Close()
}
