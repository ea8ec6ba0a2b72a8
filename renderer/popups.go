package renderer

import (
	"context"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/target"
)

// popup brings a popup of this tab (window.open, target=_blank) into the
// tab: the popup target is closed and its URL opened here. A popup still
// at about:blank gets its real URL later (targetInfoChanged).
func (t *Tab) popup(s *loopState, info *target.Info) {
	if handled, seen := s.popups[info.TargetID]; seen && handled {
		return
	}
	if info.URL == "" || info.URL == "about:blank" {
		if _, seen := s.popups[info.TargetID]; !seen {
			s.popups[info.TargetID] = false
			t.after(popupBlankGrace, popupExpired{id: info.TargetID})
		}
		return
	}
	s.popups[info.TargetID] = true
	u := info.URL
	t.log.Info("popup brought into tab", "url", u)
	t.closeTarget(info.TargetID)
	if !validURL(u) {
		return
	}
	t.emit(PopupOpened{URL: u})
	t.background(func(ctx context.Context) {
		if _, err := call(ctx, t, page.Navigate, page.NavigateParams{URL: u}); err != nil {
			t.log.Warn("opening popup in tab", "url", u, "err", err)
		}
	})
}

// popupExpired closes a popup that never left about:blank.
func (t *Tab) popupExpired(s *loopState, id target.ID) {
	if handled, seen := s.popups[id]; seen && !handled {
		s.popups[id] = true
		t.closeTarget(id)
	}
}

func (t *Tab) closeTarget(id target.ID) {
	t.background(func(ctx context.Context) {
		cctx, cancel, err := t.callCtx(ctx)
		if err != nil {
			return
		}
		defer cancel()
		if _, err := cdp.Call(cctx, t.cb, target.CloseTarget, target.CloseTargetParams{TargetID: id}); err != nil {
			t.log.Debug("closing popup", "err", err)
		}
	})
}
