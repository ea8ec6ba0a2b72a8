package stream

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"github.com/gorilla/websocket"
)

// Upgrader turns HTTP requests into Conns. It is safe for concurrent use.
type Upgrader struct {
	opts    Options
	log     *slog.Logger
	anyOK   bool
	allowed map[string]bool // normalised scheme://host[:port]
	ws      websocket.Upgrader
}

// NewUpgrader returns an Upgrader with opts, defaults filled in.
func NewUpgrader(opts Options) *Upgrader {
	opts = opts.withDefaults()
	u := &Upgrader{opts: opts, log: opts.Logger, allowed: map[string]bool{}}
	for _, o := range opts.AllowedOrigins {
		if o == "*" {
			u.anyOK = true
			continue
		}
		u.allowed[normOrigin(o)] = true
	}
	u.ws = websocket.Upgrader{
		HandshakeTimeout:  opts.WriteTimeout,
		ReadBufferSize:    4 << 10,
		WriteBufferPool:   &sync.Pool{},                             // text writes borrow a buffer; idle viewers hold none
		EnableCompression: false,                                    // frames are JPEG: compressing them wastes CPU
		CheckOrigin:       func(*http.Request) bool { return true }, // checked before, in Upgrade
		Error: func(w http.ResponseWriter, _ *http.Request, status int, reason error) {
			writeError(w, status, "bad_request", reason.Error())
		},
	}
	return u
}

// Upgrade checks the Origin (answering 403 with a JSON error when refused, before any
// upgrade) and upgrades the connection with compression off. On error the response has
// been written.
func (u *Upgrader) Upgrade(w http.ResponseWriter, r *http.Request) (*Conn, error) {
	if !u.originOK(r) {
		origin := r.Header.Get("Origin")
		u.log.Info("websocket origin refused", "origin", origin, "host", r.Host, "remote", r.RemoteAddr)
		writeError(w, http.StatusForbidden, "forbidden", "origin "+origin+" is not allowed")
		return nil, fmt.Errorf("%w: %q", ErrOriginNotAllowed, origin)
	}
	ws, err := u.ws.Upgrade(w, r, nil)
	if err != nil {
		return nil, fmt.Errorf("stream: upgrade: %w", err)
	}
	return newConn(ws, u.opts, r.RemoteAddr), nil
}

// originOK accepts a missing Origin (not a browser, so no cross-site hijacking), the
// server's own origin, and the configured ones.
func (u *Upgrader) originOK(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" || u.anyOK {
		return true
	}
	o := normOrigin(origin)
	return o == normOrigin(requestScheme(r)+"://"+r.Host) || u.allowed[o]
}

// requestScheme is the scheme the client used; behind a TLS-terminating proxy that is
// X-Forwarded-Proto.
func requestScheme(r *http.Request) string {
	if r.TLS != nil {
		return "https"
	}
	if p := r.Header.Get("X-Forwarded-Proto"); p != "" {
		p, _, _ = strings.Cut(p, ",")
		return strings.ToLower(strings.TrimSpace(p))
	}
	return "http"
}

// normOrigin lowercases scheme and host and drops default ports and any path, so
// "HTTPS://Example.org:443/" and "https://example.org" compare equal.
func normOrigin(s string) string {
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

// httpError is the JSON body of a refused upgrade, shaped like the REST API's errors.
type httpError struct {
	Error   string `json:"error"`
	Message string `json:"message"`
}

func writeError(w http.ResponseWriter, status int, code, message string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(httpError{Error: code, Message: message})
}
