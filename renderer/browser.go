package renderer

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/chromedp"
)

// Browser is the one Chromium process of a server. If Chromium dies, its
// tabs end (Tab.Done) and the Browser starts a new process in the
// background; NewTab and Ping fail with ErrBrowserDown meanwhile.
type Browser struct {
	cfg      Config
	log      *slog.Logger
	execPath string

	ctx    context.Context // lifetime of the Browser: Start's ctx until Close
	cancel context.CancelFunc

	mu     sync.Mutex
	inst   *instance // nil while (re)starting or after Close
	closed bool

	supervised chan struct{} // closed when the supervisor has stopped
	closeOnce  sync.Once

	dozing atomic.Int64 // tabs whose screencast dozes (doze.go)
}

// instance is one running Chromium process.
type instance struct {
	allocCancel context.CancelFunc
	root        context.Context // chromedp context of the first tab; bound to the process
	rootCancel  context.CancelFunc
	cb          *chromedp.Browser
}

// Start finds and starts Chromium. The browser lives until ctx ends or Close
// is called.
func Start(ctx context.Context, cfg Config) (*Browser, error) {
	cfg = cfg.withDefaults()
	execPath, err := FindChromium(cfg.ExecPath)
	if err != nil {
		return nil, err
	}
	bctx, cancel := context.WithCancel(ctx)
	b := &Browser{
		cfg:        cfg,
		log:        cfg.Logger.With("component", "renderer"),
		execPath:   execPath,
		ctx:        bctx,
		cancel:     cancel,
		supervised: make(chan struct{}),
	}
	inst, err := b.startInstance()
	if err != nil {
		cancel()
		return nil, err
	}
	b.inst = inst
	go b.supervise(inst)
	b.log.Info("chromium started", "path", execPath)
	return b, nil
}

// startInstance starts one Chromium process and waits, bounded, until it
// answers.
func (b *Browser) startInstance() (*instance, error) {
	allocCtx, allocCancel := chromedp.NewExecAllocator(b.ctx, allocatorOptions(b.execPath, b.cfg)...)
	root, rootCancel := chromedp.NewContext(allocCtx)
	// The first Do binds the process to root, so it must not get a
	// per-call deadline; bound it from outside instead.
	errc := make(chan error, 1)
	go func() { errc <- chromedp.Do(root) }()
	timer := time.NewTimer(startTimeout)
	defer timer.Stop()
	var err error
	select {
	case err = <-errc:
	case <-timer.C:
		err = fmt.Errorf("no answer within %s", startTimeout)
	case <-b.ctx.Done():
		err = b.ctx.Err()
	}
	if err != nil {
		rootCancel()
		allocCancel()
		return nil, fmt.Errorf("starting chromium %s: %w", b.execPath, err)
	}
	return &instance{
		allocCancel: allocCancel,
		root:        root,
		rootCancel:  rootCancel,
		cb:          chromedp.FromContext(root).Browser,
	}, nil
}

// supervise restarts Chromium when it dies, until the Browser is closed.
func (b *Browser) supervise(inst *instance) {
	defer close(b.supervised)
	backoff := time.Second
	for {
		select {
		case <-b.ctx.Done():
			b.stopInstance(inst)
			return
		case <-inst.root.Done():
		}
		b.log.Error("chromium died; restarting")
		b.mu.Lock()
		b.inst = nil
		b.mu.Unlock()
		b.stopInstance(inst)
		for {
			next, err := b.startInstance()
			if err == nil {
				inst = next
				backoff = time.Second
				break
			}
			if b.ctx.Err() != nil {
				return
			}
			b.log.Error("restarting chromium failed", "err", err, "retry_in", backoff)
			select {
			case <-b.ctx.Done():
				return
			case <-time.After(backoff):
			}
			backoff = min(backoff*2, 30*time.Second)
		}
		b.mu.Lock()
		b.inst = inst
		b.mu.Unlock()
		b.log.Info("chromium restarted")
	}
}

// stopInstance kills Chromium if it still runs and waits for the process
// and its temporary profile directory to go.
func (b *Browser) stopInstance(inst *instance) {
	inst.rootCancel()
	inst.allocCancel()
}

// current returns the running instance or ErrBrowserDown.
func (b *Browser) current() (*instance, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed || b.inst == nil {
		return nil, ErrBrowserDown
	}
	return b.inst, nil
}

// Dozing is how many tabs have their screencast dozing at thumbnail size (doze.go).
func (b *Browser) Dozing() int { return int(b.dozing.Load()) }

// Ping is a cheap liveness check (Browser.getVersion) bounded by CallTimeout.
func (b *Browser) Ping(ctx context.Context) error {
	inst, err := b.current()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, b.cfg.CallTimeout)
	defer cancel()
	if _, err := cdp.Call(ctx, inst.cb, browser.GetVersion, cdp.Empty{}); err != nil {
		return fmt.Errorf("ping chromium: %w", err)
	}
	return nil
}

// Close stops Chromium and every tab. It is idempotent.
func (b *Browser) Close() error {
	b.closeOnce.Do(func() {
		b.mu.Lock()
		b.closed = true
		b.mu.Unlock()
		b.cancel()
		<-b.supervised
	})
	return nil
}

// process returns the current Chromium process, for tests.
func (b *Browser) process() *os.Process {
	inst, err := b.current()
	if err != nil {
		return nil
	}
	return inst.cb.Process()
}
