package cluster

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/nats-io/nats.go"

	"github.com/tandem-cobrowse/tandem/stream"
)

// fakeSessions holds one session, "s1", whose token is "good".
type fakeSessions struct {
	mu    sync.Mutex
	paced []paceReport
	conns []*RemoteConn
	got   chan stream.ClientMessage
	left  chan *RemoteConn
	added chan *RemoteConn
}

func newFakeSessions() *fakeSessions {
	return &fakeSessions{got: make(chan stream.ClientMessage, 16), left: make(chan *RemoteConn, 16), added: make(chan *RemoteConn, 16)}
}

func (f *fakeSessions) ReportDeliveries(session string, deliveries, skipped, largest int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.paced = append(f.paced, paceReport{Session: session, Deliveries: deliveries, Skips: skipped, Largest: largest})
}

func (f *fakeSessions) pacedDeliveries() (sum int, session string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, r := range f.paced {
		sum += r.Deliveries
		session = r.Session
	}
	return sum, session
}

func (f *fakeSessions) Attach(id string, conn *RemoteConn, hello stream.ClientMessage) (Participant, error) {
	if id != "s1" {
		return nil, &Refusal{Code: 4004, Bye: "not_found", Message: "no such session"}
	}
	if hello.Token != "good" {
		return nil, &Refusal{Code: 4001, Bye: "unauthorized", Message: "bad token"}
	}
	f.mu.Lock()
	f.conns = append(f.conns, conn)
	f.mu.Unlock()
	f.added <- conn
	return fakeParticipant{f, conn}, nil
}

type fakeParticipant struct {
	f    *fakeSessions
	conn *RemoteConn
}

func (p fakeParticipant) Handle(m stream.ClientMessage) { p.f.got <- m }
func (p fakeParticipant) Leave()                        { p.f.left <- p.conn }

// relayHarness: a holder node "h" and an edge node "e" on one NATS server, the edge
// serving WebSockets at srv.
type relayHarness struct {
	sessions *fakeSessions
	holder   *Holder
	edge     *Edge
	edgeNC   *nats.Conn
	srv      *httptest.Server
	lost     chan struct{}
	relayed  atomic.Int64
	server   *Server
}

func newRelayHarness(t *testing.T, expiry time.Duration) *relayHarness {
	t.Helper()
	s := startServers(t, 1)[0]
	h := &relayHarness{sessions: newFakeSessions(), lost: make(chan struct{}), server: s}
	var err error
	if h.holder, err = newHolder(connect(t, s), "h", h.sessions, testLog, expiry); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.holder.Close)
	h.edgeNC = connect(t, s)
	h.edge = NewEdge(h.edgeNC, "e", EdgeHooks{FrameRelayed: func(time.Duration) { h.relayed.Add(1) }}, testLog)
	h.edge.alive = expiry / 5
	t.Cleanup(h.edge.Close)
	up := stream.NewUpgrader(stream.Options{AllowedOrigins: []string{"*"}, Logger: testLog})
	ctx, cancel := context.WithCancel(context.Background())
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, err := up.Upgrade(w, r)
		if err != nil {
			return
		}
		hello, err := conn.ReadHello()
		if err != nil {
			conn.Close(4001, "unauthorized", "no hello")
			return
		}
		h.edge.Serve(ctx, conn, "h", r.URL.Query().Get("session"), hello, h.lost)
	}))
	t.Cleanup(func() { cancel(); h.srv.Close() })
	return h
}

// attached is the next participant the holder attached; it fails the test rather than
// wait for ever when one never comes.
func (h *relayHarness) attached(t *testing.T) *RemoteConn {
	t.Helper()
	select {
	case c := <-h.sessions.added:
		return c
	case <-time.After(20 * time.Second):
		t.Fatal("a viewer was never attached to the holder")
		return nil
	}
}

func (h *relayHarness) dial(t *testing.T, session, token string) *websocket.Conn {
	t.Helper()
	ws, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(h.srv.URL, "http")+"/?session="+session, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ws.Close() })
	if err := ws.WriteJSON(map[string]any{"type": "hello", "token": token}); err != nil {
		t.Fatal(err)
	}
	return ws
}

// read returns the next message: a frame's seq (text "") or a text message.
func read(t *testing.T, ws *websocket.Conn) (seq uint64, text string) {
	t.Helper()
	_ = ws.SetReadDeadline(time.Now().Add(10 * time.Second))
	kind, b, err := ws.ReadMessage()
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	if kind == websocket.BinaryMessage {
		h, _, err := stream.ParseFrame(b)
		if err != nil {
			t.Fatal(err)
		}
		return h.Seq, ""
	}
	return 0, string(b)
}

func readFrame(t *testing.T, ws *websocket.Conn, want uint64) {
	t.Helper()
	for {
		seq, text := read(t, ws)
		if text != "" {
			continue
		}
		if seq == want {
			return
		}
		if seq > want {
			t.Fatalf("frame %d came before %d", seq, want)
		}
	}
}

func readText(t *testing.T, ws *websocket.Conn, prefix string) string {
	t.Helper()
	for {
		_, text := read(t, ws)
		if strings.HasPrefix(text, prefix) {
			return text
		}
	}
}

func readClose(t *testing.T, ws *websocket.Conn) (code int, bye string) {
	t.Helper()
	for {
		_ = ws.SetReadDeadline(time.Now().Add(10 * time.Second))
		_, b, err := ws.ReadMessage()
		if ce, ok := err.(*websocket.CloseError); ok {
			return ce.Code, bye
		}
		if err != nil {
			t.Fatalf("read: %v", err)
		}
		var m stream.ByeMessage
		if json.Unmarshal(b, &m) == nil && m.Type == "bye" {
			bye = m.Code
		}
	}
}

func frame(t *testing.T, seq uint64) *stream.Frame {
	t.Helper()
	f, err := stream.NewFrame(stream.FrameHeader{Seq: seq, Width: 4, Height: 3}, []byte{0xff, 0xd8, byte(seq)})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestRelayCarriesASessionToAnotherNode(t *testing.T) {
	h := newRelayHarness(t, 8*time.Second)

	// Refusals reach the participant as the holder's bye.
	bad := h.dial(t, "s1", "wrong")
	if code, bye := readClose(t, bad); code != 4001 || bye != "unauthorized" {
		t.Fatalf("a wrong token closes with %d %q, want 4001 unauthorized", code, bye)
	}
	if code, bye := readClose(t, h.dial(t, "nope", "good")); code != 4004 || bye != "not_found" {
		t.Fatalf("an unknown session closes with %d %q, want 4004 not_found", code, bye)
	}

	// Count what the holder publishes for the audiences.
	counter := connect(t, h.server)
	var published, newest atomic.Int64
	sub, err := counter.Subscribe("tandem.frames.>", func(m *nats.Msg) {
		published.Add(1)
		if hd, _, err := stream.ParseFrame(m.Data); err == nil {
			newest.Store(int64(hd.Seq))
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	if err := counter.Flush(); err != nil {
		t.Fatal(err)
	}

	v1, v2 := h.dial(t, "s1", "good"), h.dial(t, "s1", "good")
	c1, c2 := h.attached(t), h.attached(t)
	for i, c := range []*RemoteConn{c1, c2} {
		if err := c.Send(map[string]any{"type": "welcome", "link": i}); err != nil {
			t.Fatal(err)
		}
	}
	// The links attach in any order: c1 must be v1's.
	if readText(t, v1, `{"link"`) != `{"link":0,"type":"welcome"}` {
		c1, c2 = c2, c1
	}
	readText(t, v2, `{"link"`)

	// The same picture for both (one audience) is published once, and each viewer gets
	// its first picture on its link.
	f1 := frame(t, 1)
	c1.SendAudienceFrame("masks-a", f1)
	c2.SendAudienceFrame("masks-a", f1)
	readFrame(t, v1, 1)
	readFrame(t, v2, 1)
	for seq := uint64(2); seq <= 5; seq++ {
		f := frame(t, seq)
		c1.SendAudienceFrame("masks-a", f)
		c2.SendAudienceFrame("masks-a", f)
		readFrame(t, v1, seq)
		readFrame(t, v2, seq)
	}
	if err := counter.Flush(); err != nil {
		t.Fatal(err)
	}
	// Published in order: once the fifth is seen, any repeat came before it.
	waitFor(t, "the fifth picture published", func() bool { return newest.Load() == 5 })
	if n := published.Load(); n != 5 {
		t.Fatalf("five pictures for two viewers of one audience were published %d times, want 5", n)
	}
	if h.edge.Groups() != 1 {
		t.Fatalf("the edge subscribes to %d audiences, want 1", h.edge.Groups())
	}
	// The edge tells the holder what its viewers did with the relayed frames, for pacing:
	// frames 2 to 5 reached both viewers through the audience's subscription; frame 1
	// went to each on its link, and through the subscription to those already in it (none,
	// one or both, as the subscription and the publication raced).
	waitFor(t, "the edge's pace reports", func() bool { n, _ := h.sessions.pacedDeliveries(); return n >= 8 })
	if n, session := h.sessions.pacedDeliveries(); n < 8 || n > 10 || session != "s1" {
		t.Fatalf("pace reports: %d deliveries of %q, want 8 to 10 of s1", n, session)
	}

	// Newest-wins state, and the participant's input back to the holder.
	c1.SendLatest([]byte(`{"type":"state","n":1}`))
	readText(t, v1, `{"type":"state"`)
	if err := v1.WriteJSON(map[string]any{"type": "mouse", "action": "down", "x": 12.5, "y": 7, "button": "left", "clickCount": 1}); err != nil {
		t.Fatal(err)
	}
	select {
	case m := <-h.sessions.got:
		if m.Type != "mouse" || m.Action != "down" || m.X != 12.5 || m.Y != 7 || m.Button != "left" || m.ClickCount != 1 {
			t.Fatalf("the holder got %+v", m)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the participant's input did not reach the holder")
	}

	// The holder closes one participant: it is told why.
	c2.Close(4000, "session_ended", "The session has ended.")
	if code, bye := readClose(t, v2); code != 4000 || bye != "session_ended" {
		t.Fatalf("closed with %d %q, want 4000 session_ended", code, bye)
	}
	waitFor(t, "the closed link forgotten", func() bool { return h.holder.Links() == 1 })

	// The other one leaves: the holder's session is told.
	_ = v1.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""))
	select {
	case c := <-h.sessions.left:
		if c != c1 {
			t.Fatal("the wrong participant left")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the holder was not told that the participant left")
	}
	waitFor(t, "no links", func() bool { return h.holder.Links() == 0 })
	waitFor(t, "no subscriptions", func() bool { return h.edge.Groups() == 0 })
	if h.relayed.Load() == 0 {
		t.Fatal("no relayed frame was counted")
	}
}

func TestRelayAfterTheHolderIsLost(t *testing.T) {
	h := newRelayHarness(t, 8*time.Second)
	v := h.dial(t, "s1", "good")
	c := h.attached(t)
	_ = c.Send(map[string]string{"type": "welcome"})
	readText(t, v, `{"type":"welcome"`)
	close(h.lost)
	if code, bye := readClose(t, v); code != CloseNodeLost || bye != ByeNodeLost {
		t.Fatalf("closed with %d %q, want %d %s", code, bye, CloseNodeLost, ByeNodeLost)
	}
}

func TestSilentEdgesLoseTheirLinks(t *testing.T) {
	h := newRelayHarness(t, time.Second)
	v := h.dial(t, "s1", "good")
	c := h.attached(t)
	_ = c.Send(map[string]string{"type": "welcome"})
	readText(t, v, `{"type":"welcome"`)
	h.edgeNC.Close() // the edge's node is gone without a word
	select {
	case got := <-h.sessions.left:
		if got != c {
			t.Fatal("the wrong participant left")
		}
	case <-time.After(20 * time.Second):
		t.Fatal("a participant whose node went silent never left")
	}
}

// TestSharedTextIsPublishedOnceAndKeepsItsPlace: text that several links of one edge get
// alike (Page mode's copy) travels as one message, reaches each of the named links and
// only those, and arrives in order with each link's own messages.
func TestSharedTextIsPublishedOnceAndKeepsItsPlace(t *testing.T) {
	h := newRelayHarness(t, 8*time.Second)
	counter := connect(t, h.server)
	var shared, own atomic.Int64
	sub, err := counter.Subscribe("tandem.s.s1.e.>", func(m *nats.Msg) {
		if strings.HasSuffix(m.Subject, ".all") {
			shared.Add(1)
		} else {
			own.Add(1)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	if err := counter.Flush(); err != nil {
		t.Fatal(err)
	}

	v1, v2, v3 := h.dial(t, "s1", "good"), h.dial(t, "s1", "good"), h.dial(t, "s1", "good")
	// The links attach in any order: each viewer learns which one is its own.
	conns := []*RemoteConn{h.attached(t), h.attached(t), h.attached(t)}
	for i, c := range conns {
		_ = c.Send(map[string]any{"type": "welcome", "link": i})
	}
	linkOf := map[*websocket.Conn]int{}
	for _, v := range []*websocket.Conn{v1, v2, v3} {
		var w struct{ Link int }
		if err := json.Unmarshal([]byte(readText(t, v, `{"link"`)), &w); err != nil {
			t.Fatal(err)
		}
		linkOf[v] = w.Link
	}
	if n := h.edge.Sessions(); n != 1 {
		t.Fatalf("the edge subscribes to %d sessions for three links of one, want 1", n)
	}

	// Rounds of: each link's own message, then shared text for the first two, then each
	// link's own message again, all sent at once. Each viewer must read them in that order.
	key0, m0 := conns[0].SharedKey()
	key1, m1 := conns[1].SharedKey()
	if key0 == "" || key0 != key1 {
		t.Fatalf("two links of one session on one edge have shared keys %q and %q", key0, key1)
	}
	const rounds = 20
	for i := range rounds {
		for _, c := range conns {
			_ = c.SendText([]byte(fmt.Sprintf(`{"type":"before","i":%d}`, i)))
		}
		conns[0].SendShared([]string{m0, m1}, []byte(fmt.Sprintf(`{"type":"dom","i":%d}`, i)))
		for _, c := range conns {
			_ = c.SendText([]byte(fmt.Sprintf(`{"type":"after","i":%d}`, i)))
		}
	}
	for n, v := range []*websocket.Conn{v1, v2, v3} {
		var want []string
		for i := range rounds {
			want = append(want, fmt.Sprintf(`{"type":"before","i":%d}`, i))
			if linkOf[v] < 2 { // the shared text is for conns[0] and conns[1]
				want = append(want, fmt.Sprintf(`{"type":"dom","i":%d}`, i))
			}
			want = append(want, fmt.Sprintf(`{"type":"after","i":%d}`, i))
		}
		for _, w := range want {
			if _, got := read(t, v); got != w {
				t.Fatalf("viewer %d read %s, want %s", n+1, got, w)
			}
		}
	}
	if err := counter.Flush(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "every message seen by the counter", func() bool { return own.Load() >= 2*3*rounds+3 })
	if n := shared.Load(); n != rounds {
		t.Fatalf("%d shared messages for two links were published %d times, want %d", rounds, n, rounds)
	}

	for _, v := range []*websocket.Conn{v1, v2, v3} {
		_ = v.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""))
	}
	waitFor(t, "the session's subscription dropped", func() bool { return h.edge.Sessions() == 0 })
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
