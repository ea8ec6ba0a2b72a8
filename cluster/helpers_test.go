package cluster

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
)

const testSecret = "cluster-test-secret-0123456789"

var testLog = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))

// freePorts finds n free loopback ports (closed again: a tiny window for a race).
func freePorts(t *testing.T, n int) []int {
	t.Helper()
	var ports []int
	var lns []net.Listener
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		lns = append(lns, ln)
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
	}
	for _, ln := range lns {
		_ = ln.Close()
	}
	return ports
}

// startServers starts n embedded NATS servers clustered with each other (alone for 1).
func startServers(t *testing.T, n int) []*Server {
	t.Helper()
	var routes []string
	var cports []int
	if n > 1 {
		cports = freePorts(t, n)
		for _, p := range cports {
			routes = append(routes, fmt.Sprintf("nats://127.0.0.1:%d", p))
		}
	}
	servers := make([]*Server, n)
	errs := make(chan error, n)
	for i := range n {
		go func() {
			cfg := ServerConfig{Listen: "127.0.0.1:0", NodeName: fmt.Sprintf("n%d", i), DataDir: t.TempDir(), Secret: testSecret}
			if n > 1 {
				cfg.ClusterListen = fmt.Sprintf("127.0.0.1:%d", cports[i])
				cfg.Routes = routes
			}
			s, err := StartServer(cfg)
			servers[i] = s
			errs <- err
		}()
	}
	for range n {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		for _, s := range servers {
			if s != nil {
				s.Shutdown()
			}
		}
	})
	return servers
}

func connect(t *testing.T, s *Server) *nats.Conn {
	t.Helper()
	nc, err := s.Connect("test")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	return nc
}

// openRegistries opens the registry through each server, with replicas on all of them.
func openRegistries(t *testing.T, servers []*Server) []*Registry {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	regs := make([]*Registry, len(servers))
	for i, s := range servers {
		r, err := OpenRegistry(ctx, connect(t, s), RegistryConfig{Replicas: len(servers)})
		if err != nil {
			t.Fatal(err)
		}
		regs[i] = r
	}
	return regs
}
