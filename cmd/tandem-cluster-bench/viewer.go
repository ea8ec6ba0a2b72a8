package main

import (
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/tandem-cobrowse/tandem/stream"
)

// viewer is a participant that counts frames and keeps when each arrived; it reconnects
// with its resume token unless told to stop.
type viewer struct {
	base, session, token string

	mu       sync.Mutex
	ws       *websocket.Conn
	arrived  map[uint64]time.Time
	newest   uint64
	lastAt   time.Time
	resume   string
	welcomes int
	bye      string
	stopped  bool
}

func dialViewer(base, session, token string, keepUp bool) (*viewer, error) {
	v := &viewer{base: base, session: session, token: token, arrived: map[uint64]time.Time{}, stopped: !keepUp}
	if err := v.dial(); err != nil {
		return nil, err
	}
	go v.read()
	return v, nil
}

func (v *viewer) dial() error {
	url := "ws" + strings.TrimPrefix(v.base, "http") + "/api/v1/sessions/" + v.session + "/ws"
	d := websocket.Dialer{HandshakeTimeout: 10 * time.Second, ReadBufferSize: 64 << 10}
	ws, _, err := d.Dial(url, http.Header{"Origin": {v.base}})
	if err != nil {
		return err
	}
	v.mu.Lock()
	v.ws = ws
	hello := map[string]any{"type": "hello", "token": v.token, "name": "bench", "resume": v.resume}
	v.mu.Unlock()
	return ws.WriteJSON(hello)
}

func (v *viewer) read() {
	for {
		v.mu.Lock()
		ws := v.ws
		v.mu.Unlock()
		for {
			kind, b, err := ws.ReadMessage()
			if err != nil {
				break
			}
			now := time.Now()
			v.mu.Lock()
			if kind == websocket.BinaryMessage {
				if h, _, err := stream.ParseFrame(b); err == nil {
					v.arrived[h.Seq] = now
					v.newest = max(v.newest, h.Seq)
					v.lastAt = now
				}
			} else {
				var m struct {
					Type, Code, ResumeToken string
				}
				if json.Unmarshal(b, &m) == nil {
					switch m.Type {
					case "welcome":
						v.resume = m.ResumeToken
						v.welcomes++
					case "bye":
						v.bye = m.Code
					}
				}
			}
			v.mu.Unlock()
		}
		for {
			v.mu.Lock()
			stop := v.stopped || v.bye == "session_ended" || v.bye == "unauthorized" || v.bye == "not_found"
			v.bye = ""
			v.mu.Unlock()
			if stop {
				return
			}
			time.Sleep(100 * time.Millisecond)
			if v.dial() == nil {
				break
			}
		}
	}
}

func (v *viewer) close() {
	v.mu.Lock()
	v.stopped = true
	ws := v.ws
	v.mu.Unlock()
	_ = ws.Close()
}

// count is the number of frames numbered in (from, to].
func (v *viewer) count(from, to uint64) int {
	v.mu.Lock()
	defer v.mu.Unlock()
	n := 0
	for s := range v.arrived {
		if s > from && s <= to {
			n++
		}
	}
	return n
}

func (v *viewer) newestSeq() uint64 {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.newest
}

func (v *viewer) arrival(seq uint64) (time.Time, bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	t, ok := v.arrived[seq]
	return t, ok
}

func (v *viewer) welcomed() int {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.welcomes
}

func (v *viewer) frameSince(t time.Time) bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.lastAt.After(t)
}
