package webguard

import (
	"net/http"
	"net/url"
	"strings"
)

// Origins decides which browser origins may call the server: its own and a configured
// list. It is safe for concurrent use.
type Origins struct {
	any     bool
	allowed map[string]bool // normalised scheme://host[:port]
}

// NewOrigins accepts the server's own origin and each of allowed ("*" accepts any).
func NewOrigins(allowed []string) *Origins {
	o := &Origins{allowed: map[string]bool{}}
	for _, a := range allowed {
		if strings.TrimSpace(a) == "*" {
			o.any = true
			continue
		}
		o.allowed[NormOrigin(a)] = true
	}
	return o
}

// Allowed accepts a request without Origin (not a browser, so nothing cross-site), one
// from the server's own origin and one from a configured origin.
func (o *Origins) Allowed(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" || o.any {
		return true
	}
	n := NormOrigin(origin)
	return n == NormOrigin(RequestScheme(r)+"://"+r.Host) || o.allowed[n]
}

// Hosts lists the host names of the configured origins, for a HostPolicy.
func (o *Origins) Hosts() []string {
	var out []string
	for a := range o.allowed {
		if u, err := url.Parse(a); err == nil && u.Hostname() != "" {
			out = append(out, u.Hostname())
		}
	}
	return out
}

// RequestScheme is the scheme the client used; behind a TLS-terminating proxy that is
// X-Forwarded-Proto.
func RequestScheme(r *http.Request) string {
	if r.TLS != nil {
		return "https"
	}
	if p := r.Header.Get("X-Forwarded-Proto"); p != "" {
		p, _, _ = strings.Cut(p, ",")
		return strings.ToLower(strings.TrimSpace(p))
	}
	return "http"
}

// NormOrigin lowercases scheme and host and drops default ports and any path, so
// "HTTPS://Example.org:443/" and "https://example.org" compare equal.
func NormOrigin(s string) string {
	p, err := url.Parse(strings.TrimSpace(s))
	if err != nil || p.Scheme == "" || p.Host == "" {
		return strings.ToLower(strings.TrimSpace(s))
	}
	scheme := strings.ToLower(p.Scheme)
	host, port := strings.ToLower(p.Hostname()), p.Port()
	if (scheme == "http" && port == "80") || (scheme == "https" && port == "443") {
		port = ""
	}
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if port != "" {
		host += ":" + port
	}
	return scheme + "://" + host
}
