package renderer

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/fetch"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/target"
	"github.com/chromedp/chromedp"
)

// Tab is one page in a browser context of its own (cookies, storage and
// cache are not shared with other tabs).
type Tab struct {
	cfg Config
	log *slog.Logger

	ctx      context.Context // chromedp context of the tab; ends with the tab
	cancel   context.CancelFunc
	target   *chromedp.Target
	cb       *chromedp.Browser
	targetID target.ID
	bctxID   cdp.BrowserContextID

	frames chan Frame
	events chan Event
	done   chan struct{}
	wg     sync.WaitGroup
	once   sync.Once

	q *queue // page events and requests for the loop, in order

	// geom is the CSS size input coordinates map to: the newest frame's,
	// or the viewport's before any frame.
	geom       atomic.Pointer[geometry]
	hadFrame   atomic.Bool
	vpMu       sync.Mutex // serialises viewport changes and screencast restarts
	vp         Viewport
	window     browser.WindowID // the tab's window and the screen it is on (screens.go), under vpMu
	screen     int
	frameSeq   atomic.Uint64
	inputMu    sync.Mutex // serialises input, guards held
	held       heldInput
	dialogSeq  atomic.Uint64
	masks      maskTracker // see masks.go
	docs       *documents  // see documents.go
	dom        domCapture  // see domcapture.go
	maskWork   maskWork    // the tracker's pokes and scans (maskworld.go)
	world      maskWorldState
	stale      atomic.Bool    // the newest frame's mask boxes were unknown (refresh.go)
	refresh    chan struct{}  // asks the refresher for a fresh frame
	refreshNow chan struct{}  // the same, without the pause: the page has just painted
	settling   chan settleJob // frames whose mask boxes the settler settles

	// Dozing (doze.go): the screencast of a still page runs at thumbnail size.
	active       atomic.Int64  // unix ns of the newest full frame or input
	dozing       atomic.Bool   // written under vpMu
	dozers       *atomic.Int64 // the Browser's count of dozing tabs
	thumbStarted atomic.Bool   // the thumbnail screencast's first frame is still to come
	wake         chan struct{}

	// Handoff (handoff.go): headers for the provider's origin, read by the fetch handler,
	// and the storage-seeding script until every origin is seeded.
	fetching   bool // requests pass the fetch handler (a navigation filter is set)
	handoff    atomic.Pointer[handoffHeaders]
	seedMu     sync.Mutex
	seedScript page.ScriptIdentifier
	seedLeft   int
	seedDone   map[string]bool
}

type geometry struct{ w, h float64 }

// NewTab opens a tab at about:blank in a new browser context, with the
// viewport applied, downloads refused and the screencast started. ctx bounds
// the setup only; the tab lives until Close or until Chromium dies. opts set
// a proxy and a navigation filter (WithProxy, WithNavigationFilter).
func (b *Browser) NewTab(ctx context.Context, vp Viewport, opts ...TabOption) (*Tab, error) {
	return b.newTab(ctx, vp, b.cfg, opts...)
}

// newTab lets tests give one tab its own timeouts.
func (b *Browser) newTab(ctx context.Context, vp Viewport, cfg Config, opts ...TabOption) (*Tab, error) {
	var o tabOptions
	for _, opt := range opts {
		opt(&o)
	}
	inst, err := b.current()
	if err != nil {
		return nil, err
	}
	t := &Tab{
		cfg:        cfg,
		log:        b.log,
		cb:         inst.cb,
		frames:     make(chan Frame, 1),
		refresh:    make(chan struct{}, 1),
		refreshNow: make(chan struct{}, 1),
		settling:   make(chan settleJob, 64),
		wake:       make(chan struct{}, 1),
		dozers:     &b.dozing,
		events:     make(chan Event, eventBuffer),
		done:       make(chan struct{}),
		q:          newQueue(),
		vp:         vp.clamp(),
	}
	t.geom.Store(&geometry{float64(t.vp.Width), float64(t.vp.Height)})
	t.masks.onKnown = t.masksKnown
	t.docs = newDocuments("", "")
	t.docs.onPainted = t.pagePainted
	t.dom.out = make(chan DOMMessage, 256)
	t.masks.docsNow = t.docs.snapshot
	t.maskWork.wake = make(chan struct{}, 1)
	t.masks.work = &t.maskWork
	t.ctx, t.cancel = chromedp.NewContext(inst.root,
		chromedp.WithNewBrowserContext(o.browserContextOptions()...),
		// Ordered, from the first message: the loop sees every event.
		chromedp.WithListener(t.onEvent),
	)
	if err := t.attach(ctx); err != nil {
		go t.cancel() // waits for clean-up; do not hold the caller
		return nil, err
	}
	t.log = b.log.With("tab", string(t.targetID))
	t.docs.bind(t.targetID, t.bctxID)
	if err := t.setup(ctx, o); err != nil {
		t.Close()
		return nil, err
	}
	return t, nil
}

// attach creates the target. The first Do binds the target to t.ctx, so it
// gets no deadline of its own; it is bounded from outside.
func (t *Tab) attach(ctx context.Context) error {
	errc := make(chan error, 1)
	go func() { errc <- chromedp.Do(t.ctx) }()
	timer := time.NewTimer(t.cfg.CallTimeout)
	defer timer.Stop()
	select {
	case err := <-errc:
		if err != nil {
			return fmt.Errorf("opening tab: %w", err)
		}
	case <-timer.C:
		return fmt.Errorf("opening tab: no answer within %s", t.cfg.CallTimeout)
	case <-ctx.Done():
		return fmt.Errorf("opening tab: %w", ctx.Err())
	}
	c := chromedp.FromContext(t.ctx)
	t.target = c.Target
	t.targetID = c.Target.TargetID
	t.bctxID = c.BrowserContextID
	return nil
}

func (t *Tab) setup(ctx context.Context, o tabOptions) error {
	// Subscribe before the screencast starts so no frame is lost.
	frames := chromedp.Events(t.ctx, page.ScreencastFrame)
	var paused iter.Seq2[fetch.EventRequestPaused, error]
	if o.navFilter != nil {
		paused = chromedp.Events(t.ctx, fetch.RequestPaused)
	}
	downloads := chromedp.ListenBrowser(t.ctx, t.onBrowserEvent)
	if downloads != nil {
		return fmt.Errorf("listening to browser events: %w", downloads)
	}
	detached, err := chromedp.Detached(t.ctx)
	if err != nil {
		return fmt.Errorf("watching tab: %w", err)
	}
	cctx, cancel, err := t.callCtx(ctx)
	if err != nil {
		return err
	}
	defer cancel()
	if _, err := cdp.Call(cctx, t.cb, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
		Behavior:         browser.SetDownloadBehaviorBehaviorDeny,
		BrowserContextID: t.bctxID,
		EventsEnabled:    new(true),
	}); err != nil {
		return fmt.Errorf("refusing downloads: %w", err)
	}
	if err := t.applyViewport(cctx, t.vp); err != nil {
		return err
	}
	// Lifecycle events tell when a page has painted (documents.go).
	if _, err := cdp.Call(cctx, t.target, page.SetLifecycleEventsEnabled, page.SetLifecycleEventsEnabledParams{Enabled: true}); err != nil {
		return t.wrapErr(page.SetLifecycleEventsEnabled.Method, err)
	}
	if err := t.watchTitle(cctx); err != nil {
		return err
	}
	if err := t.installMasks(cctx); err != nil {
		return err
	}
	if err := t.installDOM(cctx); err != nil {
		return err
	}
	if err := t.installPickers(cctx); err != nil {
		return err
	}
	if err := t.interceptFileChooser(cctx); err != nil {
		return err
	}
	if paused != nil {
		if err := t.enableFetch(cctx, ""); err != nil {
			return err
		}
		t.fetching = true
		t.wg.Add(1)
		go t.navFilter(paused, o.navFilter)
	}
	t.active.Store(time.Now().UnixNano())
	t.wg.Add(6)
	go t.dozer()
	go t.screencast(frames)
	go t.settler()
	go t.loop()
	go t.maskWorker()
	go t.watch(detached)
	t.vpMu.Lock()
	err = t.startScreencast(cctx, t.vp)
	t.vpMu.Unlock()
	// After the first start: a restart asked for before it (the blank tab painted during
	// set-up) would race it and fail it with "Screencast is already active".
	go t.refresher()
	return err
}

// watch ends the tab when it is closed, detached, or Chromium dies.
func (t *Tab) watch(detached <-chan struct{}) {
	select {
	case <-t.ctx.Done():
	case <-detached:
	case <-t.cb.LostConnection:
	}
	t.shutdown()
}

func (t *Tab) shutdown() {
	t.once.Do(func() {
		t.cancel() // closes the target and disposes the browser context
		t.wg.Wait()
		t.setDozing(false)
		close(t.frames)
		close(t.events)
		close(t.done)
	})
}

// Close stops everything, closes the tab and disposes of its browser
// context. It is idempotent.
func (t *Tab) Close() error {
	t.shutdown()
	return nil
}

// Done is closed when the tab is gone (closed, or Chromium died). Frames
// and Events are closed before it.
func (t *Tab) Done() <-chan struct{} { return t.done }

// Frames delivers the newest frame; a frame the consumer has not taken yet
// is replaced by a newer one.
func (t *Tab) Frames() <-chan Frame { return t.frames }

// Events delivers page events in order.
func (t *Tab) Events() <-chan Event { return t.events }

// callCtx bounds one DevTools call by the caller's ctx, CallTimeout and the
// life of the tab.
func (t *Tab) callCtx(ctx context.Context) (context.Context, context.CancelFunc, error) {
	if t.ctx.Err() != nil {
		return nil, nil, ErrTabClosed
	}
	cctx, cancel := context.WithTimeout(ctx, t.cfg.CallTimeout)
	stop := context.AfterFunc(t.ctx, cancel)
	return cctx, func() { stop(); cancel() }, nil
}

// call runs one DevTools command on the tab, bounded as callCtx says.
func call[P, R any](ctx context.Context, t *Tab, cmd cdp.Command[P, R], params P) (R, error) {
	var zero R
	cctx, cancel, err := t.callCtx(ctx)
	if err != nil {
		return zero, err
	}
	defer cancel()
	res, err := cdp.Call(cctx, t.target, cmd, params)
	if err != nil {
		return zero, t.wrapErr(cmd.Method, err)
	}
	return res, nil
}

// wrapErr names the command and says ErrTabClosed when the tab is gone.
func (t *Tab) wrapErr(method string, err error) error {
	if t.ctx.Err() != nil || errors.Is(err, chromedp.ErrTargetDetached) {
		return fmt.Errorf("%s: %w: %w", method, ErrTabClosed, err)
	}
	return fmt.Errorf("%s: %w", method, err)
}

// emit hands an event to the consumer. Only the loop calls it. A consumer
// that lets 256 events pile up loses the newest ones rather than stalling
// dialogs and popups.
func (t *Tab) emit(ev Event) {
	select {
	case t.events <- ev:
	default:
		t.log.Warn("tab event dropped: consumer too slow", "event", fmt.Sprintf("%T", ev))
	}
}

// applyViewport puts the tab's window on the screen of its scale (screens.go) and sets
// the device metrics and touch emulation. The caller holds vpMu, or owns the tab alone.
func (t *Tab) applyViewport(ctx context.Context, vp Viewport) error {
	if err := t.placeWindow(ctx, vp.DPR); err != nil {
		return err
	}
	if _, err := cdp.Call(ctx, t.target, emulation.SetDeviceMetricsOverride, emulation.SetDeviceMetricsOverrideParams{
		Width:             int64(vp.Width),
		Height:            int64(vp.Height),
		DeviceScaleFactor: vp.DPR,
		Mobile:            vp.Mobile,
		// The screen the page sees is the participant's viewport, as on a phone, not the
		// virtual screen the tab's window is on (screens.go).
		ScreenWidth:  int64(vp.Width),
		ScreenHeight: int64(vp.Height),
	}); err != nil {
		return t.wrapErr(emulation.SetDeviceMetricsOverride.Method, err)
	}
	touch := emulation.SetTouchEmulationEnabledParams{Enabled: vp.Touch}
	if vp.Touch {
		touch.MaxTouchPoints = 5
	}
	if _, err := cdp.Call(ctx, t.target, emulation.SetTouchEmulationEnabled, touch); err != nil {
		return t.wrapErr(emulation.SetTouchEmulationEnabled.Method, err)
	}
	return nil
}

// SetViewport resizes the tab and restarts the screencast at the device
// pixel size, so the picture is sharp for the viewer.
func (t *Tab) SetViewport(ctx context.Context, vp Viewport) error {
	vp = vp.clamp()
	cctx, cancel, err := t.callCtx(ctx)
	if err != nil {
		return err
	}
	defer cancel()
	t.vpMu.Lock()
	defer t.vpMu.Unlock()
	if err := t.applyViewport(cctx, vp); err != nil {
		return err
	}
	t.vp = vp
	if !t.hadFrame.Load() {
		t.geom.Store(&geometry{float64(vp.Width), float64(vp.Height)})
	}
	if _, err := cdp.Call(cctx, t.target, page.StopScreencast, cdp.Empty{}); err != nil {
		return t.wrapErr(page.StopScreencast.Method, err)
	}
	return t.startScreencast(cctx, vp)
}
