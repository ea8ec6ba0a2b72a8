package renderer

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// TestHandoffSignsTheTabIn: a visitor's cookies (HttpOnly too), a header and web storage,
// handed over before the first page, reach the provider's server and the page as if the
// visitor's own browser had them; the header never reaches another origin; a later page
// keeps what the page itself stored.
func TestHandoffSignsTheTabIn(t *testing.T) {
	b := needBrowser(t)
	var mu sync.Mutex
	seen := map[string]string{} // what each server saw, by request
	note := func(k, v string) { mu.Lock(); seen[k] = v; mu.Unlock() }
	third := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		note("third-party header", r.Header.Get("X-Provider-Auth"))
		w.Header().Set("Content-Type", "image/gif")
		fmt.Fprint(w, "GIF89a")
	}))
	t.Cleanup(third.Close)
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		c, _ := r.Cookie("sid")
		sid := ""
		if c != nil {
			sid = c.Value
		}
		note("page cookie", sid)
		note("page header", r.Header.Get("X-Provider-Auth"))
		fmt.Fprintf(w, `<!doctype html><title>Account</title><img src="%s/pixel.gif"><script>
			fetch('/api/me').then(() => { document.title = 'ready'; });
			document.body.dataset.storage = localStorage.getItem('pref') + '|' + sessionStorage.getItem('cart') + '|' + document.cookie;
			localStorage.setItem('pref', 'changed-by-page');
		</script>`, third.URL)
	})
	mux.HandleFunc("/api/me", func(w http.ResponseWriter, r *http.Request) {
		note("api header", r.Header.Get("X-Provider-Auth"))
	})
	provider := httptest.NewServer(mux)
	t.Cleanup(provider.Close)

	ctx, cancel := context.WithTimeout(context.Background(), waitDeadline)
	defer cancel()
	tab, err := b.NewTab(ctx, Viewport{Width: 640, Height: 480, DPR: 1}, WithNavigationFilter(nil))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tab.Close() })
	host := strings.TrimPrefix(provider.URL, "http://")
	host = host[:strings.LastIndex(host, ":")]
	err = tab.Handoff(ctx, Handoff{
		Cookies: []Cookie{{Name: "sid", Value: "visitor-42", Domain: host, HTTPOnly: true}, {Name: "theme", Value: "dark", Domain: host}},
		Headers: map[string]string{"X-Provider-Auth": "token-42"},
		Origin:  provider.URL,
		Storage: map[string]OriginStorage{provider.URL: {Local: map[string]string{"pref": "compact"}, Session: map[string]string{"cart": "3"}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	navigate(t, tab, provider.URL+"/")
	waitFor(t, "the page's own request is answered", func() bool { return evalJS[string](t, tab, `document.title`) == "ready" })
	if got := evalJS[string](t, tab, `document.body.dataset.storage`); got != "compact|3|theme=dark" {
		t.Errorf("the page saw storage and script cookies %q, want compact|3|theme=dark (the HttpOnly one hidden from script)", got)
	}
	waitFor(t, "the third party is asked for its image", func() bool { mu.Lock(); defer mu.Unlock(); _, ok := seen["third-party header"]; return ok })
	mu.Lock()
	for k, want := range map[string]string{"page cookie": "visitor-42", "page header": "token-42", "api header": "token-42", "third-party header": ""} {
		if seen[k] != want {
			t.Errorf("%s = %q, want %q", k, seen[k], want)
		}
	}
	mu.Unlock()

	// A later page of the origin keeps what the page stored: storage is seeded once.
	navigate(t, tab, provider.URL+"/again")
	if got := evalJS[string](t, tab, `localStorage.getItem('pref')`); got != "changed-by-page" {
		t.Errorf("after a second page, pref = %q: the handoff seeded storage again", got)
	}

	// What cannot be handed over is refused before anything is set.
	for name, bad := range map[string]Handoff{
		"cookie without domain":  {Cookies: []Cookie{{Name: "a", Value: "b"}}},
		"header smuggling":       {Headers: map[string]string{"X-A": "b\r\nHost: evil"}, Origin: provider.URL},
		"cookie header":          {Headers: map[string]string{"Cookie": "a=b"}, Origin: provider.URL},
		"storage not an origin":  {Storage: map[string]OriginStorage{provider.URL + "/path": {}}},
		"headers without origin": {Headers: map[string]string{"X-A": "b"}},
	} {
		if err := tab.Handoff(ctx, bad); !errors.Is(err, ErrBadHandoff) {
			t.Errorf("%s: %v, want ErrBadHandoff", name, err)
		}
	}
}
