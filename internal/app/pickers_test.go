package app_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"

	"github.com/tandem-cobrowse/tandem/internal/app"
)

// pickerProvider serves a page whose fields report every change to /picked, and counts
// the page's loads.
type pickerProvider struct {
	*httptest.Server
	loads atomic.Int64
	mu    sync.Mutex
	picks []string
}

func newPickerProvider(t *testing.T, body string) *pickerProvider {
	t.Helper()
	p := &pickerProvider{}
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/picked" {
			p.mu.Lock()
			p.picks = append(p.picks, r.URL.Query().Get("v"))
			p.mu.Unlock()
			return
		}
		p.loads.Add(1)
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, `<!doctype html><title>Fields</title><style>html,body{margin:0;height:100%;font:16px sans-serif}
select,input{position:fixed;box-sizing:border-box;font:inherit}</style>`+body+`
<script>for (const el of document.querySelectorAll('select,input')) el.addEventListener('change', () => fetch('/picked?v=' + encodeURIComponent(el.value), {method: 'POST'}));</script>`)
	}))
	t.Cleanup(p.Close)
	return p
}

func (p *pickerProvider) waitPick(t *testing.T, want string) {
	t.Helper()
	eventually(t, "the page takes the pick "+want, func() bool {
		p.mu.Lock()
		defer p.mu.Unlock()
		return slices.Contains(p.picks, want)
	})
}

// hostOn starts a server (with cfg) and a session at u and joins it as the host, in
// control.
func hostOn(t *testing.T, u string, cfg app.Config) (browser, host context.Context, links map[string]any) {
	t.Helper()
	execPath := chromiumOrSkip(t)
	srv := startServer(t, cfg)
	_, out := post(t, srv, http.Header{"Content-Type": {"application/json"}}, fmt.Sprintf(`{"url":%q}`, u))
	links = out["links"].(map[string]any)
	browser = participantBrowser(t, execPath)
	host = openTab(t, browser, links["host"].(string))
	join(t, host, "Hana")
	waitFrame(t, host)
	waitControlMine(t, host)
	return browser, host, links
}

// shotSettled takes a screenshot once the viewer's animations are over.
func shotSettled(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	waitTrue(t, ctx, "animations end", `document.getAnimations().every((a) => a.playState !== 'running' || a.effect.getComputedTiming().iterations === Infinity)`)
	shot(t, ctx, name)
}

func waitTrue(t *testing.T, ctx context.Context, what, js string) {
	t.Helper()
	must(t, ctx, what, void(chromedp.Poll[bool](js, chromedp.WithPollingTimeout(20*time.Second))))
}

// TestSelectListInTheViewer: the host clicks a select of the shared page in the viewer
// (Page mode), sees Tandem's list at the field, and picks an option with the mouse: the
// page takes it. A guest who joins while the list is open sees it too, read-only; a
// private select's options never reach the guest.
func TestSelectListInTheViewer(t *testing.T) {
	provider := newPickerProvider(t, `
<select id=size style="left:10%;top:10%;width:30%;height:8%">
  <option value=s>Small</option><option value=m selected>Medium</option><option value=l>Large</option>
  <optgroup label="Special"><option value=xl>Extra large</option><option value=xxl disabled>Sold out</option></optgroup>
</select>
<div data-tandem-mask><select id=card style="left:55%;top:10%;width:30%;height:8%"><option>Visa 4242</option><option>Mastercard 5555</option></select></div>`)
	var audit lockedBuffer
	browser, host, links := hostOn(t, provider.URL+"/", app.Config{AllowHosts: allowed(provider.Server), AuditLog: &audit})

	clickAt(t, host, 0.25, 0.14)
	waitTrue(t, host, "the host sees Tandem's list", `(() => {
		const labels = [...document.querySelectorAll('.picker-select .picker-option')].map((o) => o.textContent);
		return labels.join('|') === 'Small|Medium|Large|Extra large|Sold out' && document.querySelector('.picker-scroll') === document.activeElement;
	})()`)
	// The list hangs under the field, in the picture.
	place, err := chromedp.Run(host, chromedp.Evaluate[[]float64](`(() => {
		const s = document.getElementById('screen').getBoundingClientRect(), p = document.querySelector('.picker-select').getBoundingClientRect();
		return [(p.left - s.left) / s.width, (p.top - s.top) / s.height];
	})()`))
	if err != nil || len(place) != 2 || place[0] < 0.09 || place[0] > 0.11 || place[1] < 0.17 || place[1] > 0.2 {
		t.Errorf("the list is at %v of the picture, want under the field at 0.1, 0.18 (%v)", place, err)
	}
	shotSettled(t, host, "picker-select")

	guest := openTab(t, browser, links["guest"].(string))
	join(t, guest, "Gus")
	waitTrue(t, guest, "the guest sees the open list, read-only", `(() => {
		const p = document.querySelector('.picker-select');
		return !!p && p.classList.contains('is-readonly') && p.querySelectorAll('.picker-option').length === 5 &&
			p.querySelector('.picker-foot').textContent.includes('Hana');
	})()`)
	shotSettled(t, guest, "picker-select-guest")

	must(t, host, "the host picks Large", chromedp.Click(chromedp.CSS(`.picker-option[data-index="2"]`)))
	provider.waitPick(t, "l")
	for who, ctx := range map[string]context.Context{"host": host, "guest": guest} {
		waitTrue(t, ctx, "the list closes for the "+who, `!document.querySelector('.picker')`)
	}

	// The pick is in the audit log, without the value.
	if lines := audit.String(); !strings.Contains(lines, `"event":"picker_answered"`) || !strings.Contains(lines, `"kind":"select"`) ||
		strings.Contains(lines, "Large") {
		t.Errorf("audit log:\n%s", lines)
	}

	// A private select: the host sees its options, the guest only that it is private.
	clickAt(t, host, 0.7, 0.14)
	waitTrue(t, host, "the host sees the private list", `[...document.querySelectorAll('.picker-option')].some((o) => o.textContent === 'Visa 4242')`)
	waitTrue(t, guest, "the guest sees a private box", `!!document.querySelector('.picker-private')`)
	if html, _ := chromedp.Run(guest, chromedp.Evaluate[string](`document.body.innerHTML`)); strings.Contains(html, "4242") {
		t.Fatal("the private select's options reached the guest")
	}
	// Keys: Escape closes it for everyone.
	must(t, host, "the host presses Escape", chromedp.KeyEvent("\x1b"))
	for who, ctx := range map[string]context.Context{"host": host, "guest": guest} {
		waitTrue(t, ctx, "the list closes for the "+who, `!document.querySelector('.picker')`)
	}
}

// TestDateFieldInTheViewer: in Picture mode the host clicks a date field and sets a date
// in Tandem's panel; the page gets it.
func TestDateFieldInTheViewer(t *testing.T) {
	provider := newPickerProvider(t, `<input id=d type=date value="2026-05-01" style="left:10%;top:10%;width:30%;height:8%">`)
	_, host, _ := hostOn(t, provider.URL+"/", app.Config{AllowHosts: allowed(provider.Server)})
	pictureMode(t, host, "the host")
	clickAt(t, host, 0.2, 0.14)
	waitTrue(t, host, "the host sees a date panel", `(() => {
		const i = document.querySelector('.picker-panel input[type=date]');
		return !!i && i.value === '2026-05-01' && document.activeElement === i;
	})()`)
	shotSettled(t, host, "picker-date")
	must(t, host, "the host sets a date",
		void(chromedp.Evaluate[bool](`(() => { document.querySelector('.picker-panel input').value = '2026-07-04'; return true; })()`)),
		chromedp.Click(chromedp.CSS(`.picker-panel .btn-primary`)))
	provider.waitPick(t, "2026-07-04")
	waitTrue(t, host, "the panel closes", `!document.querySelector('.picker')`)
}

// TestContextMenuInTheViewer: a right click on the page in the viewer opens Tandem's
// menu; Reload reloads the page.
func TestContextMenuInTheViewer(t *testing.T) {
	provider := newPickerProvider(t, `<p style="margin:0;padding:40px">Right-click me</p>`)
	_, host, _ := hostOn(t, provider.URL+"/", app.Config{AllowHosts: allowed(provider.Server)})
	loads := provider.loads.Load()
	box, err := chromedp.Run(host, chromedp.Evaluate[[]float64](`(() => { const r = document.getElementById('screen').getBoundingClientRect(); return [r.left, r.top, r.width, r.height]; })()`))
	if err != nil || len(box) != 4 {
		t.Fatalf("the picture's box: %v", err)
	}
	must(t, host, "the host right-clicks", void(chromedp.MouseClickXY(box[0]+box[2]*0.5, box[1]+box[3]*0.5, chromedp.ButtonType(input.MouseButtonRight))))
	waitTrue(t, host, "the host sees the menu", `(() => {
		const items = [...document.querySelectorAll('.picker-menu [role=menuitem]')].map((i) => i.dataset.action);
		return items.join(',') === 'back,forward,reload,selectAll' &&
			document.activeElement === document.querySelector('.picker-menu [role=menuitem]:not([aria-disabled])');
	})()`)
	shotSettled(t, host, "picker-menu")
	must(t, host, "the host picks Reload", chromedp.Click(chromedp.CSS(`.picker-menu [data-action=reload]`)))
	eventually(t, "the page reloads", func() bool { return provider.loads.Load() > loads })
	waitTrue(t, host, "the menu closes", `!document.querySelector('.picker')`)
}
