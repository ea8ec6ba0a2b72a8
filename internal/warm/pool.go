// Package warm keeps a few ready-made, never-used resources, so a request takes one at
// once instead of waiting for it to be made. Each item is handed out at most once: a
// pool never takes an item back, so nothing of one user can reach the next.
package warm

import (
	"context"
	"errors"
	"log/slog"
	"time"
)

// ErrClosed is returned by Get once the pool is closed.
var ErrClosed = errors.New("warm pool closed")

// Params configure a Pool of T.
type Params[T any] struct {
	// Size is how many ready items the pool keeps; 0 makes every Get make its own.
	Size int
	// Make makes one item; the pool bounds it with MakeTimeout.
	Make func(ctx context.Context) (T, error)
	// Alive reports whether a ready item can still be handed out (its Chromium may have
	// gone); nil means always.
	Alive func(T) bool
	// Discard frees an item that is not handed out.
	Discard func(T)
	// MakeTimeout bounds each Make; 0 = 30 s.
	MakeTimeout time.Duration
	// Backoff is the first pause after a failed Make; it doubles up to 30 s. 0 = 1 s.
	Backoff time.Duration
	// RefillDelay is how long after a Get the pool waits before making a replacement
	// while it still holds a ready item: the item just taken is being put to use then,
	// and making another at once would compete with it for the machine.
	RefillDelay time.Duration
	Logger      *slog.Logger
	// OnTake, if set, is told whether each Get was served warm (for metrics).
	OnTake func(warm bool)
}

// Pool hands out ready items and makes new ones in the background, one at a time.
type Pool[T any] struct {
	p      Params[T]
	ready  chan T        // the filler's output, at most Size
	wake   chan struct{} // a Get took one: make another
	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}
}

// New starts a pool that fills itself until ctx ends or Close.
func New[T any](ctx context.Context, p Params[T]) *Pool[T] {
	if p.MakeTimeout <= 0 {
		p.MakeTimeout = 30 * time.Second
	}
	if p.Backoff <= 0 {
		p.Backoff = time.Second
	}
	if p.Logger == nil {
		p.Logger = slog.Default()
	}
	pl := &Pool[T]{p: p, ready: make(chan T, max(p.Size, 0)), wake: make(chan struct{}, 1), done: make(chan struct{})}
	pl.ctx, pl.cancel = context.WithCancel(ctx)
	if p.Size > 0 {
		go pl.fill()
	} else {
		close(pl.done)
	}
	return pl
}

// Get hands out a ready item if one is alive, or else makes one within ctx.
func (pl *Pool[T]) Get(ctx context.Context) (T, error) {
	for {
		var it T
		select {
		case it = <-pl.ready:
		default:
			var zero T
			if pl.ctx.Err() != nil {
				return zero, ErrClosed
			}
			pl.took(false)
			return pl.p.Make(ctx)
		}
		pl.poke()
		if pl.p.Alive != nil && !pl.p.Alive(it) {
			pl.discard(it)
			continue
		}
		pl.took(true)
		return it, nil
	}
}

func (pl *Pool[T]) took(warm bool) {
	if pl.p.OnTake != nil {
		pl.p.OnTake(warm)
	}
}

func (pl *Pool[T]) poke() {
	select {
	case pl.wake <- struct{}{}:
	default:
	}
}

// fill owns the making: it keeps ready full, one Make at a time so a burst of sessions
// does not also pay for a burst of warm-ups.
func (pl *Pool[T]) fill() {
	defer close(pl.done)
	pause := pl.p.Backoff
	for {
		if len(pl.ready) < cap(pl.ready) {
			ctx, cancel := context.WithTimeout(pl.ctx, pl.p.MakeTimeout)
			it, err := pl.p.Make(ctx)
			cancel()
			if err != nil {
				if pl.ctx.Err() != nil {
					return
				}
				pl.p.Logger.Warn("warming a tab failed; retrying", "err", err, "in", pause)
				select {
				case <-pl.ctx.Done():
					return
				case <-time.After(pause):
				}
				pause = min(2*pause, 30*time.Second)
				continue
			}
			pause = pl.p.Backoff
			select {
			case pl.ready <- it:
			default: // cannot happen: only fill adds, and it checked the room
				pl.discard(it)
			}
			if pl.ctx.Err() != nil {
				pl.drain()
				return
			}
			continue
		}
		select {
		case <-pl.ctx.Done():
			pl.drain()
			return
		case <-pl.wake:
		}
		if !pl.settle() {
			pl.drain()
			return
		}
	}
}

// settle waits RefillDelay after a Get while an item is still ready, and no longer once
// a Get takes the last one. It reports false when the pool is closing.
func (pl *Pool[T]) settle() bool {
	if pl.p.RefillDelay <= 0 || len(pl.ready) == 0 {
		return pl.ctx.Err() == nil
	}
	timer := time.NewTimer(pl.p.RefillDelay)
	defer timer.Stop()
	for len(pl.ready) > 0 {
		select {
		case <-pl.ctx.Done():
			return false
		case <-timer.C:
			return true
		case <-pl.wake:
		}
	}
	return true
}

func (pl *Pool[T]) discard(it T) {
	if pl.p.Discard != nil {
		pl.p.Discard(it)
	}
}

func (pl *Pool[T]) drain() {
	for {
		select {
		case it := <-pl.ready:
			pl.discard(it)
		default:
			return
		}
	}
}

// Ready is how many items are ready now.
func (pl *Pool[T]) Ready() int { return len(pl.ready) }

// Close stops the filling and discards the ready items; later Gets fail with ErrClosed.
func (pl *Pool[T]) Close() {
	pl.cancel()
	<-pl.done
	pl.drain()
}
