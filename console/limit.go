package console

import (
	"net"
	"net/netip"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Sign-in attempts allowed. Per name, 5 a minute keeps guessing one agent's password
// hopeless while a person who mistypes still gets in. Per source address the allowance
// is larger because a support team often shares one office NAT address; it still
// stops one machine from trying many names.
var (
	perName = quota{every: time.Minute / 5, burst: 5}
	perAddr = quota{every: time.Minute / 20, burst: 20}
)

// Across a cluster, wrong passwords are also counted per name and per address on every
// node together: a name with strikeName.allow wrong passwords within strikeName.window
// is locked out for strikeName.lockOut, whichever nodes the attempts went to.
var (
	strikeName = strikeQuota{allow: 10, window: 10 * time.Minute, lockOut: 5 * time.Minute}
	strikeAddr = strikeQuota{allow: 40, window: 10 * time.Minute, lockOut: 10 * time.Minute}
)

type strikeQuota struct {
	allow           int
	window, lockOut time.Duration
}

// strikeKeys are the keys a sign-in's failures count against in Strikes.
func strikeKeys(addr, name string) [2]string {
	return [2]string{"signin-name:" + name, "signin-addr:" + addr}
}

type quota struct {
	every time.Duration // one more attempt per every
	burst int
}

// buckets is one token bucket per key, for one quota.
type buckets struct {
	q         quota
	mu        sync.Mutex
	m         map[string]*bucket
	lastSweep time.Time
}

type bucket struct {
	lim  *rate.Limiter
	seen time.Time
}

func newBuckets(q quota) *buckets { return &buckets{q: q, m: map[string]*bucket{}} }

// reserve takes one attempt for key at now. The caller cancels the reservation if
// the attempt is refused for another reason, so a refused attempt costs nothing.
func (b *buckets) reserve(key string, now time.Time) *rate.Reservation {
	b.mu.Lock()
	defer b.mu.Unlock()
	// A bucket left alone for the time it takes to refill is the same as a new one,
	// so dropping it forgets nothing; this keeps the map as small as recent traffic.
	idle := b.q.every * time.Duration(b.q.burst)
	if now.Sub(b.lastSweep) >= idle {
		for k, v := range b.m {
			if now.Sub(v.seen) >= idle {
				delete(b.m, k)
			}
		}
		b.lastSweep = now
	}
	bk, ok := b.m[key]
	if !ok {
		bk = &bucket{lim: rate.NewLimiter(rate.Every(b.q.every), b.q.burst)}
		b.m[key] = bk
	}
	bk.seen = now
	return bk.lim.ReserveN(now, 1)
}

// attempts limits sign-in attempts by source address and by name.
type attempts struct {
	addrs, names *buckets
}

func newAttempts() *attempts {
	return &attempts{addrs: newBuckets(perAddr), names: newBuckets(perName)}
}

// allow takes one attempt from addr and from name, or none and reports how long to
// wait before the next one may go through.
func (a *attempts) allow(addr, name string, now time.Time) (bool, time.Duration) {
	ra := a.addrs.reserve(addr, now)
	rn := a.names.reserve(name, now)
	wait := max(ra.DelayFrom(now), rn.DelayFrom(now))
	if wait == 0 {
		return true, 0
	}
	ra.CancelAt(now)
	rn.CancelAt(now)
	return false, wait
}

// addrKey is the key a request's source is limited by: its address from RemoteAddr
// (the server does not trust X-Forwarded-For, which anyone can write), and for IPv6
// the /64, since one host commonly holds a whole /64.
func addrKey(remoteAddr string) string {
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		host = remoteAddr
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	ip = ip.Unmap().WithZone("")
	if ip.Is6() {
		p, _ := ip.Prefix(64)
		return p.String()
	}
	return ip.String()
}

// nameKey folds the variants of one name together so case or spaces do not buy more
// attempts, and caps its length so junk names cannot bloat the map.
func nameKey(name string) string {
	n := strings.ToLower(strings.TrimSpace(name))
	if len(n) > 64 {
		n = n[:64]
	}
	return n
}
