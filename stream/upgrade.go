package stream

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"sync"

	"github.com/gorilla/websocket"

	"github.com/tandem-cobrowse/tandem/internal/webguard"
)

// Upgrader turns HTTP requests into Conns. It is safe for concurrent use.
type Upgrader struct {
	opts    Options
	log     *slog.Logger
	origins *webguard.Origins
	ws      websocket.Upgrader
}

// NewUpgrader returns an Upgrader with opts, defaults filled in.
func NewUpgrader(opts Options) *Upgrader {
	opts = opts.withDefaults()
	u := &Upgrader{opts: opts, log: opts.Logger, origins: webguard.NewOrigins(opts.AllowedOrigins)}
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
	if !u.origins.Allowed(r) {
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
