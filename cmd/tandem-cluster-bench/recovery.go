package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/tandem-cobrowse/tandem/internal/app"
)

// nodeEnv holds a node process's settings: the bench runs itself as each node.
const nodeEnv = "TANDEM_CLUSTER_BENCH_NODE"

const benchKey = "cluster-bench-key-0123456789abcdef"

type nodeSpec struct {
	Name        string   `json:"name"`
	ClusterPort int      `json:"clusterPort"`
	Routes      []string `json:"routes"`
	Dir         string   `json:"dir"`
	Allow       []string `json:"allow"`
}

func runNode(raw string) int {
	var spec nodeSpec
	if err := json.Unmarshal([]byte(raw), &spec); err != nil {
		fmt.Fprintln(os.Stderr, "node spec:", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	s, err := app.New(ctx, app.Config{
		Addr: "127.0.0.1:0", APIKey: benchKey, NoSandbox: os.Geteuid() == 0, MaxSessions: 20,
		IdleTimeout: time.Minute, JPEGQuality: 80, DialogTimeout: 30 * time.Second, CallTimeout: 10 * time.Second,
		AllowHosts: spec.Allow, DBPath: filepath.Join(spec.Dir, "tandem.db"), DataDir: spec.Dir,
		Cluster: &app.ClusterConfig{NATSListen: "127.0.0.1:0", ClusterListen: fmt.Sprintf("127.0.0.1:%d", spec.ClusterPort),
			Routes: spec.Routes, NodeName: spec.Name},
	}, log)
	if err != nil {
		fmt.Fprintln(os.Stderr, "node:", err)
		return 1
	}
	fmt.Printf("URL=%s\n", s.URL())
	if err := s.Serve(ctx); err != nil {
		return 1
	}
	return 0
}

type proc struct {
	spec nodeSpec
	url  string
	cmd  *exec.Cmd
}

func startProc(spec nodeSpec) (*proc, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	b, _ := json.Marshal(spec)
	cmd := exec.Command(self)
	cmd.Env = append(os.Environ(), nodeEnv+"="+string(b))
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	urls := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if u, ok := strings.CutPrefix(sc.Text(), "URL="); ok {
				urls <- u
			}
		}
		close(urls)
	}()
	select {
	case u, ok := <-urls:
		if !ok {
			_ = cmd.Wait()
			return nil, fmt.Errorf("node %s ended before it listened", spec.Name)
		}
		return &proc{spec: spec, url: u, cmd: cmd}, nil
	case <-time.After(2 * time.Minute):
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		return nil, fmt.Errorf("node %s did not start", spec.Name)
	}
}

func (p *proc) kill() {
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	_ = p.cmd.Wait()
}

func apiGet(base, path string, v any) error {
	req, _ := http.NewRequest(http.MethodGet, base+path, nil)
	req.Header.Set("Authorization", "Bearer "+benchKey)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %d %s", path, res.StatusCode, b)
	}
	return json.Unmarshal(b, v)
}

type record struct {
	Node     string `json:"node"`
	Moving   bool   `json:"moving"`
	Snapshot bool   `json:"snapshot"`
}

func recovery(ctx context.Context, o options, page string) error {
	fmt.Printf("## Node-loss recovery: 3 node processes, the holder killed with SIGKILL, %d times\n\n", o.Kills)
	dir, err := os.MkdirTemp("", "tandem-cluster-bench-nodes-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	specs := make([]nodeSpec, 3)
	var routes []string
	for i := range specs {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return err
		}
		port := ln.Addr().(*net.TCPAddr).Port
		_ = ln.Close()
		routes = append(routes, fmt.Sprintf("nats://127.0.0.1:%d", port))
		specs[i] = nodeSpec{Name: fmt.Sprintf("node-%c", 'a'+i), ClusterPort: port, Dir: filepath.Join(dir, fmt.Sprint(i)), Allow: allowOf(page)}
	}
	procs := make([]*proc, 3)
	defer func() {
		for _, p := range procs {
			if p != nil {
				p.kill()
			}
		}
	}()
	up := func(i int) error {
		specs[i].Routes = routes
		p, err := startProc(specs[i])
		procs[i] = p
		return err
	}
	errs := make(chan error, 3)
	for i := range procs {
		go func() { errs <- up(i) }()
	}
	for range procs {
		if err := <-errs; err != nil {
			return err
		}
	}
	formed := func() bool {
		for _, p := range procs {
			var c struct{ Nodes []json.RawMessage }
			if p == nil || apiGet(p.url, "/api/v1/cluster", &c) != nil || len(c.Nodes) != 3 {
				return false
			}
		}
		return true
	}
	var times []time.Duration
	for k := range o.Kills {
		if err := waitFor(ctx, 2*time.Minute, formed); err != nil {
			return fmt.Errorf("kill %d: the cluster did not form again: %w", k+1, err)
		}
		entry := procs[k%3]
		c, err := createSession(entry.url, page, benchKey)
		if err != nil {
			return err
		}
		var rec record
		if err := apiGet(entry.url, "/api/v1/cluster/sessions/"+c.ID, &rec); err != nil {
			return err
		}
		holder, watcher := -1, -1
		for i, p := range procs {
			if p.spec.Name == rec.Node {
				holder = i
			} else if watcher < 0 {
				watcher = i
			}
		}
		if holder < 0 {
			return fmt.Errorf("kill %d: no node holds %s (%+v)", k+1, c.ID, rec)
		}
		v, err := dialViewer(procs[watcher].url, c.ID, tokenOf(c.Links["host"]), true)
		if err != nil {
			return err
		}
		if err := waitFor(ctx, time.Minute, func() bool {
			var r record
			return v.newestSeq() > 0 && apiGet(procs[watcher].url, "/api/v1/cluster/sessions/"+c.ID, &r) == nil && r.Snapshot
		}); err != nil {
			v.close()
			return fmt.Errorf("kill %d: the session did not start: %w", k+1, err)
		}
		welcomes := v.welcomed()
		killed := time.Now()
		procs[holder].kill()
		if err := waitFor(ctx, 2*time.Minute, func() bool { return v.welcomed() > welcomes && v.frameSince(killed) }); err != nil {
			v.close()
			return fmt.Errorf("kill %d: the session did not come back: %w", k+1, err)
		}
		d := time.Since(killed)
		times = append(times, d)
		fmt.Fprintf(os.Stderr, "· kill %d (%s): back after %v\n", k+1, procs[holder].spec.Name, d.Round(time.Millisecond))
		v.close()
		req, _ := http.NewRequest(http.MethodDelete, procs[watcher].url+"/api/v1/sessions/"+c.ID, nil)
		req.Header.Set("Authorization", "Bearer "+benchKey)
		if res, err := http.DefaultClient.Do(req); err == nil {
			res.Body.Close()
		}
		if err := up(holder); err != nil {
			return err
		}
	}
	slices.Sort(times)
	fmt.Printf("- from SIGKILL to the viewer on another node seeing the page again: p50 %v, min %v, max %v (%d kills)\n\n",
		times[len(times)/2].Round(time.Millisecond), times[0].Round(time.Millisecond), times[len(times)-1].Round(time.Millisecond), len(times))
	return nil
}
