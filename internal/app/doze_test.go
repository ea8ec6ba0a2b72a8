package app_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/tandem-cobrowse/tandem/internal/app"
)

// TestAStillPageWakesForItsViewers: once a page has been still long enough for its
// screencast to doze, a viewer in a real browser still sees the page's own next change,
// and the picture of a click, as soon as they happen.
func TestAStillPageWakesForItsViewers(t *testing.T) {
	execPath := chromiumOrSkip(t)
	// The page turns red when the provider says so (the test decides when: after the
	// doze), and blue when clicked. Asking the provider paints nothing.
	var red atomic.Bool
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `<!doctype html><title>Still</title><style>html,body{margin:0;height:100%;background:#fff}</style>
<body onmousedown="document.body.style.background='#00f'">
<script>const ask = setInterval(async () => {
  if (await (await fetch('/red')).text() === 'yes') { clearInterval(ask); document.body.style.background = '#f00'; }
}, 100)</script>`)
	})
	mux.HandleFunc("/red", func(w http.ResponseWriter, r *http.Request) {
		if red.Load() {
			io.WriteString(w, "yes")
		}
	})
	provider := httptest.NewServer(mux)
	defer provider.Close()

	// No warm tabs: the only tab that can doze is the session's.
	srv := startServer(t, app.Config{AllowHosts: []string{strings.TrimPrefix(provider.URL, "http://")},
		ScreencastDoze: 300 * time.Millisecond})
	status, created := createSession(t, srv, provider.URL)
	if status != http.StatusCreated {
		t.Fatalf("create: %d %v", status, created)
	}
	links := created["links"].(map[string]any)

	dozing := func() float64 {
		res, err := http.Get(srv.URL() + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		body, _ := io.ReadAll(res.Body)
		return metricValue(string(body), "tandem_screencasts_dozing")
	}
	dozed := func() {
		t.Helper()
		eventually(t, "the still page's screencast dozes", func() bool { return dozing() == 1 })
	}
	browser := participantBrowser(t, execPath)
	host := openTab(t, browser, links["host"].(string))
	// shows waits until the middle of the host's picture is near rgb.
	shows := func(what string, rgb [3]int) {
		t.Helper()
		must(t, host, what, void(chromedp.Poll[bool](fmt.Sprintf(`(() => {
			const c = document.getElementById('screen');
			if (!c || !c.width) return false;
			const d = c.getContext('2d').getImageData(Math.floor(c.width/2), Math.floor(c.height/2), 1, 1).data;
			return Math.abs(d[0]-%d) < 40 && Math.abs(d[1]-%d) < 40 && Math.abs(d[2]-%d) < 40;
		})()`, rgb[0], rgb[1], rgb[2]), chromedp.WithPollingTimeout(20*time.Second))))
	}

	join(t, host, "Hana")
	pictureMode(t, host, "host")
	shows("the white page", [3]int{255, 255, 255})

	dozed()
	red.Store(true)
	shows("the page's own change, after the doze", [3]int{255, 0, 0})
	shot(t, host, "doze-woken")

	dozed()
	must(t, host, "host clicks the picture", chromedp.Click(chromedp.ID("screen")))
	shows("the click's change, after the doze", [3]int{0, 0, 255})
}
