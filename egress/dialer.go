package egress

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"syscall"
	"time"
)

// dialer makes every outbound connection of the proxy. It resolves the name
// itself, checks every answer, and connects to a checked address; the
// socket's Control hook checks the exact address once more just before
// connect, so nothing between the check and the connection can swap it.
type dialer struct {
	policy  *Policy
	timeout time.Duration
	self    func(netip.AddrPort) bool // the proxy's own listeners
}

// DialContext connects to addr ("host:port") if the policy allows it.
func (d *dialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	host, ps, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", addr, err)
	}
	port, err := strconv.Atoi(ps)
	if err != nil || port < 1 || port > 65535 {
		return nil, &BlockedError{Host: host, Reason: "the port " + ps + " is not valid"}
	}
	ips, err := d.policy.Check(ctx, host, port)
	if err != nil {
		return nil, err
	}
	name, _ := canonicalHost(host)
	var first error
	for _, ip := range ips {
		nd := &net.Dialer{Timeout: d.timeout, Control: d.control(name, ip)}
		conn, err := nd.DialContext(ctx, "tcp", netip.AddrPortFrom(ip, uint16(port)).String())
		if err == nil {
			return conn, nil
		}
		if errors.Is(err, ErrBlocked) || ctx.Err() != nil {
			return nil, err
		}
		if first == nil {
			first = err
		}
	}
	return nil, first
}

// control re-checks the address the socket is about to connect to. It must
// be the pinned, checked one, and the policy must still allow it.
func (d *dialer) control(name string, pinned netip.Addr) func(network, address string, c syscall.RawConn) error {
	return func(network, address string, _ syscall.RawConn) error {
		ap, err := netip.ParseAddrPort(address)
		if err != nil {
			return &BlockedError{Host: name, Reason: "cannot read the address " + address}
		}
		ip := ap.Addr().WithZone("").Unmap()
		if ip != pinned {
			return &BlockedError{Host: name, Addr: ip, Reason: fmt.Sprintf("%s changed to %s while connecting", name, ip)}
		}
		if d.self != nil && d.self(netip.AddrPortFrom(ip, ap.Port())) {
			return &BlockedError{Host: name, Addr: ip, Reason: "the egress proxy does not connect to itself"}
		}
		return d.policy.AllowAddr(name, ip, int(ap.Port()))
	}
}
