package egress

import (
	"context"
	"errors"
	"fmt"
	"html"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"
)

// sessionProxy serves one session's listener.
type sessionProxy struct {
	p         *Proxy
	id        string
	onRefused func(Refusal)
	ctx       context.Context // ends at release
	log       *slog.Logger
	srv       *http.Server
	transport *http.Transport
	stop      func()
}

func (sp *sessionProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodConnect {
		sp.connect(w, r)
		return
	}
	if !r.URL.IsAbs() || r.URL.Host == "" {
		http.Error(w, "Tandem's egress proxy serves proxy requests only.", http.StatusBadRequest)
		return
	}
	if !strings.EqualFold(r.URL.Scheme, "http") {
		sp.refuse(w, r, &BlockedError{Host: r.URL.Hostname(), Reason: "only http and https addresses are allowed, not " + r.URL.Scheme})
		return
	}
	sp.forward(w, r)
}

// connect tunnels https, wss and ws: Chromium sends all three through CONNECT.
func (sp *sessionProxy) connect(w http.ResponseWriter, r *http.Request) {
	target := r.Host
	if target == "" {
		target = r.URL.Host
	}
	if _, _, err := net.SplitHostPort(target); err != nil {
		http.Error(w, "CONNECT needs host:port", http.StatusBadRequest)
		return
	}
	up, err := sp.p.dial.DialContext(r.Context(), "tcp", target)
	if err != nil {
		sp.fail(w, r, err)
		return
	}
	hj, ok := w.(http.Hijacker)
	if !ok {
		_ = up.Close()
		http.Error(w, "cannot tunnel over this connection", http.StatusInternalServerError)
		return
	}
	down, buf, err := hj.Hijack()
	if err != nil {
		_ = up.Close()
		return
	}
	if _, err := io.WriteString(down, "HTTP/1.1 200 Connection Established\r\n\r\n"); err != nil {
		_ = up.Close()
		_ = down.Close()
		return
	}
	// Bytes the client sent early (a TLS ClientHello) may sit in buf.
	if n := buf.Reader.Buffered(); n > 0 {
		early, _ := buf.Reader.Peek(n)
		if _, err := up.Write(early); err != nil {
			_ = up.Close()
			_ = down.Close()
			return
		}
	}
	stop := context.AfterFunc(sp.ctx, func() { _ = up.Close(); _ = down.Close() })
	defer stop()
	done := make(chan struct{}, 2)
	pipe := func(dst, src net.Conn) {
		_, _ = io.Copy(dst, src)
		if tc, ok := dst.(interface{ CloseWrite() error }); ok {
			_ = tc.CloseWrite()
		}
		done <- struct{}{}
	}
	go pipe(up, down)
	go pipe(down, up)
	<-done
	<-done
	_ = up.Close()
	_ = down.Close()
}

// hopHeaders are connection-level headers that a proxy must not forward.
var hopHeaders = []string{
	"Connection", "Keep-Alive", "Te", "Trailer", "Transfer-Encoding", "Upgrade",
}

func stripHop(h http.Header) {
	for _, f := range h.Values("Connection") {
		for _, name := range strings.Split(f, ",") {
			if name = strings.TrimSpace(name); name != "" {
				h.Del(name)
			}
		}
	}
	for _, name := range hopHeaders {
		h.Del(name)
	}
	for name := range h {
		if strings.HasPrefix(strings.ToLower(name), "proxy-") {
			delete(h, name)
		}
	}
}

// forward proxies an absolute-form plain-HTTP request through the checked
// dialer.
func (sp *sessionProxy) forward(w http.ResponseWriter, r *http.Request) {
	out := r.Clone(r.Context())
	out.RequestURI = ""
	out.URL.Scheme = "http"
	out.Host = r.URL.Host
	stripHop(out.Header)
	if r.ContentLength == 0 {
		out.Body = nil
	}
	res, err := sp.transport.RoundTrip(out)
	if err != nil {
		sp.fail(w, r, err)
		return
	}
	defer res.Body.Close()
	stripHop(res.Header)
	for k, vs := range res.Header {
		w.Header()[k] = vs
	}
	w.WriteHeader(res.StatusCode)
	rc := http.NewResponseController(w)
	bufp := make([]byte, 32<<10)
	for {
		n, err := res.Body.Read(bufp)
		if n > 0 {
			if _, werr := w.Write(bufp[:n]); werr != nil {
				return
			}
			_ = rc.Flush()
		}
		if err != nil {
			return
		}
	}
}

// fail answers a failed connection: 403 for a refusal, 502 otherwise.
func (sp *sessionProxy) fail(w http.ResponseWriter, r *http.Request, err error) {
	var be *BlockedError
	if errors.As(err, &be) {
		sp.refuse(w, r, be)
		return
	}
	sp.log.Debug("egress connection failed", "target", r.Host, "err", err)
	http.Error(w, "Tandem's egress proxy could not reach "+r.Host+".", http.StatusBadGateway)
}

func (sp *sessionProxy) refuse(w http.ResponseWriter, r *http.Request, be *BlockedError) {
	addr := ""
	if be.Addr.IsValid() {
		addr = be.Addr.String()
	}
	host := be.Host
	if host == "" {
		host, _, _ = net.SplitHostPort(r.Host)
	}
	sp.log.Info("egress refused", "host", host, "addr", addr, "reason", be.Reason)
	if sp.onRefused != nil {
		sp.onRefused(Refusal{Host: host, Addr: addr, Target: r.Host, Reason: be.Reason, Time: time.Now()})
	}
	msg := "Blocked by Tandem's egress policy: " + be.Reason
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	if strings.Contains(r.Header.Get("Accept"), "text/html") {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(http.StatusForbidden)
		fmt.Fprintf(w, "<!doctype html><title>Blocked</title><p>%s</p>\n", html.EscapeString(msg))
		return
	}
	http.Error(w, msg, http.StatusForbidden)
}
