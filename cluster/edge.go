package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/tandem-cobrowse/tandem/stream"
)

// Close code and bye of a participant whose session's node was lost: not a stop code, so
// the viewer reconnects (and finds the session where it was brought back).
const (
	CloseNodeLost = 1012 // "service restart"
	ByeNodeLost   = "node_lost"
)

// EdgeHooks count what the edge relays; nil hooks are skipped.
type EdgeHooks struct {
	FrameRelayed func(lag time.Duration) // a frame from another node, and how long it took
}

// Edge serves participants connected to this node whose session another node holds.
type Edge struct {
	nc    *nats.Conn
	node  string
	log   *slog.Logger
	hooks EdgeHooks
	alive time.Duration // how often each link says it is still there

	mu       sync.Mutex
	groups   map[string]*frameGroup   // by frame subject
	sessions map[string]*sessionLinks // by session

	stop, done chan struct{}
}

// frameGroup is one subscription to an audience's pictures and this node's viewers of it.
type frameGroup struct {
	sub               *nats.Subscription
	conns             map[*stream.Conn]struct{}
	holder, session   string
	deliveries, skips int // since the last pace report
	largest           int
}

// sessionLinks is one subscription to what the holder sends this node about a session,
// and the handlers of this node's links to it.
type sessionLinks struct {
	sub   *nats.Subscription
	links map[string]func(*nats.Msg)
}

// NewEdge returns the edge of node; it reports its viewers' skips to the holding nodes
// until Close.
func NewEdge(nc *nats.Conn, node string, hooks EdgeHooks, log *slog.Logger) *Edge {
	e := &Edge{nc: nc, node: node, hooks: hooks, alive: keepAliveEvery, log: log.With("component", "cluster"),
		groups: map[string]*frameGroup{}, sessions: map[string]*sessionLinks{}, stop: make(chan struct{}), done: make(chan struct{})}
	go e.reportPace()
	return e
}

// Close stops the pace reports.
func (e *Edge) Close() {
	close(e.stop)
	<-e.done
}

// reportPace tells each holding node what this node's viewers did with the frames
// relayed to them, so a session paces its frames to what every node's viewers can take.
func (e *Edge) reportPace() {
	defer close(e.done)
	tick := time.NewTicker(paceEvery)
	defer tick.Stop()
	for {
		select {
		case <-e.stop:
			return
		case <-tick.C:
		}
		type report struct {
			holder string
			r      paceReport
		}
		var out []report
		e.mu.Lock()
		for _, g := range e.groups {
			if g.deliveries > 0 {
				out = append(out, report{g.holder, paceReport{Session: g.session, Deliveries: g.deliveries, Skips: g.skips, Largest: g.largest}})
				g.deliveries, g.skips, g.largest = 0, 0, 0
			}
		}
		e.mu.Unlock()
		for _, r := range out {
			if b, err := json.Marshal(r.r); err == nil {
				_ = e.nc.Publish(paceSubject(r.holder), b)
			}
		}
	}
}

// Serve attaches conn, whose hello has been read, to the session that holder holds, and
// relays until the connection ends or ctx does. lost is closed when the holder is known
// to be gone; the participant is then told to reconnect.
func (e *Edge) Serve(ctx context.Context, conn *stream.Conn, holder, session string, hello stream.ClientMessage, lost <-chan struct{}) {
	link := newLinkID()
	var (
		audMu sync.Mutex
		aud   string
	)
	setAudience := func(subject string) bool {
		audMu.Lock()
		defer audMu.Unlock()
		if subject == aud {
			return false
		}
		e.leaveGroup(aud, conn)
		aud = subject
		return e.joinGroup(subject, conn, holder, session)
	}
	defer func() {
		audMu.Lock()
		e.leaveGroup(aud, conn)
		audMu.Unlock()
	}()

	err := e.joinSession(session, link, func(m *nats.Msg) {
		switch m.Header.Get(hdrType) {
		case outText:
			_ = conn.SendText(m.Data)
		case outLatest:
			conn.SendLatest(m.Data)
		case outFrame:
			if f, err := stream.FrameFromMessage(m.Data); err == nil {
				conn.SendFrame(f)
				e.relayed(m)
			}
		case outAud:
			subject := string(m.Data)
			if setAudience(subject) {
				// Subscribed: from now on the audience's pictures reach this node. Ask
				// for the newest, which may have gone out just before; not on this
				// goroutine, which carries the session's other links too.
				go func() {
					_ = e.nc.Flush()
					e.publishIn(link, inSub, nil)
				}()
			}
		case outClose:
			var c closeMsg
			_ = json.Unmarshal(m.Data, &c)
			conn.Close(c.Code, c.Bye, c.Message)
		}
	})
	if err != nil {
		conn.Close(1011, "server_error", "The server could not reach your session; connect again.")
		return
	}
	defer e.leaveSession(session, link)

	req, _ := json.Marshal(attachRequest{Link: link, Session: session, Hello: hello, Remote: conn.RemoteAddr(), Edge: e.node})
	actx, cancel := context.WithTimeout(ctx, attachTimeout)
	reply, err := e.nc.RequestWithContext(actx, attachSubject(holder), req)
	cancel()
	if err != nil {
		e.log.Info("attaching to the session's node failed", "session", session, "holder", holder, "err", err)
		conn.Close(CloseNodeLost, ByeNodeLost, "The server holding your session is not answering; reconnecting.")
		return
	}
	var verdict closeMsg
	if err := json.Unmarshal(reply.Data, &verdict); err != nil || !verdict.OK {
		if verdict.Code == 0 {
			verdict = closeMsg{Code: 1011, Bye: "server_error", Message: "The server could not join you; connect again."}
		}
		conn.Close(verdict.Code, verdict.Bye, verdict.Message)
		return
	}

	stop := make(chan struct{})
	defer close(stop)
	go func() {
		tick := time.NewTicker(e.alive)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-lost:
				conn.Close(CloseNodeLost, ByeNodeLost, "The server holding your session went away; reconnecting.")
				return
			case <-tick.C:
				e.publishIn(link, inAlive, nil)
			}
		}
	}()
	err = conn.Run(ctx, func(m stream.ClientMessage) {
		b, err := json.Marshal(m)
		if err == nil {
			e.publishIn(link, inMsg, b)
		}
	})
	e.publishIn(link, inLeave, nil)
	if err != nil && !errors.Is(err, context.Canceled) {
		e.log.Debug("relayed connection ended", "session", session, "err", err)
	}
}

func (e *Edge) publishIn(link, typ string, data []byte) {
	m := &nats.Msg{Subject: linkIn(link), Data: data, Header: nats.Header{}}
	m.Header.Set(hdrType, typ)
	_ = e.nc.PublishMsg(m)
}

func (e *Edge) relayed(m *nats.Msg) {
	if e.hooks.FrameRelayed == nil {
		return
	}
	var lag time.Duration
	if ns, err := strconv.ParseInt(m.Header.Get(hdrPublished), 10, 64); err == nil {
		lag = time.Since(time.Unix(0, ns))
	}
	e.hooks.FrameRelayed(lag)
}

// joinSession routes the holder's messages for link to handle, subscribing to the
// session's messages for this node when link is its first here. The subscription is one
// per session, so handle runs on the goroutine that carries all of the session's links,
// in the order the holder sent: it must not block.
func (e *Edge) joinSession(session, link string, handle func(*nats.Msg)) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	s := e.sessions[session]
	if s == nil {
		prefix := sessionEdge(session, e.node) + "."
		sub, err := e.nc.Subscribe(prefix+">", func(m *nats.Msg) { e.sessionMsg(session, prefix, m) })
		if err != nil {
			return err
		}
		s = &sessionLinks{sub: sub, links: map[string]func(*nats.Msg){}}
		e.sessions[session] = s
	}
	s.links[link] = handle
	return nil
}

func (e *Edge) leaveSession(session, link string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	s := e.sessions[session]
	if s == nil {
		return
	}
	delete(s.links, link)
	if len(s.links) == 0 {
		_ = s.sub.Unsubscribe()
		delete(e.sessions, session)
	}
}

// sessionMsg hands one of the holder's messages about a session to the link it is for,
// or, shared text, to each link it names.
func (e *Edge) sessionMsg(session, prefix string, m *nats.Msg) {
	rest := strings.TrimPrefix(m.Subject, prefix)
	var handlers []func(*nats.Msg)
	e.mu.Lock()
	if s := e.sessions[session]; s != nil {
		if link, ok := strings.CutPrefix(rest, "l."); ok {
			if h := s.links[link]; h != nil {
				handlers = append(handlers, h)
			}
		} else if rest == "all" {
			for _, link := range strings.Fields(m.Header.Get(hdrLinks)) {
				if h := s.links[link]; h != nil {
					handlers = append(handlers, h)
				}
			}
		}
	}
	e.mu.Unlock()
	for _, h := range handlers {
		h(m)
	}
}

// Sessions is the number of sessions whose messages this node subscribes to.
func (e *Edge) Sessions() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.sessions)
}

// joinGroup adds conn to the viewers of an audience's pictures, subscribing when it is
// the first of this node; it reports whether conn is now in the group.
func (e *Edge) joinGroup(subject string, conn *stream.Conn, holder, session string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	g := e.groups[subject]
	if g == nil {
		g = &frameGroup{conns: map[*stream.Conn]struct{}{}, holder: holder, session: session}
		sub, err := e.nc.Subscribe(subject, func(m *nats.Msg) { e.fanOut(subject, m) })
		if err != nil {
			e.log.Warn("subscribing to an audience's pictures", "err", err)
			return false
		}
		g.sub = sub
		e.groups[subject] = g
	}
	g.conns[conn] = struct{}{}
	return true
}

func (e *Edge) leaveGroup(subject string, conn *stream.Conn) {
	if subject == "" {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	g := e.groups[subject]
	if g == nil {
		return
	}
	delete(g.conns, conn)
	if len(g.conns) == 0 {
		_ = g.sub.Unsubscribe()
		delete(e.groups, subject)
	}
}

// fanOut makes one Frame of a relayed picture and hands it to this node's viewers of the
// audience: the bytes are prepared once, as for local viewers.
func (e *Edge) fanOut(subject string, m *nats.Msg) {
	f, err := stream.FrameFromMessage(m.Data)
	if err != nil {
		return
	}
	e.mu.Lock() // SendFrame never blocks: the lock is held for a pass over the viewers
	if g := e.groups[subject]; g != nil {
		for c := range g.conns {
			if c.SendFrame(f) {
				g.skips++
			}
		}
		g.deliveries += len(g.conns)
		g.largest = max(g.largest, len(g.conns))
	}
	e.mu.Unlock()
	e.relayed(m)
}

// Groups is the number of audiences this node subscribes to.
func (e *Edge) Groups() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.groups)
}
