package app_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tandem-cobrowse/tandem/internal/app"
)

// waitWarm waits until the server has n tabs ready.
func waitWarm(t *testing.T, srv *app.Server, n int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for srv.WarmTabsReady() < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d warm tabs ready, want %d", srv.WarmTabsReady(), n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func scrapeMetrics(t *testing.T, srv *app.Server) string {
	t.Helper()
	res, err := http.Get(srv.URL() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return string(body)
}

// TestWarmTabsAreFreshAndBoundToTheirSession: a session started from a warm tab is as
// isolated as one whose tab was opened for it: it starts with no cookie of an earlier
// session, and what its page tries against internal addresses is refused and told to that
// session's participants.
func TestWarmTabsAreFreshAndBoundToTheirSession(t *testing.T) {
	chromiumOrSkip(t)
	internal := newInternal(t)
	var mu sync.Mutex
	var cookies []string
	provider := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		mu.Lock()
		cookies = append(cookies, r.Header.Get("Cookie"))
		mu.Unlock()
		http.SetCookie(w, &http.Cookie{Name: "visitor", Value: "first", Path: "/"})
		fmt.Fprintf(w, `<!doctype html><title>Provider</title><p>provider page</p><img src="%s/img">`, internal.URL)
	}))
	t.Cleanup(provider.Close)
	srv := startServer(t, app.Config{AllowHosts: allowed(provider), WarmTabs: 1})

	waitWarm(t, srv, 1)
	status, first := createSession(t, srv, provider.URL+"/")
	if status != http.StatusCreated {
		t.Fatalf("create: %d %v", status, first)
	}
	links := first["links"].(map[string]any)
	w := watch(t, srv, first["id"].(string), links["host"].(string))
	w.waitFor(t, "the refused internal image told to the session", func(m map[string]any) bool {
		return m["type"] == "notice" && m["code"] == "egress_refused"
	})
	if got := metricValue(scrapeMetrics(t, srv), `tandem_session_tabs_total{source="warm"}`); got != 1 {
		t.Fatalf("warm tabs taken = %v, want 1", got)
	}

	waitWarm(t, srv, 1)
	status, second := createSession(t, srv, provider.URL+"/")
	if status != http.StatusCreated {
		t.Fatalf("create: %d %v", status, second)
	}
	if got := metricValue(scrapeMetrics(t, srv), `tandem_session_tabs_total{source="warm"}`); got != 2 {
		t.Fatalf("warm tabs taken = %v, want 2", got)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(cookies) != 2 || cookies[1] != "" {
		t.Fatalf("the provider saw cookies %q: the second session's tab is not fresh", cookies)
	}
	if len(internal.hits()) != 0 {
		t.Fatalf("the internal server was reached: %v", internal.hits())
	}
	if strings.Contains(fmt.Sprint(second["links"]), first["id"].(string)) {
		t.Fatal("the second session's links name the first")
	}
}
