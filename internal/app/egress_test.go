package app_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/tandem-cobrowse/tandem/internal/app"
)

// hitCounter is a server that must never be reached; it counts what reaches it.
type hitCounter struct {
	*httptest.Server
	mu    sync.Mutex
	paths []string
}

func (h *hitCounter) hits() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.paths...)
}

func newInternal(t *testing.T) *hitCounter {
	h := &hitCounter{}
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.mu.Lock()
		h.paths = append(h.paths, r.URL.Path)
		h.mu.Unlock()
		fmt.Fprint(w, "internal secret")
	}))
	t.Cleanup(h.Close)
	return h
}

// sessionWatcher is a host participant that records the session's state URLs and notices.
type sessionWatcher struct {
	mu   sync.Mutex
	msgs []map[string]any
}

func watch(t *testing.T, srv *app.Server, id, hostLink string) *sessionWatcher {
	t.Helper()
	tok := hostLink[strings.Index(hostLink, "#token=")+len("#token="):]
	u := "ws" + strings.TrimPrefix(srv.URL(), "http") + "/api/v1/sessions/" + id + "/ws"
	ws, _, err := websocket.DefaultDialer.Dial(u, http.Header{"Origin": {srv.URL()}})
	if err != nil {
		t.Fatalf("join: %v", err)
	}
	t.Cleanup(func() { ws.Close() })
	if err := ws.WriteJSON(map[string]any{"type": "hello", "token": tok, "name": "Hana",
		"viewport": map[string]any{"width": 1280, "height": 800, "dpr": 1}}); err != nil {
		t.Fatal(err)
	}
	w := &sessionWatcher{}
	go func() {
		for {
			kind, data, err := ws.ReadMessage()
			if err != nil {
				return
			}
			var m map[string]any
			if kind == websocket.TextMessage && json.Unmarshal(data, &m) == nil {
				w.mu.Lock()
				w.msgs = append(w.msgs, m)
				w.mu.Unlock()
			}
		}
	}()
	return w
}

func (w *sessionWatcher) waitFor(t *testing.T, what string, match func(map[string]any) bool) map[string]any {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		w.mu.Lock()
		for _, m := range w.msgs {
			if match(m) {
				w.mu.Unlock()
				return m
			}
		}
		w.mu.Unlock()
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
	return nil
}

func createSession(t *testing.T, srv *app.Server, url string) (int, map[string]any) {
	t.Helper()
	res, err := http.Post(srv.URL()+"/api/v1/sessions", "application/json", strings.NewReader(fmt.Sprintf(`{"url":%q}`, url)))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(res.Body).Decode(&out)
	return res.StatusCode, out
}

// TestPagesCannotReachInternalAddresses: an allowed provider page tries every route
// to a loopback server that is not on the allow list; none gets through.
func TestPagesCannotReachInternalAddresses(t *testing.T) {
	internal := newInternal(t)
	in := internal.URL
	inWS := "ws" + strings.TrimPrefix(in, "http")
	var seen sync.Map
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `<!doctype html><title>Provider</title><p>provider page</p>
<img id=img src="%[1]s/img">
<iframe id=frame src="%[1]s/frame"></iframe>
<script>
const settle = p => p.then(() => "ok", () => "failed");
const img = new Promise(r => { const i = document.getElementById("img"); if (i.complete) r(); i.onload = i.onerror = r; });
const frame = new Promise(r => { document.getElementById("frame").onload = r; setTimeout(r, 5000); });
const xhr = new Promise(r => { const x = new XMLHttpRequest(); x.open("GET", "%[1]s/xhr"); x.onloadend = r; x.send(); });
const ws = new Promise(r => { const s = new WebSocket("%[2]s/ws"); s.onopen = s.onerror = s.onclose = r; });
const sw = navigator.serviceWorker.register("/sw.js").then(reg => new Promise(r => {
	const w = reg.installing || reg.waiting || reg.active;
	if (!w || w.state === "activated") return r();
	w.onstatechange = () => { if (w.state === "activated" || w.state === "redundant") r(); };
}));
Promise.all([settle(fetch("%[1]s/fetch", {mode: "no-cors"})), settle(img), settle(frame), settle(xhr), settle(ws), settle(sw)])
	.then(() => fetch("/done"));
</script>`, in, inWS)
	})
	mux.HandleFunc("/sw.js", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/javascript")
		fmt.Fprintf(w, `self.addEventListener("install", e => e.waitUntil(fetch("%s/sw", {mode: "no-cors"}).catch(() => {})));`, in)
	})
	mux.HandleFunc("/done", func(w http.ResponseWriter, r *http.Request) { seen.Store("done", true) })
	mux.HandleFunc("/redirect", func(w http.ResponseWriter, r *http.Request) {
		seen.Store("redirect", true)
		http.Redirect(w, r, in+"/redirect-target", http.StatusFound)
	})
	mux.HandleFunc("/meta", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `<!doctype html><meta http-equiv="refresh" content="0; url=%s/meta-target"><title>Meta</title>`, in)
	})
	mux.HandleFunc("/popup", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `<!doctype html><title>Popup</title><script>window.open("%s/popup-target")</script>`, in)
	})
	provider := httptest.NewServer(mux)
	defer provider.Close()

	srv := startServer(t, app.Config{AllowHosts: []string{strings.TrimPrefix(provider.URL, "http://")}})

	t.Run("subresources, fetch, XHR, iframes, WebSockets and service workers", func(t *testing.T) {
		status, out := createSession(t, srv, provider.URL+"/")
		if status != http.StatusCreated {
			t.Fatalf("create: %d %v", status, out)
		}
		w := watch(t, srv, out["id"].(string), out["links"].(map[string]any)["host"].(string))
		deadline := time.Now().Add(30 * time.Second)
		for _, ok := seen.Load("done"); !ok; _, ok = seen.Load("done") {
			if time.Now().After(deadline) {
				t.Fatal("the provider page never finished its attempts")
			}
			time.Sleep(20 * time.Millisecond)
		}
		w.waitFor(t, "an egress_refused notice", func(m map[string]any) bool {
			return m["type"] == "notice" && m["code"] == "egress_refused" && strings.Contains(fmt.Sprint(m["message"]), "loopback")
		})
	})
	for _, tc := range []struct{ name, start, target string }{
		{"a redirect", "/redirect", "/redirect-target"},
		{"a meta refresh", "/meta", "/meta-target"},
		{"window.open", "/popup", "/popup-target"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, out := createSession(t, srv, provider.URL+tc.start)
			if status != http.StatusCreated {
				t.Fatalf("create: %d %v", status, out)
			}
			w := watch(t, srv, out["id"].(string), out["links"].(map[string]any)["host"].(string))
			// The tab goes there and shows the policy's refusal instead of the page.
			w.waitFor(t, "the tab to try "+tc.target, func(m map[string]any) bool {
				return m["type"] == "state" && strings.HasPrefix(fmt.Sprint(m["url"]), in+tc.target) && m["loading"] == false
			})
		})
	}
	if hits := internal.hits(); len(hits) != 0 {
		t.Fatalf("the internal server was reached: %v", hits)
	}
}

func TestSessionsCannotStartAtInternalAddresses(t *testing.T) {
	internal := newInternal(t)
	srv := startServer(t, app.Config{})
	for url, reason := range map[string]string{
		"http://169.254.169.254/latest/meta-data": "169.254.169.254 is a link-local address (cloud metadata)",
		internal.URL + "/":                        "127.0.0.1 is a loopback address",
		"http://2130706433/":                      "127.0.0.1 is a loopback address",
		"http://[::ffff:10.0.0.1]/":               "private address",
	} {
		status, out := createSession(t, srv, url)
		if status != http.StatusForbidden || out["error"] != "egress_refused" || !strings.Contains(fmt.Sprint(out["message"]), reason) {
			t.Errorf("%s: got %d %v, want 403 egress_refused %q", url, status, out, reason)
		}
	}
	if hits := internal.hits(); len(hits) != 0 {
		t.Fatalf("the internal server was reached: %v", hits)
	}
}

func TestDemoSiteIsAllowedByItself(t *testing.T) {
	srv := startServer(t, app.Config{DemoAddr: "127.0.0.1:0"})
	status, out := createSession(t, srv, srv.DemoURL())
	if status != http.StatusCreated {
		t.Fatalf("create on the demo site: %d %v", status, out)
	}
}
