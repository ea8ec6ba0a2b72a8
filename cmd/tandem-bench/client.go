package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

// benchViewport is what every bench client tells the server in hello.
var benchViewport = map[string]any{"width": 1280, "height": 800, "dpr": 1}

// probeBacklog bounds the frames the host keeps for decoding (about 100 KB each).
const probeBacklog = 256

// clientParams say where a client connects and as whom.
type clientParams struct {
	WSURL  string // ws://host/api/v1/sessions/{id}/ws
	Origin string // the server's origin, as the Origin check demands
	Token  string
	Name   string
	Probe  *probe // non-nil: this client can decode frames and watch the probe square
	Mode   string // "dom": a Page-mode viewer; "" shows pictures like a pre-Page client
}

// frameStats is what a client has seen of the frame stream so far.
type frameStats struct {
	Count   int64         // frames received
	LastSeq int64         // seq of the newest frame
	LastAt  time.Time     // when the newest frame was fully read
	FirstAt time.Time     // when the first frame was fully read
	Bytes   int64         // JPEG bytes received
	AgeSum  time.Duration // sum over frames of read time − capture time (header ts)
	AgeN    int64
}

// probeFrame is a frame the host read while probing, kept for the measurer to decode.
// Decoding happens off the read loop so the host keeps reading at network speed and
// each frame's read time stays true even when decoding falls behind.
type probeFrame struct {
	Hdr  frameHeader
	At   time.Time // when the frame was fully read
	JPEG []byte
}

// client is one WebSocket participant. Its read loop reads every message to the end
// into one reused buffer, so the server never sees it as slow; it parses only the frame
// header; while probing, the host also keeps a copy of each JPEG for the measurer.
type client struct {
	p    clientParams
	conn *websocket.Conn
	wmu  sync.Mutex // gorilla allows one writer at a time

	mu         sync.Mutex
	stats      frameStats
	selfID     string
	controller string
	notices    []string
	bye        error

	first     chan struct{} // closed on the first frame
	firstOnce sync.Once
	done      chan struct{} // closed when the read loop ends
	err       error         // why it ended; valid after done

	dom      domStats
	domFirst chan struct{} // closed on the first Page-mode snapshot
	domOnce  sync.Once

	probing atomic.Bool
	probes  chan probeFrame
	skipped atomic.Int64 // probe frames dropped because the measurer was behind
}

// dial connects, sends hello and starts the read loop.
func dial(ctx context.Context, p clientParams) (*client, error) {
	d := websocket.Dialer{HandshakeTimeout: 10 * time.Second, ReadBufferSize: 64 << 10}
	hdr := http.Header{"Origin": []string{p.Origin}}
	conn, resp, err := d.DialContext(ctx, p.WSURL, hdr)
	if err != nil {
		if resp != nil {
			return nil, fmt.Errorf("%w: %s: %v (HTTP %d)", ErrConnect, p.Name, err, resp.StatusCode)
		}
		return nil, fmt.Errorf("%w: %s: %v", ErrConnect, p.Name, err)
	}
	c := &client{
		p: p, conn: conn,
		first:    make(chan struct{}),
		domFirst: make(chan struct{}),
		done:     make(chan struct{}),
		probes:   make(chan probeFrame, probeBacklog),
	}
	hello := map[string]any{"type": "hello", "token": p.Token, "name": p.Name, "viewport": benchViewport}
	if p.Mode != "" {
		hello["mode"], hello["modes"] = p.Mode, []string{"dom", "pixels"}
	}
	if err := c.send(hello); err != nil {
		_ = conn.Close()
		return nil, fmt.Errorf("%w: %s: hello: %v", ErrConnect, p.Name, err)
	}
	go c.readLoop()
	return c, nil
}

// send writes one JSON text message.
func (c *client) send(v any) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_ = c.conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
	return c.conn.WriteJSON(v)
}

func (c *client) readLoop() {
	var buf bytes.Buffer
	for {
		typ, r, err := c.conn.NextReader()
		if err != nil {
			c.finish(err)
			return
		}
		buf.Reset()
		if _, err := io.Copy(&buf, r); err != nil {
			c.finish(err)
			return
		}
		at := time.Now()
		switch typ {
		case websocket.BinaryMessage:
			if err := c.onFrame(buf.Bytes(), at); err != nil {
				c.finish(err)
				return
			}
		case websocket.TextMessage:
			c.onText(buf.Bytes(), at)
		}
	}
}

func (c *client) onFrame(msg []byte, at time.Time) error {
	h, jpg, err := parseFrame(msg)
	if err != nil {
		return err
	}
	c.mu.Lock()
	if c.stats.Count == 0 {
		c.stats.FirstAt = at
	}
	c.stats.Count++
	c.stats.Bytes += int64(len(jpg))
	if h.TS > 0 {
		c.stats.AgeSum += at.Sub(time.UnixMicro(int64(h.TS * 1000)))
		c.stats.AgeN++
	}
	c.stats.LastSeq = h.Seq
	c.stats.LastAt = at
	c.mu.Unlock()
	c.firstOnce.Do(func() { close(c.first) })

	if c.p.Probe != nil && c.probing.Load() {
		select {
		case c.probes <- probeFrame{Hdr: h, At: at, JPEG: bytes.Clone(jpg)}:
		default:
			c.skipped.Add(1)
		}
	}
	return nil
}

// serverMsg holds the fields of server text messages the bench looks at.
type serverMsg struct {
	Type        string          `json:"type"`
	Participant json.RawMessage `json:"participant"`
	Controller  *string         `json:"controller"`
	Code        string          `json:"code"`
	Reason      string          `json:"reason"`
	Message     string          `json:"message"`
	Kind        string          `json:"kind"` // dom
	Gen         int64           `json:"gen"`
	Seq         int64           `json:"seq"`
}

func (c *client) onText(b []byte, at time.Time) {
	var m serverMsg
	if err := json.Unmarshal(b, &m); err != nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	switch m.Type {
	case "dom":
		c.dom.add(m, len(b), at)
		if m.Kind == "snapshot" {
			c.domOnce.Do(func() { close(c.domFirst) })
		}
	case "welcome":
		var p struct {
			ID string `json:"id"`
		}
		if json.Unmarshal(m.Participant, &p) == nil {
			c.selfID = p.ID
		}
	case "state":
		c.controller = ""
		if m.Controller != nil {
			c.controller = *m.Controller
		}
	case "notice", "error":
		if len(c.notices) < 20 {
			c.notices = append(c.notices, fmt.Sprintf("%s %s/%s: %s", m.Type, m.Code, m.Reason, m.Message))
		}
	case "bye":
		c.bye = fmt.Errorf("%w: %s: bye %s: %s", ErrDisconnect, c.p.Name, m.Code, m.Message)
	}
}

func (c *client) finish(err error) {
	c.mu.Lock()
	if c.bye != nil {
		err = c.bye
	} else {
		err = fmt.Errorf("%w: %s: %v", ErrDisconnect, c.p.Name, err)
	}
	c.mu.Unlock()
	c.err = err
	close(c.done)
}

// snapshot returns the frame statistics so far.
func (c *client) snapshot() frameStats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stats
}

// alive reports whether the read loop still runs.
func (c *client) alive() bool {
	select {
	case <-c.done:
		return false
	default:
		return true
	}
}

// waitFirstFrame waits for the first frame, the end of the connection or the timeout.
func (c *client) waitFirstFrame(ctx context.Context, timeout time.Duration) error {
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-c.first:
		return nil
	case <-c.done:
		return c.err
	case <-t.C:
		return fmt.Errorf("%w: %s waited %s", ErrNoFrame, c.p.Name, timeout)
	case <-ctx.Done():
		return ctx.Err()
	}
}

// holdsControl reports whether the state names this client as the controller.
func (c *client) holdsControl() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.selfID != "" && c.controller == c.selfID
}

// recentNotices returns the notices and errors the server sent, for error messages.
func (c *client) recentNotices() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.notices...)
}

// close ends the connection and waits for the read loop.
func (c *client) close() {
	c.wmu.Lock()
	_ = c.conn.SetWriteDeadline(time.Now().Add(time.Second))
	_ = c.conn.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, "bench done"))
	c.wmu.Unlock()
	_ = c.conn.Close()
	<-c.done
}
