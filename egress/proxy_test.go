package egress

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// internalServer is a loopback server that counts the requests it gets.
func internalServer(t *testing.T, tlsToo bool) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var hits atomic.Int64
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		io.WriteString(w, "internal secret")
	})
	var s *httptest.Server
	if tlsToo {
		s = httptest.NewTLSServer(h)
	} else {
		s = httptest.NewServer(h)
	}
	t.Cleanup(s.Close)
	return s, &hits
}

func hostPort(t *testing.T, raw string) (string, int) {
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	port, _ := strconv.Atoi(u.Port())
	return u.Hostname(), port
}

// proxied returns a client that goes through a session of a proxy with
// policy, and the refusals the session reported.
func proxied(t *testing.T, policy *Policy) (*http.Client, <-chan Refusal, string, func()) {
	t.Helper()
	p := NewProxy(policy, ProxyOptions{DialTimeout: 5 * time.Second})
	t.Cleanup(p.Close)
	refusals := make(chan Refusal, 16)
	proxyURL, release, err := p.Session("s1", func(r Refusal) { refusals <- r })
	if err != nil {
		t.Fatal(err)
	}
	pu, _ := url.Parse(proxyURL)
	c := &http.Client{
		Transport: &http.Transport{
			Proxy:           http.ProxyURL(pu),
			TLSClientConfig: &tls.Config{InsecureSkipVerify: true},
		},
		Timeout: 20 * time.Second,
	}
	t.Cleanup(c.CloseIdleConnections)
	return c, refusals, proxyURL, release
}

func TestProxyRefusesInternalAddresses(t *testing.T) {
	plain, plainHits := internalServer(t, false)
	secure, secureHits := internalServer(t, true)
	c, refusals, _, _ := proxied(t, NewPolicy(nil, nil))

	t.Run("plain http is answered 403 with the reason", func(t *testing.T) {
		res, err := c.Get(plain.URL + "/healthz")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusForbidden || !strings.Contains(string(body), "Blocked by Tandem's egress policy: 127.0.0.1 is a loopback address") {
			t.Fatalf("got %d %q", res.StatusCode, body)
		}
		r := <-refusals
		if r.Host != "127.0.0.1" || r.Addr != "127.0.0.1" || !strings.Contains(r.Reason, "loopback") || r.Time.IsZero() {
			t.Fatalf("refusal %+v", r)
		}
	})
	t.Run("CONNECT is refused", func(t *testing.T) {
		_, err := c.Get(secure.URL + "/")
		if err == nil || !strings.Contains(err.Error(), "Forbidden") {
			t.Fatalf("got %v, want a refused tunnel", err)
		}
		if r := <-refusals; !strings.Contains(r.Reason, "loopback") {
			t.Fatalf("refusal %+v", r)
		}
	})
	t.Run("CONNECT to an alternative spelling is refused", func(t *testing.T) {
		_, port := hostPort(t, secure.URL)
		for _, host := range []string{"2130706433", "0x7f000001", "[::ffff:127.0.0.1]", "[64:ff9b::7f00:1]", "localhost"} {
			_, err := c.Get("https://" + host + ":" + strconv.Itoa(port) + "/")
			if err == nil {
				t.Fatalf("%s: the tunnel was opened", host)
			}
			<-refusals
		}
	})
	t.Run("the metadata address is refused", func(t *testing.T) {
		res, err := c.Get("http://169.254.169.254/latest/meta-data")
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusForbidden {
			t.Fatalf("got %d", res.StatusCode)
		}
		if r := <-refusals; !strings.Contains(r.Reason, "cloud metadata") {
			t.Fatalf("refusal %+v", r)
		}
	})
	if n := plainHits.Load() + secureHits.Load(); n != 0 {
		t.Fatalf("internal servers got %d requests", n)
	}
}

func TestProxyForwardsWhatTheAllowListOpens(t *testing.T) {
	var got atomic.Value
	provider := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got.Store(r.Header.Clone())
		w.Header().Set("Connection", "X-Secret")
		w.Header().Set("X-Secret", "hop")
		io.WriteString(w, "provider page")
	}))
	t.Cleanup(provider.Close)
	secure, secureHits := internalServer(t, true)
	allow, err := ParseAllowList(strings.TrimPrefix(provider.URL, "http://") + "," + strings.TrimPrefix(secure.URL, "https://"))
	if err != nil {
		t.Fatal(err)
	}
	c, refusals, _, _ := proxied(t, NewPolicy(allow, nil))

	req, _ := http.NewRequest("GET", provider.URL+"/page", nil)
	req.Header.Set("Proxy-Authorization", "Basic c2VjcmV0")
	req.Header.Set("Connection", "X-Drop")
	req.Header.Set("X-Drop", "1")
	req.Header.Set("X-Keep", "1")
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || string(body) != "provider page" {
		t.Fatalf("got %d %q", res.StatusCode, body)
	}
	if res.Header.Get("X-Secret") != "" {
		t.Errorf("a header named by Connection came back: %v", res.Header)
	}
	h := got.Load().(http.Header)
	if h.Get("Proxy-Authorization") != "" || h.Get("X-Drop") != "" || h.Get("X-Keep") != "1" {
		t.Errorf("forwarded headers %v", h)
	}

	res, err = c.Get(secure.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if secureHits.Load() != 1 {
		t.Fatalf("the allowed https server got %d requests through the tunnel", secureHits.Load())
	}
	select {
	case r := <-refusals:
		t.Fatalf("unexpected refusal %+v", r)
	default:
	}
}

func TestDNSRebindingCannotReachLoopback(t *testing.T) {
	internal, hits := internalServer(t, false)
	_, port := hostPort(t, internal.URL)
	r := newFakeResolver()
	// The first answer is allowed (127.0.0.2 is opened by the allow list, and
	// nothing listens there); every later answer is the internal server.
	r.set("rebind.test", "127.0.0.2", "127.0.0.1")
	allow, _ := ParseAllowList("127.0.0.2/32")
	c, refusals, _, _ := proxied(t, NewPolicy(allow, r))

	res, err := c.Get("http://rebind.test:" + strconv.Itoa(port) + "/")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusBadGateway {
		t.Fatalf("first request: got %d, want 502 from the pinned, dead 127.0.0.2", res.StatusCode)
	}
	if n := r.count("rebind.test"); n != 1 {
		t.Fatalf("resolved %d times for one connection; the checked answer must be the one used", n)
	}
	res, err = c.Get("http://rebind.test:" + strconv.Itoa(port) + "/again")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusForbidden {
		t.Fatalf("rebound request: got %d, want 403", res.StatusCode)
	}
	if rf := <-refusals; rf.Host != "rebind.test" || !strings.Contains(rf.Reason, "rebind.test (127.0.0.1) is a loopback address") {
		t.Fatalf("refusal %+v", rf)
	}
	if hits.Load() != 0 {
		t.Fatalf("internal server got %d requests", hits.Load())
	}
}

func TestControlRechecksTheAddressBeingConnected(t *testing.T) {
	allow, _ := ParseAllowList("127.0.0.2/32")
	d := &dialer{policy: NewPolicy(allow, nil), self: func(ap netip.AddrPort) bool { return ap.Port() == 9 }}
	ctl := d.control("rebind.test", netip.MustParseAddr("127.0.0.2"))
	if err := ctl("tcp4", "127.0.0.2:80", nil); err != nil {
		t.Fatalf("pinned, allowed address refused: %v", err)
	}
	for addr, want := range map[string]string{
		"127.0.0.1:80":          "changed to 127.0.0.1",
		"[::ffff:127.0.0.1]:80": "changed to 127.0.0.1",
		"127.0.0.2:9":           "does not connect to itself",
	} {
		err := ctl("tcp", addr, nil)
		if !errors.Is(err, ErrBlocked) || !strings.Contains(Reason(err), want) {
			t.Errorf("control(%s) = %v, want %q", addr, err, want)
		}
	}
	// Through a real socket: the hook runs before connect, so nothing connects.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan struct{}, 1)
	go func() {
		if c, err := ln.Accept(); err == nil {
			accepted <- struct{}{}
			c.Close()
		}
	}()
	nd := &net.Dialer{Control: ctl}
	if _, err := nd.DialContext(context.Background(), "tcp", ln.Addr().String()); !errors.Is(err, ErrBlocked) {
		t.Fatalf("dial = %v, want ErrBlocked", err)
	}
	select {
	case <-accepted:
		t.Fatal("the refused address was connected")
	case <-time.After(100 * time.Millisecond):
	}
}

func TestProxyDoesNotConnectToItself(t *testing.T) {
	allow, _ := ParseAllowList("127.0.0.0/8")
	c, refusals, proxyURL, _ := proxied(t, NewPolicy(allow, nil))
	res, err := c.Get(proxyURL + "/")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusForbidden {
		t.Fatalf("got %d, want 403", res.StatusCode)
	}
	if r := <-refusals; !strings.Contains(r.Reason, "itself") {
		t.Fatalf("refusal %+v", r)
	}
}

func TestReleaseEndsTunnelsAndListener(t *testing.T) {
	echo, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer echo.Close()
	go func() {
		for {
			c, err := echo.Accept()
			if err != nil {
				return
			}
			go func() { io.Copy(c, c); c.Close() }()
		}
	}()
	allow, _ := ParseAllowList(echo.Addr().String())
	_, _, proxyURL, release := proxied(t, NewPolicy(allow, nil))
	conn, err := net.Dial("tcp", strings.TrimPrefix(proxyURL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	io.WriteString(conn, "CONNECT "+echo.Addr().String()+" HTTP/1.1\r\nHost: "+echo.Addr().String()+"\r\n\r\nping")
	buf := make([]byte, 64)
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	var got string
	for !strings.HasSuffix(got, "ping") {
		n, err := conn.Read(buf)
		if err != nil {
			t.Fatalf("tunnel: %v (got %q)", err, got)
		}
		got += string(buf[:n])
	}
	if !strings.HasPrefix(got, "HTTP/1.1 200") {
		t.Fatalf("got %q", got)
	}
	release()
	release() // idempotent
	if _, err := conn.Read(buf); err == nil {
		t.Fatal("tunnel still open after release")
	}
	if c, err := net.DialTimeout("tcp", strings.TrimPrefix(proxyURL, "http://"), 2*time.Second); err == nil {
		c.Close()
		t.Fatal("listener still open after release")
	}
}
