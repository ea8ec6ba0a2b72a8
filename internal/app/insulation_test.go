package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/target"
	"github.com/chromedp/chromedp"

	"github.com/tandem-cobrowse/tandem/call"
	"github.com/tandem-cobrowse/tandem/internal/app"
)

// recorder is a forward proxy that notes the host of every request the participants'
// browsers make, plain or tunnelled, and passes it on.
type recorder struct {
	mu    sync.Mutex
	hosts map[string]int
	srv   *http.Server
	addr  string
}

func newRecorder(t *testing.T) *recorder {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &recorder{hosts: map[string]int{}, addr: ln.Addr().String()}
	r.srv = &http.Server{Handler: r}
	go r.srv.Serve(ln)
	t.Cleanup(func() { r.srv.Close() })
	return r
}

func (r *recorder) note(host string) {
	r.mu.Lock()
	r.hosts[host]++
	r.mu.Unlock()
}

func (r *recorder) seen(host string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.hosts[host]
}

func (r *recorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if req.Method == http.MethodConnect {
		r.note(req.Host)
		upstream, err := net.DialTimeout("tcp", req.Host, 5*time.Second)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		hj, _ := w.(http.Hijacker)
		client, buf, err := hj.Hijack()
		if err != nil {
			upstream.Close()
			return
		}
		_, _ = client.Write([]byte("HTTP/1.1 200 Connection established\r\n\r\n"))
		go func() { _, _ = io.Copy(upstream, buf); upstream.Close() }()
		_, _ = io.Copy(client, upstream)
		client.Close()
		return
	}
	r.note(req.URL.Host)
	out, err := http.NewRequestWithContext(req.Context(), req.Method, req.URL.String(), req.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	out.Header = req.Header.Clone()
	out.Header.Del("Proxy-Connection")
	res, err := http.DefaultTransport.RoundTrip(out)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer res.Body.Close()
	for k, v := range res.Header {
		w.Header()[k] = v
	}
	w.WriteHeader(res.StatusCode)
	_, _ = io.Copy(w, res.Body)
}

// proxiedTab opens url in a new browser context whose every request, loopback included,
// goes through the recorder.
func proxiedTab(t *testing.T, browser context.Context, rec *recorder, url string) context.Context {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browser, chromedp.WithNewBrowserContext(func(p *target.CreateBrowserContextParams) {
		p.ProxyServer = "http://" + rec.addr
		p.ProxyBypassList = "<-loopback>"
	}))
	t.Cleanup(cancel)
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1280, 800), chromedp.Navigate(url)); err != nil {
		t.Fatalf("open %s: %v", url, err)
	}
	return ctx
}

// goTo types url into the viewer's address bar and waits until the tab shows it.
func goTo(t *testing.T, viewer context.Context, url string) {
	t.Helper()
	must(t, viewer, "navigate to "+url,
		chromedp.Click(chromedp.ID("address-input")),
		chromedp.SendKeys(chromedp.ID("address-input"), url+"\n"),
	)
	waitAddress(t, viewer, url)
}

func waitAddress(t *testing.T, viewer context.Context, url string) {
	t.Helper()
	must(t, viewer, "the tab shows "+url, void(chromedp.Poll[bool](
		fmt.Sprintf(`document.getElementById('address-input').value === %q`, url),
		chromedp.WithPollingTimeout(20*time.Second))))
	waitFrame(t, viewer)
}

// clickElement clicks, in the viewer, where selector is on the shared page. It finds the
// spot by loading the page in a browser context of its own at the tab's viewport size
// (not the participants': this context is not the one under test).
func clickElement(t *testing.T, browser, viewer context.Context, pageURL, selector string) {
	t.Helper()
	type box struct{ W, H, X, Y, Left, Top, CW, CH float64 }
	stage, err := chromedp.Run(viewer, chromedp.Evaluate[box](`(() => {
		const s = document.getElementById('stage'), c = document.getElementById('screen').getBoundingClientRect();
		return {W: Math.round(s.clientWidth), H: Math.round(s.clientHeight), Left: c.left, Top: c.top, CW: c.width, CH: c.height};
	})()`))
	if err != nil {
		t.Fatal(err)
	}
	measure, cancel := chromedp.NewContext(browser, chromedp.WithNewBrowserContext())
	defer cancel()
	spot, err := chromedp.Run(measure, func(ctx context.Context, tt *chromedp.Target) (box, error) {
		if err := chromedp.Do(ctx, chromedp.EmulateViewport(int64(stage.W), int64(stage.H)), chromedp.Navigate(pageURL)); err != nil {
			return box{}, err
		}
		return chromedp.Evaluate[box](fmt.Sprintf(`(() => {
			const r = document.querySelector(%q).getBoundingClientRect();
			return {X: (r.left + r.width/2) / innerWidth, Y: (r.top + r.height/2) / innerHeight};
		})()`, selector))(ctx, tt)
	})
	if err != nil {
		t.Fatalf("measuring %s on %s: %v", selector, pageURL, err)
	}
	must(t, viewer, "click "+selector, chromedp.MouseClickXY(stage.Left+spot.X*stage.CW, stage.Top+spot.Y*stage.CH))
}

// TestParticipantsNeverContactTheProvider runs a session across the demo site's pages,
// the popup, dialog and masked ones included, and a call, with both participants'
// browsers behind a recording proxy: the provider's origin never appears in it, and the
// call's media (every ICE candidate, and the pair in use) goes to Tandem's port.
func TestParticipantsNeverContactTheProvider(t *testing.T) {
	execPath := chromiumOrSkip(t)
	srv := startServer(t, app.Config{DemoAddr: "127.0.0.1:0", Call: call.Config{UDPAddr: "127.0.0.1:0"}})
	demo := strings.TrimSuffix(srv.DemoURL(), "/")
	demoHost := strings.TrimPrefix(demo, "http://")
	tandemHost := strings.TrimPrefix(srv.URL(), "http://")

	res, err := http.Post(srv.URL()+"/api/v1/sessions", "application/json", strings.NewReader(fmt.Sprintf(`{"url":%q}`, demo+"/")))
	if err != nil {
		t.Fatal(err)
	}
	var created struct {
		Links map[string]string `json:"links"`
	}
	if err := json.NewDecoder(res.Body).Decode(&created); err != nil || res.StatusCode != 201 {
		t.Fatalf("create: %d %v", res.StatusCode, err)
	}
	res.Body.Close()

	rec := newRecorder(t)
	browser := participantBrowser(t, execPath)
	host := proxiedTab(t, browser, rec, created.Links["host"])
	join(t, host, "Hana")
	waitFrame(t, host)
	guest := proxiedTab(t, browser, rec, created.Links["guest"])
	join(t, guest, "Gus")
	waitFrame(t, guest)
	// The host in Page mode (the default), the guest in Picture mode: both are insulated.
	pictureMode(t, guest, "the guest")
	// And in a call: its media goes to Tandem's port, whichever candidates are tried.
	joinCall(t, host, "Hana")
	joinCall(t, guest, "Gus")
	g := waitStats(t, guest, "Gus", func(s callStats) bool { return s.FramesDecoded > 10 && s.AudioEnergy > 0 })
	h := waitStats(t, host, "Hana", func(s callStats) bool { return s.AudioEnergy > 0 })
	udp, _ := srv.CallPorts()
	mediaOnlyTo(t, "Tandem's media port", map[string]callStats{"Gus": g, "Hana": h}, udp)

	for _, page := range []string{"/login", "/checkout", "/long", "/notes"} {
		goTo(t, host, demo+page)
	}
	goTo(t, host, demo+"/alert")
	clickElement(t, browser, host, demo+"/alert", "#btn-confirm")
	must(t, host, "the dialog reaches the controller", chromedp.WaitVisible(chromedp.ID("dialog-ok")))
	must(t, guest, "the guest sees the dialog too", chromedp.WaitVisible(chromedp.ID("dialog")))
	must(t, host, "answer the dialog", chromedp.Click(chromedp.ID("dialog-ok")), chromedp.WaitNotVisible(chromedp.ID("dialog")))

	goTo(t, host, demo+"/popup")
	clickElement(t, browser, host, demo+"/popup", "#blank-link")
	waitAddress(t, host, demo+"/popup/opened")
	waitAddress(t, guest, demo+"/popup/opened")

	if n := rec.seen(tandemHost); n == 0 {
		t.Fatal("the recorder saw no request to Tandem: the participants' traffic does not go through it")
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if n := rec.hosts[demoHost]; n > 0 {
		t.Errorf("participants' browsers contacted the provider %s %d times; all hosts: %v", demoHost, n, rec.hosts)
	}
}
