package app_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"

	"github.com/tandem-cobrowse/tandem/internal/app"
)

// TestDraggingThroughTheViewer: the controller drags across the page's text in the
// viewer, as a person does with a mouse, and the text is selected in the tab: the
// provider's page reports the selection it has.
func TestDraggingThroughTheViewer(t *testing.T) {
	execPath := chromiumOrSkip(t)
	var mu sync.Mutex
	var selections []string
	provider := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/sel" {
			mu.Lock()
			selections = append(selections, r.URL.Query().Get("s"))
			mu.Unlock()
			return
		}
		fmt.Fprint(w, `<!doctype html><title>Text</title><style>body{margin:0}</style>
<p style="margin:0;padding:8px;font:40px monospace;white-space:nowrap">select these words please</p>
<script>addEventListener('mouseup', () => fetch('/sel?s=' + encodeURIComponent(getSelection().toString())))</script>`)
	}))
	t.Cleanup(provider.Close)
	srv := startServer(t, app.Config{AllowHosts: allowed(provider)})
	_, out := post(t, srv, http.Header{"Content-Type": {"application/json"}}, fmt.Sprintf(`{"url":%q}`, provider.URL+"/"))
	links := out["links"].(map[string]any)
	browser := participantBrowser(t, execPath)
	host := openTab(t, browser, links["host"].(string))
	join(t, host, "Hana")
	waitFrame(t, host)
	pictureMode(t, host, "the host")

	box, err := chromedp.Run(host, chromedp.Evaluate[[]float64](`(() => { const r = document.getElementById('screen').getBoundingClientRect(); return [r.left, r.top, r.width, r.height]; })()`))
	if err != nil || len(box) != 4 {
		t.Fatalf("the picture's place: %v", err)
	}
	y := box[1] + 30 // the text's line, in CSS pixels of the picture (the tab follows the viewer's size)
	steps := []chromedp.Action[chromedp.Void]{
		chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, box[0]+10, y),
		chromedp.MouseEvent(input.DispatchMouseEventTypeMousePressed, box[0]+10, y, chromedp.ButtonLeft, chromedp.ClickCount(1)),
	}
	for i := 1; i <= 10; i++ {
		steps = append(steps, chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, box[0]+10+float64(i)*30, y, chromedp.ButtonLeft))
	}
	steps = append(steps, chromedp.MouseEvent(input.DispatchMouseEventTypeMouseReleased, box[0]+310, y, chromedp.ButtonLeft, chromedp.ClickCount(1)))
	must(t, host, "the host drags across the text", steps...)
	eventually(t, "the page reports a selection", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(selections) > 0
	})
	mu.Lock()
	defer mu.Unlock()
	if !strings.HasPrefix(selections[len(selections)-1], "select these") {
		t.Fatalf("the tab's selection after the drag: %q", selections)
	}
}
