package proxy_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/tandem-cobrowse/tandem/proxy"
)

// pickerPage has a plain select, a select masked from agents and guests, and a link; the
// selects report every change to the provider.
func pickerPage(t *testing.T) (*httptest.Server, func() []string) {
	var mu sync.Mutex
	var picks []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/picked" {
			mu.Lock()
			picks = append(picks, r.URL.Query().Get("v"))
			mu.Unlock()
			return
		}
		fmt.Fprint(w, `<!doctype html><title>Pickers</title><style>body{margin:0} select{position:fixed;width:200px;height:40px}</style>
<select id=plain style="left:0;top:0"><option value=a>Apple</option><option value=b>Banana</option></select>
<div data-tandem-mask><select id=secret style="left:400px;top:0"><option value=1>PIN 1234</option><option value=2>PIN 9876</option></select></div>
<a id=l href="/private?token=s3cr3t" style="position:fixed;left:0;top:300px;font:30px sans-serif">a link</a>
<script>for (const s of document.querySelectorAll('select')) s.addEventListener('change', () => fetch('/picked?v=' + s.value));</script>`)
	}))
	t.Cleanup(srv.Close)
	return srv, func() []string {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(picks)
	}
}

func rightClick(c *client, x, y float64) {
	c.send(map[string]any{"type": "mouse", "action": "down", "x": x, "y": y, "button": "right", "buttons": 2, "clickCount": 1})
	c.send(map[string]any{"type": "mouse", "action": "up", "x": x, "y": y, "button": "right", "buttons": 0, "clickCount": 1})
}

// pickers lists the picker messages c got, newest last.
func pickers(c *client) []map[string]any {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []map[string]any
	for _, m := range c.msgs {
		if m["type"] == "picker" {
			out = append(out, m)
		}
	}
	return out
}

// nextPicker waits for a picker message after the first n.
func nextPicker(t *testing.T, c *client, n int) map[string]any {
	t.Helper()
	var got map[string]any
	eventually(t, "a picker", func() bool {
		if ps := pickers(c); len(ps) > n {
			got = ps[n]
			return true
		}
		return false
	})
	return got
}

func closedPicker(c *client, id any) func() bool {
	return func() bool { return c.count("picker_closed", func(m map[string]any) bool { return m["id"] == id }) > 0 }
}

func TestPickersAreShownToAllAndAnsweredByTheController(t *testing.T) {
	page, picks := pickerPage(t)
	h := newHarness(t)
	s := h.create(page.URL)
	host := h.join(s.ID, token(s.Links["host"]), "Hana")
	hostID := host.id()
	host.state(controllerIs(hostID))
	guest := h.join(s.ID, token(s.Links["guest"]), "Gus")
	guestID := guest.id()
	eventually(t, "the guest has a picture", func() bool { return guest.frames.Load() > 0 })

	// The plain select: everyone sees its options; only the controller's pick counts.
	host.click(100.0/800, 20.0/600)
	p := nextPicker(t, host, 0)
	g := nextPicker(t, guest, 0)
	if p["kind"] != "select" || len(p["options"].([]any)) != 2 || g["id"] != p["id"] || len(g["options"].([]any)) != 2 {
		t.Fatalf("host's picker %v, guest's %v", p, g)
	}
	guest.send(map[string]any{"type": "pick", "id": p["id"], "index": 1, "value": "b"})
	eventually(t, "the guest is refused", func() bool { return refusedFor(guest, proxy.RefusedNoControl) > 0 })
	host.send(map[string]any{"type": "pick", "id": p["id"], "index": 1, "value": "b"})
	eventually(t, "the page takes the host's pick", func() bool { return slices.Equal(picks(), []string{"b"}) })
	eventually(t, "the guest sees it closed", closedPicker(guest, p["id"]))

	// The masked select: the guest learns that it is there, nothing of what it holds.
	host.click(500.0/800, 20.0/600)
	p = nextPicker(t, host, 1)
	g = nextPicker(t, guest, 1)
	if p["masked"] == true || len(p["options"].([]any)) != 2 {
		t.Fatalf("the host's picker of the masked select: %v", p)
	}
	if g["masked"] != true || g["options"] != nil || g["value"] != nil {
		t.Fatalf("the guest's picker of the masked select: %v", g)
	}
	host.send(map[string]any{"type": "pick", "id": p["id"], "cancel": true})
	eventually(t, "the host's cancel closes it", closedPicker(guest, p["id"]))

	// The menu on a link: its address goes to the controller's clipboard only.
	rightClick(host, 30.0/800, 320.0/600)
	m := nextPicker(t, host, 2)
	if m["kind"] != "menu" || m["link"] != true {
		t.Fatalf("menu %v", m)
	}
	host.send(map[string]any{"type": "pick", "id": m["id"], "value": "copyLink"})
	eventually(t, "the host gets the link", func() bool {
		cs := clipboards(host)
		return len(cs) > 0 && strings.HasSuffix(cs[len(cs)-1], "/private?token=s3cr3t")
	})

	// With control, the guest still may not pick what it may not see, nor reload.
	host.send(map[string]any{"type": "control", "action": "grant", "participant": guestID})
	guest.state(controllerIs(guestID))
	n := len(pickers(guest))
	guest.click(500.0/800, 20.0/600)
	if g = nextPicker(t, guest, n); g["kind"] != "select" || g["masked"] != true {
		t.Fatalf("the guest's picker %v", g)
	}
	guest.send(map[string]any{"type": "pick", "id": g["id"], "index": 1, "value": "2"})
	eventually(t, "the guest's blind pick is refused", func() bool { return refusedFor(guest, proxy.RefusedMasked) > 0 })
	guest.send(map[string]any{"type": "pick", "id": g["id"], "cancel": true})
	eventually(t, "the guest's cancel closes it", closedPicker(host, g["id"]))
	rightClick(guest, 700.0/800, 500.0/600)
	m = nextPicker(t, guest, n+1)
	if m["kind"] != "menu" || m["link"] == true {
		t.Fatalf("the guest's menu %v", m)
	}
	guest.send(map[string]any{"type": "pick", "id": m["id"], "value": "reload"})
	eventually(t, "the guest may not reload", func() bool { return refusedFor(guest, proxy.RefusedKind) > 0 })
	if got := picks(); !slices.Equal(got, []string{"b"}) {
		t.Fatalf("the page took %v", got)
	}
	guest.mu.Lock()
	defer guest.mu.Unlock()
	for _, raw := range guest.raw {
		if strings.Contains(string(raw), "s3cr3t") || strings.Contains(string(raw), "PIN 1234") {
			t.Errorf("the guest got %s", raw)
		}
	}
}
