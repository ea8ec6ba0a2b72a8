package egress

import (
	"math"
	"net/netip"
	"strconv"
	"strings"
)

// canonicalHost lower-cases host, drops a trailing dot and brackets, and
// reads IPv4 addresses the way browsers do (WHATWG URL): "2130706433",
// "0x7f000001", "0177.0.0.1" and "127.1" are all 127.0.0.1. ip is valid
// when host is an address literal.
func canonicalHost(host string) (name string, ip netip.Addr) {
	h := strings.ToLower(strings.TrimSpace(host))
	if strings.HasPrefix(h, "[") && strings.HasSuffix(h, "]") {
		h = h[1 : len(h)-1]
	}
	if a, err := netip.ParseAddr(h); err == nil {
		return a.String(), a.WithZone("")
	}
	h = strings.TrimSuffix(h, ".")
	if a, ok := parseWebIPv4(h); ok {
		return a.String(), a
	}
	return h, netip.Addr{}
}

// parseWebIPv4 is the WHATWG IPv4 parser: one to four parts, each decimal,
// octal (leading 0) or hex (0x); the last part fills the remaining bytes.
func parseWebIPv4(h string) (netip.Addr, bool) {
	parts := strings.Split(h, ".")
	if len(parts) == 0 || len(parts) > 4 {
		return netip.Addr{}, false
	}
	nums := make([]uint64, len(parts))
	for i, p := range parts {
		n, ok := parseWebIPv4Part(p)
		if !ok {
			return netip.Addr{}, false
		}
		nums[i] = n
	}
	for _, n := range nums[:len(nums)-1] {
		if n > 255 {
			return netip.Addr{}, false
		}
	}
	last := nums[len(nums)-1]
	if last >= uint64(math.Pow(256, float64(5-len(nums)))) {
		return netip.Addr{}, false
	}
	v := last
	for i, n := range nums[:len(nums)-1] {
		v += n << (8 * (3 - i))
	}
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}), true
}

func parseWebIPv4Part(p string) (uint64, bool) {
	if p == "" {
		return 0, false
	}
	base := 10
	switch {
	case len(p) >= 2 && (p[:2] == "0x" || p[:2] == "0X"):
		p, base = p[2:], 16
		if p == "" {
			return 0, true
		}
	case len(p) >= 2 && p[0] == '0':
		p, base = p[1:], 8
	}
	n, err := strconv.ParseUint(p, base, 64)
	if err != nil || strings.ContainsAny(p, "+-_") {
		return 0, false
	}
	return n, true
}
