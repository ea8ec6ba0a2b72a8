package stream

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/gorilla/websocket"
)

// ReadHello reads the first client message, which must be a hello with a token within
// HelloTimeout. Any other outcome is ErrNoHello (wrapping the cause); the caller then
// closes the connection with its bye.
func (c *Conn) ReadHello() (ClientMessage, error) {
	c.readMu.Lock()
	defer c.readMu.Unlock()
	_ = c.ws.SetReadDeadline(time.Now().Add(c.opts.HelloTimeout))
	mt, data, err := c.ws.ReadMessage()
	if ne := net.Error(nil); errors.As(err, &ne) && ne.Timeout() {
		return ClientMessage{}, fmt.Errorf("%w: %w", ErrHelloTimeout, err)
	}
	if err != nil {
		return ClientMessage{}, fmt.Errorf("%w: %w", ErrNoHello, err)
	}
	_ = c.ws.SetReadDeadline(time.Time{})
	if mt != websocket.TextMessage {
		return ClientMessage{}, fmt.Errorf("%w: binary message", ErrNoHello)
	}
	m, err := DecodeClientMessage(data)
	if err != nil {
		return ClientMessage{}, fmt.Errorf("%w: %w", ErrNoHello, err)
	}
	if m.Type != "hello" {
		return ClientMessage{}, fmt.Errorf("%w: first message is %q", ErrNoHello, m.Type)
	}
	if m.Token == "" {
		return ClientMessage{}, fmt.Errorf("%w: no token", ErrNoHello)
	}
	return m, nil
}

// Run starts the writer goroutine and reads client messages until the connection ends,
// calling handle for each in order from this goroutine (handle must not block for long).
// A malformed message is answered with an error "bad_message" and the connection stays
// open. When ctx ends, the client gets bye "shutdown" (close code 1001).
//
// Run returns once the connection is closed and its writer is gone: nil when the client
// closed normally, the context's error, an error wrapping ErrClosed (and ErrQueueFull for
// too_slow) after Close, or the read or write error. Run may be called once.
func (c *Conn) Run(ctx context.Context, handle func(ClientMessage)) error {
	c.mu.Lock()
	if c.running || c.req != nil {
		c.mu.Unlock()
		return ErrClosed
	}
	c.running = true
	c.mu.Unlock()

	readerDone := make(chan struct{})
	writerDone := make(chan struct{})
	go func() {
		defer close(writerDone)
		c.writeLoop(ctx, readerDone)
	}()

	c.readMu.Lock()
	err := c.readLoop(handle)
	c.readMu.Unlock()
	if websocket.IsCloseError(err, websocket.CloseNormalClosure, websocket.CloseGoingAway, websocket.CloseNoStatusReceived) {
		c.setCause(nil)
	} else {
		c.setCause(fmt.Errorf("stream: read: %w", err))
	}
	close(readerDone)
	<-writerDone
	_ = c.ws.Close()
	close(c.done)
	return c.err()
}

func (c *Conn) readLoop(handle func(ClientMessage)) error {
	alive := func() error { return c.ws.SetReadDeadline(time.Now().Add(c.opts.PongTimeout)) }
	_ = alive()
	c.ws.SetPongHandler(func(string) error { return alive() })
	for {
		mt, data, err := c.ws.ReadMessage()
		if err != nil {
			return err
		}
		_ = alive()
		if c.isClosing() {
			continue // the session let go of this connection; drain until the close reply
		}
		if mt != websocket.TextMessage {
			c.badMessage("binary messages are not accepted")
			continue
		}
		m, err := DecodeClientMessage(data)
		if err != nil {
			c.badMessage(err.Error())
			continue
		}
		handle(m)
	}
}

func (c *Conn) badMessage(why string) {
	_ = c.Send(ErrorMessage{Type: "error", Code: "bad_message", Message: why})
}
