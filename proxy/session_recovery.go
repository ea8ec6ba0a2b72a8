package proxy

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/tandem-cobrowse/tandem/renderer"
)

// useTab makes tab the session's tab. Run on the session's goroutine (or before it starts).
func (s *Session) useTab(tab Tab) {
	s.st.tab = tab
	s.st.frames, s.st.events, s.st.tabDone = tab.Frames(), tab.Events(), tab.Done()
	// A new tab captures nothing yet: turn its capture on if anyone views the DOM.
	s.st.dom.in, s.st.dom.on, s.st.dom.doc, s.st.dom.gen = tab.DOM(), false, "", 0
	s.st.dom.copy, s.st.dom.since = nil, nil
	s.updateDOMCapture()
	s.requestSnapshot()
	s.st.recovering, s.st.probeFails = false, 0
	s.liveTab.Store(&tabRef{tab: tab})
}

// probe checks, off the session's goroutine, that the tab still runs script: a renderer
// can hang or die without a crash event. Two failures in a row count as a lost tab.
func (s *Session) probe() {
	if s.st.probing || s.st.recovering || s.st.tab == nil || s.st.dialog != nil {
		return // a page showing a dialog cannot run script, and is not hung
	}
	s.st.probing = true
	tab := s.st.tab
	go func() {
		ctx, cancel := context.WithTimeout(s.ctx, s.params.ProbeInterval)
		err := tab.Alive(ctx)
		cancel()
		_ = s.exec(func() {
			s.st.probing = false
			if tab != s.st.tab || s.st.dialog != nil {
				return
			}
			if err == nil {
				s.st.probeFails = 0
				return
			}
			s.st.probeFails++
			s.log.Warn("tab liveness probe failed", "err", err, "failures", s.st.probeFails)
			if s.st.probeFails >= 2 {
				s.recoverTab("The page stopped responding.")
			}
		})
	}()
}

// recoverTab replaces a lost tab with a fresh one at the last URL. Participants stay
// connected and see a notice; input meanwhile is dropped.
func (s *Session) recoverTab(why string) {
	if s.st.recovering || s.st.ended {
		return
	}
	old := s.st.tab
	s.st.recovering = true
	s.st.tab, s.st.frames, s.st.events, s.st.tabDone = nil, nil, nil, nil
	s.st.dom.in = nil
	s.st.dialog = nil
	s.dropPicker("navigated")
	s.chooserEnded("gone", "tab_lost", "")
	s.liveTab.Store(nil)
	url := s.st.page.URL
	if _, err := ValidateURL(url); err != nil {
		url = s.params.StartURL
	}
	s.broadcast(notice("warning", "tab_recovering", why+" Reopening "+url+"…"))
	s.audit.Record("tab_lost", s.id, slog.String("reason", why), slog.String("url", url))
	go func() {
		if old != nil {
			_ = old.Close()
		}
		tab, err := s.reopen(url)
		_ = s.exec(func() {
			if err != nil {
				s.finish("The page could not be recovered: " + err.Error())
				return
			}
			if s.st.ended {
				_ = tab.Close()
				return
			}
			s.useTab(tab)
			s.metrics.CrashesRecovered.Inc()
			s.audit.Record("tab_recovered", s.id, slog.String("url", url))
			s.broadcast(notice("info", "tab_recovered", "The page was recovered."))
			if c := s.st.participants[s.st.control.Controller]; c != nil {
				s.applyViewport(c)
			}
		})
	}()
}

// reopen opens a fresh tab at url, retrying while Chromium restarts, for up to a minute.
func (s *Session) reopen(url string) (Tab, error) {
	if s.params.Reopen == nil {
		return nil, errors.New("no way to reopen the tab")
	}
	deadline := time.Now().Add(time.Minute)
	backoff := 250 * time.Millisecond
	for {
		ctx, cancel := context.WithTimeout(s.ctx, s.params.CallTimeout)
		tab, err := s.params.Reopen(ctx)
		if err == nil {
			err = tab.Navigate(ctx, url)
			if err != nil && !errors.Is(err, renderer.ErrNavigation) {
				_ = tab.Close()
			} else {
				err = nil // a page that fails to load is shown as such, in a live tab
			}
		}
		cancel()
		if err == nil {
			return tab, nil
		}
		if s.ctx.Err() != nil || time.Now().After(deadline) {
			return nil, err
		}
		s.log.Warn("reopening tab", "err", err, "retry_in", backoff)
		select {
		case <-time.After(backoff):
		case <-s.ctx.Done():
			return nil, s.ctx.Err()
		}
		backoff = min(backoff*2, 4*time.Second)
	}
}
