package app_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/tandem-cobrowse/tandem/internal/app"
)

// TestHandoffCarriesTheVisitorsSignIn: the provider's backend creates a session with its
// API key and the visitor's state; the session's first page is the visitor's signed-in
// page, as the provider's own server sees it. Without the key, or with state that cannot
// be handed over, creation is refused with a clear error and nothing is opened.
func TestHandoffCarriesTheVisitorsSignIn(t *testing.T) {
	chromiumOrSkip(t)
	var mu sync.Mutex
	var signedIn []string // the account each request for a page was signed in as
	provider := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		who := "nobody"
		if c, err := r.Cookie("sid"); err == nil && c.Value == "s3cr3t-session" && r.Header.Get("X-Csrf-Bound") == "yes" {
			who = "vera"
		}
		mu.Lock()
		signedIn = append(signedIn, r.URL.Path+":"+who)
		mu.Unlock()
		fmt.Fprintf(w, `<!doctype html><title>Account</title><p>Signed in as %s</p>`, who)
	}))
	t.Cleanup(provider.Close)
	const key = "provider-api-key-0123456789"
	srv := startServer(t, app.Config{APIKey: key, AllowHosts: allowed(provider)})
	handoff := `{"cookies":[{"name":"sid","value":"s3cr3t-session","domain":"127.0.0.1","path":"/","httpOnly":true,"secure":false,"sameSite":"Lax"}],
		"headers":{"X-Csrf-Bound":"yes"}}`
	keyed := http.Header{"Content-Type": {"application/json"}, "Authorization": {"Bearer " + key}}

	// Without the key: refused, and the provider never hears of it.
	status, out := post(t, srv, http.Header{"Content-Type": {"application/json"}},
		fmt.Sprintf(`{"url":%q,"handoff":%s}`, provider.URL+"/account", handoff))
	if status != http.StatusUnauthorized || !strings.Contains(fmt.Sprint(out["message"]), "API key") {
		t.Fatalf("a handoff without the key: %d %v", status, out)
	}
	// State that cannot be handed over: a clear 400.
	status, out = post(t, srv, keyed, fmt.Sprintf(`{"url":%q,"handoff":{"headers":{"Host":"evil.example"}}}`, provider.URL+"/account"))
	if status != http.StatusBadRequest || !strings.Contains(fmt.Sprint(out["message"]), "Host") {
		t.Fatalf("a handoff with a Host header: %d %v", status, out)
	}
	mu.Lock()
	if len(signedIn) != 0 {
		t.Fatalf("refused handoffs reached the provider: %v", signedIn)
	}
	mu.Unlock()

	status, out = post(t, srv, keyed, fmt.Sprintf(`{"url":%q,"handoff":%s}`, provider.URL+"/account", handoff))
	if status != http.StatusCreated {
		t.Fatalf("create with a handoff: %d %v", status, out)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(signedIn) == 0 || signedIn[0] != "/account:vera" {
		t.Fatalf("the session's first page was %v, want the visitor's signed-in page", signedIn)
	}
}
