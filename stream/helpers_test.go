package stream

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// wait is the generous deadline for conditions that normally hold within milliseconds.
const wait = 15 * time.Second

// harness is an httptest server whose handler upgrades with a stream.Upgrader and hands
// each Conn (or upgrade error) to the test.
type harness struct {
	t     *testing.T
	srv   *httptest.Server
	conns chan *Conn
	errs  chan error
}

func newHarness(t *testing.T, opts Options) *harness {
	t.Helper()
	h := &harness{t: t, conns: make(chan *Conn, 64), errs: make(chan error, 64)}
	up := NewUpgrader(opts)
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := up.Upgrade(w, r)
		if err != nil {
			h.errs <- err
			return
		}
		h.conns <- c
	}))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *harness) wsURL() string { return "ws" + strings.TrimPrefix(h.srv.URL, "http") }

// dial connects a client with the server's own Origin unless hdr says otherwise, and
// returns it with the server's side of the connection.
func (h *harness) dial(hdr http.Header) (*websocket.Conn, *Conn) {
	h.t.Helper()
	ws, resp, err := h.dialRaw(hdr)
	if err != nil {
		h.t.Fatalf("dial: %v (response %v)", err, resp)
	}
	select {
	case c := <-h.conns:
		// Cleanups run last-in first-out: the client goes first, so the server side ends
		// at once instead of waiting for a close reply.
		h.t.Cleanup(func() { closeAndWait(h.t, c) })
		h.t.Cleanup(func() { _ = ws.Close() })
		return ws, c
	case <-time.After(wait):
		h.t.Fatal("server never got the connection")
		return nil, nil
	}
}

func (h *harness) dialRaw(hdr http.Header) (*websocket.Conn, *http.Response, error) {
	if hdr == nil {
		hdr = http.Header{}
	}
	if _, ok := hdr["Origin"]; !ok {
		hdr.Set("Origin", h.srv.URL)
	}
	d := websocket.Dialer{HandshakeTimeout: wait}
	return d.Dial(h.wsURL(), hdr)
}

// closeAndWait closes c (a no-op if already closed) and waits until it is gone.
func closeAndWait(t *testing.T, c *Conn) {
	t.Helper()
	c.Close(CloseShutdown, "shutdown", "test over")
	select {
	case <-c.Done():
	case <-time.After(wait):
		t.Errorf("connection from %s never finished", c.RemoteAddr())
	}
}

// run starts c.Run and returns where its result arrives; handled receives every message.
func run(ctx context.Context, c *Conn) (result <-chan error, handled <-chan ClientMessage) {
	res := make(chan error, 1)
	msgs := make(chan ClientMessage, 1024)
	go func() { res <- c.Run(ctx, func(m ClientMessage) { msgs <- m }) }()
	return res, msgs
}

func awaitErr(t *testing.T, ch <-chan error) error {
	t.Helper()
	select {
	case err := <-ch:
		return err
	case <-time.After(wait):
		t.Fatal("Run did not return")
		return nil
	}
}

func awaitMsg(t *testing.T, ch <-chan ClientMessage) ClientMessage {
	t.Helper()
	select {
	case m := <-ch:
		return m
	case <-time.After(wait):
		t.Fatal("no message handled")
		return ClientMessage{}
	}
}

// readJSON reads the next message, which must be text, into a map.
func readJSON(t *testing.T, ws *websocket.Conn) map[string]any {
	t.Helper()
	_ = ws.SetReadDeadline(time.Now().Add(wait))
	mt, b, err := ws.ReadMessage()
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	if mt != websocket.TextMessage {
		t.Fatalf("got message type %d, want text", mt)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("text message %q: %v", b, err)
	}
	return m
}

// readClose reads until the connection ends and returns the close error, failing if the
// end was not a close frame.
func readClose(t *testing.T, ws *websocket.Conn) *websocket.CloseError {
	t.Helper()
	_ = ws.SetReadDeadline(time.Now().Add(wait))
	for {
		_, _, err := ws.ReadMessage()
		if err == nil {
			continue
		}
		var ce *websocket.CloseError
		if !errors.As(err, &ce) {
			t.Fatalf("connection ended without a close frame: %v", err)
		}
		return ce
	}
}

func sendHello(t *testing.T, ws *websocket.Conn) {
	t.Helper()
	if err := ws.WriteMessage(websocket.TextMessage, []byte(`{"type":"hello","token":"tok"}`)); err != nil {
		t.Fatalf("send hello: %v", err)
	}
}

// shrinkBuffers makes the kernel buffers between c's writer and the client small, so a
// client that stops reading blocks the writer after a few KiB instead of a few MiB.
func shrinkBuffers(t *testing.T, c *Conn, client *websocket.Conn) {
	t.Helper()
	if tc, ok := c.ws.NetConn().(*net.TCPConn); ok {
		_ = tc.SetWriteBuffer(8 << 10)
	}
	if tc, ok := client.NetConn().(*net.TCPConn); ok {
		_ = tc.SetReadBuffer(8 << 10)
	}
}
