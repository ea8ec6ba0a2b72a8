package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/gorilla/websocket"
	"golang.org/x/crypto/bcrypt"

	"github.com/tandem-cobrowse/tandem/agent"
	"github.com/tandem-cobrowse/tandem/internal/app"
	"github.com/tandem-cobrowse/tandem/store"
	"github.com/tandem-cobrowse/tandem/stream"
)

// startCluster starts n Tandem nodes whose embedded NATS servers form one cluster. They
// start together: the registry's buckets, replicated on every node, wait for all of them.
func startCluster(t *testing.T, n int, cfg func(i int, c *app.Config)) []*app.Server {
	t.Helper()
	ports := make([]int, n)
	var routes []string
	for i := range ports {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ports[i] = ln.Addr().(*net.TCPAddr).Port
		_ = ln.Close()
		routes = append(routes, fmt.Sprintf("nats://127.0.0.1:%d", ports[i]))
	}
	nodes := make([]*app.Server, n)
	errs := make(chan error, n)
	for i := range n {
		go func() {
			c := app.Config{DataDir: t.TempDir(), Cluster: &app.ClusterConfig{
				NATSListen: "127.0.0.1:0", ClusterListen: fmt.Sprintf("127.0.0.1:%d", ports[i]), Routes: routes,
				NodeName: fmt.Sprintf("node-%c", 'a'+i), HeartbeatEvery: 250 * time.Millisecond, NodeTTL: 3 * time.Second,
				Secret: "three-nodes-test-secret-0123456789",
			}}
			cfg(i, &c)
			s, err := newServer(t, c)
			nodes[i] = s
			errs <- err
		}()
	}
	for range n {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, "every node seeing every other", func() bool {
		for _, s := range nodes {
			if len(s.ClusterNodes()) != n {
				return false
			}
		}
		return true
	})
	return nodes
}

// viewer is a participant's WebSocket as a Go client: it keeps the frames' numbers, its
// id and the controller. A viewer that keeps up reconnects (with its resume token) as the
// web viewer does, unless it was told to stop.
type viewer struct {
	url, token, name string
	keepUp           bool
	// alts are other nodes' base URLs: a viewer that cannot reach its node tries them
	// in turn, as it would through a load balancer.
	alts []string

	mu          sync.Mutex
	ws          *websocket.Conn
	seqs        map[uint64]bool
	newest      uint64
	self        string
	resume      string
	controller  string
	bye         string
	url2        string // the page's URL, from state
	notices     []string
	welcomes    int
	lastFrameAt time.Time
	closed      chan struct{}
}

func dialViewer(t *testing.T, node *app.Server, session, token, name string) *viewer {
	t.Helper()
	return dialViewerAt(t, node.URL(), session, token, name, false)
}

func dialViewerAt(t *testing.T, base, session, token, name string, keepUp bool, alts ...string) *viewer {
	t.Helper()
	v := &viewer{url: base, token: token, name: name, keepUp: keepUp, alts: alts, seqs: map[uint64]bool{}, closed: make(chan struct{})}
	if err := v.dial(v.wsURL(session)); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	t.Cleanup(func() {
		v.mu.Lock()
		v.keepUp = false
		ws := v.ws
		v.mu.Unlock()
		_ = ws.Close()
	})
	go v.read(session)
	return v
}

func (v *viewer) wsURL(session string) string {
	v.mu.Lock()
	defer v.mu.Unlock()
	return "ws" + strings.TrimPrefix(v.url, "http") + "/api/v1/sessions/" + session + "/ws"
}

// nextNode turns to the next of the viewer's other nodes.
func (v *viewer) nextNode() {
	v.mu.Lock()
	defer v.mu.Unlock()
	if len(v.alts) > 0 {
		v.alts, v.url = append(v.alts[1:], v.url), v.alts[0]
	}
}

func (v *viewer) dial(url string) error {
	v.mu.Lock()
	origin := v.url
	v.mu.Unlock()
	ws, _, err := websocket.DefaultDialer.Dial(url, http.Header{"Origin": {origin}})
	if err != nil {
		return err
	}
	v.mu.Lock()
	v.ws = ws
	hello := map[string]any{"type": "hello", "token": v.token, "name": v.name, "resume": v.resume}
	v.bye = ""
	v.mu.Unlock()
	return v.write(hello)
}

func (v *viewer) write(m map[string]any) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.ws.WriteJSON(m)
}

// stopCodes end a web viewer's connection for good (ui/assets/js/protocol.js).
var stopCodes = map[string]bool{"session_ended": true, "unauthorized": true, "replaced": true, "declined": true, "not_found": true}

func (v *viewer) read(session string) {
	defer close(v.closed)
	for {
		v.mu.Lock()
		ws := v.ws
		v.mu.Unlock()
		for {
			kind, b, err := ws.ReadMessage()
			if err != nil {
				break
			}
			v.handle(kind, b)
		}
		v.mu.Lock()
		again := v.keepUp && !stopCodes[v.bye]
		v.mu.Unlock()
		if !again {
			return
		}
		for {
			time.Sleep(200 * time.Millisecond)
			v.mu.Lock()
			again := v.keepUp
			v.mu.Unlock()
			if !again {
				return
			}
			if v.dial(v.wsURL(session)) == nil {
				break
			}
			v.nextNode()
		}
	}
}

func (v *viewer) handle(kind int, b []byte) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if kind == websocket.BinaryMessage {
		if h, _, err := stream.ParseFrame(b); err == nil {
			v.seqs[h.Seq] = true
			v.newest = max(v.newest, h.Seq)
			v.lastFrameAt = time.Now()
		}
		return
	}
	var m struct {
		Type        string          `json:"type"`
		Code        string          `json:"code"`
		Participant json.RawMessage `json:"participant"`
		ResumeToken string          `json:"resumeToken"`
		Controller  *string         `json:"controller"`
		URL         string          `json:"url"`
	}
	if json.Unmarshal(b, &m) != nil {
		return
	}
	switch m.Type {
	case "welcome":
		var p struct{ ID string }
		_ = json.Unmarshal(m.Participant, &p)
		v.self, v.resume = p.ID, m.ResumeToken
		v.welcomes++
	case "state":
		v.controller = ""
		if m.Controller != nil {
			v.controller = *m.Controller
		}
		v.url2 = m.URL
	case "notice":
		v.notices = append(v.notices, m.Code)
	case "bye":
		v.bye = m.Code
	}
}

func (v *viewer) selfID() string {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.self
}

func (v *viewer) welcomeCount() int {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.welcomes
}

func (v *viewer) noticeCodes() []string {
	v.mu.Lock()
	defer v.mu.Unlock()
	return append([]string(nil), v.notices...)
}

func (v *viewer) pageURL() string {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.url2
}

// newestSeqSince reports whether a frame came after t.
func (v *viewer) newestSeqSince(t time.Time) bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.lastFrameAt.After(t)
}

func (v *viewer) newestSeq() uint64 {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.newest
}

// framesIn counts the frames received numbered in (from, to].
func (v *viewer) framesIn(from, to uint64) int {
	v.mu.Lock()
	defer v.mu.Unlock()
	n := 0
	for s := range v.seqs {
		if s > from && s <= to {
			n++
		}
	}
	return n
}

func (v *viewer) byeCode() string {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.bye
}

func (v *viewer) inControl() bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.self != "" && v.controller == v.self
}

func (v *viewer) send(t *testing.T, m map[string]any) {
	t.Helper()
	if err := v.write(m); err != nil {
		t.Fatal(err)
	}
}

func apiCall(t *testing.T, method, url, bearer, body string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	var out map[string]any
	_ = json.Unmarshal(raw, &out)
	return res.StatusCode, out
}

// animatedPage is a provider page that changes 15 times a second (a steady stream of
// frames that a loaded machine still keeps up with) and counts presses of its big button
// on the server.
func animatedPage(t *testing.T, pressed *atomic.Int64) string {
	t.Helper()
	srv := page(t, `<!doctype html><body style="margin:0">
<button id=b style="position:fixed;left:0;top:0;width:640px;height:400px;font-size:40px"
 onclick="fetch('/pressed',{method:'POST'})">Press</button>
<div id=n style="position:fixed;left:20px;top:450px;font:bold 60px sans-serif">0</div>
<script>let n=0;setInterval(()=>{document.getElementById('n').textContent=++n},66)</script>`)
	inner := srv.Config.Handler
	srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/pressed" {
			pressed.Add(1)
			return
		}
		inner.ServeHTTP(w, r)
	})
	return srv.URL + "/"
}

func TestThreeNodesServeOneSession(t *testing.T) {
	chromiumOrSkip(t)
	var pressed atomic.Int64
	pageURL := animatedPage(t, &pressed)
	allow := []string{strings.TrimPrefix(strings.TrimSuffix(pageURL, "/"), "http://")}
	dbOfB, dbOfC := filepath.Join(t.TempDir(), "b.db"), filepath.Join(t.TempDir(), "c.db")
	nodes := startCluster(t, 3, func(i int, c *app.Config) {
		c.AllowHosts = allow
		// Node a has the most room, so the session is placed there.
		c.MaxSessions = map[int]int{0: 10, 1: 2, 2: 2}[i]
		switch i {
		case 1:
			c.DBPath = dbOfB
		case 2:
			c.DBPath = dbOfC
		}
	})
	a, b, c := nodes[0], nodes[1], nodes[2]

	// Created through node b: placed on a, with links that point at b.
	status, created := apiCall(t, http.MethodPost, b.URL()+"/api/v1/sessions", "", fmt.Sprintf(`{"url":%q}`, pageURL))
	if status != http.StatusCreated {
		t.Fatalf("create through node b: %d %v", status, created)
	}
	id, _ := created["id"].(string)
	links, _ := created["links"].(map[string]any)
	guestLink, _ := links["guest"].(string)
	hostLink, _ := links["host"].(string)
	if !strings.HasPrefix(guestLink, b.URL()+"/s/"+id) {
		t.Fatalf("the guest link %q does not point at node b (%s)", guestLink, b.URL())
	}
	if a.Sessions() != 1 || b.Sessions() != 0 || c.Sessions() != 0 {
		t.Fatalf("sessions per node a, b, c = %d, %d, %d; want the session on a", a.Sessions(), b.Sessions(), c.Sessions())
	}
	// Any node answers about it.
	for _, n := range nodes {
		if status, got := apiCall(t, http.MethodGet, n.URL()+"/api/v1/sessions/"+id, tokenOf(hostLink), ""); status != http.StatusOK || got["id"] != id {
			t.Fatalf("GET the session through %s: %d %v", n.URL(), status, got)
		}
	}
	if status, _ := apiCall(t, http.MethodGet, c.URL()+"/api/v1/sessions/nope", "x", ""); status != http.StatusNotFound {
		t.Fatalf("an unknown session through node c: %d, want 404", status)
	}

	// An agent whose account is on node c redeems the session's join code there.
	annaToken, benToken := agentOn(t, dbOfC, "anna", "Anna"), agentOn(t, dbOfB, "ben", "Ben")
	code, _ := created["joinCode"].(string)
	var joined map[string]any
	eventually(t, "the join code redeemed through node c", func() bool {
		var status int
		status, joined = apiCall(t, http.MethodPost, c.URL()+"/api/v1/join", annaToken, fmt.Sprintf(`{"code":%q}`, code))
		return status == http.StatusOK // the code reaches the registry a moment after the session starts
	})
	if joined["id"] != id || !strings.Contains(fmt.Sprint(joined["link"]), "/s/"+id+"#token=") {
		t.Fatalf("redeeming through node c answered %v", joined)
	}
	if status, out := apiCall(t, http.MethodPost, c.URL()+"/api/v1/join", "", fmt.Sprintf(`{"code":%q}`, code)); status != http.StatusUnauthorized {
		t.Fatalf("a code without an agent's sign-in: %d %v, want 401", status, out)
	}
	wrong := "000000"
	if code == wrong {
		wrong = "000001"
	}
	if status, out := apiCall(t, http.MethodPost, c.URL()+"/api/v1/join", annaToken, fmt.Sprintf(`{"code":%q}`, wrong)); status != http.StatusNotFound {
		t.Fatalf("a wrong code: %d %v, want 404", status, out)
	}

	// The visitor asks for help through node b; Anna (through c) and Ben (through b) see
	// it, race to accept it, and exactly one of them gets it.
	status, asked := apiCall(t, http.MethodPost, b.URL()+"/api/v1/help-requests", tokenOf(hostLink),
		fmt.Sprintf(`{"session":%q,"name":"Vera","topic":"Invoices"}`, id))
	if status != http.StatusCreated {
		t.Fatalf("asking for help through node b: %d %v", status, asked)
	}
	hrID, _ := asked["id"].(string)
	for _, who := range []struct {
		node  *app.Server
		token string
	}{{c, annaToken}, {b, benToken}} {
		eventually(t, "the request in the queue of "+who.node.URL(), func() bool {
			_, list := apiCall(t, http.MethodGet, who.node.URL()+"/api/v1/help-requests", who.token, "")
			return strings.Contains(fmt.Sprint(list["requests"]), hrID)
		})
	}
	results := make(chan int, 2)
	for _, who := range []struct {
		node  *app.Server
		token string
	}{{c, annaToken}, {b, benToken}} {
		go func() {
			status, _ := apiCall(t, http.MethodPost, who.node.URL()+"/api/v1/help-requests/"+hrID+"/accept", who.token, "{}")
			results <- status
		}()
	}
	got := []int{<-results, <-results}
	slices.Sort(got)
	if got[0] != http.StatusOK || got[1] != http.StatusConflict {
		t.Fatalf("two agents accepting through two nodes got %v, want one 200 and one 409", got)
	}
	eventually(t, "the accepted request gone from every queue", func() bool {
		for _, who := range []struct {
			node  *app.Server
			token string
		}{{c, annaToken}, {b, benToken}} {
			_, list := apiCall(t, http.MethodGet, who.node.URL()+"/api/v1/help-requests", who.token, "")
			if strings.Contains(fmt.Sprint(list["requests"]), hrID) {
				return false
			}
		}
		return true
	})

	// Viewers on every node, the host through node c.
	guest := tokenOf(guestLink)
	va, vb, vc := dialViewer(t, a, id, guest, "on a"), dialViewer(t, b, id, guest, "on b"), dialViewer(t, c, id, guest, "on c")
	host := dialViewer(t, c, id, tokenOf(hostLink), "host on c")
	waitFrames(t, va, vb, vc, host)

	// The host's click through node c reaches the provider.
	if !host.inControl() {
		host.send(t, map[string]any{"type": "control", "action": "request"})
	}
	eventually(t, "the host in control", host.inControl)
	for _, action := range []string{"down", "up"} {
		host.send(t, map[string]any{"type": "mouse", "action": action, "x": 0.2, "y": 0.2, "button": "left",
			"buttons": map[string]int{"down": 1, "up": 0}[action], "clickCount": 1})
	}
	eventually(t, "the press at the provider", func() bool { return pressed.Load() == 1 })

	// Frames over a window: the viewers on b and c get at least 95% of those on a.
	from := va.newestSeq()
	to := from + 150
	deadline := time.Now().Add(60 * time.Second)
	for va.newestSeq() < to || vb.newestSeq() < to || vc.newestSeq() < to {
		if time.Now().After(deadline) {
			t.Fatalf("frames stopped short of %d: newest on a %d, b %d, c %d; byes %q %q %q", to,
				va.newestSeq(), vb.newestSeq(), vc.newestSeq(), va.byeCode(), vb.byeCode(), vc.byeCode())
		}
		time.Sleep(20 * time.Millisecond)
	}
	na, nb, nc := va.framesIn(from, to), vb.framesIn(from, to), vc.framesIn(from, to)
	t.Logf("frames %d..%d: on a %d, on b %d, on c %d", from+1, to, na, nb, nc)
	if na == 0 || float64(nb) < 0.95*float64(na) || float64(nc) < 0.95*float64(na) {
		t.Fatalf("frames on a, b, c = %d, %d, %d: the relayed viewers got less than 95%%", na, nb, nc)
	}

	// Anna's account, added to node c's file only (as `tandem agents add` does), and her
	// token reach node b's file: the nodes share sites and agents.
	annaTokenB := annaToken
	eventually(t, "anna's token accepted by node b", func() bool {
		status, _ := apiCall(t, http.MethodGet, b.URL()+"/api/v1/help-requests", annaTokenB, "")
		return status == http.StatusOK
	})

	// Anna uses the agent console through a load balancer that sends each request to
	// node b or node c in turn (the session is on a): her sign-in holds whichever node
	// answers, and a new code typed there joins her to the session.
	var turn atomic.Int64
	backends := []string{b.URL(), c.URL()}
	lb := httptest.NewServer(&httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) {
		u, _ := url.Parse(backends[turn.Add(1)%2])
		pr.SetURL(u)
		pr.Out.Host = pr.In.Host
	}})
	t.Cleanup(lb.Close)
	browser := participantBrowser(t, chromiumOrSkip(t))
	agentConsole := openTab(t, browser, lb.URL+"/agent")
	must(t, agentConsole, "anna signs in through the load balancer",
		chromedp.WaitVisible(chromedp.ID("signin-name")),
		chromedp.SendKeys(chromedp.ID("signin-name"), "anna"),
		chromedp.SendKeys(chromedp.ID("signin-password"), annaPassword+"\n"),
		chromedp.WaitVisible(chromedp.ID("console-view")),
	)
	for range 4 { // reloads land on both nodes
		must(t, agentConsole, "the console knows anna after a reload",
			chromedp.Reload(), chromedp.WaitVisible(chromedp.ID("console-view")))
	}
	status, fresh := apiCall(t, http.MethodPost, c.URL()+"/api/v1/sessions/"+id+"/join-code", tokenOf(hostLink), "")
	if status != http.StatusOK {
		t.Fatalf("a new join code through node c: %d %v", status, fresh)
	}
	var agentLink string
	for attempt := 0; ; attempt++ { // the new code reaches the registry a moment after
		agentLink = joinWithCodeOnce(t, agentConsole, fresh["joinCode"].(string))
		if agentLink != "" || attempt == 20 {
			break
		}
	}
	if !strings.Contains(agentLink, "/s/"+id+"#token=") {
		t.Fatalf("the console through the load balancer answered the link %q", agentLink)
	}
	shot(t, agentConsole, "cluster-console")

	// A guest in a real browser, through the link (node b's), sees the page as a copy of
	// it (Page mode: its document and assets come from node a through b) and as a picture.
	tab := openTab(t, browser, guestLink)
	join(t, tab, "Gita")
	waitFrame(t, tab)
	// The copy keeps up with the page: its counter's changes (patches, published once
	// for node b's viewers of the guests' audience) arrive through b.
	must(t, tab, "the copy's counter moves on", void(chromedp.Poll[bool](`(() => {
		const f = document.querySelector('.page-copy');
		const n = f && !f.hidden && f.contentDocument && f.contentDocument.getElementById('n');
		if (!n) return false;
		const v = Number(n.textContent);
		window.__firstCount ??= v;
		return v >= window.__firstCount + 5;
	})()`, chromedp.WithPollingTimeout(20*time.Second))))
	shot(t, tab, "cluster-guest-page-mode")
	pictureMode(t, tab, "the guest")
	shot(t, tab, "cluster-guest-picture")

	// Ending the session through node b ends it for everyone, wherever they are.
	if status, _ := apiCall(t, http.MethodDelete, b.URL()+"/api/v1/sessions/"+id, tokenOf(hostLink), ""); status != http.StatusNoContent {
		t.Fatalf("DELETE through node b: %d", status)
	}
	// Wrong codes spread over two nodes lock the agent out as on one node.
	tokens := map[*app.Server]string{b: annaTokenB, c: annaToken}
	wrongCode := fmt.Sprintf(`{"code":%q}`, wrong)
	for i := range 9 { // with the wrong code tried through c above, ten
		n := []*app.Server{b, c}[i%2]
		if status, out := apiCall(t, http.MethodPost, n.URL()+"/api/v1/join", tokens[n], wrongCode); status != http.StatusNotFound {
			t.Fatalf("wrong code %d: %d %v, want 404", i+1, status, out)
		}
	}
	for _, n := range []*app.Server{b, c} {
		if status, out := apiCall(t, http.MethodPost, n.URL()+"/api/v1/join", tokens[n], wrongCode); status != http.StatusTooManyRequests {
			t.Fatalf("an eleventh wrong code through %s: %d %v, want 429", n.URL(), status, out)
		}
	}

	// Wrong passwords spread over nodes a and b (each node's own limit allows five a
	// minute) lock ben out of node c too, right password and all.
	signIn := func(n *app.Server, password string) (int, string) {
		// As the console page does: the sign-in form's token, then the form.
		resp, err := http.Get(n.URL() + "/api/v1/agent/login-token")
		if err != nil {
			t.Fatal(err)
		}
		var form struct{ Token string }
		_ = json.NewDecoder(resp.Body).Decode(&form)
		resp.Body.Close()
		req, _ := http.NewRequest(http.MethodPost, n.URL()+"/agent/sign-in",
			strings.NewReader(fmt.Sprintf(`{"name":"ben","password":%q}`, password)))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Origin", n.URL())
		req.Header.Set("X-CSRF-Token", form.Token)
		for _, ck := range resp.Cookies() {
			req.AddCookie(ck)
		}
		resp, err = http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	for i := range 10 {
		if status, out := signIn([]*app.Server{a, b}[i/5], "not ben's password"); status != http.StatusUnauthorized {
			t.Fatalf("wrong password %d: %d %s, want 401", i+1, status, out)
		}
	}
	if status, out := signIn(c, annaPassword); status != http.StatusTooManyRequests || !strings.Contains(out, "wrong sign-ins") {
		t.Fatalf("ben after ten wrong passwords on a and b signs in on c with %d %s, want 429", status, out)
	}

	for name, v := range map[string]*viewer{"a": va, "b": vb, "c": vc} {
		select {
		case <-v.closed:
		case <-time.After(20 * time.Second):
			t.Fatalf("the viewer on %s was not closed when the session ended", name)
		}
		v.mu.Lock()
		bye := v.bye
		v.mu.Unlock()
		if bye != "session_ended" {
			t.Fatalf("the viewer on %s was told %q, want session_ended", name, bye)
		}
	}
}

// waitFrames waits until every viewer has a frame, and says where each stands if not.
func waitFrames(t *testing.T, viewers ...*viewer) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		ok := true
		for _, v := range viewers {
			ok = ok && v.newestSeq() > 0
		}
		if ok {
			return
		}
		if time.Now().After(deadline) {
			var b strings.Builder
			for _, v := range viewers {
				v.mu.Lock()
				fmt.Fprintf(&b, "%s: newest %d, welcomed %d, bye %q, notices %v; ", v.name, v.newest, v.welcomes, v.bye, v.notices)
				v.mu.Unlock()
			}
			t.Fatalf("not every viewer got a frame: %s", b.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// agentOn adds an agent account to a node's store and returns an API token for it.
func agentOn(t *testing.T, dbPath, name, display string) string {
	t.Helper()
	db, err := store.Open(dbPath)
	if err != nil {
		t.Fatal(err)
	}
	accounts := agent.NewAccounts(db, agent.WithBcryptCost(bcrypt.MinCost))
	if err := accounts.Add(name, display, annaPassword); err != nil {
		t.Fatal(err)
	}
	tok, err := accounts.IssueToken(name)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// joinWithCodeOnce types code into the console and returns the agent's link it answers,
// or "" when the console shows an error instead.
func joinWithCodeOnce(t *testing.T, console context.Context, code string) string {
	t.Helper()
	must(t, console, "anna types the code",
		void(chromedp.Evaluate[bool](`window.open = (u) => { window.opened = u; return null; };
			document.getElementById('join-result').textContent = ''; true`)),
		chromedp.SetValue(chromedp.ID("join-code"), ""),
		chromedp.SendKeys(chromedp.ID("join-code"), code+"\n"),
		void(chromedp.Poll[bool](`document.getElementById('join-result').textContent.trim() !== ''`,
			chromedp.WithPollingTimeout(20*time.Second))),
	)
	link, err := chromedp.Run(console, chromedp.Evaluate[string](
		`(document.querySelector("#join-result a[href*='#token=']") || {href: ''}).href`))
	if err != nil {
		t.Fatal(err)
	}
	return link
}
