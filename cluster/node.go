package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/tandem-cobrowse/tandem/stream"
)

// NodeConfig is what a node of the cluster is made of.
type NodeConfig struct {
	Name     string // unique in the cluster; NodeToken(Name) is used in subjects
	Conn     *nats.Conn
	Registry *Registry
	// Sessions are the node's own sessions, to which other nodes attach participants.
	Sessions Sessions
	// Restore brings back a session placed here from its record's snapshot (its node was
	// lost, or handed it over while draining).
	Restore func(ctx context.Context, rec SessionRecord) error
	// Holds reports whether this node holds a session now.
	Holds func(id string) bool
	// Load reports the node's live load for its heartbeat (Name is filled in).
	Load func() NodeInfo
	// HeartbeatEvery: how often the node reports itself; 0 = 1 s. A node unheard for
	// NodeTTL (0 = 5 s) is gone.
	HeartbeatEvery time.Duration
	NodeTTL        time.Duration
	Logger         *slog.Logger
	// Metrics registers the cluster's figures; nil registers none.
	Metrics prometheus.Registerer
}

// Node is this server's part in the cluster: its heartbeat, the sessions it holds for
// participants on other nodes, the participants it serves for sessions held elsewhere,
// and the API calls it passes on.
type Node struct {
	name     string
	nc       *nats.Conn
	reg      *Registry
	load     func() NodeInfo
	every    time.Duration
	log      *slog.Logger
	holder   *Holder
	edge     *Edge
	metrics  *nodeMetrics
	draining atomic.Bool
	restore  func(ctx context.Context, rec SessionRecord) error
	holds    func(id string) bool
	snaps    snapshots
	adopting atomic.Bool
	rescan   atomic.Bool
	retry    atomic.Bool // the last scan left work: scan again at the next heartbeat
	// scanned: a first scan is done, so this node's sessions from before a restart are
	// back or being brought back; until then a session of this node's that it does not
	// hold may be one of them.
	scanned atomic.Bool
	beats   int                  // owned by the heartbeat goroutine
	orphans map[string]time.Time // owned by adopt: when each orphan was first seen

	startedAt time.Time
	ctx       context.Context
	cancel    context.CancelFunc
	done      chan struct{}

	mu        sync.Mutex
	watched   map[string]chan struct{} // holders of relayed sessions: closed when lost
	live      []NodeInfo               // as of the last heartbeat
	restoring map[string]bool          // sessions being brought back here
	presence  *presence
	presSub   *nats.Subscription
	httpSub   *nats.Subscription
	adoptSub  *nats.Subscription
}

// StartNode joins the cluster: it reports its load every HeartbeatEvery and answers
// other nodes' attach requests until Close.
func StartNode(ctx context.Context, c NodeConfig) (*Node, error) {
	if c.Name == "" || NodeToken(c.Name) != c.Name {
		return nil, fmt.Errorf("cluster: node name %q: use letters, digits, - and _ (NodeToken makes one)", c.Name)
	}
	if c.HeartbeatEvery <= 0 {
		c.HeartbeatEvery = time.Second
	}
	if c.NodeTTL <= 0 {
		c.NodeTTL = 5 * time.Second
	}
	log := c.Logger.With("component", "cluster", "node", c.Name)
	nctx, cancel := context.WithCancel(ctx)
	n := &Node{
		name: c.Name, nc: c.Conn, reg: c.Registry, load: c.Load, every: c.HeartbeatEvery, log: log,
		metrics: newNodeMetrics(c.Metrics), ctx: nctx, startedAt: time.Now(), cancel: cancel, done: make(chan struct{}),
		watched: map[string]chan struct{}{}, restore: c.Restore, holds: c.Holds, restoring: map[string]bool{},
		orphans: map[string]time.Time{}, presence: newPresence(c.NodeTTL),
		snaps: snapshots{pending: map[string][]byte{}, wake: make(chan struct{}, 1)},
	}
	if n.holds == nil {
		n.holds = func(string) bool { return false }
	}
	if n.restore == nil {
		n.restore = func(context.Context, SessionRecord) error { return errors.New("this node cannot bring sessions back") }
	}
	var err error
	if n.holder, err = NewHolder(c.Conn, c.Name, c.Sessions, c.Logger); err != nil {
		cancel()
		return nil, fmt.Errorf("cluster: %w", err)
	}
	n.edge = NewEdge(c.Conn, c.Name, EdgeHooks{FrameRelayed: n.metrics.relayed}, c.Logger)
	if n.presSub, err = c.Conn.Subscribe(presenceSubject, func(m *nats.Msg) {
		var hb heartbeat
		if json.Unmarshal(m.Data, &hb) == nil && hb.Name != "" {
			n.presence.observe(hb)
		}
	}); err != nil {
		cancel()
		n.holder.Close()
		n.edge.Close()
		return nil, fmt.Errorf("cluster: %w", err)
	}
	if _, err := n.beat(); err != nil {
		log.Warn("first heartbeat", "err", err)
	}
	adoptSub, err := c.Conn.Subscribe(adoptSubject(c.Name), func(*nats.Msg) { go n.adopt(n.Nodes(), !n.scanned.Load()) })
	if err != nil {
		cancel()
		n.holder.Close()
		n.edge.Close()
		_ = n.presSub.Unsubscribe()
		return nil, fmt.Errorf("cluster: %w", err)
	}
	n.adoptSub = adoptSub
	go n.heartbeats()
	go n.writeSnapshots()
	return n, nil
}

func (n *Node) isRestoring(id string) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.restoring[id]
}

// BringingBack reports whether a session this node's registry entry names, but that it
// does not hold, may be on its way back here (being restored, or this node has not yet
// looked for its sessions from before a restart).
func (n *Node) BringingBack(id string) bool {
	return n.isRestoring(id) || !n.scanned.Load()
}

// Name is the node's name.
func (n *Node) Name() string { return n.name }

// ServeAPI answers the API calls other nodes pass to this one with handler.
func (n *Node) ServeAPI(handler http.Handler) error {
	sub, err := n.nc.Subscribe(httpSubject(n.name), n.answerHTTP(handler))
	if err != nil {
		return fmt.Errorf("cluster: %w", err)
	}
	n.mu.Lock()
	n.httpSub = sub
	n.mu.Unlock()
	return nil
}

func (n *Node) heartbeats() {
	defer close(n.done)
	tick := time.NewTicker(n.every)
	defer tick.Stop()
	for {
		select {
		case <-n.ctx.Done():
			return
		case <-tick.C:
		}
		lost, err := n.beat()
		if err != nil {
			n.log.Warn("heartbeat", "err", err)
		}
		n.beats++
		if n.retry.Swap(false) || lost || n.beats%scanEvery == 1 {
			go n.adopt(n.presence.live(), !n.scanned.Load())
		}
	}
}

// beat reports the node's load, reads the others', and tells the relayed participants
// of nodes that are gone; lost reports whether a node went since the last beat.
func (n *Node) beat() (lost bool, err error) {
	info := n.load()
	info.Name = n.name
	info.Draining = n.draining.Load()
	b, err := json.Marshal(heartbeat{NodeInfo: info})
	if err != nil {
		return false, err
	}
	n.presence.observe(heartbeat{NodeInfo: info}) // itself, whatever the network does
	if err := n.nc.Publish(presenceSubject, b); err != nil {
		return false, fmt.Errorf("cluster: heartbeat: %w", err)
	}
	live := n.presence.live()
	n.metrics.nodes(live)
	alive := map[string]bool{}
	for _, l := range live {
		alive[l.Name] = true
	}
	n.mu.Lock()
	for _, l := range n.live {
		lost = lost || !alive[l.Name]
	}
	n.live = live
	for holder, ch := range n.watched {
		if !alive[holder] {
			n.log.Warn("a node holding relayed sessions is gone", "holder", holder)
			close(ch)
			delete(n.watched, holder)
		}
	}
	n.mu.Unlock()
	return lost, nil
}

// lost is closed when holder's heartbeat stops.
func (n *Node) lost(holder string) <-chan struct{} {
	n.mu.Lock()
	defer n.mu.Unlock()
	ch := n.watched[holder]
	if ch == nil {
		ch = make(chan struct{})
		n.watched[holder] = ch
	}
	return ch
}

// Holder finds the live node that holds session: ErrUnknownSession when none does,
// ErrMoving while it is being brought back on another node (or its node was just lost).
func (n *Node) Holder(ctx context.Context, session string) (string, error) {
	rec, _, err := n.reg.Lookup(ctx, session)
	if err != nil {
		return "", err
	}
	if rec.Moving {
		return "", ErrMoving
	}
	if !n.presence.alive(rec.Node) {
		return "", fmt.Errorf("%w: its node %s is gone", ErrMoving, rec.Node)
	}
	return rec.Node, nil
}

// Serve relays a participant whose session another node holds (proxy.Elsewhere); false
// when no other live node holds it.
func (n *Node) Serve(ctx context.Context, conn *stream.Conn, session string, hello stream.ClientMessage) bool {
	if !validSubjectToken(session) {
		return false
	}
	lctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	holder, err := n.Holder(lctx, session)
	cancel()
	if errors.Is(err, ErrMoving) || (err == nil && holder == n.name && n.BringingBack(session)) {
		// Being brought back (here, perhaps): the viewer reconnects in a moment.
		conn.Close(CloseNodeLost, ByeNodeLost, "The session is being brought back on another server; reconnecting.")
		return true
	}
	if err != nil || holder == n.name {
		if err != nil && !errors.Is(err, ErrUnknownSession) {
			n.log.Warn("looking up a session in the registry", "session", session, "err", err)
		}
		return false // unknown, or ended here a moment ago
	}
	n.metrics.remoteViewers.Inc()
	defer n.metrics.remoteViewers.Dec()
	n.edge.Serve(ctx, conn, holder, session, hello, n.lost(holder))
	return true
}

// Claim places a new session on this node; ErrTaken if its id is placed already.
func (n *Node) Claim(ctx context.Context, id, url string) error {
	_, err := n.reg.Claim(ctx, SessionRecord{ID: id, Node: n.name, URL: url, CreatedAt: time.Now().UTC()})
	return err
}

// Place picks the node with the most room for a new session, from the last heartbeat's
// reports (this node's own load is read afresh).
func (n *Node) Place() (string, error) {
	n.mu.Lock()
	nodes := make([]NodeInfo, 0, len(n.live)+1)
	for _, l := range n.live {
		if l.Name != n.name {
			nodes = append(nodes, l)
		}
	}
	n.mu.Unlock()
	self := n.load()
	self.Name, self.Draining = n.name, n.draining.Load()
	return Place(append(nodes, self))
}

// Nodes are the live nodes as of the last heartbeat.
func (n *Node) Nodes() []NodeInfo {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]NodeInfo(nil), n.live...)
}

// SetDraining makes the node stop taking new sessions (or take them again).
func (n *Node) SetDraining(on bool) {
	n.draining.Store(on)
	if _, err := n.beat(); err != nil {
		n.log.Warn("heartbeat", "err", err)
	}
}

// Draining reports whether the node takes no new sessions.
func (n *Node) Draining() bool { return n.draining.Load() }

// Close leaves the cluster: heartbeats stop, and the other nodes are told it leaves.
func (n *Node) Close() {
	n.cancel()
	<-n.done
	n.mu.Lock()
	if n.httpSub != nil {
		_ = n.httpSub.Unsubscribe()
	}
	_ = n.adoptSub.Unsubscribe()
	n.mu.Unlock()
	n.holder.Close()
	n.edge.Close()
	_ = n.presSub.Unsubscribe()
	if b, err := json.Marshal(heartbeat{NodeInfo: NodeInfo{Name: n.name}, Leaving: true}); err == nil {
		_ = n.nc.Publish(presenceSubject, b)
		_ = n.nc.FlushTimeout(2 * time.Second)
	}
}

// nodeMetrics are the cluster's figures on /metrics.
type nodeMetrics struct {
	framesRelayed  prometheus.Counter
	relayLag       prometheus.Histogram
	requests       prometheus.Counter
	remoteViewers  prometheus.Gauge
	restored       prometheus.Histogram
	restoreFailed  prometheus.Counter
	nodeSessions   *prometheus.GaugeVec
	liveNodes      prometheus.Gauge
	mu             sync.Mutex
	reportedBefore map[string]bool
}

func newNodeMetrics(r prometheus.Registerer) *nodeMetrics {
	m := &nodeMetrics{
		framesRelayed: prometheus.NewCounter(prometheus.CounterOpts{Name: "tandem_cluster_frames_relayed_total",
			Help: "Frames received from the node holding a session, for viewers connected here."}),
		relayLag: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "tandem_cluster_relay_lag_seconds",
			Help:    "From the holding node publishing a frame to this node handing it to its viewers.",
			Buckets: []float64{.0005, .001, .002, .005, .01, .02, .05, .1, .25, .5, 1}}),
		requests: prometheus.NewCounter(prometheus.CounterOpts{Name: "tandem_cluster_requests_forwarded_total",
			Help: "API calls passed to the node holding their session, or chosen for a new one."}),
		remoteViewers: prometheus.NewGauge(prometheus.GaugeOpts{Name: "tandem_cluster_relayed_participants",
			Help: "Participants connected here whose session another node holds."}),
		restored: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "tandem_cluster_restore_seconds",
			Help:    "Bringing back a session whose node was lost or handed it over: tab opened, page loaded.",
			Buckets: []float64{.25, .5, 1, 2, 4, 8, 16, 32}}),
		restoreFailed: prometheus.NewCounter(prometheus.CounterOpts{Name: "tandem_cluster_restore_failures_total",
			Help: "Sessions that could not be brought back and ended."}),
		nodeSessions: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "tandem_cluster_node_sessions",
			Help: "Sessions each live node of the cluster holds, as it last reported."}, []string{"node"}),
		liveNodes: prometheus.NewGauge(prometheus.GaugeOpts{Name: "tandem_cluster_nodes",
			Help: "Live nodes of the cluster."}),
		reportedBefore: map[string]bool{},
	}
	if r != nil {
		r.MustRegister(m.framesRelayed, m.relayLag, m.requests, m.remoteViewers, m.restored, m.restoreFailed, m.nodeSessions, m.liveNodes)
	}
	return m
}

func (m *nodeMetrics) relayed(lag time.Duration) {
	m.framesRelayed.Inc()
	if lag > 0 {
		m.relayLag.Observe(lag.Seconds())
	}
}

func (m *nodeMetrics) forwarded() { m.requests.Inc() }

func (m *nodeMetrics) nodes(live []NodeInfo) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.liveNodes.Set(float64(len(live)))
	now := map[string]bool{}
	for _, n := range live {
		now[n.Name] = true
		m.nodeSessions.WithLabelValues(n.Name).Set(float64(n.Sessions))
	}
	for name := range m.reportedBefore {
		if !now[name] {
			m.nodeSessions.DeleteLabelValues(name)
		}
	}
	m.reportedBefore = now
}
