package stream

import (
	"log/slog"
	"time"
)

// Options tunes the transport. The zero value gives the limits of docs/protocol.md.
type Options struct {
	AllowedOrigins []string      // besides the server's own origin; "*" allows any
	ReadLimit      int64         // largest client message, default 64 KiB
	WriteTimeout   time.Duration // per write, default 10s
	PingInterval   time.Duration // default 20s
	PongTimeout    time.Duration // silence after which a client is dropped, default 30s
	HelloTimeout   time.Duration // default 10s
	QueueSize      int           // text messages queued per connection, default 64
	Logger         *slog.Logger
	// FrameDelivered and FrameSkipped, when set, are called for every frame written to a
	// viewer and every frame a viewer skipped because a newer one replaced it. They must
	// be cheap and safe for concurrent use (a Prometheus counter's Inc is).
	FrameDelivered, FrameSkipped func()
}

// Close codes this package sends itself; the others of docs/protocol.md belong to callers.
const (
	CloseTooSlow      = 4008
	CloseHelloTimeout = 4009 // bye "hello_timeout": connect again
	CloseShutdown     = 1001
)

// closeGrace is how long a closing connection waits for the client's close reply, so the
// socket is not reset while the bye is still in flight.
const closeGrace = time.Second

func (o Options) withDefaults() Options {
	if o.ReadLimit <= 0 {
		o.ReadLimit = 64 << 10
	}
	if o.WriteTimeout <= 0 {
		o.WriteTimeout = 10 * time.Second
	}
	if o.PingInterval <= 0 {
		o.PingInterval = 20 * time.Second
	}
	if o.PongTimeout <= 0 {
		o.PongTimeout = 30 * time.Second
	}
	if o.HelloTimeout <= 0 {
		o.HelloTimeout = 10 * time.Second
	}
	if o.QueueSize <= 0 {
		o.QueueSize = 64
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}
