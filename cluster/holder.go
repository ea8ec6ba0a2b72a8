package cluster

import (
	"encoding/json"
	"errors"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/tandem-cobrowse/tandem/stream"
)

// Participant is a participant joined through a link: its messages and its leaving.
type Participant interface {
	Handle(m stream.ClientMessage)
	Leave()
}

// Sessions is what the holder needs of the node's own sessions.
type Sessions interface {
	// Attach authenticates hello for the session and joins conn to it. A *Refusal error
	// is told to the participant as it is.
	Attach(session string, conn *RemoteConn, hello stream.ClientMessage) (Participant, error)
}

// Pacer is what a node's sessions may also do: take the skips of their viewers on other
// nodes into their pacing.
type Pacer interface {
	ReportDeliveries(session string, deliveries, skipped, largest int)
}

// Refusal is a refused attach: the close code and bye the participant is told.
type Refusal struct {
	Code    int
	Bye     string
	Message string
}

func (r *Refusal) Error() string { return "cluster: refused: " + r.Bye }

// Holder serves the participants that other nodes attach to this node's sessions.
type Holder struct {
	nc       *nats.Conn
	node     string
	sessions Sessions
	log      *slog.Logger
	frames   *framePublisher
	expiry   time.Duration // a link silent this long has lost its edge

	mu    sync.Mutex
	links map[string]*holderLink

	subs []*nats.Subscription
	stop chan struct{}
	done chan struct{}
}

type holderLink struct {
	id       string
	conn     *RemoteConn
	p        Participant
	sub      *nats.Subscription
	lastSeen atomic.Int64 // unix nanoseconds of the edge's last message
	left     atomic.Bool
}

// NewHolder answers attach requests for node's sessions until Close.
func NewHolder(nc *nats.Conn, node string, sessions Sessions, log *slog.Logger) (*Holder, error) {
	return newHolder(nc, node, sessions, log, linkExpiry)
}

func newHolder(nc *nats.Conn, node string, sessions Sessions, log *slog.Logger, expiry time.Duration) (*Holder, error) {
	h := &Holder{expiry: expiry,
		nc: nc, node: node, sessions: sessions, log: log.With("component", "cluster"),
		frames: newFramePublisher(nc), links: map[string]*holderLink{},
		stop: make(chan struct{}), done: make(chan struct{}),
	}
	sub, err := nc.Subscribe(attachSubject(node), h.onAttach)
	if err != nil {
		return nil, err
	}
	h.subs = append(h.subs, sub)
	if pacer, ok := sessions.(Pacer); ok {
		sub, err := nc.Subscribe(paceSubject(node), func(m *nats.Msg) {
			var r paceReport
			if json.Unmarshal(m.Data, &r) == nil && r.Deliveries > 0 && r.Skips >= 0 && r.Skips <= r.Deliveries {
				pacer.ReportDeliveries(r.Session, r.Deliveries, r.Skips, r.Largest)
			}
		})
		if err != nil {
			for _, s := range h.subs {
				_ = s.Unsubscribe()
			}
			return nil, err
		}
		h.subs = append(h.subs, sub)
	}
	// Registered at the server before anyone is told this node holds sessions: an attach
	// request that came first would find no responder, and its participant would be
	// turned away.
	if err := nc.Flush(); err != nil {
		for _, s := range h.subs {
			_ = s.Unsubscribe()
		}
		return nil, err
	}
	go h.expire()
	return h, nil
}

// Links is the number of participants attached from other nodes.
func (h *Holder) Links() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.links)
}

func (h *Holder) onAttach(m *nats.Msg) {
	var req attachRequest
	if err := json.Unmarshal(m.Data, &req); err != nil || !validSubjectToken(req.Link) || !validSubjectToken(req.Session) || !validSubjectToken(req.Edge) {
		h.reply(m, closeMsg{Code: 4001, Bye: "unauthorized", Message: "The request to join was malformed."})
		return
	}
	rc := &RemoteConn{nc: h.nc, out: linkOut(req.Session, req.Edge, req.Link), shared: sharedOut(req.Session, req.Edge),
		link: req.Link, session: req.Session, frames: h.frames}
	l := &holderLink{id: req.Link, conn: rc}
	l.lastSeen.Store(time.Now().UnixNano())
	rc.onClose = func() { h.drop(l, false) }
	// Subscribe before joining: the participant's first messages may follow the welcome
	// at once.
	msgs := make(chan *nats.Msg, 256)
	sub, err := h.nc.ChanSubscribe(linkIn(req.Link), msgs)
	if err != nil {
		h.reply(m, closeMsg{Code: 1011, Bye: "server_error", Message: "The server could not join you; connect again."})
		return
	}
	l.sub = sub
	p, err := h.sessions.Attach(req.Session, rc, req.Hello)
	if err != nil {
		_ = sub.Unsubscribe()
		var r *Refusal
		if !errors.As(err, &r) {
			r = &Refusal{Code: 1011, Bye: "server_error", Message: "The server could not join you; connect again."}
		}
		h.reply(m, closeMsg{Code: r.Code, Bye: r.Bye, Message: r.Message})
		return
	}
	l.p = p
	h.mu.Lock()
	h.links[l.id] = l
	h.mu.Unlock()
	h.reply(m, closeMsg{OK: true})
	h.log.Debug("participant attached from another node", "session", req.Session, "edge", req.Edge, "remote", req.Remote)
	go h.serveLink(l, msgs)
}

// serveLink hands a link's messages to its participant, in order, on one goroutine.
func (h *Holder) serveLink(l *holderLink, msgs <-chan *nats.Msg) {
	for {
		select {
		case <-h.stop:
			return
		case m, ok := <-msgs:
			if !ok {
				return
			}
			l.lastSeen.Store(time.Now().UnixNano())
			switch m.Header.Get(hdrType) {
			case inMsg:
				var cm stream.ClientMessage
				if json.Unmarshal(m.Data, &cm) == nil {
					l.p.Handle(cm)
				}
			case inSub:
				l.conn.resend()
			case inLeave:
				h.drop(l, true)
				return
			}
		}
	}
}

// drop forgets a link: leave tells the session the participant went (the edge said so,
// or went silent); otherwise the session closed the connection itself.
func (h *Holder) drop(l *holderLink, leave bool) {
	h.mu.Lock()
	_, ok := h.links[l.id]
	delete(h.links, l.id)
	h.mu.Unlock()
	if !ok {
		return
	}
	_ = l.sub.Unsubscribe()
	l.conn.release()
	if leave && !l.left.Swap(true) {
		l.p.Leave()
	}
}

// expire drops links whose edge has gone silent (its node died, or lost NATS).
func (h *Holder) expire() {
	defer close(h.done)
	tick := time.NewTicker(h.expiry / 4)
	defer tick.Stop()
	for {
		select {
		case <-h.stop:
			return
		case <-tick.C:
		}
		cutoff := time.Now().Add(-h.expiry).UnixNano()
		h.mu.Lock()
		var silent []*holderLink
		for _, l := range h.links {
			if l.lastSeen.Load() < cutoff {
				silent = append(silent, l)
			}
		}
		h.mu.Unlock()
		for _, l := range silent {
			h.log.Info("a participant's node went silent; it leaves", "link", l.id)
			h.drop(l, true)
		}
	}
}

func (h *Holder) reply(m *nats.Msg, v closeMsg) {
	b, _ := json.Marshal(v)
	if err := m.Respond(b); err != nil {
		h.log.Debug("attach reply", "err", err)
	}
}

// Close stops answering; attached participants stay until their sessions end.
func (h *Holder) Close() {
	for _, s := range h.subs {
		_ = s.Unsubscribe()
	}
	close(h.stop)
	<-h.done
}

// RemoteConn is a participant's connection on another node, as the session holding it
// sees it. It implements the session's Conn: text goes to the participant's link, and
// each picture to its audience's subject, published once for all the nodes.
type RemoteConn struct {
	nc      *nats.Conn
	out     string // the link's own subject on its edge
	shared  string // the subject of text shared by the session's links on its edge
	link    string
	session string
	frames  *framePublisher
	onClose func()

	mu     sync.Mutex
	aud    string // the frame subject of its audience; "" before its first picture
	audKey string // the audience aud is for, so a frame does not hash it again
	closed bool
}

// SendFrame is SendAudienceFrame for a session that does not name audiences.
func (c *RemoteConn) SendFrame(f *stream.Frame) bool { return c.SendAudienceFrame("", f) }

// SendAudienceFrame publishes f on its audience's subject, once whoever else receives it.
// A participant new to the audience gets f on its link too, and is told the subject. It
// never reports a skip: the edge's newest-wins slot does the skipping.
func (c *RemoteConn) SendAudienceFrame(audience string, f *stream.Frame) bool {
	if f == nil {
		return false
	}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return false
	}
	old, subject := c.aud, c.aud
	if audience != c.audKey || subject == "" {
		// A new audience (rare): name its subject once, not for every frame.
		subject = frameSubject(c.session, audienceToken(audience))
		c.aud, c.audKey = subject, audience
	}
	c.mu.Unlock()
	if old != subject {
		c.frames.ref(subject, 1)
		if old != "" {
			c.frames.ref(old, -1)
		}
		c.publish(outAud, []byte(subject))
		c.publishFrame(f)
	}
	c.frames.publish(subject, f)
	return false
}

// resend puts the audience's newest picture on the link: the edge has just subscribed to
// the audience, and a picture published before it did would otherwise be missed.
func (c *RemoteConn) resend() {
	c.mu.Lock()
	subject := c.aud
	c.mu.Unlock()
	if f := c.frames.last(subject); f != nil {
		c.publishFrame(f)
	}
}

func (c *RemoteConn) publishFrame(f *stream.Frame) {
	m := &nats.Msg{Subject: c.out, Data: f.Message(), Header: nats.Header{}}
	m.Header.Set(hdrType, outFrame)
	m.Header.Set(hdrPublished, strconv.FormatInt(time.Now().UnixNano(), 10))
	_ = c.nc.PublishMsg(m)
}

// Send JSON-encodes v and sends it as text.
func (c *RemoteConn) Send(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return c.SendText(b)
}

// SendText sends b to the participant; the edge queues it.
func (c *RemoteConn) SendText(b []byte) error {
	if c.isClosed() {
		return stream.ErrClosed
	}
	return c.publish(outText, b)
}

// SendLatest sends state that the next one makes obsolete.
func (c *RemoteConn) SendLatest(b []byte) {
	if !c.isClosed() {
		_ = c.publish(outLatest, b)
	}
}

// SharedKey names the connections that text can reach together, as one message: the
// session's links on one edge. member is this link.
func (c *RemoteConn) SharedKey() (key, member string) { return c.shared, c.link }

// SendShared sends b to links, all of c's SharedKey, as one message that their edge hands
// to each of them.
func (c *RemoteConn) SendShared(links []string, b []byte) {
	if len(links) == 0 {
		return
	}
	m := &nats.Msg{Subject: c.shared, Data: b, Header: nats.Header{}}
	m.Header.Set(hdrType, outText)
	m.Header.Set(hdrLinks, strings.Join(links, " "))
	_ = c.nc.PublishMsg(m)
}

// Close tells the edge to close the participant's connection with a bye.
func (c *RemoteConn) Close(code int, byeCode, message string) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.closed = true
	c.mu.Unlock()
	b, _ := json.Marshal(closeMsg{Code: code, Bye: byeCode, Message: message})
	_ = c.publish(outClose, b)
	if c.onClose != nil {
		c.onClose()
	}
}

func (c *RemoteConn) isClosed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closed
}

// release lets go of the audience subject's newest picture once no link needs it.
func (c *RemoteConn) release() {
	c.mu.Lock()
	c.closed = true
	old := c.aud
	c.aud = ""
	c.mu.Unlock()
	if old != "" {
		c.frames.ref(old, -1)
	}
}

func (c *RemoteConn) publish(typ string, b []byte) error {
	m := &nats.Msg{Subject: c.out, Data: b, Header: nats.Header{}}
	m.Header.Set(hdrType, typ)
	return c.nc.PublishMsg(m)
}

// framePublisher publishes each audience's picture once: every RemoteConn of the audience
// hands it the same *stream.Frame, and only the first one of each is published.
type framePublisher struct {
	nc *nats.Conn

	mu       sync.Mutex
	subjects map[string]*published
}

type published struct {
	frame *stream.Frame
	refs  int // links of the audience
}

func newFramePublisher(nc *nats.Conn) *framePublisher {
	return &framePublisher{nc: nc, subjects: map[string]*published{}}
}

func (p *framePublisher) ref(subject string, delta int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	e := p.subjects[subject]
	if e == nil {
		e = &published{}
		p.subjects[subject] = e
	}
	e.refs += delta
	if e.refs <= 0 {
		delete(p.subjects, subject)
	}
}

func (p *framePublisher) last(subject string) *stream.Frame {
	p.mu.Lock()
	defer p.mu.Unlock()
	if e := p.subjects[subject]; e != nil {
		return e.frame
	}
	return nil
}

func (p *framePublisher) publish(subject string, f *stream.Frame) {
	p.mu.Lock()
	e := p.subjects[subject]
	if e == nil || e.frame == f {
		p.mu.Unlock()
		return
	}
	e.frame = f
	p.mu.Unlock()
	m := &nats.Msg{Subject: subject, Data: f.Message(), Header: nats.Header{}}
	m.Header.Set(hdrPublished, strconv.FormatInt(time.Now().UnixNano(), 10))
	_ = p.nc.PublishMsg(m)
}
