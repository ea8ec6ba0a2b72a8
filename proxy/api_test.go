package proxy_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/labstack/echo/v4"

	"github.com/tandem-cobrowse/tandem/internal/testenv"
	"github.com/tandem-cobrowse/tandem/proxy"
	"github.com/tandem-cobrowse/tandem/renderer"
	"github.com/tandem-cobrowse/tandem/stream"
)

var browser *renderer.Browser

func TestMain(m *testing.M) {
	ctx, cancel := context.WithCancel(context.Background())
	path, err := renderer.FindChromium("")
	if err != nil {
		if testenv.UnderCI() {
			fmt.Fprintln(os.Stderr, "Chromium is required under CI:", err)
			os.Exit(1)
		}
		// The pure tests (control, gate, rules) still run; the others skip.
		fmt.Fprintln(os.Stderr, "no Chromium; skipping the proxy integration tests:", err)
		os.Exit(m.Run())
	}
	browser, err = renderer.Start(ctx, renderer.Config{ExecPath: path, NoSandbox: os.Geteuid() == 0,
		DialogTimeout: 5 * time.Second, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		fmt.Fprintln(os.Stderr, "starting Chromium:", err)
		os.Exit(1)
	}
	code := m.Run()
	_ = browser.Close()
	cancel()
	os.Exit(code)
}

// provider is a content provider whose whole page is one button; clicks are counted on
// the server, so a test sees what really reached the provider.
type provider struct {
	*httptest.Server
	hits atomic.Int64
	// width is the page's window width at the newest click, as the page reported it.
	width atomic.Int64
}

func newProvider(t *testing.T) *provider {
	p := &provider{}
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `<!doctype html><title>Provider</title><style>body{margin:0}</style>
<button id=b style="position:fixed;inset:0;width:100%;height:100%;font-size:40px">hit me</button>
<script>b.onclick=()=>fetch('/hit?w='+innerWidth,{method:'POST'})</script>`)
	})
	mux.HandleFunc("/other", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `<!doctype html><title>Other page</title><p>other</p>`)
	})
	mux.HandleFunc("POST /hit", func(w http.ResponseWriter, r *http.Request) {
		if v, err := strconv.Atoi(r.URL.Query().Get("w")); err == nil {
			p.width.Store(int64(v))
		}
		p.hits.Add(1)
	})
	mux.HandleFunc("/hang", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `<!doctype html><title>Hang</title><style>body{margin:0}</style>
<button id=b style="position:fixed;inset:0;width:100%;height:100%">freeze</button>
<script>b.onclick=()=>{navigator.sendBeacon('/hit'); for(;;){}}</script>`)
	})
	mux.HandleFunc("/alert", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `<!doctype html><title>Alert</title><style>body{margin:0}</style>
<button id=b style="position:fixed;inset:0;width:100%;height:100%">ask</button>
<script>b.onclick=()=>{document.title = confirm('Proceed?') ? 'yes' : 'no'}</script>`)
	})
	mux.HandleFunc("/report.csv", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Disposition", `attachment; filename="report.csv"`)
		w.Header().Set("Content-Type", "text/csv")
		fmt.Fprint(w, "a,b\n1,2\n")
	})
	p.Server = httptest.NewServer(mux)
	t.Cleanup(p.Close)
	return p
}

type harness struct {
	t   *testing.T
	srv *httptest.Server
	reg *proxy.Registry
}

func newHarness(t *testing.T, mutate ...func(*proxy.RegistryParams, *proxy.APIParams)) *harness {
	t.Helper()
	if browser == nil {
		t.Skip("no Chromium") // under CI, TestMain has already failed
	}
	ctx, cancel := context.WithCancel(context.Background())
	log := slog.New(slog.DiscardHandler)
	rp := proxy.RegistryParams{
		OpenTab: func(ctx context.Context, _ string, spec proxy.TabSpec) (proxy.Tab, error) {
			return browser.NewTab(ctx, spec.Viewport, renderer.WithNavigationFilter(spec.Nav))
		},
		MaxSessions: 5, IdleTimeout: time.Minute, Logger: log,
		Viewport: renderer.Viewport{Width: 800, Height: 600, DPR: 1},
	}
	ap := proxy.APIParams{Ctx: ctx, Upgrader: stream.NewUpgrader(stream.Options{Logger: log}), Logger: log, Health: browser.Ping}
	for _, m := range mutate {
		m(&rp, &ap)
	}
	reg := proxy.NewRegistry(ctx, rp)
	ap.Registry = reg
	e := echo.New()
	e.HTTPErrorHandler = proxy.HTTPErrorHandler(log)
	proxy.NewAPI(ap).Register(e)
	srv := httptest.NewServer(e)
	t.Cleanup(func() {
		reg.Close("test over")
		srv.Close()
		cancel()
	})
	return &harness{t: t, srv: srv, reg: reg}
}

func (h *harness) do(method, path, auth, body string) (int, map[string]any) {
	h.t.Helper()
	req, _ := http.NewRequest(method, h.srv.URL+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if auth != "" {
		req.Header.Set("Authorization", "Bearer "+auth)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	var out map[string]any
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &out); err != nil {
			h.t.Fatalf("%s %s: answer is not JSON: %q", method, path, raw)
		}
	}
	return res.StatusCode, out
}

type created struct {
	ID       string            `json:"id"`
	Links    map[string]string `json:"links"`
	JoinCode string            `json:"joinCode"`
}

func (h *harness) create(url string) created {
	h.t.Helper()
	status, out := h.do("POST", "/api/v1/sessions", "", fmt.Sprintf(`{"url":%q}`, url))
	if status != http.StatusCreated {
		h.t.Fatalf("create: %d %v", status, out)
	}
	b, _ := json.Marshal(out)
	var c created
	_ = json.Unmarshal(b, &c)
	return c
}

// createWith creates a session with rules (a JSON object).
func (h *harness) createWith(url, rules string) created {
	h.t.Helper()
	status, out := h.do("POST", "/api/v1/sessions", "", fmt.Sprintf(`{"url":%q,"rules":%s}`, url, rules))
	if status != http.StatusCreated {
		h.t.Fatalf("create: %d %v", status, out)
	}
	b, _ := json.Marshal(out)
	var c created
	_ = json.Unmarshal(b, &c)
	return c
}

// token is the token in a viewer link's fragment ("#token=T" or "#token=T&name=N").
func token(link string) string {
	tok := link[strings.Index(link, "#token=")+len("#token="):]
	tok, _, _ = strings.Cut(tok, "&")
	return tok
}

// client is a participant speaking docs/protocol.md over a real WebSocket.
type client struct {
	t      *testing.T
	ws     *websocket.Conn
	mu     sync.Mutex
	msgs   []map[string]any
	frames atomic.Int64
	last   stream.FrameHeader
	// lastJPEG is the newest picture; onFrame, when set, sees every frame (under mu).
	lastJPEG   []byte
	onFrame    func(stream.FrameHeader, []byte)
	raw        [][]byte // every text message, as received
	frameBytes int      // bytes of every frame received
	closed     chan struct{}
	wmu        sync.Mutex
}

func (h *harness) join(id, tok, name string) *client {
	h.t.Helper()
	return h.dial(id, map[string]any{"type": "hello", "token": tok, "name": name,
		"viewport": map[string]any{"width": 800, "height": 600, "dpr": 1}})
}

// resume joins again as the participant whose welcome carried resumeToken.
func (h *harness) resume(id, tok, resumeToken string) *client {
	h.t.Helper()
	return h.dial(id, map[string]any{"type": "hello", "token": tok, "resume": resumeToken})
}

// dial opens session id's WebSocket and sends hello.
func (h *harness) dial(id string, hello map[string]any) *client {
	h.t.Helper()
	u := "ws" + strings.TrimPrefix(h.srv.URL, "http") + "/api/v1/sessions/" + id + "/ws"
	ws, _, err := websocket.DefaultDialer.Dial(u, http.Header{"Origin": {h.srv.URL}})
	if err != nil {
		h.t.Fatalf("dial: %v", err)
	}
	c := &client{t: h.t, ws: ws, closed: make(chan struct{})}
	h.t.Cleanup(func() { ws.Close() })
	go c.read()
	c.send(hello)
	return c
}

func (c *client) read() {
	defer close(c.closed)
	for {
		kind, data, err := c.ws.ReadMessage()
		if err != nil {
			return
		}
		if kind == websocket.BinaryMessage {
			h, jpg, err := stream.ParseFrame(data)
			if err != nil {
				c.t.Errorf("bad frame: %v", err)
				return
			}
			c.mu.Lock()
			c.frameBytes += len(data)
			c.last, c.lastJPEG = h, jpg
			if c.onFrame != nil {
				c.onFrame(h, jpg)
			}
			c.mu.Unlock()
			c.frames.Add(1)
			continue
		}
		var m map[string]any
		c.mu.Lock()
		c.raw = append(c.raw, data)
		if json.Unmarshal(data, &m) == nil {
			m["_frames"] = float64(c.frames.Load()) // pictures received before this message
			c.msgs = append(c.msgs, m)
		}
		c.mu.Unlock()
	}
}

func (c *client) lastFrame() stream.FrameHeader {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.last
}

func (c *client) send(v any) {
	c.t.Helper()
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if err := c.ws.WriteJSON(v); err != nil {
		c.t.Fatalf("send: %v", err)
	}
}

// waitFor returns the first message of type typ that matches.
func (c *client) waitFor(typ string, match func(map[string]any) bool) map[string]any {
	c.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		c.mu.Lock()
		for _, m := range c.msgs {
			if m["type"] == typ && (match == nil || match(m)) {
				c.mu.Unlock()
				return m
			}
		}
		c.mu.Unlock()
		time.Sleep(20 * time.Millisecond)
	}
	c.t.Fatalf("no %q message came", typ)
	return nil
}

// latestState waits for a state that satisfies match.
func (c *client) state(match func(map[string]any) bool) map[string]any {
	return c.waitFor("state", match)
}

func (c *client) id() string {
	w := c.waitFor("welcome", nil)
	return w["participant"].(map[string]any)["id"].(string)
}

func (c *client) click(x, y float64) {
	c.send(map[string]any{"type": "mouse", "action": "move", "x": x, "y": y, "button": "none"})
	c.send(map[string]any{"type": "mouse", "action": "down", "x": x, "y": y, "button": "left", "buttons": 1, "clickCount": 1})
	c.send(map[string]any{"type": "mouse", "action": "up", "x": x, "y": y, "button": "left", "buttons": 0, "clickCount": 1})
}

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

func controllerIs(id string) func(map[string]any) bool {
	return func(m map[string]any) bool { c, _ := m["controller"].(string); return c == id }
}

func TestOnlyTheControllersClicksReachTheProvider(t *testing.T) {
	p := newProvider(t)
	h := newHarness(t)
	s := h.create(p.URL)

	host := h.join(s.ID, token(s.Links["host"]), "Hana")
	hostID := host.id()
	host.state(controllerIs(hostID))
	eventually(t, "the host has a frame", func() bool { return host.frames.Load() > 0 })

	host.click(0.5, 0.5)
	eventually(t, "the host's click reached the provider", func() bool { return p.hits.Load() == 1 })

	guest := h.join(s.ID, token(s.Links["guest"]), "Gus")
	guestID := guest.id()
	eventually(t, "a joining guest gets the newest frame at once", func() bool { return guest.frames.Load() > 0 })
	guest.click(0.5, 0.5)
	n := guest.waitFor("notice", func(m map[string]any) bool { return m["code"] == "input_refused" })
	if n["reason"] != "no_control" {
		t.Fatalf("refusal reason = %v", n["reason"])
	}
	// The refusal is told once, not per event.
	guest.click(0.5, 0.5)
	guest.send(map[string]any{"type": "control", "action": "request"})
	host.waitFor("control_request", func(m map[string]any) bool { return m["participant"] == guestID })
	guest.mu.Lock()
	refusals := 0
	for _, m := range guest.msgs {
		if m["code"] == "input_refused" {
			refusals++
		}
	}
	guest.mu.Unlock()
	if refusals != 1 {
		t.Fatalf("guest was told %d times, want once", refusals)
	}
	if got := p.hits.Load(); got != 1 {
		t.Fatalf("the guest's clicks reached the provider: hits = %d", got)
	}

	host.send(map[string]any{"type": "control", "action": "grant", "participant": guestID})
	guest.state(controllerIs(guestID))
	guest.click(0.5, 0.5)
	eventually(t, "the guest's click after the grant reached the provider", func() bool { return p.hits.Load() == 2 })

	status, info := h.do("GET", "/api/v1/sessions/"+s.ID, token(s.Links["host"]), "")
	if status != 200 || info["controller"] != guestID || len(info["participants"].([]any)) != 2 {
		t.Fatalf("GET session: %d %v", status, info)
	}
	if refused := info["inputRefused"].(map[string]any); refused["no_control"].(float64) < 6 {
		t.Fatalf("refused input is not counted: %v", refused)
	}
}

func TestAgentTakesFromGuestButNotFromHost(t *testing.T) {
	p := newProvider(t)
	h := newHarness(t)
	s := h.createWith(p.URL, `{"agent":{"askToView":false,"askForControl":false}}`)
	host := h.join(s.ID, token(s.Links["host"]), "Hana")
	hostID := host.id()
	agent := h.join(s.ID, token(s.Links["agent"]), "Ada")
	agentID := agent.id()
	guest := h.join(s.ID, token(s.Links["guest"]), "Gus")
	guestID := guest.id()
	host.state(controllerIs(hostID))

	agent.send(map[string]any{"type": "control", "action": "take"})
	e := agent.waitFor("error", nil)
	if e["code"] != "forbidden" {
		t.Fatalf("agent taking from the host: %v", e)
	}
	host.send(map[string]any{"type": "control", "action": "grant", "participant": guestID})
	agent.state(controllerIs(guestID))

	// A take while the guest holds the button waits for the gesture to end.
	guest.send(map[string]any{"type": "mouse", "action": "down", "x": 0.1, "y": 0.1, "button": "left", "buttons": 1, "clickCount": 1})
	// The controller's pointer is relayed once its input has been taken in.
	agent.waitFor("pointer", func(m map[string]any) bool { return m["participant"] == guestID && m["x"] == 0.1 })
	agent.send(map[string]any{"type": "control", "action": "take"})
	agent.state(func(m map[string]any) bool {
		pt, _ := m["pendingTransfer"].(map[string]any)
		return pt != nil && pt["to"] == agentID && m["controller"] == guestID
	})
	guest.send(map[string]any{"type": "mouse", "action": "up", "x": 0.1, "y": 0.1, "button": "left", "buttons": 0, "clickCount": 1})
	agent.state(controllerIs(agentID))
	eventually(t, "the guest's click completed before the hand-over", func() bool { return p.hits.Load() == 1 })

	host.send(map[string]any{"type": "control", "action": "take"})
	host.state(controllerIs(hostID))
}

func TestAPIRefusesBadInputWithJSONErrors(t *testing.T) {
	p := newProvider(t)
	h := newHarness(t, func(rp *proxy.RegistryParams, ap *proxy.APIParams) { rp.MaxSessions = 2 })
	s := h.create(p.URL)
	hostTok := token(s.Links["host"])
	cases := []struct {
		name, method, path, auth, body string
		want                           int
	}{
		{"malformed JSON", "POST", "/api/v1/sessions", "", `{"url":`, 400},
		{"missing url", "POST", "/api/v1/sessions", "", `{}`, 400},
		{"file url", "POST", "/api/v1/sessions", "", `{"url":"file:///etc/passwd"}`, 400},
		{"javascript url", "POST", "/api/v1/sessions", "", `{"url":"javascript:alert(1)"}`, 400},
		{"unknown field", "POST", "/api/v1/sessions", "", `{"url":"http://x/","colour":1}`, 400},
		{"bad rules", "POST", "/api/v1/sessions", "", `{"url":"http://x/","rules":{"guest":{"priority":-1}}}`, 400},
		{"oversized body", "POST", "/api/v1/sessions", "", `{"url":"http://x/","pad":"` + strings.Repeat("a", 70<<10) + `"}`, 413},
		{"unknown session", "GET", "/api/v1/sessions/nope", hostTok, "", 404},
		{"no token", "GET", "/api/v1/sessions/" + s.ID, "", "", 401},
		{"guest token cannot read", "GET", "/api/v1/sessions/" + s.ID, token(s.Links["guest"]), "", 401},
		{"guest token cannot delete", "DELETE", "/api/v1/sessions/" + s.ID, token(s.Links["guest"]), "", 401},
		{"unknown route", "GET", "/api/v1/nothing", "", "", 404},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, out := h.do(tc.method, tc.path, tc.auth, tc.body)
			if status != tc.want {
				t.Fatalf("status %d, want %d (%v)", status, tc.want, out)
			}
			if msg, _ := out["message"].(string); msg == "" || out["error"] == nil {
				t.Fatalf("error answer without code and message: %v", out)
			}
		})
	}
	// The session is undisturbed by all of that.
	if status, info := h.do("GET", "/api/v1/sessions/"+s.ID, hostTok, ""); status != 200 || info["id"] != s.ID {
		t.Fatalf("session disturbed: %d %v", status, info)
	}
	// The cap answers 429 with a reason.
	h.create(p.URL)
	status, out := h.do("POST", "/api/v1/sessions", "", fmt.Sprintf(`{"url":%q}`, p.URL))
	if status != http.StatusTooManyRequests || out["error"] != "too_many_sessions" {
		t.Fatalf("past the cap: %d %v", status, out)
	}
}

func TestAPIKeyAndDelete(t *testing.T) {
	p := newProvider(t)
	const key = "0123456789abcdef0123"
	h := newHarness(t, func(rp *proxy.RegistryParams, ap *proxy.APIParams) { ap.APIKey = key })
	if status, _ := h.do("POST", "/api/v1/sessions", "", fmt.Sprintf(`{"url":%q}`, p.URL)); status != 401 {
		t.Fatalf("create without key: %d", status)
	}
	if status, _ := h.do("POST", "/api/v1/sessions", "wrong-key-wrong-key", fmt.Sprintf(`{"url":%q}`, p.URL)); status != 401 {
		t.Fatalf("create with a wrong key: %d", status)
	}
	status, out := h.do("POST", "/api/v1/sessions", key, fmt.Sprintf(`{"url":%q}`, p.URL))
	if status != 201 {
		t.Fatalf("create with key: %d %v", status, out)
	}
	id := out["id"].(string)
	links := out["links"].(map[string]any)
	guest := h.join(id, token(links["guest"].(string)), "")
	guest.waitFor("welcome", nil)

	if status, _ := h.do("GET", "/api/v1/sessions/"+id, key, ""); status != 200 {
		t.Fatalf("GET with the API key: %d", status)
	}
	if status, _ := h.do("DELETE", "/api/v1/sessions/"+id, token(links["host"].(string)), ""); status != 204 {
		t.Fatalf("DELETE with the host token: %d", status)
	}
	bye := guest.waitFor("bye", nil)
	if bye["code"] != "session_ended" {
		t.Fatalf("bye = %v", bye)
	}
	if status, _ := h.do("GET", "/api/v1/sessions/"+id, key, ""); status != 404 {
		t.Fatalf("GET after DELETE: %d", status)
	}
}

func TestWrongTokenIsRefusedOverTheSocket(t *testing.T) {
	p := newProvider(t)
	h := newHarness(t)
	s := h.create(p.URL)
	c := h.join(s.ID, "not-a-token", "Mallory")
	bye := c.waitFor("bye", nil)
	if bye["code"] != "unauthorized" {
		t.Fatalf("bye = %v", bye)
	}
	c2 := h.join("no-such-session", token(s.Links["host"]), "")
	if bye := c2.waitFor("bye", nil); bye["code"] != "not_found" {
		t.Fatalf("bye = %v", bye)
	}
	// The session goes on.
	host := h.join(s.ID, token(s.Links["host"]), "Hana")
	host.state(controllerIs(host.id()))
}

func TestIdleSessionEnds(t *testing.T) {
	p := newProvider(t)
	h := newHarness(t, func(rp *proxy.RegistryParams, ap *proxy.APIParams) { rp.IdleTimeout = 300 * time.Millisecond })
	s := h.create(p.URL)
	eventually(t, "the idle session ended", func() bool {
		status, _ := h.do("GET", "/api/v1/sessions/"+s.ID, token(s.Links["host"]), "")
		return status == 404
	})
}

func TestNavigationNeedsTheRuleAndControl(t *testing.T) {
	p := newProvider(t)
	h := newHarness(t)
	s := h.create(p.URL)
	host := h.join(s.ID, token(s.Links["host"]), "Hana")
	hostID := host.id()
	guest := h.join(s.ID, token(s.Links["guest"]), "Gus")
	guestID := guest.id()
	host.state(controllerIs(hostID))

	host.send(map[string]any{"type": "navigate", "url": "file:///etc/passwd"})
	if e := host.waitFor("error", nil); e["code"] != "invalid_url" {
		t.Fatalf("file url: %v", e)
	}
	host.send(map[string]any{"type": "navigate", "url": p.URL + "/other"})
	guest.state(func(m map[string]any) bool { return m["title"] == "Other page" })

	host.send(map[string]any{"type": "control", "action": "grant", "participant": guestID})
	guest.state(controllerIs(guestID))
	guest.send(map[string]any{"type": "history", "action": "back"})
	n := guest.waitFor("notice", func(m map[string]any) bool { return m["code"] == "input_refused" })
	if n["reason"] != "kind_not_allowed" {
		t.Fatalf("guest navigation: %v", n)
	}
}

func TestViewportFollowsTheController(t *testing.T) {
	p := newProvider(t)
	h := newHarness(t)
	s := h.create(p.URL)
	host := h.join(s.ID, token(s.Links["host"]), "Hana") // hello viewport 800×600
	hostID := host.id()
	guest := h.join(s.ID, token(s.Links["guest"]), "Gus")
	guestID := guest.id()
	host.state(controllerIs(hostID))
	eventually(t, "frames follow the host's 800×600 viewer", func() bool {
		f := host.lastFrame()
		return f.Width == 800 && f.Height == 600
	})
	guest.send(map[string]any{"type": "viewport", "width": 390, "height": 700, "dpr": 2, "mobile": true, "touch": true})
	// A round trip through the session and the tab: the guest's request is handled after
	// its viewport (one connection, in order), and the host's click, which the page
	// answers with its width, is injected after any viewport change that followed.
	guest.send(map[string]any{"type": "control", "action": "request"})
	host.waitFor("control_request", func(m map[string]any) bool { return m["participant"] == guestID })
	host.click(0.5, 0.5)
	eventually(t, "the host's click reached the page", func() bool { return p.hits.Load() == 1 })
	if w := p.width.Load(); w != 800 {
		t.Fatalf("a viewer not in control changed the viewport: the page is %d px wide", w)
	}
	host.send(map[string]any{"type": "control", "action": "grant", "participant": guestID})
	eventually(t, "frames follow the guest's phone once it holds control", func() bool {
		f := guest.lastFrame()
		return f.Width == 390 && f.Height == 700
	})
}

func TestReconnectResumesTheSameParticipant(t *testing.T) {
	p := newProvider(t)
	h := newHarness(t)
	s := h.create(p.URL)
	host := h.join(s.ID, token(s.Links["host"]), "Hana")
	hostID := host.id()
	guest := h.join(s.ID, token(s.Links["guest"]), "Gus")
	w := guest.waitFor("welcome", nil)
	guestID := guest.id()
	host.send(map[string]any{"type": "control", "action": "grant", "participant": guestID})
	guest.state(controllerIs(guestID))

	// A network blip: the guest's socket drops and comes back with its resume token.
	guest.ws.Close()
	host.state(func(m map[string]any) bool {
		for _, p := range m["participants"].([]any) {
			if p := p.(map[string]any); p["id"] == guestID && p["connected"] == false {
				return true
			}
		}
		return false
	})
	back := h.resume(s.ID, token(s.Links["guest"]), w["resumeToken"].(string))
	if id := back.id(); id != guestID {
		t.Fatalf("resumed as %s, want %s", id, guestID)
	}
	back.state(controllerIs(guestID)) // still in control
	eventually(t, "the resumed guest gets a frame at once", func() bool { return back.frames.Load() > 0 })
	back.click(0.5, 0.5)
	eventually(t, "the resumed guest's click reached the provider", func() bool { return p.hits.Load() == 1 })
	_ = hostID
}

func TestDialogGoesToTheControllerAndDownloadsAreRefused(t *testing.T) {
	p := newProvider(t)
	h := newHarness(t)
	s := h.create(p.URL + "/alert")
	host := h.join(s.ID, token(s.Links["host"]), "Hana")
	hostID := host.id()
	guest := h.join(s.ID, token(s.Links["guest"]), "Gus")
	guest.id()
	host.state(controllerIs(hostID))
	eventually(t, "a frame", func() bool { return host.frames.Load() > 0 })

	host.click(0.5, 0.5)
	d := host.waitFor("dialog", nil)
	if d["kind"] != "confirm" || d["message"] != "Proceed?" {
		t.Fatalf("dialog = %v", d)
	}
	guest.waitFor("dialog", nil) // everyone sees it
	guest.send(map[string]any{"type": "dialog", "id": d["id"], "accept": true})
	if n := guest.waitFor("notice", func(m map[string]any) bool { return m["code"] == "input_refused" }); n["reason"] != "no_control" {
		t.Fatalf("guest answering: %v", n)
	}
	host.send(map[string]any{"type": "dialog", "id": d["id"], "accept": true})
	if c := guest.waitFor("dialog_closed", nil); c["result"] != "accepted" {
		t.Fatalf("dialog_closed = %v", c)
	}
	guest.state(func(m map[string]any) bool { return m["title"] == "yes" })

	host.send(map[string]any{"type": "navigate", "url": p.URL + "/report.csv"})
	n := guest.waitFor("notice", func(m map[string]any) bool { return m["code"] == "download_refused" })
	if !strings.Contains(n["message"].(string), "report.csv") {
		t.Fatalf("download notice = %v", n)
	}
}
