package cluster

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

// ServerConfig is the embedded NATS server of a node.
type ServerConfig struct {
	// Listen is the client address (HOST:PORT; port 0 picks one).
	Listen string
	// ClusterListen and Routes cluster this server with other nodes' (both empty: alone).
	ClusterListen string
	Routes        []string
	// ClusterName names the NATS cluster; every node of one cluster uses the same.
	ClusterName string
	// NodeName is the server's name, unique in the cluster (JetStream needs it).
	NodeName string
	// DataDir holds JetStream's files (under DataDir/nats).
	DataDir string
	// Secret is what clients and the other nodes' routes must present: the registry and
	// every session's pictures travel here, so no one else may connect. Required.
	Secret string
	// MaxPayload is the largest message; 0 = 16 MiB, room for a file given to a page
	// (10 MB by default) passed to another node, base64 in JSON.
	MaxPayload int32
	Logger     *slog.Logger
}

// Server is an embedded NATS server with JetStream.
type Server struct {
	ns     *server.Server
	secret string
}

// StartServer starts the embedded server and waits until it takes connections.
func StartServer(c ServerConfig) (*Server, error) {
	host, port, err := splitHostPort(c.Listen)
	if err != nil {
		return nil, fmt.Errorf("cluster: nats listen %q: %w", c.Listen, err)
	}
	if c.DataDir == "" {
		return nil, errors.New("cluster: the embedded NATS server needs a data directory for JetStream (--data-dir)")
	}
	if len(c.Secret) < 16 {
		return nil, errors.New("cluster: the embedded NATS server needs a secret of at least 16 characters")
	}
	maxPayload := c.MaxPayload
	if maxPayload == 0 {
		maxPayload = 16 << 20
	}
	opts := &server.Options{
		ServerName:            c.NodeName,
		Host:                  host,
		Port:                  port,
		JetStream:             true,
		StoreDir:              filepath.Join(c.DataDir, "nats"),
		MaxPayload:            maxPayload,
		Authorization:         c.Secret, // clients' token
		NoSigs:                true,     // the node handles signals
		NoLog:                 c.Logger == nil,
		DisableShortFirstPing: true,
	}
	if c.ClusterListen != "" || len(c.Routes) > 0 {
		chost, cport, err := splitHostPort(c.ClusterListen)
		if err != nil {
			return nil, fmt.Errorf("cluster: cluster listen %q: %w", c.ClusterListen, err)
		}
		name := c.ClusterName
		if name == "" {
			name = "tandem"
		}
		opts.Cluster = server.ClusterOpts{Name: name, Host: chost, Port: cport, Username: "tandem", Password: c.Secret}
		// The other nodes are reached with the same credentials they require.
		opts.Routes = withRouteAuth(server.RoutesFromStr(strings.Join(c.Routes, ",")), c.Secret)
	}
	ns, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("cluster: nats server: %w", err)
	}
	if c.Logger != nil {
		ns.SetLoggerV2(natsLogger{c.Logger.With("component", "nats")}, false, false, false)
	}
	ns.Start()
	if !ns.ReadyForConnections(15 * time.Second) {
		ns.Shutdown()
		return nil, fmt.Errorf("cluster: the embedded NATS server did not start on %s (is the port in use? set --nats-listen to another address, or off to run without NATS)", c.Listen)
	}
	return &Server{ns: ns, secret: c.Secret}, nil
}

// withRouteAuth puts the cluster's credentials in every route URL.
func withRouteAuth(routes []*url.URL, secret string) []*url.URL {
	for _, r := range routes {
		r.User = url.UserPassword("tandem", secret)
	}
	return routes
}

// ClientURL is where clients connect.
func (s *Server) ClientURL() string { return s.ns.ClientURL() }

// ClusterURL is the route URL other nodes list in their routes ("" when not clustered).
func (s *Server) ClusterURL() string {
	a := s.ns.ClusterAddr()
	if a == nil {
		return ""
	}
	return "nats://" + a.String()
}

// Connect opens a client connection inside the process, without a socket.
func (s *Server) Connect(name string) (*nats.Conn, error) {
	nc, err := nats.Connect("", nats.Name(name), nats.InProcessServer(s.ns), nats.MaxReconnects(-1), nats.Token(s.secret))
	if err != nil {
		return nil, fmt.Errorf("cluster: connect in process: %w", err)
	}
	return nc, nil
}

// Shutdown stops the server and waits until it is down.
func (s *Server) Shutdown() {
	s.ns.Shutdown()
	s.ns.WaitForShutdown()
}

// Dial connects to external NATS servers (comma-separated URLs) with opts.
func Dial(urls, name string, opts ...nats.Option) (*nats.Conn, error) {
	opts = append([]nats.Option{nats.Name(name), nats.MaxReconnects(-1)}, opts...)
	nc, err := nats.Connect(urls, opts...)
	if err != nil {
		return nil, fmt.Errorf("cluster: connect to %s: %w", redactURLs(urls), err)
	}
	return nc, nil
}

// redactURLs drops credentials from URLs before they reach a log or an error.
func redactURLs(urls string) string {
	parts := strings.Split(urls, ",")
	for i, p := range parts {
		if at := strings.LastIndex(p, "@"); at >= 0 {
			if scheme := strings.Index(p, "://"); scheme >= 0 && scheme < at {
				parts[i] = p[:scheme+3] + "***" + p[at:]
			}
		}
	}
	return strings.Join(parts, ",")
}

func splitHostPort(addr string) (string, int, error) {
	if addr == "" {
		return "127.0.0.1", server.RANDOM_PORT, nil
	}
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, err
	}
	port, err := strconv.Atoi(p)
	if err != nil {
		return "", 0, fmt.Errorf("port %q: %w", p, err)
	}
	if port == 0 {
		port = server.RANDOM_PORT
	}
	if host == "" {
		host = "0.0.0.0"
	}
	return host, port, nil
}

// natsLogger writes the server's notices through slog; its debug and trace are off.
type natsLogger struct{ log *slog.Logger }

func (l natsLogger) Noticef(format string, v ...any) { l.log.Debug(fmt.Sprintf(format, v...)) }
func (l natsLogger) Warnf(format string, v ...any) {
	msg := fmt.Sprintf(format, v...)
	if strings.HasPrefix(msg, "Maximum payloads over") {
		l.log.Debug(msg) // chosen on purpose (ServerConfig.MaxPayload)
		return
	}
	l.log.Warn(msg)
}
func (l natsLogger) Fatalf(format string, v ...any) { l.log.Error(fmt.Sprintf(format, v...)) }
func (l natsLogger) Errorf(format string, v ...any) {
	msg := fmt.Sprintf(format, v...)
	if strings.HasPrefix(msg, "Error trying to connect to route") {
		// Every second per route while a node is down: the node's loss is logged once
		// by the heartbeat instead.
		l.log.Debug(msg)
		return
	}
	l.log.Error(msg)
}
func (l natsLogger) Debugf(format string, v ...any) { l.log.Debug(fmt.Sprintf(format, v...)) }
func (l natsLogger) Tracef(format string, v ...any) { l.log.Debug(fmt.Sprintf(format, v...)) }
