package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/tandem-cobrowse/tandem/internal/app"
	"github.com/tandem-cobrowse/tandem/internal/testenv"
	"github.com/tandem-cobrowse/tandem/renderer"
)

// chromiumOrSkip finds Chromium; under CI a missing one is a failure.
func chromiumOrSkip(t *testing.T) string {
	t.Helper()
	path, err := renderer.FindChromium("")
	if err != nil {
		testenv.Missing(t, "no Chromium: %v", err)
	}
	return path
}

// startServer runs a whole Tandem, as cmd/tandem does, on a free port.
func startServer(t *testing.T, cfg app.Config) *app.Server {
	t.Helper()
	s, err := newServer(t, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// newServer is startServer for any goroutine: it reports an error instead of failing.
func newServer(t *testing.T, cfg app.Config) (*app.Server, error) {
	ctx, cancel := context.WithCancel(context.Background())
	cfg.Addr = "127.0.0.1:0"
	cfg.NoSandbox = os.Geteuid() == 0
	if cfg.DBPath == "" {
		cfg.DBPath = filepath.Join(t.TempDir(), "tandem.db")
	}
	if cfg.MaxSessions == 0 {
		cfg.MaxSessions = 5
	}
	cfg.IdleTimeout, cfg.JPEGQuality = time.Minute, 80
	cfg.DialogTimeout, cfg.CallTimeout = 30*time.Second, 10*time.Second
	s, err := app.New(ctx, cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		cancel()
		return nil, err
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return s, nil
}

func participantBrowser(t *testing.T, execPath string) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(execPath),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-features", "AutofillServerCommunication,OptimizationHints,MediaRouter"),
		// A camera and microphone for the call: Chromium's test pattern and beep, granted
		// without asking.
		chromedp.Flag("use-fake-device-for-media-stream", true),
		chromedp.Flag("use-fake-ui-for-media-stream", true),
		chromedp.WindowSize(1280, 800),
	)
	if os.Geteuid() == 0 {
		opts = append(opts, chromedp.NoSandbox)
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(allocCtx)
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("starting the participants' Chromium: %v", err)
	}
	t.Cleanup(func() { cancel(); cancelAlloc() })
	return ctx
}

// openTab opens url in a fresh browser context (its own cookies and storage: another
// person's browser).
func openTab(t *testing.T, browser context.Context, url string) context.Context {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browser, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1280, 800), chromedp.Navigate(url)); err != nil {
		t.Fatalf("open %s: %v", url, err)
	}
	return ctx
}

func must(t *testing.T, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	tctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(tctx, steps...); err != nil {
		shot(t, ctx, "failed-"+strings.ReplaceAll(what, " ", "-"))
		t.Fatalf("%s: %v", what, err)
	}
}

// shot saves a screenshot when TANDEM_SHOTS names a folder, to look at what users see.
func shot(t *testing.T, ctx context.Context, name string) {
	dir := os.Getenv("TANDEM_SHOTS")
	if dir == "" {
		return
	}
	buf, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err == nil {
		_ = os.MkdirAll(dir, 0o755)
		_ = os.WriteFile(filepath.Join(dir, name+".png"), buf, 0o644)
	}
}

func join(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	must(t, ctx, name+" joins",
		chromedp.WaitVisible(chromedp.ID("join-name")),
		chromedp.SendKeys(chromedp.ID("join-name"), name+"\n"),
		chromedp.WaitVisible(chromedp.CSS("#status.status-live")),
	)
}

func waitHits(t *testing.T, hits *atomic.Int64, want int64) {
	t.Helper()
	eventually(t, fmt.Sprintf("the provider has %d hits", want), func() bool { return hits.Load() == want })
}

// eventually polls cond until it holds, for at most 20 s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestControlInRealBrowsers is the whole product as users meet it: a provider, the
// server, and two people in their own browsers. The host's click reaches the provider;
// the guest's does not until the host grants control.
func TestControlInRealBrowsers(t *testing.T) {
	execPath := chromiumOrSkip(t)
	var hits atomic.Int64
	// Each click tells which click of the page it is and where it landed, so the test
	// knows exactly how many clicks the page had taken when a given one came.
	var mu sync.Mutex
	var clicks []struct{ n, x int }
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `<!doctype html><title>Provider</title><style>body{margin:0;font:32px sans-serif}</style>
<button id=b style="position:fixed;inset:0;width:100%;height:100%;background:#fde68a">Press to order</button>
<script>let n = 0; b.onclick = (e) => fetch('/hit?n=' + (++n) + '&x=' + Math.round(e.clientX / innerWidth * 100), {method: 'POST'})</script>`)
	})
	mux.HandleFunc("POST /hit", func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(r.URL.Query().Get("n"))
		x, _ := strconv.Atoi(r.URL.Query().Get("x"))
		mu.Lock()
		clicks = append(clicks, struct{ n, x int }{n, x})
		mu.Unlock()
		hits.Add(1)
	})
	// clickAt clicks the viewer's picture at a fraction of its width, in its middle.
	clickAt := func(ctx context.Context, who string, fx float64) {
		t.Helper()
		box, err := chromedp.Run(ctx, chromedp.Evaluate[[]float64](`(() => { const r = document.getElementById('screen').getBoundingClientRect(); return [r.left, r.top, r.width, r.height]; })()`))
		if err != nil || len(box) != 4 {
			t.Fatalf("%s: the picture's place: %v", who, err)
		}
		must(t, ctx, who+" clicks", void(chromedp.MouseClickXY(box[0]+box[2]*fx, box[1]+box[3]/2)))
	}
	provider := httptest.NewServer(mux)
	defer provider.Close()

	// The provider is on loopback, which the egress policy refuses unless allowed.
	var audit lockedBuffer
	srv := startServer(t, app.Config{AuditLog: &audit, AllowHosts: []string{strings.TrimPrefix(provider.URL, "http://")}})
	res, err := http.Post(srv.URL()+"/api/v1/sessions", "application/json", strings.NewReader(fmt.Sprintf(`{"url":%q}`, provider.URL)))
	if err != nil {
		t.Fatal(err)
	}
	var created struct {
		ID    string            `json:"id"`
		Links map[string]string `json:"links"`
	}
	if err := json.NewDecoder(res.Body).Decode(&created); err != nil || res.StatusCode != 201 {
		t.Fatalf("create: %d %v", res.StatusCode, err)
	}
	res.Body.Close()

	browser := participantBrowser(t, execPath)
	host := openTab(t, browser, created.Links["host"])
	join(t, host, "Hana")
	must(t, host, "host sees the page", chromedp.WaitVisible(chromedp.ID("screen")),
		chromedp.WaitVisible(chromedp.CSS(`#control-btn`)))
	// The host holds control from the start: its click reaches the provider.
	waitFrame(t, host)
	must(t, host, "host clicks", chromedp.Click(chromedp.ID("screen")))
	waitHits(t, &hits, 1)
	shot(t, host, "host")

	guest := openTab(t, browser, created.Links["guest"])
	join(t, guest, "Gus")
	waitFrame(t, guest)
	// The host in Page mode (the default), the guest in Picture mode: input works in both.
	pictureMode(t, guest, "the guest")
	clickAt(guest, "guest without control", 0.2)
	must(t, guest, "guest is told it has no control", chromedp.WaitVisible(chromedp.ID("hint")))
	// The guest's request for control travels after its click, on the same connection;
	// once the host sees it, the host's click is injected after anything of the guest's.
	must(t, guest, "guest asks for control", chromedp.Click(chromedp.ID("control-btn")))
	must(t, host, "host sees the request", chromedp.WaitVisible(chromedp.CSS(`#requests button.btn-primary`)))
	clickAt(host, "host", 0.8)
	var second struct{ n, x int }
	eventually(t, "the host's second click reaches the page", func() bool {
		mu.Lock()
		defer mu.Unlock()
		for _, c := range clicks {
			if c.x > 50 && c.n >= 2 {
				second = c
				return true
			}
		}
		return false
	})
	if second.n != 2 {
		t.Fatalf("the page took %d clicks by the host's second: the guest's click without control went through", second.n)
	}

	shot(t, host, "host-request")
	must(t, host, "host grants", chromedp.Click(chromedp.CSS(`#requests button.btn-primary`)))
	must(t, guest, "guest holds control", chromedp.WaitVisible(chromedp.CSS(`#people .is-controller`)))
	waitControlMine(t, guest)
	must(t, guest, "guest clicks with control", chromedp.Click(chromedp.ID("screen")))
	waitHits(t, &hits, 3)
	shot(t, guest, "guest")

	// What happened is in /metrics and in the audit log.
	res, err = http.Get(srv.URL() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	for _, want := range []string{"tandem_sessions 1", `tandem_participants{role="guest"} 1`, `tandem_participants{role="host"} 1`} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	for _, name := range []string{"tandem_frames_produced_total", "tandem_frames_delivered_total", `tandem_input_events_accepted_total{kind="mouse"}`} {
		if v := metricValue(string(body), name); v <= 0 {
			t.Errorf("%s = %v, want > 0", name, v)
		}
	}
	lines := audit.String()
	for _, want := range []string{`"event":"session_created"`, `"event":"participant_joined"`, `"event":"control_requested"`,
		`"event":"control_changed"`, `"action":"grant"`} {
		if !strings.Contains(lines, want) {
			t.Errorf("audit log lacks %s:\n%s", want, lines)
		}
	}
	if strings.Contains(lines, tokenOf(created.Links["guest"])) || strings.Contains(lines, tokenOf(created.Links["host"])) {
		t.Error("a token appears in the audit log")
	}
}

// waitFrame waits until the viewer shows the page: a picture drawn on its canvas, or in
// Page mode (the default) a built copy on view.
func waitFrame(t *testing.T, ctx context.Context) {
	t.Helper()
	must(t, ctx, "the page is shown", void(chromedp.Poll[bool](`(() => {
		const f = document.querySelector('.page-copy');
		if (f && !f.hidden && f.contentDocument && f.contentDocument.body && f.contentDocument.body.childNodes.length) return true;
		const c = document.getElementById('screen');
		if (!c || !c.width || !c.height) return false;
		const d = c.getContext('2d').getImageData(Math.floor(c.width/2), Math.floor(c.height/2), 1, 1).data;
		return d[3] > 0 && !(d[0] === 0 && d[1] === 0 && d[2] === 0);
	})()`, chromedp.WithPollingTimeout(20*time.Second))))
}

// waitPicture waits until a picture is drawn on the viewer's canvas (Picture mode).
func waitPicture(t *testing.T, ctx context.Context) {
	t.Helper()
	must(t, ctx, "a picture is drawn", void(chromedp.Poll[bool](`(() => {
		const c = document.getElementById('screen');
		if (!c || !c.width || !c.height || document.getElementById('stage').classList.contains('page-mode')) return false;
		const d = c.getContext('2d').getImageData(Math.floor(c.width/2), Math.floor(c.height/2), 1, 1).data;
		return d[3] > 0 && !(d[0] === 0 && d[1] === 0 && d[2] === 0);
	})()`, chromedp.WithPollingTimeout(20*time.Second))))
}

// pictureMode switches a viewer to Picture mode.
func pictureMode(t *testing.T, ctx context.Context, who string) {
	t.Helper()
	must(t, ctx, who+" switches to Picture", chromedp.Click(chromedp.ID("mode-pixels")),
		void(chromedp.Poll[bool](`document.getElementById('mode-pixels').getAttribute('aria-pressed') === 'true'`,
			chromedp.WithPollingTimeout(20*time.Second))))
	waitPicture(t, ctx)
}

func waitControlMine(t *testing.T, ctx context.Context) {
	t.Helper()
	must(t, ctx, "control button offers release", void(chromedp.Poll[bool](
		`/release/i.test(document.getElementById('control-btn').textContent)`,
		chromedp.WithPollingTimeout(20*time.Second))))
}

// void drops an action's value, for Do.
func void[T any](a chromedp.Action[T]) chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		_, err := a(ctx, t)
		return chromedp.Void{}, err
	}
}

// tokenOf is the token in a viewer link's fragment ("#token=T" or "#token=T&name=N").
func tokenOf(link string) string {
	tok := link[strings.Index(link, "#token=")+len("#token="):]
	tok, _, _ = strings.Cut(tok, "&")
	return tok
}

// metricValue reads one sample of the Prometheus text format.
func metricValue(body, name string) float64 {
	for _, line := range strings.Split(body, "\n") {
		if strings.HasPrefix(line, name+" ") {
			var v float64
			fmt.Sscan(strings.TrimPrefix(line, name+" "), &v)
			return v
		}
	}
	return -1
}

// lockedBuffer is written by the server and read by the test.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
