package renderer

import (
	"context"
	"net/http"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/target"
)

// pageTargets counts the page targets this tab opened that are still open.
func openedPages(t *testing.T, tab *Tab) int {
	t.Helper()
	cctx, cancel, err := tab.callCtx(testCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	defer cancel()
	res, err := cdp.Call(cctx, tab.cb, target.GetTargets, target.GetTargetsParams{})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, info := range res.TargetInfos {
		if info.Type == "page" && (info.OpenerID == tab.targetID || (info.BrowserContextID == tab.bctxID && info.TargetID != tab.targetID)) {
			n++
		}
	}
	return n
}

func TestPopupsLandInTheSameTab(t *testing.T) {
	srv := servePage(t, `<!doctype html><title>opener</title>
<style>html,body{margin:0}</style>
<a id=a href="/target-blank" target=_blank style="position:absolute;left:0;top:0;width:300px;height:100px;display:block">blank link</a>`,
		map[string]http.HandlerFunc{
			"/target-blank": pageHandler(`<title>from link</title>`),
			"/opened":       pageHandler(`<title>from window.open</title>`),
			"/later":        pageHandler(`<title>from blank</title>`),
		})

	t.Run("target=_blank link", func(t *testing.T) {
		tab := newTestTab(t, Viewport{Width: 640, Height: 480, DPR: 1})
		navigate(t, tab, srv.URL+"/")
		ctx := testCtx(t)
		for _, a := range []string{"down", "up"} {
			if err := tab.Mouse(ctx, MouseInput{Action: a, X: 100.0 / 640, Y: 50.0 / 480, Button: "left", ClickCount: 1}); err != nil {
				t.Fatal(err)
			}
		}
		p := waitEvent(t, tab, func(PopupOpened) bool { return true })
		if p.URL != srv.URL+"/target-blank" {
			t.Fatalf("PopupOpened = %+v", p)
		}
		waitEvent(t, tab, func(s PageState) bool { return s.URL == srv.URL+"/target-blank" && s.Title == "from link" })
		waitFor(t, "the popup target to close", func() bool { return openedPages(t, tab) == 0 })
	})

	t.Run("window.open", func(t *testing.T) {
		tab := newTestTab(t, Viewport{Width: 640, Height: 480, DPR: 1})
		navigate(t, tab, srv.URL+"/")
		evalJS[bool](t, tab, `window.open('/opened'), true`)
		waitEvent(t, tab, func(p PopupOpened) bool { return p.URL == srv.URL+"/opened" })
		waitEvent(t, tab, func(s PageState) bool { return s.URL == srv.URL+"/opened" && s.Title == "from window.open" })
		waitFor(t, "the popup target to close", func() bool { return openedPages(t, tab) == 0 })
	})

	t.Run("window.open of about:blank that navigates later", func(t *testing.T) {
		tab := newTestTab(t, Viewport{Width: 640, Height: 480, DPR: 1})
		navigate(t, tab, srv.URL+"/")
		evalJS[bool](t, tab, `(() => { const w = window.open(''); setTimeout(() => { w.location.href = '/later'; }, 100); return true; })()`)
		waitEvent(t, tab, func(p PopupOpened) bool { return p.URL == srv.URL+"/later" })
		waitEvent(t, tab, func(s PageState) bool { return s.URL == srv.URL+"/later" })
		waitFor(t, "the popup target to close", func() bool { return openedPages(t, tab) == 0 })
	})
}

func pageHandler(body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write([]byte("<!doctype html>" + body))
	}
}

func targetsOf(ctx context.Context, tab *Tab) ([]*target.Info, error) {
	res, err := cdp.Call(ctx, tab.cb, target.GetTargets, target.GetTargetsParams{})
	return res.TargetInfos, err
}
