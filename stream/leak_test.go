package stream

import (
	"context"
	"runtime"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

func TestNoGoroutineLeak(t *testing.T) {
	h := newHarness(t, Options{})
	f, err := NewFrame(FrameHeader{Seq: 1, Width: 10, Height: 10}, fakeJPEG(4<<10, 1))
	if err != nil {
		t.Fatal(err)
	}
	// One connection ended in each way the server meets.
	endings := map[string]func(t *testing.T, ws *websocket.Conn, c *Conn){
		"server Close": func(t *testing.T, ws *websocket.Conn, c *Conn) {
			run(context.Background(), c)
			c.SendFrame(f)
			c.Close(4000, "session_ended", "over")
			readClose(t, ws)
		},
		"client close": func(t *testing.T, ws *websocket.Conn, c *Conn) {
			res, _ := run(context.Background(), c)
			_ = ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(1000, ""), time.Now().Add(wait))
			awaitErr(t, res)
		},
		"client vanishes": func(t *testing.T, ws *websocket.Conn, c *Conn) {
			res, _ := run(context.Background(), c)
			_ = ws.NetConn().Close()
			awaitErr(t, res)
		},
		"context cancelled": func(t *testing.T, ws *websocket.Conn, c *Conn) {
			ctx, cancel := context.WithCancel(context.Background())
			res, _ := run(ctx, c)
			cancel()
			readClose(t, ws)
			awaitErr(t, res)
		},
		"refused hello": func(t *testing.T, ws *websocket.Conn, c *Conn) {
			_ = ws.WriteMessage(websocket.TextMessage, []byte(`{"type":"mouse"}`))
			if _, err := c.ReadHello(); err == nil {
				t.Error("hello accepted")
			}
			c.Close(4001, "unauthorized", "no")
			readClose(t, ws)
		},
	}
	cycle := func() {
		for name, end := range endings {
			t.Run(name, func(t *testing.T) {
				ws, c := h.dial(nil)
				end(t, ws, c)
				_ = ws.Close()
				select {
				case <-c.Done():
				case <-time.After(wait):
					t.Fatal("Done not closed")
				}
			})
		}
	}

	cycle() // warm up: the HTTP server's and runtime's own goroutines
	before := countGoroutines()
	for range 20 {
		cycle()
	}
	deadline := time.Now().Add(wait)
	for {
		n := countGoroutines()
		if n <= before {
			break
		}
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("%d goroutines after 100 connections, %d before\n%s", n, before, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func countGoroutines() int {
	runtime.GC()
	return runtime.NumGoroutine()
}
