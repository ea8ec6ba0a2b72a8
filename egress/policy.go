// Package egress decides where a session's browser may connect: a default-deny
// of loopback, private, link-local and other internal addresses, opened by an
// operator's allow list, enforced by a forward proxy whose dialer checks the
// resolved address it actually connects to.
package egress

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
)

// Resolver resolves host names; *net.Resolver implements it. Tests inject
// their own to play DNS rebinding.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// AllowEntry is one allow-list entry: a host name, an address, or a CIDR
// prefix, optionally restricted to a port.
type AllowEntry struct {
	Host   string       // a host name (lower case, no trailing dot), or ""
	Prefix netip.Prefix // an address (/32, /128) or CIDR prefix, when Host is ""
	Port   int          // 0 = any port
}

func (e AllowEntry) String() string {
	s := e.Host
	if s == "" {
		s = e.Prefix.String()
		if e.Prefix.IsSingleIP() {
			s = e.Prefix.Addr().String()
		}
	}
	if e.Port != 0 {
		return net.JoinHostPort(s, strconv.Itoa(e.Port))
	}
	return s
}

// ParseAllowList reads comma-separated entries: "host:port", "host", or a
// CIDR prefix ("10.0.0.5:8443, intranet.local, 192.168.7.0/24"). Blank
// entries are skipped.
func ParseAllowList(s string) ([]AllowEntry, error) {
	var out []AllowEntry
	for _, raw := range strings.Split(s, ",") {
		raw = strings.TrimSpace(raw)
		if raw == "" {
			continue
		}
		e, err := ParseAllowEntry(raw)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, nil
}

// ParseAllowEntry reads one allow-list entry.
func ParseAllowEntry(raw string) (AllowEntry, error) {
	bad := func(why string) (AllowEntry, error) {
		return AllowEntry{}, fmt.Errorf("%w %q: %s", ErrBadAllowEntry, raw, why)
	}
	s := strings.TrimSpace(raw)
	if s == "" {
		return bad("empty")
	}
	if strings.Contains(s, "://") || strings.ContainsAny(s, " @?#") {
		return bad("want host, host:port or CIDR, not a URL")
	}
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return bad("not a CIDR prefix")
		}
		return AllowEntry{Prefix: p.Masked()}, nil
	}
	host, port := s, 0
	if h, ps, err := net.SplitHostPort(s); err == nil {
		n, perr := strconv.Atoi(ps)
		if perr != nil || n < 1 || n > 65535 {
			return bad("port must be 1-65535")
		}
		host, port = h, n
	} else if strings.Count(s, ":") == 1 || strings.HasPrefix(s, "[") {
		return bad(err.Error())
	}
	name, ip := canonicalHost(host)
	if ip.IsValid() {
		return AllowEntry{Prefix: netip.PrefixFrom(ip, ip.BitLen()), Port: port}, nil
	}
	if !validHostName(name) {
		return bad("not a host name")
	}
	return AllowEntry{Host: name, Port: port}, nil
}

func validHostName(h string) bool {
	if h == "" || len(h) > 253 {
		return false
	}
	for _, label := range strings.Split(h, ".") {
		if label == "" || len(label) > 63 {
			return false
		}
		for _, c := range label {
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return true
}

// Policy is the egress policy of a server: default-deny of internal
// addresses, opened by the allow list. It is immutable and safe for
// concurrent use.
type Policy struct {
	allow    []AllowEntry
	resolver Resolver
}

// NewPolicy returns a policy with the given allow list. A nil resolver is
// net.DefaultResolver.
func NewPolicy(allow []AllowEntry, r Resolver) *Policy {
	if r == nil {
		r = net.DefaultResolver
	}
	return &Policy{allow: append([]AllowEntry(nil), allow...), resolver: r}
}

// Allow returns the allow list.
func (p *Policy) Allow() []AllowEntry { return append([]AllowEntry(nil), p.allow...) }

// AllowAddr decides a connection to ip:port for host, the name as
// requested. It returns nil or a *BlockedError (wrapping ErrBlocked).
func (p *Policy) AllowAddr(host string, ip netip.Addr, port int) error {
	name, _ := canonicalHost(host)
	ip = ip.WithZone("").Unmap()
	if p.allowed(name, ip, port) {
		return nil
	}
	kind := classify(ip)
	if kind == "" {
		return nil
	}
	who := ip.String()
	if name != "" && name != who {
		who = name + " (" + who + ")"
	}
	return &BlockedError{Host: name, Addr: ip, Reason: who + " is " + kind}
}

// allowed reports whether an allow-list entry opens the destination: a name
// entry matches the name as requested, whatever it resolves to; an address
// or CIDR entry matches the resolved address.
func (p *Policy) allowed(name string, ip netip.Addr, port int) bool {
	for _, e := range p.allow {
		if e.Port != 0 && e.Port != port {
			continue
		}
		if e.Host != "" {
			if e.Host == name {
				return true
			}
			continue
		}
		if e.Prefix.Contains(ip) {
			return true
		}
		if v4, ok := embeddedV4(ip); ok && e.Prefix.Contains(v4) {
			return true
		}
	}
	return false
}

// Resolve returns every address host stands for, after browser-style
// canonicalisation of address literals.
func (p *Policy) Resolve(ctx context.Context, host string) (string, []netip.Addr, error) {
	name, ip := canonicalHost(host)
	if ip.IsValid() {
		return name, []netip.Addr{ip}, nil
	}
	if name == "" {
		return name, nil, fmt.Errorf("resolving %q: empty host", host)
	}
	ips, err := p.resolver.LookupNetIP(ctx, "ip", name)
	if err != nil {
		return name, nil, fmt.Errorf("resolving %s: %w", name, err)
	}
	if len(ips) == 0 {
		return name, nil, fmt.Errorf("resolving %s: no addresses", name)
	}
	return name, ips, nil
}

// Check resolves host and checks every address it may stand for: one bad
// answer refuses the whole name, since the dialer could pick any of them.
func (p *Policy) Check(ctx context.Context, host string, port int) ([]netip.Addr, error) {
	name, ips, err := p.Resolve(ctx, host)
	if err != nil {
		return nil, err
	}
	for i, ip := range ips {
		ip = ip.WithZone("").Unmap()
		ips[i] = ip
		if err := p.AllowAddr(name, ip, port); err != nil {
			return nil, err
		}
	}
	return ips, nil
}

// CheckURL decides whether a session may start at rawURL: http and https
// only, then the host is resolved and every address checked. A refusal is a
// *BlockedError; a name that does not resolve is another error.
func (p *Policy) CheckURL(ctx context.Context, rawURL string) error {
	u, err := url.Parse(strings.TrimSpace(rawURL))
	if err != nil {
		return &BlockedError{Reason: "the address is not a valid URL"}
	}
	scheme := strings.ToLower(u.Scheme)
	if scheme != "http" && scheme != "https" {
		return &BlockedError{Reason: fmt.Sprintf("only http and https addresses are allowed, not %q", u.Scheme)}
	}
	if u.Host == "" {
		return &BlockedError{Reason: "the address has no host"}
	}
	port := 80
	if scheme == "https" {
		port = 443
	}
	if ps := u.Port(); ps != "" {
		n, err := strconv.Atoi(ps)
		if err != nil || n < 1 || n > 65535 {
			return &BlockedError{Host: u.Hostname(), Reason: "the port " + ps + " is not valid"}
		}
		port = n
	}
	_, err = p.Check(ctx, u.Hostname(), port)
	return err
}
