package webguard

import (
	"net"
	"net/netip"
	"strings"
)

// HostPolicy decides which Host headers the server answers. DNS rebinding points an
// attacker's name at the server's address; the browser then treats the server as the
// attacker's own origin, so an Origin check alone passes. The name in Host gives it
// away: only names the server is known by, and addresses (which cannot be rebound),
// are answered.
type HostPolicy struct {
	names map[string]bool // lower case, without port
}

// NewHostPolicy answers for localhost, any IP address, and each of names (host names,
// host:port or URLs such as the public URL; empty entries are ignored).
func NewHostPolicy(names ...string) *HostPolicy {
	p := &HostPolicy{names: map[string]bool{"localhost": true}}
	for _, n := range names {
		if h := hostOnly(n); h != "" {
			p.names[h] = true
		}
	}
	return p
}

// Allowed reports whether the server answers for host (a Host header: name or address,
// with or without port).
func (p *HostPolicy) Allowed(host string) bool {
	h := hostOnly(host)
	if h == "" {
		return false
	}
	if _, err := netip.ParseAddr(h); err == nil {
		return true
	}
	// localhost and its subdomains resolve to loopback by definition (RFC 6761), and
	// browsers never ask DNS for them.
	if h == "localhost" || strings.HasSuffix(h, ".localhost") {
		return true
	}
	return p.names[h]
}

// hostOnly is the lower-case host of a Host header, host:port, bracketed IPv6 or URL,
// without a trailing dot.
func hostOnly(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	if i := strings.Index(s, "://"); i >= 0 {
		s = s[i+3:]
		if j := strings.IndexAny(s, "/?#"); j >= 0 {
			s = s[:j]
		}
		if j := strings.LastIndex(s, "@"); j >= 0 {
			s = s[j+1:]
		}
	}
	if h, _, err := net.SplitHostPort(s); err == nil {
		s = h
	}
	s = strings.TrimSuffix(strings.TrimPrefix(strings.TrimSuffix(s, "]"), "["), ".")
	return s
}
