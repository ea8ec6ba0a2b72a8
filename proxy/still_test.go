package proxy_test

import (
	"bytes"
	"fmt"
	"image/jpeg"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"

	"github.com/tandem-cobrowse/tandem/stream"
)

// TestStillPagesSayTheyAreStill: the first picture a viewer gets is the page, never the
// blank tab from before it loaded; and a page that does not change is not silent: a
// "still" message names the newest picture, so a client can tell a still page from a
// stalled stream.
func TestStillPagesSayTheyAreStill(t *testing.T) {
	red := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`<!doctype html><title>Red</title><style>html,body{margin:0;height:100%;background:#d00}</style>`))
	}))
	t.Cleanup(red.Close)
	h := newHarness(t)
	s := h.create(red.URL)
	first := make(chan []byte, 1)
	c := h.join(s.ID, token(s.Links["host"]), "Hana")
	c.mu.Lock()
	c.onFrame = func(_ stream.FrameHeader, jpg []byte) {
		select {
		case first <- bytes.Clone(jpg):
		default:
		}
	}
	c.mu.Unlock()
	img, err := jpeg.Decode(bytes.NewReader(<-first))
	if err != nil {
		t.Fatal(err)
	}
	b := img.Bounds()
	r, g, bl, _ := img.At(b.Dx()/2, b.Dy()/2).RGBA()
	if r>>8 < 150 || g>>8 > 80 || bl>>8 > 80 {
		t.Fatalf("the first picture's middle is rgb(%d,%d,%d), not the page's red", r>>8, g>>8, bl>>8)
	}
	still := c.waitFor("still", nil)
	if seq := uint64(still["seq"].(float64)); seq != c.lastFrame().Seq || seq == 0 {
		t.Fatalf("still names picture %d; the newest is %d", seq, c.lastFrame().Seq)
	}
}

// TestBigSessionsKeepStateSmall: past fullListUpTo participants, a guest's state lists
// the people who matter (the host, who holds or asks for control) and the audience's
// size; the host still gets everyone.
func TestBigSessionsKeepStateSmall(t *testing.T) {
	p := newProvider(t)
	h := newHarness(t)
	s := h.create(p.URL)
	host := h.join(s.ID, token(s.Links["host"]), "Hana")
	host.id()
	var guests []*client
	for i := range 30 {
		g := h.dial(s.ID, map[string]any{"type": "hello", "token": token(s.Links["guest"]), "name": fmt.Sprintf("G%d", i)})
		guests = append(guests, g)
	}
	host.state(func(m map[string]any) bool { return len(m["participants"].([]any)) == 31 })
	last := guests[len(guests)-1]
	last.id()
	asker := guests[3]
	askerID := asker.id()
	asker.send(map[string]any{"type": "control", "action": "request"})
	st := last.state(func(m map[string]any) bool {
		return m["audience"] == float64(31) && len(m["requests"].([]any)) == 1
	})
	var names []string
	for _, p := range st["participants"].([]any) {
		names = append(names, p.(map[string]any)["id"].(string))
	}
	if len(names) != 2 || !slices.Contains(names, askerID) {
		t.Fatalf("a guest's state in a big session lists %v", names)
	}
}
