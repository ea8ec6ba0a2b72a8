package app

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/tandem-cobrowse/tandem/egress"
	"github.com/tandem-cobrowse/tandem/internal/warm"
	"github.com/tandem-cobrowse/tandem/proxy"
	"github.com/tandem-cobrowse/tandem/renderer"
)

// A new session's tab costs most of the time to its first picture: a browser context, a
// target and its set-up. Warm tabs are made ahead, each with its own fresh browser
// context and egress listener, exactly as a session's own tab, only not yet bound to a
// session: until then its navigation filter refuses everything. A warm tab is handed to
// one session, never back to the pool.

// warmTab is a ready tab waiting for its session.
type warmTab struct {
	tab     *renderer.Tab
	name    string                   // its egress listener's name in the logs, until bound
	binding atomic.Pointer[tabOwner] // nil until a session takes it
}

// tabOwner is the session a warm tab went to, and that session's navigation rule.
type tabOwner struct {
	session string
	nav     func(string) (bool, string)
}

// newWarmTabs starts the pool of cfg.WarmTabs tabs of viewport vp.
func (s *Server) newWarmTabs(ctx context.Context, vp renderer.Viewport) *warm.Pool[*warmTab] {
	var n atomic.Int64
	s.warmViewport = vp
	return warm.New(ctx, warm.Params[*warmTab]{
		Size: s.cfg.WarmTabs,
		Make: func(ctx context.Context) (*warmTab, error) {
			return s.makeTab(ctx, fmt.Sprintf("warm-%d", n.Add(1)), vp, proxy.DefaultRules().MaskUnion())
		},
		Alive: func(w *warmTab) bool {
			select {
			case <-w.tab.Done():
				return false
			default:
				return true
			}
		},
		Discard: func(w *warmTab) { _ = w.tab.Close() },
		// A taken tab loads its first page right then; its replacement waits for that.
		RefillDelay: time.Second,
		Logger:      s.log.With("component", "warm-tabs"),
		OnTake: func(warm bool) {
			s.metrics.WarmTabTakes.WithLabelValues(map[bool]string{true: "warm", false: "cold"}[warm]).Inc()
		},
	})
}

// makeTab makes a tab not yet bound to a session, with masks in force.
func (s *Server) makeTab(ctx context.Context, name string, vp renderer.Viewport, masks []string) (*warmTab, error) {
	w := &warmTab{name: name}
	proxyURL, release, err := s.egress.Session(name, func(r egress.Refusal) {
		if o := w.binding.Load(); o != nil {
			s.egressRefused(o.session, r)
		}
	})
	if err != nil {
		return nil, err
	}
	nav := func(u string) (bool, string) {
		if o := w.binding.Load(); o != nil {
			return o.nav(u)
		}
		return false, "this tab is not in a session yet"
	}
	tab, err := s.browser.NewTab(ctx, vp, renderer.WithProxy(proxyURL), renderer.WithNavigationFilter(nav))
	if err != nil {
		release()
		return nil, err
	}
	go func() {
		<-tab.Done()
		release()
	}()
	// Most sessions mask what the default rules mask; setting that up (an isolated
	// world that runs the tracker's scripts) is a good part of a new tab's cost, and a
	// session with these selectors finds them in force.
	if len(masks) > 0 {
		if err := tab.SetMaskSelectors(ctx, masks); err != nil {
			_ = tab.Close()
			return nil, err
		}
	}
	w.tab = tab
	return w, nil
}

// openTab opens a session's tab behind a proxy listener of its own, so what the egress
// policy refuses is told to that session's participants: a warm one when there is one.
// Warm tabs come with the default rules' masks in force; a session that masks nothing
// gets a tab made for it, which tracks nothing.
func (s *Server) openTab(ctx context.Context, sessionID string, spec proxy.TabSpec) (proxy.Tab, error) {
	var w *warmTab
	var err error
	if spec.Viewport == s.warmViewport && len(spec.Masks) > 0 {
		w, err = s.warm.Get(ctx)
	} else {
		w, err = s.makeTab(ctx, sessionID, spec.Viewport, nil)
	}
	if err != nil {
		return nil, err
	}
	w.binding.Store(&tabOwner{session: sessionID, nav: spec.Nav})
	if w.name != sessionID {
		s.log.Info("warm tab taken", "session", sessionID, "egress_listener", w.name)
	}
	return w.tab, nil
}

// WarmTabsReady is how many tabs are ready for new sessions now.
func (s *Server) WarmTabsReady() int { return s.warm.Ready() }
