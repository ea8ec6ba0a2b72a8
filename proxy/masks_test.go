package proxy_test

import (
	"bytes"
	"fmt"
	"image/jpeg"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/tandem-cobrowse/tandem/proxy"
	"github.com/tandem-cobrowse/tandem/stream"
)

// magentaPixels counts the pixels of a picture that are close to pure magenta.
func magentaPixels(t *testing.T, jpg []byte) int {
	img, err := jpeg.Decode(bytes.NewReader(jpg))
	if err != nil {
		t.Errorf("decoding a frame: %v", err)
		return 0
	}
	n := 0
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			if r>>8 > 200 && g>>8 < 80 && bl>>8 > 200 {
				n++
			}
		}
	}
	return n
}

func secretPage(t *testing.T) *httptest.Server {
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `<!doctype html><meta name=viewport content="width=device-width"><title>Account</title>
<style>body{margin:0;font:20px sans-serif} .s{background:#ff00ff;color:#ff00ff}</style>
<p>Card on file:</p><div class=s data-tandem-mask style="width:300px;height:80px">4111 1111 1111 1111</div>
<p>Password: <input id=pw type=password class=s value="hunter2" style="width:300px;height:40px;border:0"></p>
<p><a href="/checkout">checkout</a></p>`)
	})
	mux.HandleFunc("/checkout", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `<!doctype html><title>Checkout</title><p>pay here</p>`)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func TestMaskedRolesNeverSeeMaskedPixels(t *testing.T) {
	page := secretPage(t)
	h := newHarness(t)
	s := h.create(page.URL)
	host := h.join(s.ID, token(s.Links["host"]), "Hana")
	hostID := host.id()
	host.state(controllerIs(hostID))

	guest := h.join(s.ID, token(s.Links["guest"]), "Gus")
	guestID := guest.id()
	var guestFrames, leaks int
	guest.mu.Lock()
	guest.onFrame = func(hd stream.FrameHeader, jpg []byte) {
		guestFrames++
		if n := magentaPixels(t, jpg); n > 0 {
			leaks++
			t.Errorf("guest frame %d shows %d masked pixels", hd.Seq, n)
		}
	}
	guest.mu.Unlock()

	eventually(t, "the host sees the card and the password", func() bool {
		host.mu.Lock()
		jpg := host.lastJPEG
		host.mu.Unlock()
		return jpg != nil && magentaPixels(t, jpg) > 1000
	})
	eventually(t, "the guest gets masked frames", func() bool {
		guest.mu.Lock()
		defer guest.mu.Unlock()
		return guestFrames > 0 && guest.last.Masked
	})
	// Scroll while the guest watches: every frame stays masked.
	for i := 0; i < 10; i++ {
		host.send(map[string]any{"type": "wheel", "x": 0.5, "y": 0.5, "deltaY": 15})
	}
	for i := 0; i < 10; i++ {
		host.send(map[string]any{"type": "wheel", "x": 0.5, "y": 0.5, "deltaY": -15})
	}

	// The guest, given control, cannot type into the masked password field.
	host.send(map[string]any{"type": "control", "action": "grant", "participant": guestID})
	guest.state(controllerIs(guestID))
	guest.click(0.01, 0.01) // on the page itself; Tab then focuses its first field
	guest.send(map[string]any{"type": "key", "action": "down", "key": "Tab", "code": "Tab", "keyCode": 9})
	guest.send(map[string]any{"type": "key", "action": "up", "key": "Tab", "code": "Tab", "keyCode": 9})
	eventually(t, "focus reaches the password field", func() bool {
		guest.send(map[string]any{"type": "text", "text": "x"})
		guest.mu.Lock()
		defer guest.mu.Unlock()
		for _, m := range guest.msgs {
			if m["code"] == "input_refused" && m["reason"] == string(proxy.RefusedMasked) {
				return true
			}
		}
		return false
	})

	guest.mu.Lock()
	n := guestFrames
	guest.mu.Unlock()
	if leaks > 0 || n == 0 {
		t.Fatalf("%d of %d guest frames leaked", leaks, n)
	}
}

func TestHiddenPageRule(t *testing.T) {
	page := secretPage(t)
	h := newHarness(t)
	status, out := h.do("POST", "/api/v1/sessions", "", fmt.Sprintf(`{"url":%q,"rules":{"guest":{"hidePages":["*/checkout*"]}}}`, page.URL))
	if status != 201 {
		t.Fatalf("create: %d %v", status, out)
	}
	links := out["links"].(map[string]any)
	id := out["id"].(string)
	host := h.join(id, token(links["host"].(string)), "Hana")
	host.state(controllerIs(host.id()))
	guest := h.join(id, token(links["guest"].(string)), "Gus")
	guest.id()
	eventually(t, "the guest sees the account page", func() bool {
		guest.mu.Lock()
		defer guest.mu.Unlock()
		return guest.last.Seq > 0 && !guest.last.Hidden
	})
	host.send(map[string]any{"type": "navigate", "url": page.URL + "/checkout"})
	host.state(func(m map[string]any) bool { return m["title"] == "Checkout" })
	guest.state(func(m map[string]any) bool { return m["title"] == "Hidden page" && m["url"] == "" })
	guest.mu.Lock()
	for _, m := range guest.msgs {
		if m["type"] == "state" && (m["title"] == "Checkout" || strings.Contains(fmt.Sprint(m["url"]), "/checkout")) {
			t.Errorf("the guest learnt the hidden page's address or title: %v", m)
		}
	}
	guest.mu.Unlock()
	eventually(t, "the guest's picture of the checkout is hidden", func() bool {
		guest.mu.Lock()
		defer guest.mu.Unlock()
		return guest.last.Hidden
	})
	eventually(t, "the host sees the checkout", func() bool {
		host.mu.Lock()
		defer host.mu.Unlock()
		return !host.last.Hidden && host.last.Seq > 0
	})
	if status, _ := h.do("POST", "/api/v1/sessions", "", fmt.Sprintf(`{"url":%q,"rules":{"guest":{"masks":["div[[["]}}}`, page.URL)); status != 400 {
		t.Fatalf("an invalid mask selector: %d, want 400", status)
	}
}
