package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/tandem-cobrowse/tandem/internal/app"
)

// TestBenchPageMode measures Page mode as users feel it: the time from opening the viewer
// to a rendered copy of the demo's home page, and the time from a keystroke of the
// controller to the changed text on another participant's screen, in Page mode and in
// Picture mode side by side. A measurement, not a check: run it with
// TANDEM_BENCH=1 go test -run TestBenchPageMode -v ./internal/app/
func TestBenchPageMode(t *testing.T) {
	if os.Getenv("TANDEM_BENCH") == "" {
		t.Skip("a measurement: set TANDEM_BENCH=1")
	}
	execPath := chromiumOrSkip(t)
	form := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `<!doctype html><title>Form</title><style>body{margin:0}#q{position:fixed;inset:0;width:100%;height:100%;font:60px sans-serif;caret-color:transparent}</style><input id=q>`)
	}))
	t.Cleanup(form.Close)
	srv := startServer(t, app.Config{DemoAddr: "127.0.0.1:0", AllowHosts: allowed(form)})
	create := func(u string) map[string]string {
		res, err := http.Post(srv.URL()+"/api/v1/sessions", "application/json", strings.NewReader(fmt.Sprintf(`{"url":%q}`, u)))
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var c struct{ Links map[string]string }
		_ = json.NewDecoder(res.Body).Decode(&c)
		return c.Links
	}
	browser := participantBrowser(t, execPath)

	// Join to a rendered copy of the home page.
	links := create(srv.DemoURL())
	host := openTab(t, browser, links["host"])
	join(t, host, "Hana")
	waitFrame(t, host)
	var joins []time.Duration
	for range 5 {
		guest := openTab(t, browser, links["guest"]+"&x")
		must(t, guest, "remember Page mode", void(chromedp.Evaluate[bool](`localStorage.setItem('tandem.mode', 'dom'), localStorage.setItem('tandem.name', 'Gus'), true`)))
		start := time.Now()
		must(t, guest, "reload", chromedp.Reload())
		waitCopy(t, guest, "the guest", "Gear for every")
		joins = append(joins, time.Since(start))
		marks, _ := chromedp.Run(guest, chromedp.Evaluate[string](`performance.getEntriesByType('mark').map((m) => m.name + '=' + Math.round(m.startTime)).join(' ') + ' dcl=' + Math.round(performance.getEntriesByType('navigation')[0].domContentLoadedEventEnd)`))
		t.Logf("marks (ms since navigation): %s", marks)
	}
	slices.Sort(joins)
	t.Logf("open viewer → rendered Page view of the demo home: median %v, max %v (%v)", joins[len(joins)/2], joins[len(joins)-1], joins)

	// Keystroke → changed text elsewhere.
	links = create(form.URL)
	host = openTab(t, browser, links["host"])
	join(t, host, "Hana")
	waitFrame(t, host)
	pageGuest := openTab(t, browser, links["guest"])
	join(t, pageGuest, "Page")
	pageMode(t, pageGuest, "the Page viewer")
	picGuest := openTab(t, browser, links["agent"])
	join(t, picGuest, "Picture")
	pictureMode(t, picGuest, "the Picture viewer")
	clickAt(t, host, 0.5, 0.5)
	// Each viewer notes, every animation frame, when what it shows changed.
	must(t, pageGuest, "watch the copy", void(chromedp.Evaluate[bool](`(() => {
		window.changes = []; let last = null;
		const tick = () => { const d = document.querySelector('.page-copy').contentDocument; const q = d && d.getElementById('q');
			const v = q ? q.value : null; if (v !== last) { last = v; changes.push(performance.timeOrigin + performance.now()); } requestAnimationFrame(tick); };
		tick(); return true; })()`)))
	must(t, picGuest, "watch the picture", void(chromedp.Evaluate[bool](`(() => {
		window.changes = []; let last = null; const c = document.getElementById('screen');
		const tick = () => { const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data; let h = 0;
			for (let i = 0; i < d.length; i += 97) h = (h * 31 + d[i]) | 0;
			if (h !== last) { last = h; changes.push(performance.timeOrigin + performance.now()); } requestAnimationFrame(tick); };
		tick(); return true; })()`)))
	changesAfter := func(ctx context.Context, after float64) (float64, bool) {
		ch, err := chromedp.Run(ctx, chromedp.Evaluate[[]float64](`changes`))
		if err != nil {
			return 0, false
		}
		for _, c := range ch {
			if c >= after {
				return c, true
			}
		}
		return 0, false
	}
	lat := map[string][]float64{}
	for i := range 20 {
		at := float64(time.Now().UnixMicro()) / 1000
		must(t, host, "type", chromedp.KeyEvent(string(rune('a'+i%26))))
		for name, ctx := range map[string]context.Context{"Page": pageGuest, "Picture": picGuest} {
			var when float64
			eventually(t, name+" shows the key", func() bool {
				c, ok := changesAfter(ctx, at)
				when = c
				return ok
			})
			lat[name] = append(lat[name], when-at)
		}
	}
	for _, name := range []string{"Page", "Picture"} {
		l := lat[name]
		slices.Sort(l)
		t.Logf("keystroke → %s view of another participant: p50 %.0f ms, p95 %.0f ms", name, l[len(l)/2], l[len(l)*95/100])
	}
}
