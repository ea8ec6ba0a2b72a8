package egress

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"time"
)

// Refusal is one connection the policy refused, reported to its session.
type Refusal struct {
	Host   string    // the host as requested
	Addr   string    // the refused address, "" when the request itself was refused
	Target string    // host:port as requested
	Reason string    // human reason: "127.0.0.1 is a loopback address"
	Time   time.Time // when
}

// ProxyOptions configure a Proxy.
type ProxyOptions struct {
	DialTimeout time.Duration // 0 = 15s
	Logger      *slog.Logger
}

// Proxy is the HTTP forward proxy every session's browser context goes
// through. Each session gets a listener of its own on 127.0.0.1, so a
// refusal is reported to the session that caused it.
type Proxy struct {
	policy *Policy
	log    *slog.Logger
	dial   *dialer

	mu     sync.Mutex
	self   map[netip.AddrPort]bool // addresses of the live session listeners
	closes map[*sessionProxy]bool
	closed bool
}

// NewProxy returns a proxy that enforces policy.
func NewProxy(policy *Policy, o ProxyOptions) *Proxy {
	if o.DialTimeout <= 0 {
		o.DialTimeout = 15 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	p := &Proxy{
		policy: policy,
		log:    o.Logger.With("component", "egress"),
		self:   map[netip.AddrPort]bool{},
		closes: map[*sessionProxy]bool{},
	}
	p.dial = &dialer{policy: policy, timeout: o.DialTimeout, self: p.isSelf}
	return p
}

// Policy returns the policy the proxy enforces.
func (p *Proxy) Policy() *Policy { return p.policy }

func (p *Proxy) isSelf(ap netip.AddrPort) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.self[ap]
}

// Session opens a listener for session id and returns its proxy URL
// ("http://127.0.0.1:port") for Chromium. onRefused (may be nil) hears of
// every refused connection; it must not block. release closes the listener
// and every connection through it; it is idempotent.
func (p *Proxy) Session(id string, onRefused func(Refusal)) (proxyURL string, release func(), err error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, fmt.Errorf("egress proxy for session %s: %w", id, err)
	}
	ap := ln.Addr().(*net.TCPAddr).AddrPort()
	ctx, cancel := context.WithCancel(context.Background())
	sp := &sessionProxy{p: p, id: id, onRefused: onRefused, ctx: ctx, log: p.log.With("session", id)}
	sp.transport = &http.Transport{
		DialContext:           p.dial.DialContext,
		Proxy:                 nil, // never chain to an environment proxy
		DisableCompression:    true,
		MaxIdleConns:          32,
		IdleConnTimeout:       30 * time.Second,
		ResponseHeaderTimeout: 60 * time.Second,
		ForceAttemptHTTP2:     false,
	}
	sp.srv = &http.Server{
		Handler:           sp,
		ReadHeaderTimeout: 30 * time.Second,
		ErrorLog:          slog.NewLogLogger(sp.log.Handler(), slog.LevelDebug),
		BaseContext:       func(net.Listener) context.Context { return ctx },
	}

	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		cancel()
		_ = ln.Close()
		return "", nil, fmt.Errorf("egress proxy for session %s: %w", id, net.ErrClosed)
	}
	p.self[ap] = true
	p.closes[sp] = true
	p.mu.Unlock()

	served := make(chan struct{})
	go func() {
		defer close(served)
		if err := sp.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			sp.log.Warn("egress proxy stopped", "err", err)
		}
	}()
	var once sync.Once
	sp.stop = func() {
		once.Do(func() {
			cancel() // ends the tunnels, which the server does not track
			_ = sp.srv.Close()
			<-served
			sp.transport.CloseIdleConnections()
			p.mu.Lock()
			delete(p.self, ap)
			delete(p.closes, sp)
			p.mu.Unlock()
		})
	}
	return "http://" + ap.String(), sp.stop, nil
}

// Close releases every session listener; later Session calls fail.
func (p *Proxy) Close() {
	p.mu.Lock()
	p.closed = true
	all := make([]*sessionProxy, 0, len(p.closes))
	for sp := range p.closes {
		all = append(all, sp)
	}
	p.mu.Unlock()
	for _, sp := range all {
		sp.stop()
	}
}
