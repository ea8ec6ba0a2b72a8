package stream

import (
	"context"
	"fmt"
	"time"

	"github.com/gorilla/websocket"
)

// writeLoop is the only writer of a running connection. Text messages go before frames so
// state is never starved by a stream of frames; every write has a deadline, so a client
// that stops reading blocks this goroutine only, and only until the deadline.
func (c *Conn) writeLoop(ctx context.Context, readerDone <-chan struct{}) {
	ping := time.NewTicker(c.opts.PingInterval)
	defer ping.Stop()
	for {
		if c.isClosing() {
			c.writeBye(c.closeRequest())
			c.awaitCloseReply(readerDone)
			_ = c.ws.Close()
			return
		}
		select {
		case b := <-c.queue:
			if !c.write(c.writeText(b, c.deadline())) {
				return
			}
			continue
		default:
		}
		select {
		case b := <-c.queue:
			if !c.write(c.writeText(b, c.deadline())) {
				return
			}
		case <-c.latestReady:
			if !c.write(c.flushQueue(time.Time{})) {
				return
			}
			if b := c.latest.Swap(nil); b != nil && !c.isClosing() {
				if !c.write(c.writeText(*b, c.deadline())) {
					return
				}
			}
		case <-c.frameReady:
			if !c.write(c.flushQueue(time.Time{})) {
				return
			}
			if f := c.frame.Swap(nil); f != nil && !c.isClosing() {
				err := c.writeFrame(f)
				if err == nil && c.opts.FrameDelivered != nil {
					c.opts.FrameDelivered()
				}
				if !c.write(err) {
					return
				}
			}
		case <-ping.C:
			if !c.write(c.ws.WriteControl(websocket.PingMessage, nil, c.deadline())) {
				return
			}
		case <-c.closing: // handled at the top of the loop
		case <-readerDone:
			return
		case <-ctx.Done():
			c.setCause(context.Cause(ctx))
			c.Close(CloseShutdown, "shutdown", "The server is restarting.")
		}
	}
}

// write reports whether err is nil; otherwise it records the cause and closes the socket,
// which also ends the reader.
func (c *Conn) write(err error) bool {
	if err == nil {
		return true
	}
	c.setCause(fmt.Errorf("stream: write: %w", err))
	_ = c.ws.Close()
	return false
}

func (c *Conn) deadline() time.Time { return time.Now().Add(c.opts.WriteTimeout) }

func (c *Conn) writeText(b []byte, deadline time.Time) error {
	_ = c.ws.SetWriteDeadline(deadline)
	return c.ws.WriteMessage(websocket.TextMessage, b)
}

func (c *Conn) writeFrame(f *Frame) error {
	_ = c.ws.SetWriteDeadline(c.deadline())
	return c.ws.WritePreparedMessage(f.pm)
}

// flushQueue writes the text messages queued now; a zero deadline means one per write.
func (c *Conn) flushQueue(deadline time.Time) error {
	for {
		select {
		case b := <-c.queue:
			d := deadline
			if d.IsZero() {
				d = c.deadline()
			}
			if err := c.writeText(b, d); err != nil {
				return err
			}
		default:
			return nil
		}
	}
}

// writeBye flushes the queue, then writes the bye and the close frame, all within one
// write deadline. A frame still in the slot is dropped.
func (c *Conn) writeBye(req *closeRequest) {
	deadline := c.deadline()
	err := c.flushQueue(deadline)
	if err == nil {
		err = c.writeText(req.bye, deadline)
	}
	if err == nil {
		err = c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(req.code, req.byeCode), deadline)
	}
	if err != nil {
		c.log.Debug("websocket bye not delivered", "code", req.byeCode, "err", err)
	}
}

// awaitCloseReply gives the client closeGrace to answer the close frame, so closing the
// socket does not reset it while the bye is still unread. With readerDone nil, it reads
// (and discards) until the reply itself.
func (c *Conn) awaitCloseReply(readerDone <-chan struct{}) {
	if readerDone != nil {
		t := time.NewTimer(closeGrace)
		defer t.Stop()
		select {
		case <-readerDone:
		case <-t.C:
		}
		return
	}
	_ = c.ws.SetReadDeadline(time.Now().Add(closeGrace))
	for {
		if _, _, err := c.ws.NextReader(); err != nil {
			return
		}
	}
}
