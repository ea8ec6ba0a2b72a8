package app_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/tandem-cobrowse/tandem/internal/app"
)

// TestMain runs the test binary as a Tandem node when TANDEM_TEST_NODE holds a node's
// settings: the node tests start real processes, and kill them.
func TestMain(m *testing.M) {
	if spec := os.Getenv("TANDEM_TEST_NODE"); spec != "" {
		os.Exit(runTestNode(spec))
	}
	os.Exit(m.Run())
}

// nodeSpec is a node process's settings.
type nodeSpec struct {
	Name        string   `json:"name"`
	ClusterPort int      `json:"clusterPort"`
	Routes      []string `json:"routes"`
	Dir         string   `json:"dir"`
	AllowHosts  []string `json:"allowHosts"`
	MaxSessions int      `json:"maxSessions"`
	APIKey      string   `json:"apiKey"`
}

const nodeAPIKey = "node-test-key-0123456789abcdef"

func runTestNode(raw string) int {
	var spec nodeSpec
	if err := json.Unmarshal([]byte(raw), &spec); err != nil {
		fmt.Fprintln(os.Stderr, "node spec:", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})).With("node", spec.Name)
	cc := &app.ClusterConfig{NATSListen: "127.0.0.1:0", NodeName: spec.Name, HeartbeatEvery: 250 * time.Millisecond, NodeTTL: 2 * time.Second}
	if spec.ClusterPort != 0 {
		cc.ClusterListen, cc.Routes = fmt.Sprintf("127.0.0.1:%d", spec.ClusterPort), spec.Routes
	}
	s, err := app.New(ctx, app.Config{
		Addr: "127.0.0.1:0", APIKey: spec.APIKey, NoSandbox: os.Geteuid() == 0, MaxSessions: spec.MaxSessions,
		IdleTimeout: time.Minute, JPEGQuality: 80, DialogTimeout: 30 * time.Second, CallTimeout: 10 * time.Second,
		AllowHosts: spec.AllowHosts, DBPath: filepath.Join(spec.Dir, "tandem.db"), DataDir: spec.Dir,
		Cluster: cc,
	}, log)
	if err != nil {
		fmt.Fprintln(os.Stderr, "node:", err)
		return 1
	}
	fmt.Printf("TANDEM_NODE_URL=%s\n", s.URL())
	if err := s.Serve(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "node:", err)
		return 1
	}
	return 0
}

// nodeProc is a Tandem node in a process of its own.
type nodeProc struct {
	name     string
	spec     nodeSpec
	url      string
	cmd      *exec.Cmd
	waitOnce sync.Once
	waitErr  error
}

// kill ends the node at once, as a crash would: no goodbye to anyone.
func (n *nodeProc) kill() {
	_ = syscall.Kill(-n.cmd.Process.Pid, syscall.SIGKILL)
	n.waitOnce.Do(func() { n.waitErr = n.cmd.Wait() })
}

// wait waits for the node's process to end by itself.
func (n *nodeProc) wait() error {
	n.waitOnce.Do(func() { n.waitErr = n.cmd.Wait() })
	return n.waitErr
}

// startNodeProcs starts n nodes, each a process, clustered; maxSessions per node.
func startNodeProcs(t *testing.T, maxSessions []int, allow []string) []*nodeProc {
	t.Helper()
	n := len(maxSessions)
	ports := make([]int, n)
	var routes []string
	for i := range ports {
		if n == 1 {
			break // one node: its embedded NATS server alone
		}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ports[i] = ln.Addr().(*net.TCPAddr).Port
		_ = ln.Close()
		routes = append(routes, fmt.Sprintf("nats://127.0.0.1:%d", ports[i]))
	}
	procs := make([]*nodeProc, n)
	errs := make(chan error, n)
	for i := range n {
		procs[i] = &nodeProc{name: fmt.Sprintf("node-%c", 'a'+i), spec: nodeSpec{Name: fmt.Sprintf("node-%c", 'a'+i),
			ClusterPort: ports[i], Routes: routes, Dir: t.TempDir(), AllowHosts: allow, MaxSessions: maxSessions[i], APIKey: nodeAPIKey}}
		go func() { errs <- procs[i].start(t) }()
	}
	for range n {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	waitClustered(t, procs)
	return procs
}

// start runs the node's process (again, after a kill: same name, same data) and waits
// until it listens.
func (n *nodeProc) start(t *testing.T) error {
	spec, _ := json.Marshal(n.spec)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "TANDEM_TEST_NODE="+string(spec))
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	n.cmd, n.waitOnce, n.waitErr = cmd, sync.Once{}, nil
	t.Cleanup(n.kill)
	urls := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if u, ok := strings.CutPrefix(sc.Text(), "TANDEM_NODE_URL="); ok {
				urls <- u
			}
		}
		close(urls)
	}()
	select {
	case u, ok := <-urls:
		if !ok {
			return fmt.Errorf("%s ended before it listened", n.name)
		}
		n.url = u
		return nil
	case <-time.After(2 * time.Minute):
		return fmt.Errorf("%s did not start", n.name)
	}
}

// waitClustered waits until every node sees every other.
func waitClustered(t *testing.T, procs []*nodeProc) {
	t.Helper()
	eventually(t, "every node seeing every other", func() bool {
		for _, p := range procs {
			if len(clusterNodes(t, p.url)) != len(procs) {
				return false
			}
		}
		return true
	})
}

// clusterNodes are the live nodes a node knows of.
func clusterNodes(t *testing.T, base string) []string {
	t.Helper()
	status, out := apiCall(t, http.MethodGet, base+"/api/v1/cluster", nodeAPIKey, "")
	if status != http.StatusOK {
		t.Fatalf("GET /api/v1/cluster: %d %v", status, out)
	}
	var names []string
	nodes, _ := out["nodes"].([]any)
	for _, n := range nodes {
		if m, ok := n.(map[string]any); ok {
			names = append(names, fmt.Sprint(m["name"]))
		}
	}
	return names
}

// Node a holds a session whose host is connected through node b and a guest through node
// c; a's process is killed. The session comes back on b or c at the same page, the
// viewers reconnect by themselves as the same participants, and control is where it was.
// Then its new node drains: the session moves to the last node, and so do its viewers.
func TestALostNodesSessionComesBackElsewhere(t *testing.T) {
	chromiumOrSkip(t)
	var pressed atomic.Int64
	pageURL := animatedPage(t, &pressed)
	allow := []string{strings.TrimPrefix(strings.TrimSuffix(pageURL, "/"), "http://")}
	nodes := startNodeProcs(t, []int{10, 3, 3}, allow)
	a, b, c := nodes[0], nodes[1], nodes[2]

	status, created := apiCall(t, http.MethodPost, a.url+"/api/v1/sessions", nodeAPIKey, fmt.Sprintf(`{"url":%q}`, pageURL))
	if status != http.StatusCreated {
		t.Fatalf("create: %d %v", status, created)
	}
	id, _ := created["id"].(string)
	links, _ := created["links"].(map[string]any)
	host := dialViewerAt(t, b.url, id, tokenOf(links["host"].(string)), "host on b", true, c.url)
	guest := dialViewerAt(t, c.url, id, tokenOf(links["guest"].(string)), "guest on c", true, b.url)
	eventually(t, "frames through b and c", func() bool { return host.newestSeq() > 0 && guest.newestSeq() > 0 })
	if !host.inControl() {
		host.send(t, map[string]any{"type": "control", "action": "request"})
	}
	eventually(t, "the host in control", host.inControl)
	hostID, guestID := host.selfID(), guest.selfID()
	click := func() {
		for _, action := range []string{"down", "up"} {
			host.send(t, map[string]any{"type": "mouse", "action": action, "x": 0.2, "y": 0.2, "button": "left",
				"buttons": map[string]int{"down": 1, "up": 0}[action], "clickCount": 1})
		}
	}
	click()
	eventually(t, "the press at the provider", func() bool { return pressed.Load() == 1 })
	// The snapshot other nodes bring the session back from is stored as the session
	// changes; wait for the one with the host in control.
	eventually(t, "the snapshot stored", func() bool {
		return strings.Contains(registryRecord(t, b.url, id), `"controller":"`+hostID+`"`)
	})

	killed := time.Now()
	a.kill()
	welcomes := host.welcomeCount()
	var back time.Duration
	deadline := time.Now().Add(90 * time.Second)
	for {
		if host.welcomeCount() > welcomes && guest.welcomeCount() > 1 && host.inControl() && host.newestSeqSince(killed) {
			back = time.Since(killed)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("90 s after node a was killed the session is not back: host welcomes %d, guest %d, host in control %v; notices %v",
				host.welcomeCount(), guest.welcomeCount(), host.inControl(), host.noticeCodes())
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("the session was back %v after node a was killed", back.Round(time.Millisecond))
	if host.selfID() != hostID || guest.selfID() != guestID {
		t.Fatalf("participants came back as %s and %s, want %s and %s", host.selfID(), guest.selfID(), hostID, guestID)
	}
	if !strings.Contains(strings.Join(host.noticeCodes(), ","), "session_restored") {
		t.Fatalf("the host was not told the session was brought back: %v", host.noticeCodes())
	}
	eventually(t, "the page at the same URL", func() bool { return host.pageURL() == pageURL })
	var holder, other *nodeProc
	for _, n := range []*nodeProc{b, c} {
		if strings.Contains(registryRecord(t, n.url, id), `"node":"`+n.name+`"`) {
			holder = n
		} else {
			other = n
		}
	}
	if holder == nil {
		t.Fatalf("no live node holds the session: %s", registryRecord(t, b.url, id))
	}
	// The host still holds control, through node b, on the new holder.
	click()
	eventually(t, "the second press at the provider", func() bool { return pressed.Load() >= 2 })

	// Node a comes back (the same name and data: JetStream needs two of its three
	// servers). Then the holder drains: the session moves to another node, and everyone
	// follows.
	if err := a.start(t); err != nil {
		t.Fatal(err)
	}
	waitClustered(t, nodes)
	hostWelcomes, guestWelcomes := host.welcomeCount(), guest.welcomeCount()
	if status, out := apiCall(t, http.MethodPost, holder.url+"/api/v1/node/drain", nodeAPIKey, ""); status != http.StatusAccepted {
		t.Fatalf("drain %s: %d %v", holder.name, status, out)
	}
	drained := time.Now()
	if err := holder.wait(); err != nil {
		t.Fatalf("%s did not exit cleanly after draining: %v", holder.name, err)
	}
	eventually(t, "the participants on the last node", func() bool {
		return host.welcomeCount() > hostWelcomes && guest.welcomeCount() > guestWelcomes && host.inControl() &&
			host.newestSeqSince(drained)
	})
	if host.selfID() != hostID || guest.selfID() != guestID {
		t.Fatalf("after the move, participants are %s and %s, want %s and %s", host.selfID(), guest.selfID(), hostID, guestID)
	}
	rec := registryRecord(t, other.url, id)
	if !strings.Contains(rec, `"node":"`+other.name+`"`) && !strings.Contains(rec, `"node":"`+a.name+`"`) {
		t.Fatalf("after draining %s the record is %s, want it on %s or %s", holder.name, rec, other.name, a.name)
	}
	click()
	eventually(t, "the third press at the provider", func() bool { return pressed.Load() >= 3 })
}

// registryRecord is the session's record as GET /api/v1/cluster/sessions/{id} shows it.
func registryRecord(t *testing.T, base, id string) string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, base+"/api/v1/cluster/sessions/"+id, nil)
	req.Header.Set("Authorization", "Bearer "+nodeAPIKey)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var b strings.Builder
	_, _ = bufio.NewReader(res.Body).WriteTo(&b)
	return b.String()
}

// One node (as make run starts it) crashes and starts again: its sessions come back at
// their last page, and their participants reconnect as themselves.
func TestARestartedNodeBringsBackItsSessions(t *testing.T) {
	chromiumOrSkip(t)
	var pressed atomic.Int64
	pageURL := animatedPage(t, &pressed)
	allow := []string{strings.TrimPrefix(strings.TrimSuffix(pageURL, "/"), "http://")}
	node := startNodeProcs(t, []int{5}, allow)[0]
	status, created := apiCall(t, http.MethodPost, node.url+"/api/v1/sessions", nodeAPIKey, fmt.Sprintf(`{"url":%q}`, pageURL))
	if status != http.StatusCreated {
		t.Fatalf("create: %d %v", status, created)
	}
	id, _ := created["id"].(string)
	links, _ := created["links"].(map[string]any)
	host := dialViewerAt(t, node.url, id, tokenOf(links["host"].(string)), "host", true)
	eventually(t, "the host in control with a frame", func() bool { return host.inControl() && host.newestSeq() > 0 })
	hostID := host.selfID()
	eventually(t, "the snapshot stored", func() bool {
		return strings.Contains(registryRecord(t, node.url, id), `"controller":"`+hostID+`"`)
	})

	node.kill()
	welcomes := host.welcomeCount()
	restarted := time.Now()
	if err := node.start(t); err != nil { // the same name and data directory, a new port
		t.Fatal(err)
	}
	host.mu.Lock()
	host.url = node.url // as a load balancer or a fixed port would send it there again
	host.mu.Unlock()
	deadline := time.Now().Add(60 * time.Second)
	for !(host.welcomeCount() > welcomes && host.inControl() && host.newestSeqSince(restarted)) {
		if time.Now().After(deadline) {
			host.mu.Lock()
			state := fmt.Sprintf("welcomes %d (before %d), self %s, controller %q, bye %q, notices %v",
				host.welcomes, welcomes, host.self, host.controller, host.bye, host.notices)
			host.mu.Unlock()
			t.Fatalf("the host is not back: %s", state)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if host.selfID() != hostID {
		t.Fatalf("the host came back as %s, want %s", host.selfID(), hostID)
	}
	eventually(t, "the page at the same URL", func() bool { return host.pageURL() == pageURL })
	for _, action := range []string{"down", "up"} {
		host.send(t, map[string]any{"type": "mouse", "action": action, "x": 0.2, "y": 0.2, "button": "left",
			"buttons": map[string]int{"down": 1, "up": 0}[action], "clickCount": 1})
	}
	eventually(t, "the press at the provider", func() bool { return pressed.Load() == 1 })
}
