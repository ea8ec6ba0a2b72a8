package renderer

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

func newFilteredTab(t *testing.T, opts ...TabOption) *Tab {
	t.Helper()
	b := needBrowser(t)
	tab, err := b.NewTab(testCtx(t), Viewport{Width: 800, Height: 600, DPR: 1}, opts...)
	if err != nil {
		t.Fatalf("NewTab: %v", err)
	}
	t.Cleanup(func() { tab.Close() })
	return tab
}

func denyPath(u string) (bool, string) {
	if strings.Contains(u, "/denied") {
		return false, "the session's rules deny */denied*"
	}
	return true, ""
}

func TestNavigationFilterBlocksDocuments(t *testing.T) {
	var denied atomic.Int64
	countDenied := func(w http.ResponseWriter, r *http.Request) {
		denied.Add(1)
		fmt.Fprint(w, "denied page")
	}
	other := servePage(t, "other", map[string]http.HandlerFunc{"/denied": countDenied})
	otherURL := strings.Replace(other.URL, "127.0.0.1", "localhost", 1) // another site: its own process
	srv := servePage(t, "<!doctype html><title>start</title>start", map[string]http.HandlerFunc{
		"/denied": countDenied,
		"/redirect": func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "/denied?via=redirect", http.StatusFound)
		},
		"/frames": pageHandler(`<iframe src="/denied?same-site"></iframe><iframe src="` + otherURL + `/denied?cross-site"></iframe>`),
	})
	tab := newFilteredTab(t, WithNavigationFilter(denyPath))
	navigate(t, tab, srv.URL+"/")

	t.Run("Navigate to a denied page fails and says why", func(t *testing.T) {
		err := tab.Navigate(testCtx(t), srv.URL+"/denied")
		if !isErr(err, ErrNavigation) {
			t.Fatalf("Navigate = %v, want ErrNavigation", err)
		}
		ev := waitEvent(t, tab, func(e NavigationBlocked) bool { return strings.HasSuffix(e.URL, "/denied") })
		if ev.Reason != "the session's rules deny */denied*" {
			t.Fatalf("reason %q", ev.Reason)
		}
	})
	t.Run("a page script navigating to a denied page is blocked", func(t *testing.T) {
		navigate(t, tab, srv.URL+"/")
		evalJS[any](t, tab, `location.href = "/denied?via=script"; null`)
		waitEvent(t, tab, func(e NavigationBlocked) bool { return strings.HasSuffix(e.URL, "via=script") })
	})
	t.Run("a redirect hop to a denied page is blocked", func(t *testing.T) {
		navigate(t, tab, srv.URL+"/")
		evalJS[any](t, tab, `location.href = "/redirect"; null`)
		waitEvent(t, tab, func(e NavigationBlocked) bool { return strings.HasSuffix(e.URL, "via=redirect") })
	})
	t.Run("iframes of either site are blocked", func(t *testing.T) {
		navigate(t, tab, srv.URL+"/frames")
		waitJS(t, tab, `document.readyState`, "complete")
	})
	t.Run("a data URL or file URL cannot become the top-level page", func(t *testing.T) {
		navigate(t, tab, srv.URL+"/")
		evalJS[any](t, tab, `location.href = "data:text/html,<title>data</title>hi"; null`)
		evalJS[any](t, tab, `location.href = "file:///etc/passwd"; null`)
		evalJS[any](t, tab, `location.href = "/?after"; null`)
		waitJS(t, tab, `location.href`, srv.URL+"/?after")
	})
	if n := denied.Load(); n != 0 {
		t.Fatalf("denied pages were requested %d times", n)
	}
	if got := evalJS[string](t, tab, `location.href`); !strings.HasPrefix(got, srv.URL) {
		t.Fatalf("tab left the provider: %s", got)
	}
}

func TestTopLevelSchemes(t *testing.T) {
	for raw, ok := range map[string]bool{
		"about:blank": true, "http://x/": true, "HTTPS://x/": true,
		"data:text/html,x": false, "file:///etc/passwd": false, "chrome://settings": false,
		"javascript:alert(1)": false, "about:config": false,
	} {
		if got, _ := topLevelAllowed(raw, true); got != ok {
			t.Errorf("topLevelAllowed(%q) = %v, want %v", raw, got, ok)
		}
		if got, _ := topLevelAllowed(raw, false); !got {
			t.Errorf("iframe %q refused by the top-level rule", raw)
		}
	}
}

// refusingProxy answers 403 to everything and counts what it was asked.
func refusingProxy(t *testing.T) (*httptest.Server, *atomic.Int64) {
	var n atomic.Int64
	p := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		http.Error(w, "refused by test proxy", http.StatusForbidden)
	}))
	t.Cleanup(p.Close)
	return p, &n
}

func TestProxyCarriesLoopbackToo(t *testing.T) {
	var hits atomic.Int64
	internal := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		fmt.Fprint(w, "internal")
	}))
	t.Cleanup(internal.Close)
	proxy, asked := refusingProxy(t)
	tab := newFilteredTab(t, WithProxy(proxy.URL))
	for _, u := range []string{internal.URL + "/", strings.Replace(internal.URL, "127.0.0.1", "localhost", 1) + "/"} {
		_ = tab.Navigate(testCtx(t), u)
	}
	waitFor(t, "the proxy to be asked", func() bool { return asked.Load() >= 2 })
	if hits.Load() != 0 {
		t.Fatalf("loopback server reached past the proxy %d times", hits.Load())
	}
}

func TestNoUDPPastTheProxy(t *testing.T) {
	udp, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer udp.Close()
	var packets atomic.Int64
	go func() {
		buf := make([]byte, 2048)
		for {
			if _, _, err := udp.ReadFrom(buf); err != nil {
				return
			}
			packets.Add(1)
		}
	}()
	srv := servePage(t, "<!doctype html>rtc", nil)
	tab := newFilteredTab(t)
	navigate(t, tab, srv.URL+"/")
	// ICE gathering with a STUN server sends UDP unless the WebRTC policy stops it.
	js := fmt.Sprintf(`new Promise(done => {
		const pc = new RTCPeerConnection({iceServers: [{urls: "stun:%s"}]});
		pc.createDataChannel("x");
		pc.onicegatheringstatechange = () => { if (pc.iceGatheringState === "complete") done("complete"); };
		pc.createOffer().then(o => pc.setLocalDescription(o));
		setTimeout(() => done("timeout"), 5000);
	})`, udp.LocalAddr().String())
	state := evalJS[string](t, tab, js)
	if packets.Load() != 0 {
		t.Fatalf("WebRTC sent %d UDP packets (gathering %s)", packets.Load(), state)
	}
	if state != "complete" {
		t.Logf("ICE gathering ended with %s", state)
	}
}
