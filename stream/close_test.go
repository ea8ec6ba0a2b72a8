package stream

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

func TestClose(t *testing.T) {
	t.Run("sends bye with code and message, then the close code", func(t *testing.T) {
		h := newHarness(t, Options{})
		ws, c := h.dial(nil)
		res, _ := run(context.Background(), c)
		c.Close(4000, "session_ended", "The host ended the session.")
		m := readJSON(t, ws)
		if m["type"] != "bye" || m["code"] != "session_ended" || m["message"] != "The host ended the session." {
			t.Errorf("bye %v", m)
		}
		if ce := readClose(t, ws); ce.Code != 4000 {
			t.Errorf("close code %d, want 4000", ce.Code)
		}
		if err := awaitErr(t, res); !errors.Is(err, ErrClosed) {
			t.Errorf("Run returned %v, want ErrClosed", err)
		}
		<-c.Done()
		if err := c.SendText([]byte(`{}`)); !errors.Is(err, ErrClosed) {
			t.Errorf("SendText after Close: %v, want ErrClosed", err)
		}
	})

	t.Run("messages queued before Close arrive before the bye", func(t *testing.T) {
		h := newHarness(t, Options{})
		ws, c := h.dial(nil)
		run(context.Background(), c)
		for _, typ := range []string{"a", "b", "c"} {
			if err := c.Send(map[string]string{"type": typ}); err != nil {
				t.Fatal(err)
			}
		}
		c.Close(4002, "replaced", "elsewhere")
		for _, want := range []string{"a", "b", "c", "bye"} {
			if m := readJSON(t, ws); m["type"] != want {
				t.Fatalf("got %v, want type %s", m, want)
			}
		}
		if ce := readClose(t, ws); ce.Code != 4002 {
			t.Errorf("close code %d, want 4002", ce.Code)
		}
	})

	t.Run("only the first Close counts", func(t *testing.T) {
		h := newHarness(t, Options{})
		ws, c := h.dial(nil)
		run(context.Background(), c)
		c.Close(4000, "session_ended", "first")
		c.Close(4002, "replaced", "second")
		if m := readJSON(t, ws); m["code"] != "session_ended" || m["message"] != "first" {
			t.Errorf("bye %v", m)
		}
		if ce := readClose(t, ws); ce.Code != 4000 {
			t.Errorf("close code %d, want 4000 (and no second bye before it)", ce.Code)
		}
		c.Close(4004, "not_found", "third, after Done")
	})

	t.Run("works before Run, and Run then refuses", func(t *testing.T) {
		h := newHarness(t, Options{})
		ws, c := h.dial(nil)
		sendHello(t, ws)
		if _, err := c.ReadHello(); err != nil {
			t.Fatal(err)
		}
		c.Close(4001, "unauthorized", "This link is not valid.")
		if m := readJSON(t, ws); m["type"] != "bye" || m["code"] != "unauthorized" {
			t.Errorf("bye %v", m)
		}
		if ce := readClose(t, ws); ce.Code != 4001 {
			t.Errorf("close code %d, want 4001", ce.Code)
		}
		select {
		case <-c.Done():
		case <-time.After(wait):
			t.Fatal("Done not closed")
		}
		if err := c.Run(context.Background(), func(ClientMessage) {}); !errors.Is(err, ErrClosed) {
			t.Errorf("Run after Close: %v, want ErrClosed", err)
		}
	})

	t.Run("ends a pending ReadHello", func(t *testing.T) {
		h := newHarness(t, Options{})
		ws, c := h.dial(nil)
		got := make(chan error, 1)
		go func() { _, err := c.ReadHello(); got <- err }()
		c.Close(4001, "unauthorized", "bye")
		if m := readJSON(t, ws); m["type"] != "bye" {
			t.Errorf("bye %v", m)
		}
		select {
		case err := <-got:
			if !errors.Is(err, ErrNoHello) {
				t.Errorf("ReadHello: %v, want ErrNoHello", err)
			}
		case <-time.After(wait):
			t.Fatal("ReadHello still waiting")
		}
	})

	t.Run("cancelling the context says shutdown with 1001", func(t *testing.T) {
		h := newHarness(t, Options{})
		ws, c := h.dial(nil)
		ctx, cancel := context.WithCancel(context.Background())
		res, _ := run(ctx, c)
		cancel()
		if m := readJSON(t, ws); m["type"] != "bye" || m["code"] != "shutdown" {
			t.Errorf("bye %v", m)
		}
		if ce := readClose(t, ws); ce.Code != websocket.CloseGoingAway {
			t.Errorf("close code %d, want 1001", ce.Code)
		}
		if err := awaitErr(t, res); !errors.Is(err, context.Canceled) {
			t.Errorf("Run returned %v, want context.Canceled", err)
		}
	})

	t.Run("a client's normal close ends Run without error", func(t *testing.T) {
		h := newHarness(t, Options{})
		ws, c := h.dial(nil)
		res, _ := run(context.Background(), c)
		msg := websocket.FormatCloseMessage(websocket.CloseNormalClosure, "bye")
		if err := ws.WriteControl(websocket.CloseMessage, msg, time.Now().Add(wait)); err != nil {
			t.Fatal(err)
		}
		if err := awaitErr(t, res); err != nil {
			t.Errorf("Run returned %v, want nil", err)
		}
		<-c.Done()
	})

	t.Run("a vanished client ends Run with an error", func(t *testing.T) {
		h := newHarness(t, Options{})
		ws, c := h.dial(nil)
		res, _ := run(context.Background(), c)
		_ = ws.NetConn().Close()
		if err := awaitErr(t, res); err == nil || errors.Is(err, ErrClosed) {
			t.Errorf("Run returned %v, want a read error", err)
		}
	})
}

func TestPingPong(t *testing.T) {
	t.Run("a client that answers pings stays connected", func(t *testing.T) {
		// Margins a loaded machine keeps: the client may be late by a second and more.
		h := newHarness(t, Options{PingInterval: 100 * time.Millisecond, PongTimeout: 1500 * time.Millisecond})
		ws, c := h.dial(nil)
		res, _ := run(context.Background(), c)
		pings := make(chan struct{}, 100)
		ws.SetPingHandler(func(data string) error {
			pings <- struct{}{}
			return ws.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(wait))
		})
		go func() {
			for {
				if _, _, err := ws.ReadMessage(); err != nil {
					return
				}
			}
		}()
		// Thirty-five pings span more than twice the pong timeout: only the pongs kept the
		// connection.
		for i := range 35 {
			select {
			case <-pings:
			case err := <-res:
				t.Fatalf("dropped after %d pings: %v", i, err)
			case <-time.After(wait):
				t.Fatalf("ping %d never came", i)
			}
		}
	})

	t.Run("a client that does not answer is dropped", func(t *testing.T) {
		h := newHarness(t, Options{PingInterval: 20 * time.Millisecond, PongTimeout: 100 * time.Millisecond})
		_, c := h.dial(nil) // never reads, so never answers a ping
		res, _ := run(context.Background(), c)
		err := awaitErr(t, res)
		var ne interface{ Timeout() bool }
		if !errors.As(err, &ne) || !ne.Timeout() {
			t.Errorf("Run returned %v, want a read timeout", err)
		}
	})
}
