package stream

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

func TestReadHello(t *testing.T) {
	t.Run("a hello with a token is returned", func(t *testing.T) {
		h := newHarness(t, Options{})
		ws, c := h.dial(nil)
		msg := `{"type":"hello","token":"t0k","name":"Ana","resume":"r1",
			"viewport":{"width":1280,"height":720,"dpr":2,"mobile":false,"touch":true}}`
		if err := ws.WriteMessage(websocket.TextMessage, []byte(msg)); err != nil {
			t.Fatal(err)
		}
		m, err := c.ReadHello()
		if err != nil {
			t.Fatalf("ReadHello: %v", err)
		}
		want := Viewport{Width: 1280, Height: 720, DPR: 2, Touch: true}
		if m.Token != "t0k" || m.Name != "Ana" || m.Resume != "r1" || m.Viewport == nil || *m.Viewport != want {
			t.Errorf("hello %+v (viewport %+v)", m, m.Viewport)
		}
	})

	refused := []struct{ name, first string }{
		{"another type first", `{"type":"mouse","action":"move","x":0.5,"y":0.5}`},
		{"garbage", `hello?`},
		{"no type", `{"token":"t0k"}`},
		{"no token", `{"type":"hello","name":"Ana"}`},
		{"a JSON array", `[{"type":"hello","token":"t0k"}]`},
	}
	for _, tc := range refused {
		t.Run("refused: "+tc.name, func(t *testing.T) {
			h := newHarness(t, Options{})
			ws, c := h.dial(nil)
			if err := ws.WriteMessage(websocket.TextMessage, []byte(tc.first)); err != nil {
				t.Fatal(err)
			}
			if _, err := c.ReadHello(); !errors.Is(err, ErrNoHello) {
				t.Fatalf("ReadHello error %v, want ErrNoHello", err)
			}
		})
	}

	t.Run("refused: binary first", func(t *testing.T) {
		h := newHarness(t, Options{})
		ws, c := h.dial(nil)
		if err := ws.WriteMessage(websocket.BinaryMessage, []byte(`{"type":"hello","token":"t"}`)); err != nil {
			t.Fatal(err)
		}
		if _, err := c.ReadHello(); !errors.Is(err, ErrNoHello) || errors.Is(err, ErrHelloTimeout) {
			t.Fatalf("ReadHello error %v, want ErrNoHello and not a timeout", err)
		}
	})

	t.Run("silence until the hello timeout is refused", func(t *testing.T) {
		h := newHarness(t, Options{HelloTimeout: 100 * time.Millisecond})
		_, c := h.dial(nil)
		_, err := c.ReadHello()
		if !errors.Is(err, ErrNoHello) || !errors.Is(err, ErrHelloTimeout) {
			t.Fatalf("ReadHello error %v, want ErrHelloTimeout (an ErrNoHello)", err)
		}
		var ne interface{ Timeout() bool }
		if !errors.As(err, &ne) || !ne.Timeout() {
			t.Errorf("error %v does not wrap a timeout", err)
		}
	})

	t.Run("a hello over the read limit is refused", func(t *testing.T) {
		h := newHarness(t, Options{})
		ws, c := h.dial(nil)
		big := `{"type":"hello","token":"t","name":"` + strings.Repeat("a", 1<<20) + `"}`
		go func() { _ = ws.WriteMessage(websocket.TextMessage, []byte(big)) }()
		if _, err := c.ReadHello(); !errors.Is(err, ErrNoHello) || !errors.Is(err, websocket.ErrReadLimit) {
			t.Fatalf("ReadHello error %v, want ErrNoHello wrapping ErrReadLimit", err)
		}
	})
}

func TestReadLimit(t *testing.T) {
	t.Run("a message under 64 KiB is handled", func(t *testing.T) {
		h := newHarness(t, Options{})
		ws, c := h.dial(nil)
		sendHello(t, ws)
		if _, err := c.ReadHello(); err != nil {
			t.Fatal(err)
		}
		_, handled := run(context.Background(), c)
		text := strings.Repeat("x", 60<<10)
		if err := ws.WriteMessage(websocket.TextMessage, []byte(`{"type":"text","text":"`+text+`"}`)); err != nil {
			t.Fatal(err)
		}
		if m := awaitMsg(t, handled); m.Type != "text" || m.Text != text {
			t.Fatalf("handled %q with %d bytes of text", m.Type, len(m.Text))
		}
	})

	t.Run("a 1 MiB message closes the connection", func(t *testing.T) {
		h := newHarness(t, Options{})
		ws, c := h.dial(nil)
		sendHello(t, ws)
		if _, err := c.ReadHello(); err != nil {
			t.Fatal(err)
		}
		res, handled := run(context.Background(), c)
		big := `{"type":"text","text":"` + strings.Repeat("x", 1<<20) + `"}`
		go func() { _ = ws.WriteMessage(websocket.TextMessage, []byte(big)) }()
		err := awaitErr(t, res)
		if !errors.Is(err, websocket.ErrReadLimit) {
			t.Fatalf("Run returned %v, want ErrReadLimit", err)
		}
		if ce := readClose(t, ws); ce.Code != websocket.CloseMessageTooBig {
			t.Errorf("close code %d, want %d", ce.Code, websocket.CloseMessageTooBig)
		}
		select {
		case m := <-handled:
			t.Errorf("handled %q from an oversized message", m.Type)
		default:
		}
		<-c.Done()
	})
}
