package proxy_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"
)

// TestBenchPageVsPictureBytes measures what one viewer receives in Page mode and in
// Picture mode, side by side in the same session: a static page at rest, a long text
// page scrolled by the wheel, and an animated page. It is a measurement, not a check:
// run it with TANDEM_BENCH=1 go test -run TestBenchPageVsPictureBytes -v ./proxy/
func TestBenchPageVsPictureBytes(t *testing.T) {
	if os.Getenv("TANDEM_BENCH") == "" {
		t.Skip("a measurement: set TANDEM_BENCH=1")
	}
	var long strings.Builder
	for i := range 200 {
		fmt.Fprintf(&long, "<p>Paragraph %d: the trail climbs through pine and granite, past two lakes and a ridge with a view of the valley.</p>", i)
	}
	pages := map[string]string{
		"static":   `<!doctype html><title>Home</title><style>body{font:18px sans-serif;margin:40px} .card{border:1px solid #ccc;padding:20px;margin:10px;border-radius:8px}</style><h1>Gear for every trail</h1>` + strings.Repeat(`<div class=card><h2>Tent</h2><p>Two people, three seasons, 1.8 kg.</p></div>`, 8),
		"longtext": `<!doctype html><title>Guide</title><style>body{font:18px/1.6 serif;margin:40px}</style>` + long.String(),
		"animated": `<!doctype html><title>Anim</title><style>@keyframes mv{to{transform:translateX(300px)}} .b{width:80px;height:80px;background:teal;animation:mv 1s linear infinite alternate}</style><div class=b></div><p>moving</p>`,
	}
	mux := http.NewServeMux()
	for name, html := range pages {
		mux.HandleFunc("/"+name, func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, html) })
	}
	site := httptest.NewServer(mux)
	t.Cleanup(site.Close)
	for _, name := range []string{"static", "longtext", "animated"} {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t)
			s := h.create(site.URL + "/" + name)
			host := h.join(s.ID, token(s.Links["host"]), "Hana")
			host.state(controllerIs(host.id()))
			dom := h.join(s.ID, token(s.Links["guest"]), "Page viewer")
			pix := h.join(s.ID, token(s.Links["guest"]), "Picture viewer")
			dom.send(map[string]any{"type": "mode", "mode": "dom"})
			dom.waitFor("dom", func(m map[string]any) bool { return m["kind"] == "snapshot" })
			eventually(t, "pictures", func() bool { return pix.frames.Load() > 0 })
			start := time.Now()
			d0, p0 := bytesOf(dom), bytesOf(pix)
			for time.Since(start) < 3*time.Second {
				if name == "longtext" {
					host.send(map[string]any{"type": "wheel", "x": 0.5, "y": 0.5, "deltaX": 0, "deltaY": 120})
				}
				time.Sleep(100 * time.Millisecond)
			}
			secs := time.Since(start).Seconds()
			d, p := float64(bytesOf(dom)-d0)/secs, float64(bytesOf(pix)-p0)/secs
			t.Logf("%s: Page %.0f B/s, Picture %.0f B/s per viewer (Page/Picture = %.3f)", name, d, p, d/max(p, 1))
		})
	}
}

// bytesOf counts what a client has received so far: text messages and frames.
func bytesOf(c *client) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, b := range c.raw {
		n += len(b)
	}
	return n + c.frameBytes
}
