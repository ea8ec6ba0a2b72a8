package app

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/tandem-cobrowse/tandem/agent"
	"github.com/tandem-cobrowse/tandem/cluster"
	"github.com/tandem-cobrowse/tandem/console"
	"github.com/tandem-cobrowse/tandem/proxy"
	"github.com/tandem-cobrowse/tandem/site"
	"github.com/tandem-cobrowse/tandem/store"
	"github.com/tandem-cobrowse/tandem/stream"
)

// ClusterConfig puts the server in a cluster of nodes on NATS.
type ClusterConfig struct {
	// NATSListen is the embedded NATS server's client address; "" runs none (NATSURL
	// must then be set).
	NATSListen string
	// NATSURL lists external NATS servers to connect to instead of the embedded one.
	NATSURL     string
	NATSOptions []nats.Option // credentials and TLS of NATSURL
	// ClusterListen and Routes cluster the embedded server with other nodes'.
	ClusterListen string
	Routes        []string
	NodeName      string
	// DataDir holds JetStream's files; Config.DataDir when empty.
	DataDir string
	// Replicas of the registry's buckets: 0 picks 3 when clustered (or on external
	// NATS), 1 alone.
	Replicas int
	// Secret is what the embedded NATS server requires of clients and of the other nodes'
	// routes; "" derives it from the API key (the same on every node), or, for a node
	// alone without one, makes a random one.
	Secret string
	// HeartbeatEvery is how often the node reports itself (0 = 1 s); a node silent for
	// NodeTTL (0 = 5 s) is gone.
	HeartbeatEvery time.Duration
	NodeTTL        time.Duration
}

// clusterPart is the server's part of the cluster, started before the sessions.
type clusterPart struct {
	server *cluster.Server // nil on external NATS
	nc     *nats.Conn
	reg    *cluster.Registry
	node   *cluster.Node
	// consoleSessions are the agent console's sign-ins, shared by every node so a load
	// balancer may send an agent's requests to any of them.
	consoleSessions *cluster.KVStore
	// config keeps sites and agent accounts alike on every node; nil for a node alone.
	config *cluster.ConfigSync
}

// minNATSPayload is the smallest max_payload of the NATS servers Tandem works with: a
// frame or a Page-mode snapshot travels as one message. The embedded server takes 16 MiB;
// an external one takes 1 MB unless configured otherwise.
const minNATSPayload = 8 << 20

// startNATS starts the embedded NATS server (or connects to the external one) and opens
// the registry.
func startNATS(ctx context.Context, c ClusterConfig, dataDir, apiKey string, db *store.DB, log *slog.Logger) (*clusterPart, error) {
	if c.NATSListen == "" && c.NATSURL == "" {
		return nil, errors.New("cluster: set the embedded NATS server's address or the NATS URL")
	}
	if c.Secret == "" {
		switch {
		case apiKey != "":
			mac := hmac.New(sha256.New, []byte(apiKey))
			mac.Write([]byte("tandem nats"))
			c.Secret = hex.EncodeToString(mac.Sum(nil))
		case len(c.Routes) > 0 || c.ClusterListen != "":
			return nil, errors.New("cluster: nodes clustering their NATS servers authenticate each other with the API key: set --api-key (the same on every node)")
		default:
			b := make([]byte, 24)
			_, _ = rand.Read(b)
			c.Secret = hex.EncodeToString(b) // alone: nobody else needs it
		}
	}
	if c.DataDir == "" {
		c.DataDir = dataDir
	}
	name := cluster.NodeToken(c.NodeName)
	p := &clusterPart{}
	var err error
	if c.NATSListen != "" {
		p.server, err = cluster.StartServer(cluster.ServerConfig{
			Listen: c.NATSListen, ClusterListen: c.ClusterListen, Routes: c.Routes,
			NodeName: name, DataDir: c.DataDir, Secret: c.Secret, Logger: log,
		})
		if err != nil {
			return nil, err
		}
		log.Info("embedded NATS server", "client", p.server.ClientURL(), "cluster", p.server.ClusterURL())
	}
	if c.NATSURL != "" {
		p.nc, err = cluster.Dial(c.NATSURL, "tandem "+name, c.NATSOptions...)
	} else {
		p.nc, err = p.server.Connect("tandem " + name)
	}
	if err != nil {
		p.close()
		return nil, err
	}
	if mp := p.nc.MaxPayload(); mp < minNATSPayload {
		p.close()
		return nil, fmt.Errorf("cluster: the NATS server takes messages of at most %d bytes (its max_payload); "+
			"Tandem sends pictures and page copies of up to several MB in one message: set max_payload: 8MB or more in the NATS servers' configuration", mp)
	}
	clustered := len(c.Routes) > 0 || c.NATSURL != ""
	replicas := c.Replicas
	if replicas == 0 {
		replicas = 1
		if clustered {
			replicas = 3
		}
	}
	octx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	p.reg, err = cluster.OpenRegistry(octx, p.nc, cluster.RegistryConfig{Replicas: replicas})
	if err != nil {
		p.close()
		return nil, err
	}
	// The bucket keeps a sign-in exactly as long as the console honours it; in memory
	// (replicated), so no sign-in is ever on disk.
	p.consoleSessions, err = cluster.OpenKVStore(octx, p.nc, cluster.KVStoreConfig{
		Bucket: cluster.ConsoleBucket, Replicas: replicas, MaxAge: console.DefaultSessionTTL,
	})
	if err != nil {
		p.close()
		return nil, err
	}
	if clustered {
		p.config, err = cluster.StartConfigSync(octx, p.nc, cluster.ConfigSyncConfig{
			DB: db, Buckets: append(site.SharedBuckets(), agent.SharedBuckets()...), Local: site.NodeLocal,
			Replicas: replicas, Logger: log,
		})
		if err != nil {
			p.close()
			return nil, err
		}
	}
	return p, nil
}

// join makes the node a member: heartbeats, attach requests, forwarded API calls.
func (p *clusterPart) join(ctx context.Context, c ClusterConfig, s *Server, reg prometheus.Registerer) error {
	meter := newLoadMeter()
	node, err := cluster.StartNode(ctx, cluster.NodeConfig{
		Name: cluster.NodeToken(c.NodeName), Conn: p.nc, Registry: p.reg,
		Sessions: sessionsOfNode{s.registry},
		Holds: func(id string) bool {
			_, err := s.registry.Get(id)
			return err == nil
		},
		Restore: func(ctx context.Context, rec cluster.SessionRecord) error {
			if _, err := s.registry.Get(rec.ID); err == nil {
				return nil // here already
			}
			var sn proxy.Snapshot
			if err := json.Unmarshal(rec.Spec, &sn); err != nil {
				return fmt.Errorf("snapshot of %s: %w", rec.ID, err)
			}
			return s.registry.Restore(ctx, sn)
		},
		Load: func() cluster.NodeInfo {
			rss, cores := meter.sample()
			return cluster.NodeInfo{Sessions: s.registry.Len(), MaxSessions: s.cfg.MaxSessions, MemoryBytes: rss, CPU: cores}
		},
		HeartbeatEvery: c.HeartbeatEvery, NodeTTL: c.NodeTTL, Logger: s.log, Metrics: reg,
	})
	if err != nil {
		return err
	}
	p.node = node
	return nil
}

func (p *clusterPart) close() {
	if p == nil {
		return
	}
	if p.node != nil {
		p.node.Close()
	}
	if p.config != nil {
		p.config.Close()
	}
	if p.nc != nil {
		_ = p.nc.Drain()
	}
	if p.server != nil {
		p.server.Shutdown()
	}
}

// claim places a session on this node in the registry.
func (p *clusterPart) claim(ctx context.Context, id, url string) error {
	return p.node.Claim(ctx, id, url)
}

// sessionsOfNode attaches other nodes' participants to this node's sessions.
type sessionsOfNode struct{ reg *proxy.Registry }

func (s sessionsOfNode) Attach(id string, conn *cluster.RemoteConn, hello stream.ClientMessage) (cluster.Participant, error) {
	sess, pid, err := s.reg.Admit(id, conn, hello)
	var refused *proxy.AdmitError
	if errors.As(err, &refused) {
		return nil, &cluster.Refusal{Code: refused.Code, Bye: refused.Bye, Message: refused.Message}
	}
	if err != nil {
		return nil, err
	}
	return remoteParticipant{s: sess, id: pid, conn: conn}, nil
}

// ReportDeliveries passes what another node's viewers did with a session's frames to
// the session, for its pacing.
func (s sessionsOfNode) ReportDeliveries(id string, deliveries, skipped, largest int) {
	if sess, err := s.reg.Get(id); err == nil {
		sess.ReportDeliveries(deliveries, skipped, largest)
	}
}

type remoteParticipant struct {
	s    *proxy.Session
	id   proxy.ParticipantID
	conn *cluster.RemoteConn
}

func (r remoteParticipant) Handle(m stream.ClientMessage) { r.s.Handle(r.id, r.conn, m) }
func (r remoteParticipant) Leave()                        { r.s.Leave(r.id, r.conn) }

// ClusterNodes are the live nodes of the cluster as this node last read them; nil when
// the server runs alone.
func (s *Server) ClusterNodes() []string {
	if s.cluster == nil || s.cluster.node == nil {
		return nil
	}
	var names []string
	for _, n := range s.cluster.node.Nodes() {
		names = append(names, n.Name)
	}
	return names
}

// forwardBodyMax bounds the body of an API call passed to another node: room for the
// largest file a session's upload rules may allow, and for any other call what the API
// takes. Bodies over 256 KiB travel in chunks, streamed.
func forwardBodyMax(path string) int64 {
	if strings.HasSuffix(path, "/files") {
		return proxy.MaxUploadBytes + 1<<20
	}
	return proxy.MaxBody
}

// routeInCluster passes API calls to the node that can answer them: a new session to the
// node with the most room, a call about a session to the node that holds it. Calls
// passed on by another node are answered here.
func (s *Server) routeInCluster(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		node := s.cluster.node
		if _, fwd := cluster.Forwarded(r); fwd {
			return next(c)
		}
		target, identity := "", []byte(nil)
		if r.Method == http.MethodPost && r.URL.Path == "/api/v1/join" {
			// A join code of a session held elsewhere: the agent's sign-in is checked
			// here, and the code redeemed where the session is.
			t, id, ok := s.joinTarget(c)
			if !ok {
				return next(c)
			}
			target, identity = t, id
		} else if r.Method == http.MethodPost && r.URL.Path == "/api/v1/help-requests" {
			// A visitor asking for help about a session held elsewhere: its node checks
			// the host token and queues the request, for the whole cluster.
			var req struct {
				Session string `json:"session"`
			}
			if peekJSON(r, &req) == nil {
				target = s.holderElsewhere(r.Context(), req.Session)
			}
		} else if id, ok := helpAcceptOfPath(r.Method, r.URL.Path); ok {
			// Accepting a request whose session is held elsewhere: the agent joins there.
			if hr, err := s.help.Get(id); err == nil {
				target = s.holderElsewhere(r.Context(), hr.Session)
				if ag, err := s.agentOf(r); err == nil {
					identity, _ = json.Marshal(ag)
				}
			}
		} else if r.Method == http.MethodPost && r.URL.Path == "/api/v1/sessions" {
			t, err := node.Place()
			if errors.Is(err, cluster.ErrNoRoom) {
				return fmt.Errorf("%w: every node of the cluster is full or draining", proxy.ErrTooManySessions)
			}
			target = t
		} else if id, ok := sessionOfPath(r.URL.Path); ok {
			if _, err := s.registry.Get(id); err == nil {
				return next(c) // held here
			}
			ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
			t, err := node.Holder(ctx, id)
			cancel()
			if errors.Is(err, cluster.ErrMoving) || (err == nil && t == node.Name() && node.BringingBack(id)) {
				c.Response().Header().Set("Retry-After", "2")
				return fmt.Errorf("%w: the session is being brought back on another server; try again in a moment", proxy.ErrUnavailable)
			}
			if err == nil {
				target = t
			}
		}
		if target == "" || target == node.Name() {
			return next(c)
		}
		err := node.Forward(c.Response(), r, target, s.linkBase(c), identity, forwardBodyMax(r.URL.Path))
		if err == nil {
			return nil
		}
		if errors.Is(err, cluster.ErrNodeUnreachable) && r.URL.Path == "/api/v1/sessions" {
			s.log.Warn("the node chosen for a session did not answer; placing it here", "node", target, "err", err)
			return next(c)
		}
		if errors.Is(err, cluster.ErrBodyTooLarge) {
			return fmt.Errorf("%w: %v", proxy.ErrTooLarge, err)
		}
		return fmt.Errorf("%w: %v", proxy.ErrUnavailable, err)
	}
}

// sessionOfPath is the session id of an API path about one session, other than its
// WebSocket (which the relay serves).
func sessionOfPath(path string) (string, bool) {
	rest, ok := strings.CutPrefix(path, "/api/v1/sessions/")
	if !ok || rest == "" {
		return "", false
	}
	id, sub, _ := strings.Cut(rest, "/")
	if sub == "ws" {
		return "", false
	}
	return id, true
}

// linkBase is where this node is reached, for the links of a session made elsewhere.
func (s *Server) linkBase(c echo.Context) string {
	if s.cfg.PublicURL != "" {
		return strings.TrimRight(s.cfg.PublicURL, "/")
	}
	return c.Scheme() + "://" + c.Request().Host
}

// Drain makes the node take no new sessions, hand its sessions to other nodes (ending
// those none can take), and stop; Serve then returns.
func (s *Server) Drain() {
	s.drainOnce.Do(func() { close(s.drainReq) })
}

// drain hands every session held here to the node with the most room. Participants are
// told to reconnect, and find their session there, as they were.
func (s *Server) drain(ctx context.Context) {
	node := s.cluster.node
	node.SetDraining(true)
	sessions := s.registry.All()
	s.log.Info("draining: handing sessions to other nodes", "sessions", len(sessions))
	var wg sync.WaitGroup
	for _, sess := range sessions {
		wg.Go(func() {
			snap, err := sess.HandoverJSON()
			var target string
			if err == nil {
				target, err = node.MoveAway(ctx, sess.ID(), snap)
			}
			if err != nil {
				s.log.Warn("draining: a session could not be handed over; it ends", "session", sess.ID(), "err", err)
				sess.End("The server is shutting down.")
				return
			}
			sess.EndMoved("The session is moving to another server; reconnecting.")
			s.log.Info("draining: session handed over", "session", sess.ID(), "to", target)
		})
	}
	wg.Wait()
}

// drainAPI is POST /api/v1/node/drain: the node drains and stops, as on SIGTERM.
func (s *Server) drainAPI(c echo.Context) error {
	if s.cluster == nil {
		return c.JSON(http.StatusConflict, proxy.APIError{Error: "not_clustered",
			Message: "This server runs alone: there is no other node to hand its sessions to."})
	}
	n := s.registry.Len()
	s.Drain()
	return c.JSON(http.StatusAccepted, map[string]any{"node": s.cluster.node.Name(), "draining": true, "sessions": n})
}

// clusterAPI is GET /api/v1/cluster: the live nodes and their load, as this node last
// read them.
func (s *Server) clusterAPI(c echo.Context) error {
	if s.cluster == nil {
		return c.JSON(http.StatusOK, map[string]any{"clustered": false})
	}
	return c.JSON(http.StatusOK, map[string]any{"clustered": true, "node": s.cluster.node.Name(),
		"draining": s.cluster.node.Draining(), "nodes": s.cluster.node.Nodes()})
}

// clusterSessionAPI is GET /api/v1/cluster/sessions/{id}: the session's record in the
// registry (which node holds it, its page, whether it is moving), without its snapshot.
func (s *Server) clusterSessionAPI(c echo.Context) error {
	if s.cluster == nil {
		return fmt.Errorf("%w: this server runs alone", proxy.ErrSessionNotFound)
	}
	rec, _, err := s.cluster.reg.Lookup(c.Request().Context(), c.Param("id"))
	if errors.Is(err, cluster.ErrUnknownSession) {
		return fmt.Errorf("%w: %v", proxy.ErrSessionNotFound, err)
	}
	if err != nil {
		return fmt.Errorf("%w: %v", proxy.ErrUnavailable, err)
	}
	var sn struct {
		Controller string `json:"controller"`
		Restores   int    `json:"restores"`
	}
	_ = json.Unmarshal(rec.Spec, &sn)
	return c.JSON(http.StatusOK, map[string]any{"id": rec.ID, "node": rec.Node, "url": rec.URL, "createdAt": rec.CreatedAt,
		"moves": rec.Moves, "moving": rec.Moving, "controller": sn.Controller, "snapshot": len(rec.Spec) > 0})
}

// joinTarget finds the node to pass a join code's redemption to: the node holding the
// code's session, when it is not this one and the caller is a signed-in agent (anything
// else is answered here, as on one node). The request's body is kept for whoever
// answers.
func (s *Server) joinTarget(c echo.Context) (node string, identity []byte, ok bool) {
	r := c.Request()
	var req struct {
		Code string `json:"code"`
	}
	if peekJSON(r, &req) != nil {
		return "", nil, false
	}
	// The sign-in first: a caller who is not an agent learns nothing of the code, not
	// even from how long the answer takes.
	ag, err := s.agentOf(r)
	if err != nil {
		return "", nil, false // refused here, with the reason
	}
	code := strings.Join(strings.Fields(req.Code), "")
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	session, err := s.cluster.reg.CodeSession(ctx, code)
	if err != nil {
		return "", nil, false
	}
	if _, err := s.registry.Get(session); err == nil {
		return "", nil, false // held here
	}
	holder, err := s.cluster.node.Holder(ctx, session)
	if err != nil || holder == s.cluster.node.Name() {
		return "", nil, false
	}
	if identity, err = json.Marshal(ag); err != nil {
		return "", nil, false
	}
	return holder, identity, true
}

// onJoinCode records in the registry which session a new join code is for.
func (s *Server) onJoinCode(session, code string) {
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := s.cluster.reg.PutCode(ctx, code, session); err != nil {
			s.log.Warn("recording a join code in the registry", "session", session, "err", err)
		}
	}()
}

// holderElsewhere is the node holding session when it is another live node, else "".
func (s *Server) holderElsewhere(ctx context.Context, session string) string {
	if _, err := s.registry.Get(session); err == nil || session == "" {
		return ""
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	holder, err := s.cluster.node.Holder(ctx, session)
	if err != nil || holder == s.cluster.node.Name() {
		return ""
	}
	return holder
}

// helpAcceptOfPath is the request id of POST /api/v1/help-requests/{id}/accept.
func helpAcceptOfPath(method, path string) (string, bool) {
	if method != http.MethodPost {
		return "", false
	}
	rest, ok := strings.CutPrefix(path, "/api/v1/help-requests/")
	if !ok {
		return "", false
	}
	id, ok := strings.CutSuffix(rest, "/accept")
	return id, ok && id != "" && !strings.Contains(id, "/")
}

// peekJSON decodes r's JSON body into v and leaves the body for whoever answers.
func peekJSON(r *http.Request, v any) error {
	body, err := io.ReadAll(io.LimitReader(r.Body, proxy.MaxBody))
	r.Body = io.NopCloser(bytes.NewReader(body))
	if err != nil {
		return err
	}
	return json.Unmarshal(body, v)
}
