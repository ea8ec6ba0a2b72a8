package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/tandem-cobrowse/tandem/internal/app"
)

// animatedProvider is a page that repaints every frame, served on loopback.
func animatedProvider() (string, func()) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, `<!doctype html><title>Animated</title><body style="margin:0;font:bold 80px sans-serif">
<div id=n style="position:fixed;left:40px;top:40px">0</div>
<div id=box style="position:fixed;left:0;top:300px;width:200px;height:200px;background:#2a6"></div>
<script>let n=0;(function tick(){n++;document.getElementById('n').textContent=n;
document.getElementById('box').style.left=(n*7%1000)+'px';requestAnimationFrame(tick)})()</script>`)
	}))
	return srv.URL + "/", srv.Close
}

func allowOf(page string) []string {
	return []string{strings.TrimPrefix(strings.TrimSuffix(page, "/"), "http://")}
}

// startNodes starts n in-process nodes; clustered when n > 1 (or when cluster is true).
func startNodes(ctx context.Context, n int, page string, clustered bool) ([]*app.Server, func(), error) {
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	dir, err := os.MkdirTemp("", "tandem-cluster-bench-")
	if err != nil {
		return nil, nil, err
	}
	var routes []string
	ports := make([]int, n)
	for i := range ports {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, nil, err
		}
		ports[i] = ln.Addr().(*net.TCPAddr).Port
		_ = ln.Close()
		routes = append(routes, fmt.Sprintf("nats://127.0.0.1:%d", ports[i]))
	}
	nctx, cancel := context.WithCancel(ctx)
	nodes := make([]*app.Server, n)
	errs := make(chan error, n)
	done := make(chan error, n)
	for i := range n {
		go func() {
			d := filepath.Join(dir, fmt.Sprint(i))
			cfg := app.Config{Addr: "127.0.0.1:0", NoSandbox: os.Geteuid() == 0, MaxSessions: []int{100, 50, 50}[i%3],
				IdleTimeout: time.Minute, JPEGQuality: 80, DialogTimeout: 30 * time.Second, CallTimeout: 10 * time.Second,
				AllowHosts: allowOf(page), DBPath: filepath.Join(d, "tandem.db"), DataDir: d}
			if clustered {
				cfg.Cluster = &app.ClusterConfig{NATSListen: "127.0.0.1:0", NodeName: fmt.Sprintf("node-%c", 'a'+i),
					HeartbeatEvery: 250 * time.Millisecond, NodeTTL: 2 * time.Second, Secret: "cluster-bench-secret-0123456789"}
				if n > 1 {
					cfg.Cluster.ClusterListen, cfg.Cluster.Routes = fmt.Sprintf("127.0.0.1:%d", ports[i]), routes
				}
			}
			s, err := app.New(nctx, cfg, log)
			nodes[i] = s
			errs <- err
			if err == nil {
				done <- s.Serve(nctx)
			}
		}()
	}
	var first error
	for range n {
		if err := <-errs; err != nil && first == nil {
			first = err
		}
	}
	stop := func() {
		cancel()
		for _, s := range nodes {
			if s != nil {
				<-done
			}
		}
		_ = os.RemoveAll(dir)
	}
	if first != nil {
		stop()
		return nil, nil, first
	}
	if clustered {
		err := waitFor(ctx, time.Minute, func() bool {
			for _, s := range nodes {
				if len(s.ClusterNodes()) != n {
					return false
				}
			}
			return true
		})
		if err != nil {
			stop()
			return nil, nil, fmt.Errorf("the cluster did not form: %w", err)
		}
	}
	return nodes, stop, nil
}

// created is what POST /api/v1/sessions answers.
type created struct {
	ID    string            `json:"id"`
	Links map[string]string `json:"links"`
}

func createSession(base, page, key string) (created, error) {
	req, _ := http.NewRequest(http.MethodPost, base+"/api/v1/sessions", strings.NewReader(fmt.Sprintf(`{"url":%q}`, page)))
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return created{}, err
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusCreated {
		return created{}, fmt.Errorf("create: %d %s", res.StatusCode, b)
	}
	var c created
	return c, json.Unmarshal(b, &c)
}

func tokenOf(link string) string {
	_, tok, _ := strings.Cut(link, "#token=")
	tok, _, _ = strings.Cut(tok, "&")
	return tok
}

func cpuSeconds() float64 {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

// point is one measurement of the curve.
type point struct {
	viewers            int
	produced           int
	minPct, medPct     float64
	holderPct          float64 // median of the viewers on the holding node
	edgePct            float64 // median of the viewers on the other nodes
	cpu                float64 // process CPU seconds per second
	addedP50, addedP95 time.Duration
}

func curve(ctx context.Context, o options, page string) error {
	fmt.Println("## Viewer curve: one session on an animated page, 3 clustered nodes vs 1 node (all in this process)")
	results := map[bool][]point{}
	for _, clustered := range []bool{true, false} {
		n := 1
		if clustered {
			n = 3
		}
		fmt.Fprintf(os.Stderr, "· starting %d node(s)\n", n)
		nodes, stop, err := startNodes(ctx, n, page, clustered)
		if err != nil {
			return err
		}
		for _, viewers := range o.Viewers {
			p, err := measure(ctx, nodes, page, viewers, o.Window)
			if err != nil {
				stop()
				return err
			}
			results[clustered] = append(results[clustered], p)
			fmt.Fprintf(os.Stderr, "· %d node(s), %d viewers: %+v\n", n, viewers, p)
		}
		stop()
	}
	fmt.Println()
	fmt.Println("| viewers | 3 nodes: min / median % of frames | holder / other nodes median % | 1 node: min / median % | CPU 3 nodes vs 1 (cores) | relay latency added p50 / p95 |")
	fmt.Println("|---|---|---|---|---|---|")
	for i, c := range results[true] {
		s := results[false][i]
		fmt.Printf("| %d | %.1f / %.1f (of %d) | %.1f / %.1f | %.1f / %.1f (of %d) | %.2f vs %.2f | %v / %v |\n",
			c.viewers, c.minPct, c.medPct, c.produced, c.holderPct, c.edgePct, s.minPct, s.medPct, s.produced,
			c.cpu, s.cpu, c.addedP50.Round(100*time.Microsecond), c.addedP95.Round(100*time.Microsecond))
	}
	fmt.Println()
	fmt.Println("Relay CPU per produced frame (3 nodes minus 1 node, this process: relay, fan-out and the bench's clients):")
	for i, c := range results[true] {
		s := results[false][i]
		perFrame := 0.0
		if c.produced > 0 {
			perFrame = (c.cpu - s.cpu) * o.Window.Seconds() / float64(c.produced)
		}
		fmt.Printf("- %d viewers: %.2f ms per frame\n", c.viewers, perFrame*1000)
	}
	fmt.Println()
	return nil
}

func measure(ctx context.Context, nodes []*app.Server, page string, n int, window time.Duration) (point, error) {
	c, err := createSession(nodes[0].URL(), page, "")
	if err != nil {
		return point{}, err
	}
	defer func() {
		req, _ := http.NewRequest(http.MethodDelete, nodes[0].URL()+"/api/v1/sessions/"+c.ID, nil)
		req.Header.Set("Authorization", "Bearer "+tokenOf(c.Links["host"]))
		if res, err := http.DefaultClient.Do(req); err == nil {
			res.Body.Close()
		}
	}()
	guest := tokenOf(c.Links["guest"])
	var all []*viewer
	defer func() {
		for _, v := range all {
			v.close()
		}
	}()
	onNode := make([]int, 0, n)
	for i := range n {
		node := i % len(nodes)
		v, err := dialViewer(nodes[node].URL(), c.ID, guest, false)
		if err != nil {
			return point{}, fmt.Errorf("viewer %d: %w", i, err)
		}
		all = append(all, v)
		onNode = append(onNode, node)
	}
	if err := waitFor(ctx, 2*time.Minute, func() bool {
		for _, v := range all {
			if v.newestSeq() == 0 {
				return false
			}
		}
		return true
	}); err != nil {
		return point{}, fmt.Errorf("not every viewer got a frame: %w", err)
	}
	time.Sleep(2 * time.Second) // warm-up
	ref := all[0]               // on the holding node
	from, cpu0, t0 := ref.newestSeq(), cpuSeconds(), time.Now()
	time.Sleep(window)
	to, cpu1 := ref.newestSeq(), cpuSeconds()
	elapsed := time.Since(t0).Seconds()
	time.Sleep(time.Second) // frames on their way
	p := point{viewers: n, produced: int(to - from), cpu: (cpu1 - cpu0) / elapsed}
	var pcts, holder, edge []float64
	for i, v := range all {
		pct := 100 * float64(v.count(from, to)) / float64(max(1, to-from))
		pcts = append(pcts, pct)
		if onNode[i] == 0 {
			holder = append(holder, pct)
		} else {
			edge = append(edge, pct)
		}
	}
	slices.Sort(pcts)
	p.minPct, p.medPct = pcts[0], median(pcts)
	p.holderPct, p.edgePct = median(holder), median(edge)
	if len(nodes) > 1 {
		var added []time.Duration
		for seq := from + 1; seq <= to; seq++ {
			a, ok1 := all[0].arrival(seq)
			b, ok2 := all[1].arrival(seq)
			if ok1 && ok2 {
				added = append(added, b.Sub(a))
			}
		}
		slices.Sort(added)
		if len(added) > 0 {
			p.addedP50, p.addedP95 = added[len(added)/2], added[len(added)*95/100]
		}
	}
	return p, nil
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}
