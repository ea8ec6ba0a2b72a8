package app_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/tandem-cobrowse/tandem/internal/app"
)

// TestBenchRecording measures what recording costs, on the demo's home page (still) and
// its animated page, with the host and a guest watching in real Chromium (the guest
// watches the pictures a recording keeps): the recording's bytes a minute, and the
// server's CPU over a window while recording against a window without. A measurement,
// not a check: TANDEM_BENCH=1 go test -run TestBenchRecording -v ./internal/app/
func TestBenchRecording(t *testing.T) {
	if os.Getenv("TANDEM_BENCH") == "" {
		t.Skip("a measurement: set TANDEM_BENCH=1")
	}
	execPath := chromiumOrSkip(t)
	dataDir := t.TempDir()
	srv := startServer(t, app.Config{DemoAddr: "127.0.0.1:0", DataDir: dataDir})
	browser := participantBrowser(t, execPath)
	const window = 15 * time.Second
	cpu := func() time.Duration {
		var ru syscall.Rusage
		_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
		return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	// The recordings' files, read on disk: the API lists them to agents only.
	recorded := func(session string) int64 {
		files, _ := filepath.Glob(filepath.Join(dataDir, "recordings", session+"-*"))
		var n int64
		for _, f := range files {
			if fi, err := os.Stat(f); err == nil {
				n += fi.Size()
			}
		}
		return n
	}
	for _, page := range []string{"", "animated"} {
		body := fmt.Sprintf(`{"url":%q,"rules":{"recording":{"allow":true}}}`, srv.DemoURL()+page)
		res, err := http.Post(srv.URL()+"/api/v1/sessions", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		var created struct {
			ID    string
			Links map[string]string
		}
		_ = json.NewDecoder(res.Body).Decode(&created)
		res.Body.Close()
		host := openTab(t, browser, created.Links["host"])
		join(t, host, "Hana")
		guest := openTab(t, browser, created.Links["guest"])
		join(t, guest, "Gus")
		pictureMode(t, guest, "Gus")
		waitFrame(t, host)

		c0, t0 := cpu(), time.Now()
		time.Sleep(window) // the measurement window itself
		idle := (cpu() - c0).Seconds() / time.Since(t0).Seconds()

		must(t, host, "Hana starts recording", chromedp.Click(chromedp.ID("rec-btn")), chromedp.WaitVisible(chromedp.ID("rec-chip")))
		b0, c1, t1 := recorded(created.ID), cpu(), time.Now()
		time.Sleep(window)
		secs := time.Since(t1).Seconds()
		rec := (cpu() - c1).Seconds() / secs
		must(t, host, "Hana stops recording", chromedp.Click(chromedp.ID("rec-btn")), chromedp.WaitNotVisible(chromedp.ID("rec-chip")))
		bytes := recorded(created.ID) - b0
		name := page
		if name == "" {
			name = "home (still)"
		}
		t.Logf("%s: %.1f MB a minute recorded; server CPU %.0f%% of a core recording, %.0f%% without (host and guest watching)",
			name, float64(bytes)/secs*60/1e6, 100*rec, 100*idle)
		if bytes == 0 {
			t.Fatalf("nothing recorded on %s", name)
		}
	}
}
