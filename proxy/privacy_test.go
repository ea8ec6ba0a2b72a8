package proxy_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tandem-cobrowse/tandem/proxy"
	"github.com/tandem-cobrowse/tandem/stream"
)

// formPage is a provider page whose fields report their values to the provider's server
// on every change: the test reads what the page really holds, server-side. The password
// field and the card number are masked from agents and guests; "done" is a plain field
// the test types a marker into, as a round trip: once the marker arrives, every input
// sent before it has been handled.
type formPage struct {
	*httptest.Server
	mu      sync.Mutex
	reports []map[string]string
}

func newFormPage(t *testing.T) *formPage {
	p := &formPage{}
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `<!doctype html><title>Form</title><style>body{margin:0;font:20px sans-serif} input,textarea{display:block;margin:10px;width:300px;height:40px;font:20px sans-serif}</style>
<input id=pw type=password value="hunter2">
<input id=done>
<textarea id=ta></textarea>
<p id=card data-tandem-mask>4111 1111 1111 1111</p>
<p id=plain>plain words</p>
<script>
const report = () => fetch('/state', {method: 'POST', body: JSON.stringify({
	pw: pw.value, done: done.value, ta: ta.value, focus: document.activeElement ? document.activeElement.id : ''})});
for (const e of ['input', 'change', 'keyup']) document.addEventListener(e, report, true);
</script>`)
	})
	mux.HandleFunc("POST /state", func(w http.ResponseWriter, r *http.Request) {
		var m map[string]string
		if json.NewDecoder(r.Body).Decode(&m) == nil {
			p.mu.Lock()
			p.reports = append(p.reports, m)
			p.mu.Unlock()
		}
	})
	p.Server = httptest.NewServer(mux)
	t.Cleanup(p.Close)
	return p
}

// await waits for a report whose "done" ends with marker (markers add up) and returns it.
func (p *formPage) await(t *testing.T, marker string) map[string]string {
	t.Helper()
	var got map[string]string
	eventually(t, "the page reports "+marker, func() bool {
		p.mu.Lock()
		defer p.mu.Unlock()
		for _, r := range p.reports {
			if strings.HasSuffix(r["done"], marker) {
				got = r
				return true
			}
		}
		return false
	})
	return got
}

// everPw lists every value the password field was reported with.
func (p *formPage) everPw() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []string
	for _, r := range p.reports {
		out = append(out, r["pw"])
	}
	return out
}

// key is a key message; its keyCode is the one a browser gives the physical key, as an
// attacker sends it, whatever the key's name says.
func key(action, k, code string, mods int, text string) map[string]any {
	vk := map[string]int{"Tab": 9, "Backspace": 8, "Delete": 46, "Insert": 45, "Escape": 27, "ArrowLeft": 37}[code]
	if strings.HasPrefix(code, "Key") && len(code) == 4 {
		vk = int(code[3])
	}
	return map[string]any{"type": "key", "action": action, "key": k, "code": code, "keyCode": vk, "modifiers": mods, "text": text}
}

func tap(c *client, k, code string, mods int, text string) {
	c.send(key("down", k, code, mods, text))
	c.send(key("up", k, code, mods, ""))
}

// typeMarker focuses the plain field and types marker into it: the round trip.
func typeMarker(c *client, marker string) {
	c.click(0.2, 0.16) // the "done" field
	c.send(map[string]any{"type": "text", "text": marker})
}

// controllingGuest opens a session on page with a host and a guest who holds control.
func controllingGuest(t *testing.T, h *harness, page string) (host, guest *client) {
	s := h.create(page)
	host = h.join(s.ID, token(s.Links["host"]), "Hana")
	hostID := host.id()
	host.state(controllerIs(hostID))
	guest = h.join(s.ID, token(s.Links["guest"]), "Gus")
	guestID := guest.id()
	host.send(map[string]any{"type": "control", "action": "grant", "participant": guestID})
	guest.state(controllerIs(guestID))
	eventually(t, "the guest has a picture", func() bool { return guest.frames.Load() > 0 })
	return host, guest
}

func refusedFor(c *client, reason proxy.Refusal) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, m := range c.msgs {
		if m["code"] == "input_refused" && m["reason"] == string(reason) {
			n++
		}
	}
	return n
}

func clipboards(c *client) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for _, m := range c.msgs {
		if m["type"] == "clipboard" {
			out = append(out, fmt.Sprint(m["text"]))
		}
	}
	return out
}

const ctrl, shift, meta = 2, 8, 4

// TestMaskedFieldIsJudgedByEffect: in a masked field, a key is judged by what it does in
// the tab, never by the name the client gives it.
func TestMaskedFieldIsJudgedByEffect(t *testing.T) {
	page := newFormPage(t)
	h := newHarness(t)
	_, guest := controllingGuest(t, h, page.URL)
	guest.click(0.2, 0.05) // the password field
	typeMarker(guest, "m0")
	guest.click(0.2, 0.05)

	tap(guest, "Tab", "KeyX", 0, "x")         // a "Tab" on the X key that types
	tap(guest, "Escape", "Backspace", 0, "")  // an "Escape" on Backspace
	tap(guest, "Unidentified", "", 0, "y")    // text with no name at all
	tap(guest, "Tab", "KeyA", ctrl, "")       // a "Tab" on the A key with Ctrl: select all
	tap(guest, "ArrowLeft", "KeyX", ctrl, "") // an "arrow" that cuts
	tap(guest, "Shift", "Delete", shift, "")  // Shift+Delete cuts too
	tap(guest, "Insert", "Insert", shift, "") // Shift+Insert pastes
	tap(guest, "z", "KeyZ", meta, "")         // undo, Mac style
	typeMarker(guest, "m1")
	got := page.await(t, "m1")
	for _, pw := range page.everPw() {
		if pw != "hunter2" {
			t.Fatalf("the masked field was changed to %q", pw)
		}
	}
	if got["pw"] != "hunter2" {
		t.Fatalf("password = %q", got["pw"])
	}
	if refusedFor(guest, proxy.RefusedMasked) == 0 {
		t.Fatal("the guest was never told why its keys were dropped")
	}
	for _, c := range clipboards(guest) {
		if strings.Contains(c, "hunter2") {
			t.Fatalf("the guest's clipboard got the password: %q", c)
		}
	}
}

// TestNoFocusRace: a click into a masked field and typing sent right after it, in one
// burst, are judged by the focus the click produced.
func TestNoFocusRace(t *testing.T) {
	page := newFormPage(t)
	h := newHarness(t)
	_, guest := controllingGuest(t, h, page.URL)
	for round := range 5 {
		typeMarker(guest, fmt.Sprintf("r%d", round)) // focus is on the plain field
		guest.click(0.2, 0.05)                       // the password field…
		guest.send(map[string]any{"type": "text", "text": "owned"})
		tap(guest, "q", "KeyQ", 0, "q") // …and typing at once, in the same burst
		tap(guest, "Tab", "Tab", shift, "")
	}
	typeMarker(guest, "end")
	page.await(t, "end")
	for _, pw := range page.everPw() {
		if pw != "hunter2" {
			t.Fatalf("typing raced the focus change into the masked field: %q", pw)
		}
	}
}

// TestCopyNeverCarriesMaskedText: a selection holding masked content is not copied for a
// role that must not see it; the host, who sees it, copies it.
func TestCopyNeverCarriesMaskedText(t *testing.T) {
	page := newFormPage(t)
	h := newHarness(t)
	host, guest := controllingGuest(t, h, page.URL)
	guest.click(0.9, 0.9)             // the page itself
	tap(guest, "a", "KeyA", ctrl, "") // selects the whole document, card number included
	tap(guest, "c", "KeyC", ctrl, "") // copy by key
	guest.send(map[string]any{"type": "copy"})
	tap(guest, "Insert", "Insert", ctrl, "") // copy by Ctrl+Insert
	guest.click(0.2, 0.05)                   // the password field
	tap(guest, "a", "KeyA", ctrl, "")
	guest.send(map[string]any{"type": "copy"})
	typeMarker(guest, "m1")
	page.await(t, "m1")
	eventually(t, "the guest is told the copy was refused", func() bool { return refusedFor(guest, proxy.RefusedMaskedCopy) > 0 })
	for _, c := range clipboards(guest) {
		if strings.Contains(c, "4111") || strings.Contains(c, "hunter2") {
			t.Fatalf("the guest's clipboard got masked text: %q", c)
		}
	}

	// The host, who may see masked content, copies the same selection.
	host.send(map[string]any{"type": "control", "action": "take"})
	host.state(controllerIs(host.id()))
	host.click(0.9, 0.9)
	tap(host, "a", "KeyA", ctrl, "")
	tap(host, "c", "KeyC", ctrl, "")
	eventually(t, "the host copies the card number", func() bool {
		for _, c := range clipboards(host) {
			if strings.Contains(c, "4111 1111") && strings.Contains(c, "plain words") {
				return true
			}
		}
		return false
	})
}

// TestClipboardIsPerSession: what one session copies (by key, or by the page's own script)
// is never pasted in another.
func TestClipboardIsPerSession(t *testing.T) {
	page := newFormPage(t)
	h := newHarness(t)
	a := h.create(page.URL)
	hostA := h.join(a.ID, token(a.Links["host"]), "Ann")
	hostA.state(controllerIs(hostA.id()))
	eventually(t, "A has a picture", func() bool { return hostA.frames.Load() > 0 })
	hostA.click(0.9, 0.9)
	tap(hostA, "a", "KeyA", ctrl, "")
	tap(hostA, "c", "KeyC", ctrl, "")
	tap(hostA, "Insert", "Insert", ctrl, "")
	eventually(t, "A copies", func() bool { return len(clipboards(hostA)) >= 2 })

	b := h.create(page.URL)
	hostB := h.join(b.ID, token(b.Links["host"]), "Bea")
	hostB.state(controllerIs(hostB.id()))
	eventually(t, "B has a picture", func() bool { return hostB.frames.Load() > 0 })
	hostB.click(0.2, 0.3) // B's textarea
	tap(hostB, "v", "KeyV", ctrl, "")
	tap(hostB, "Insert", "Insert", shift, "")
	tap(hostB, "V", "KeyV", ctrl|shift, "")
	tap(hostB, "Paste", "Paste", 0, "")
	hostB.click(0.2, 0.16)
	hostB.send(map[string]any{"type": "text", "text": "b1"})
	got := page.await(t, "b1")
	if strings.Contains(got["ta"], "4111") || strings.Contains(got["ta"], "plain") {
		t.Fatalf("session B pasted what session A copied: %q", got["ta"])
	}
	if got["ta"] != "" {
		t.Fatalf("B's textarea holds %q, want nothing", got["ta"])
	}
}

// TestMaskedRefusalIsToldAgain: a participant who keeps typing into a masked field is
// told again after a while, not once for good.
func TestMaskedRefusalIsToldAgain(t *testing.T) {
	page := newFormPage(t)
	now := time.Now()
	var clock sync.Mutex
	h := newHarness(t, func(rp *proxy.RegistryParams, _ *proxy.APIParams) {
		rp.Now = func() time.Time { clock.Lock(); defer clock.Unlock(); return now }
	})
	_, guest := controllingGuest(t, h, page.URL)
	guest.click(0.2, 0.05)
	for range 3 {
		guest.send(map[string]any{"type": "text", "text": "x"})
	}
	typeMarker(guest, "m1")
	page.await(t, "m1")
	eventually(t, "one refusal told", func() bool { return refusedFor(guest, proxy.RefusedMasked) == 1 })
	clock.Lock()
	now = now.Add(11 * time.Second)
	clock.Unlock()
	guest.click(0.2, 0.05)
	guest.send(map[string]any{"type": "text", "text": "x"})
	typeMarker(guest, "m2")
	page.await(t, "m2")
	eventually(t, "the refusal told again", func() bool { return refusedFor(guest, proxy.RefusedMasked) == 2 })
}

// TestHiddenPageInsideAFrame: a page a role may not see stays hidden from it when another
// page embeds it, in a frame of the same site or of another (its own process), and when
// the frame navigates to it later.
func TestHiddenPageInsideAFrame(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/checkout", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `<!doctype html><title>Checkout</title><body style="margin:0;background:#f0f">pay</body>`)
	})
	secret := httptest.NewServer(mux)
	t.Cleanup(secret.Close)
	// The same server under another name: another site, so its frame gets its own process.
	otherSite := "http://localhost" + strings.TrimPrefix(secret.URL, "http://127.0.0.1")
	host := http.NewServeMux()
	host.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		src := map[string]string{"same": "/checkout-here", "other": otherSite + "/checkout"}[r.URL.Query().Get("frame")]
		fmt.Fprintf(w, `<!doctype html><title>Shop</title><style>body{margin:0}</style><p>shop</p>
<iframe id=f style="border:0;width:600px;height:400px"></iframe>
<script>setTimeout(() => { document.getElementById('f').src = %q; }, 300);</script>`, src)
	})
	top := httptest.NewServer(host)
	t.Cleanup(top.Close)

	host.HandleFunc("/checkout-here", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `<!doctype html><title>Checkout</title><body style="margin:0;background:#f0f">pay</body>`)
	})
	for name, frame := range map[string]string{"same site": "same", "another site": "other"} {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t)
			body := fmt.Sprintf(`{"url":%q,"rules":{"guest":{"hidePages":["*/checkout*"]}}}`, top.URL+"/?frame="+frame)
			status, out := h.do("POST", "/api/v1/sessions", "", body)
			if status != 201 {
				t.Fatalf("create: %d %v", status, out)
			}
			links := out["links"].(map[string]any)
			id := out["id"].(string)
			hostC := h.join(id, token(links["host"].(string)), "Hana")
			guest := h.join(id, token(links["guest"].(string)), "Gus")
			var shown, hidden, leaks int
			guest.mu.Lock()
			guest.onFrame = func(hd stream.FrameHeader, jpg []byte) {
				switch {
				case hd.Hidden:
					hidden++
				case magentaPixels(t, jpg) > 0:
					leaks++
					t.Errorf("guest frame %d shows the hidden page", hd.Seq)
				default:
					shown++
				}
			}
			guest.mu.Unlock()
			eventually(t, "the host sees the embedded checkout", func() bool {
				hostC.mu.Lock()
				defer hostC.mu.Unlock()
				return hostC.lastJPEG != nil && magentaPixels(t, hostC.lastJPEG) > 1000
			})
			eventually(t, "the guest's picture is hidden", func() bool {
				guest.mu.Lock()
				defer guest.mu.Unlock()
				return guest.last.Hidden
			})
			guest.mu.Lock()
			defer guest.mu.Unlock()
			if leaks > 0 {
				t.Fatalf("%d guest frames showed the hidden page (%d shown, %d hidden)", leaks, shown, hidden)
			}
		})
	}
}
