package ui_test

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"image"
	"image/color"
	"image/jpeg"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/tandem-cobrowse/tandem/ui"
)

// msg is one JSON message from the viewer.
type msg map[string]any

func (m msg) str(k string) string  { s, _ := m[k].(string); return s }
func (m msg) num(k string) float64 { f, _ := m[k].(float64); return f }
func (m msg) obj(k string) msg     { o, _ := m[k].(map[string]any); return o }
func (m msg) has(k string) bool    { _, ok := m[k]; return ok }

// peer plays the server side of docs/protocol.md from a script in the test.
type peer struct {
	conns chan *peerConn
}

type peerConn struct {
	ws   *websocket.Conn
	msgs chan msg
	seen []msg // every message received so far, in order
}

// testServer serves ui.Handler plus a scripted WebSocket and the given API handlers.
func testServer(t *testing.T, api map[string]http.HandlerFunc) (*httptest.Server, *peer) {
	t.Helper()
	p := &peer{conns: make(chan *peerConn, 8)}
	up := websocket.Upgrader{} // default CheckOrigin: same host only, as the real server
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v1/sessions/{id}/ws", func(w http.ResponseWriter, r *http.Request) {
		ws, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		c := &peerConn{ws: ws, msgs: make(chan msg, 256)}
		go func() {
			defer close(c.msgs)
			for {
				_, data, err := ws.ReadMessage()
				if err != nil {
					return
				}
				var m msg
				if json.Unmarshal(data, &m) == nil {
					c.msgs <- m
				}
			}
		}()
		p.conns <- c
	})
	for pattern, h := range api {
		mux.HandleFunc(pattern, h)
	}
	mux.Handle("/", ui.Handler())
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv, p
}

// accept waits for the viewer to connect.
func (p *peer) accept(t *testing.T) *peerConn {
	t.Helper()
	select {
	case c := <-p.conns:
		t.Cleanup(func() { c.ws.Close() })
		return c
	case <-time.After(15 * time.Second):
		t.Fatal("the viewer did not open a WebSocket")
		return nil
	}
}

// expect returns the next message of type typ that satisfies ok (nil: any), skipping
// others; it fails after a generous deadline.
func (c *peerConn) expect(t *testing.T, typ string, ok func(msg) bool) msg {
	t.Helper()
	deadline := time.After(15 * time.Second)
	for {
		select {
		case m, open := <-c.msgs:
			if !open {
				t.Fatalf("connection closed while waiting for %q; got %v", typ, c.types())
			}
			c.seen = append(c.seen, m)
			if m.str("type") == typ && (ok == nil || ok(m)) {
				return m
			}
		case <-deadline:
			t.Fatalf("no %q message; got %v", typ, c.types())
			return nil
		}
	}
}

func (c *peerConn) types() []string {
	var out []string
	for _, m := range c.seen {
		out = append(out, m.str("type"))
	}
	return out
}

func (c *peerConn) send(t *testing.T, v any) {
	t.Helper()
	if err := c.ws.WriteJSON(v); err != nil {
		t.Fatalf("write: %v", err)
	}
}

// sendFrame writes a binary frame: kind 0x01, header length, JSON header, JPEG.
func (c *peerConn) sendFrame(t *testing.T, seq int, width, height int, pic []byte) {
	t.Helper()
	c.sendFrameWith(t, map[string]any{"seq": seq, "width": width, "height": height, "scrollX": 0, "scrollY": 0, "ts": time.Now().UnixMilli()}, pic)
}

// sendFrameWith writes a binary frame with the header fields given.
func (c *peerConn) sendFrameWith(t *testing.T, header map[string]any, pic []byte) {
	t.Helper()
	hdr, _ := json.Marshal(header)
	var b bytes.Buffer
	b.WriteByte(0x01)
	_ = binary.Write(&b, binary.BigEndian, uint32(len(hdr)))
	b.Write(hdr)
	b.Write(pic)
	if err := c.ws.WriteMessage(websocket.BinaryMessage, b.Bytes()); err != nil {
		t.Fatalf("write frame: %v", err)
	}
}

// solidJPEG encodes a w×h picture of one colour.
func solidJPEG(t *testing.T, w, h int, col color.RGBA) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for i := 0; i < len(img.Pix); i += 4 {
		img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = col.R, col.G, col.B, 255
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 95}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// Protocol fixtures.

type person struct {
	ID, Name, Role, Color string
	Priority              int
	Away                  bool
}

var (
	host  = person{ID: "p1", Name: "Hana Host", Role: "host", Color: "#4f46e5", Priority: 100}
	agent = person{ID: "p2", Name: "Ana Agent", Role: "agent", Color: "#0d9488", Priority: 50}
	guest = person{ID: "p3", Name: "Gil Guest", Role: "guest", Color: "#d97706", Priority: 10}
)

func welcomeMsg(me person, resume string, links bool) map[string]any {
	m := map[string]any{
		"type":        "welcome",
		"participant": map[string]any{"id": me.ID, "name": me.Name, "role": me.Role, "color": me.Color},
		"resumeToken": resume,
		"rules": map[string]any{"view": true, "point": true, "control": true,
			"navigate": me.Role != "guest", "priority": me.Priority},
		"session": map[string]any{"id": "s1", "createdAt": "2026-11-25T12:00:00Z"},
	}
	if links {
		m["links"] = map[string]any{
			"agent": "http://tandem.test/s/s1#token=agent-token",
			"guest": "http://tandem.test/s/s1#token=guest-token",
		}
	}
	return m
}

func stateMsg(controller string, requests []string, people ...person) map[string]any {
	var ps []any
	for _, p := range people {
		ps = append(ps, map[string]any{"id": p.ID, "name": p.Name, "role": p.Role, "color": p.Color,
			"connected": !p.Away, "priority": p.Priority})
	}
	var reqs []any
	for _, r := range requests {
		reqs = append(reqs, map[string]any{"participant": r, "at": "2026-11-25T12:00:03Z"})
	}
	var ctrl any
	if controller != "" {
		ctrl = controller
	}
	return map[string]any{
		"type": "state", "url": "http://shop.test/cart", "title": "Your cart · Shop",
		"canGoBack": true, "canGoForward": false, "loading": false,
		"controller": ctrl, "participants": ps, "requests": reqs, "pendingTransfer": nil,
		"tabs": []any{map[string]any{"id": "t1", "url": "http://shop.test/cart", "title": "Your cart · Shop", "active": true}},
	}
}

// websocketClose is the arguments of WriteControl for a close frame with code.
func websocketClose(code int, text string) (int, []byte, time.Time) {
	return websocket.CloseMessage, websocket.FormatCloseMessage(code, text), time.Now().Add(time.Second)
}
