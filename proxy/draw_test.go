package proxy_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/gorilla/websocket"

	"github.com/tandem-cobrowse/tandem/proxy"
)

// inputPage is a provider whose page reports every pointer, mouse, touch and click event
// it receives, so a test sees exactly what input reached the tab.
type inputPage struct {
	*httptest.Server
	mu     sync.Mutex
	events map[string]int
}

func newInputPage(t *testing.T) *inputPage {
	t.Helper()
	p := &inputPage{events: map[string]int{}}
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/event" {
			p.mu.Lock()
			p.events[r.URL.Query().Get("k")]++
			p.mu.Unlock()
			return
		}
		fmt.Fprint(w, `<!doctype html><title>Input counter</title><style>html,body{margin:0;height:100%}</style>
<p>Draw on me</p>
<script>for (const k of ['pointerdown','mousedown','touchstart','click','wheel','keydown'])
  addEventListener(k, () => fetch('/event?k=' + k, {method: 'POST'}), true);</script>`)
	}))
	t.Cleanup(p.Close)
	return p
}

func (p *inputPage) count(k string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.events[k]
}

func (p *inputPage) total() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, v := range p.events {
		n += v
	}
	return n
}

func drawing(shape string, points ...[2]float64) map[string]any {
	return map[string]any{"type": "draw", "shape": shape, "points": points}
}

func from(id string) func(map[string]any) bool {
	return func(m map[string]any) bool { return m["from"] == id }
}

// colorOf is participant id's colour in c's newest state.
func colorOf(c *client, id string) string {
	st := c.state(func(m map[string]any) bool {
		for _, p := range m["participants"].([]any) {
			if p.(map[string]any)["id"] == id {
				return true
			}
		}
		return false
	})
	for _, p := range st["participants"].([]any) {
		if p := p.(map[string]any); p["id"] == id {
			return p["color"].(string)
		}
	}
	return ""
}

func TestDrawingReachesEveryoneAndIsNotInput(t *testing.T) {
	page := newInputPage(t)
	h := newHarness(t)
	s := h.create(page.URL)
	host := h.join(s.ID, token(s.Links["host"]), "Hana")
	hostID := host.id()
	host.state(controllerIs(hostID))
	eventually(t, "the host has a frame", func() bool { return host.frames.Load() > 0 })
	guest := h.join(s.ID, token(s.Links["guest"]), "Gus")
	guestID := guest.id()

	t.Run("a guest's rectangle reaches the host in the guest's colour", func(t *testing.T) {
		guest.send(drawing("rect", [2]float64{100, 1200.04}, [2]float64{320.5, 1300}))
		m := host.waitFor("draw", from(guestID))
		pts := fmt.Sprint(m["points"])
		if m["shape"] != "rect" || pts != "[[100 1200] [320.5 1300]]" || m["color"] != colorOf(host, guestID) ||
			m["name"] != "Gus" || m["ttl"] != float64(proxy.DrawTTL.Milliseconds()) || !strings.HasPrefix(fmt.Sprint(m["id"]), "d") {
			t.Errorf("the host got %v", m)
		}
		// The author gets it back too, with the same id.
		if own := guest.waitFor("draw", from(guestID)); own["id"] != m["id"] {
			t.Errorf("the guest's own copy %v, the host's %v", own, m)
		}
	})

	t.Run("the controller's freehand and arrow reach the guest", func(t *testing.T) {
		host.send(drawing("free", [2]float64{10, 10}, [2]float64{20, 15}, [2]float64{30, 25}))
		host.send(drawing("arrow", [2]float64{400, 300}, [2]float64{200, 100}))
		guest.waitFor("draw", func(m map[string]any) bool { return m["from"] == hostID && m["shape"] == "free" })
		m := guest.waitFor("draw", func(m map[string]any) bool { return m["from"] == hostID && m["shape"] == "arrow" })
		if m["color"] != colorOf(guest, hostID) || fmt.Sprint(m["points"]) != "[[400 300] [200 100]]" {
			t.Errorf("the guest got %v", m)
		}
	})

	t.Run("clear is broadcast", func(t *testing.T) {
		guest.send(map[string]any{"type": "draw", "action": "clear"})
		host.waitFor("draw_clear", from(guestID))
		guest.waitFor("draw_clear", from(guestID))
	})

	t.Run("nothing of it reached the tab", func(t *testing.T) {
		// Every drawing has come back, so the session has handled them; a real click
		// of the host's then reaches the page as the first and only input it got.
		if n := page.total(); n != 0 {
			t.Fatalf("the page got input from drawing: %v", page.events)
		}
		host.click(0.5, 0.5)
		eventually(t, "the host's click reaches the page", func() bool { return page.count("click") == 1 })
		if page.count("pointerdown") != 1 || page.count("mousedown") != 1 || page.count("touchstart") != 0 {
			t.Errorf("the page got %v, want the one click's events", page.events)
		}
	})
}

func TestDrawingNeedsThePointRule(t *testing.T) {
	page := newInputPage(t)
	h := newHarness(t)
	s := h.createWith(page.URL, `{"guest":{"point":false}}`)
	host := h.join(s.ID, token(s.Links["host"]), "Hana")
	hostID := host.id()
	guest := h.join(s.ID, token(s.Links["guest"]), "Gus")
	guestID := guest.id()

	guest.send(drawing("rect", [2]float64{1, 1}, [2]float64{50, 50}))
	guest.send(map[string]any{"type": "draw", "action": "clear"})
	n := guest.waitFor("notice", func(m map[string]any) bool { return m["code"] == "input_refused" })
	if n["reason"] != "not_allowed" {
		t.Errorf("refusal %v", n)
	}
	// A chat message after them comes to the host after anything they sent it.
	say(guest, "after drawing")
	host.waitFor("chat", chatText("after drawing"))
	if host.count("draw", from(guestID))+host.count("draw_clear", from(guestID)) != 0 {
		t.Error("the host got the refused guest's drawing")
	}
	// The host's own drawing is the session's first: the guest's got no id.
	host.send(drawing("arrow", [2]float64{1, 1}, [2]float64{50, 50}))
	if m := guest.waitFor("draw", from(hostID)); m["id"] != "d1" {
		t.Errorf("the host's drawing is %v, want the first", m)
	}
}

func TestBadDrawingsAreRefused(t *testing.T) {
	page := newInputPage(t)
	h := newHarness(t)
	s := h.create(page.URL)
	host := h.join(s.ID, token(s.Links["host"]), "Hana")
	host.id()
	guest := h.join(s.ID, token(s.Links["guest"]), "Gus")
	guestID := guest.id()

	many := make([][2]float64, proxy.DrawMaxPoints+1)
	for i := range many {
		many[i] = [2]float64{float64(i), float64(i)}
	}
	cases := []struct {
		name string
		raw  string
	}{
		{"an unknown shape", `{"type":"draw","shape":"circle","points":[[1,1],[2,2]]}`},
		{"no shape", `{"type":"draw","points":[[1,1],[2,2]]}`},
		{"too many points", fmt.Sprintf(`{"type":"draw","shape":"free","points":%s}`, jsonOf(many))},
		{"no points", `{"type":"draw","shape":"free","points":[]}`},
		{"an arrow of three points", `{"type":"draw","shape":"arrow","points":[[1,1],[2,2],[3,3]]}`},
		{"a rectangle of one point", `{"type":"draw","shape":"rect","points":[[1,1]]}`},
		{"a point of one number", `{"type":"draw","shape":"free","points":[[1]]}`},
		{"NaN", `{"type":"draw","shape":"free","points":[[NaN,1]]}`},
		{"Infinity", `{"type":"draw","shape":"free","points":[[1,Infinity]]}`},
		{"a coordinate too large", `{"type":"draw","shape":"free","points":[[1,1e400]]}`},
		{"a coordinate beyond the bound", `{"type":"draw","shape":"rect","points":[[0,0],[100001,5]]}`},
		{"a negative coordinate", `{"type":"draw","shape":"rect","points":[[-1,0],[5,5]]}`},
		{"a string coordinate", `{"type":"draw","shape":"free","points":[["1",2]]}`},
		{"an unknown action", `{"type":"draw","action":"undo"}`},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			guest.wmu.Lock()
			err := guest.ws.WriteMessage(websocket.TextMessage, []byte(tc.raw))
			guest.wmu.Unlock()
			if err != nil {
				t.Fatal(err)
			}
			eventually(t, "the refusal comes", func() bool {
				return guest.count("error", func(m map[string]any) bool { return m["code"] == "bad_message" }) == i+1
			})
		})
	}
	// None reached anyone; a good one still does, as the first.
	guest.send(drawing("free", [2]float64{0, 0}, [2]float64{proxy.DrawMaxCoord, proxy.DrawMaxCoord}))
	if m := host.waitFor("draw", from(guestID)); m["id"] != "d1" {
		t.Errorf("the good drawing is %v", m)
	}
}

func TestDrawingIsRateLimited(t *testing.T) {
	page := newInputPage(t)
	h := newHarness(t)
	s := h.create(page.URL)
	host := h.join(s.ID, token(s.Links["host"]), "Hana")
	host.id()
	guest := h.join(s.ID, token(s.Links["guest"]), "Gus")
	guestID := guest.id()

	for range 30 {
		guest.send(drawing("rect", [2]float64{1, 1}, [2]float64{2, 2}))
	}
	n := guest.waitFor("notice", func(m map[string]any) bool { return m["code"] == "input_refused" })
	if n["reason"] != "rate_limited" {
		t.Errorf("refusal %v", n)
	}
	say(guest, "after drawing") // comes to the host after every drawing relayed
	host.waitFor("chat", chatText("after drawing"))
	if got := host.count("draw", from(guestID)); got < 8 || got > 12 {
		t.Errorf("the host got %d of 30 drawings sent at once, want about the burst of 8", got)
	}
}

func TestDrawingsSkipRolesThePageIsHiddenFrom(t *testing.T) {
	page := newInputPage(t)
	h := newHarness(t)
	s := h.createWith(page.URL, `{"guest":{"hidePages":["*"]}}`)
	host := h.join(s.ID, token(s.Links["host"]), "Hana")
	hostID := host.id()
	guest := h.join(s.ID, token(s.Links["guest"]), "Gus")
	guest.id()
	guest2 := h.join(s.ID, token(s.Links["guest"]), "Gia")
	guest2.id()
	eventually(t, "the guest's pictures are hidden", func() bool { return guest.lastFrame().Hidden })

	host.send(drawing("rect", [2]float64{1, 1}, [2]float64{50, 50}))
	host.waitFor("draw", from(hostID))
	host.send(map[string]any{"type": "draw", "action": "clear"})
	host.waitFor("draw_clear", from(hostID))
	say(host, "after drawing") // comes to everyone after anything drawn
	for _, g := range []*client{guest, guest2} {
		g.waitFor("chat", chatText("after drawing"))
		if g.count("draw", nil)+g.count("draw_clear", nil) != 0 {
			t.Error("a guest the page is hidden from got a drawing")
		}
	}
	// Nor may it draw on a page it does not see.
	guest.send(drawing("rect", [2]float64{1, 1}, [2]float64{50, 50}))
	if n := guest.waitFor("notice", func(m map[string]any) bool { return m["code"] == "input_refused" }); n["reason"] != "not_allowed" {
		t.Errorf("refusal %v", n)
	}
}

func jsonOf(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
