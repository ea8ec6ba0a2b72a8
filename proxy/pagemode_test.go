package proxy_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

// secretsPage holds secrets in a masked element (text, title, an image's query), a
// password field, and changes them after load.
func secretsPage(t *testing.T) *httptest.Server {
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `<!doctype html><title>Account</title><link rel=stylesheet href="/site.css">
<div id=card data-tandem-mask title="SECRET-TITLE" aria-label="SECRET-ARIA" style="background:url(/bg.png?SECRET-BG)">SECRET-TEXT <img src="/img.png?SECRET-QUERY" alt="SECRET-ALT"></div>
<input id=pw type=password value="SECRET-VALUE" placeholder="SECRET-PLACEHOLDER">
<p id=pub class=lead>public</p>
<iframe id=fr src="/inner" style="width:300px;height:120px"></iframe>
<script>setTimeout(() => {
	document.getElementById('card').append(' SECRET-LATE');
	document.getElementById('card').title = 'SECRET-TITLE2';
	document.getElementById('pw').value = 'SECRET-VALUE2';
	document.getElementById('pub').textContent = 'public-changed';
}, 300)</script>`)
	})
	// A same-origin frame: in the copy as a DOM, its masks kept like the page's own.
	mux.HandleFunc("/inner", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `<!doctype html><title>Inner</title><p id=in>inside-frame</p>
<span id=fcard data-tandem-mask title="SECRET-FRAME-TITLE">SECRET-FRAME</span>
<input type=password value="SECRET-FRAME-PW">
<script>setTimeout(() => {
	document.getElementById('fcard').append(' SECRET-FRAME-LATE');
	document.getElementById('in').textContent = 'inside-frame-changed';
}, 300)</script>`)
	})
	mux.HandleFunc("/site.css", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/css")
		fmt.Fprint(w, `.lead{color:#333;background:url(lead.png)} @import url(more.css);`)
	})
	mux.HandleFunc("/lead.png", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "image/png")
		w.Write([]byte("\x89PNG\r\n\x1a\nnot really"))
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

// received reports, when called, whether any message c received holds want.
func received(c *client, want string) func() bool {
	return func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		for _, b := range c.raw {
			if bytes.Contains(b, []byte(want)) {
				return true
			}
		}
		return false
	}
}

var assetPath = regexp.MustCompile(`/api/v1/sessions/[A-Za-z0-9_-]+/assets/[A-Za-z0-9_-]+/[A-Za-z0-9_-]+`)

// TestPageModeNeverSendsMaskedContent: in Page mode a masked role's bytes (the socket's
// and the assets') never hold a masked character, before or after the page changes,
// while the host's hold them.
func TestPageModeNeverSendsMaskedContent(t *testing.T) {
	page := secretsPage(t)
	h := newHarness(t)
	s := h.create(page.URL)
	host := h.join(s.ID, token(s.Links["host"]), "Hana")
	host.state(controllerIs(host.id()))
	guest := h.join(s.ID, token(s.Links["guest"]), "Gus")
	guest.id()
	for _, c := range []*client{host, guest} {
		c.send(map[string]any{"type": "mode", "mode": "dom"})
		c.waitFor("mode", func(m map[string]any) bool { return m["mode"] == "dom" })
		c.waitFor("dom", func(m map[string]any) bool { return m["kind"] == "snapshot" })
	}
	// The page's changes are in (the public one is seen), masked ones included.
	eventually(t, "the guest sees the page change", received(guest, "public-changed"))
	eventually(t, "the host sees the page change", received(host, "public-changed"))
	// The frame is a DOM in the copy, and its changes come as changes.
	eventually(t, "the guest sees the frame's change", received(guest, "inside-frame-changed"))
	eventually(t, "the host sees the frame's masked change", received(host, "SECRET-FRAME-LATE"))

	all := func(c *client) []byte {
		c.mu.Lock()
		defer c.mu.Unlock()
		return bytes.Join(c.raw, []byte("\n"))
	}
	guestBytes, hostBytes := all(guest), all(host)
	if bytes.Contains(hostBytes, []byte(`"title":"Inner"`)) {
		t.Error("the frame's title was reported as the page's")
	}
	var assets [][]byte
	for _, p := range assetPath.FindAllString(string(guestBytes), -1) {
		res, err := http.Get(h.srv.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode == 200 {
			if res.Header.Get("X-Content-Type-Options") != "nosniff" || !strings.Contains(res.Header.Get("Content-Security-Policy"), "sandbox") {
				t.Errorf("asset %s served without nosniff and a sandbox: %v", p, res.Header)
			}
			assets = append(assets, body)
		}
	}
	if len(assets) == 0 {
		t.Fatal("the guest's copy loads no asset: the test sees nothing of them")
	}
	for _, secret := range []string{"SECRET"} {
		if bytes.Contains(guestBytes, []byte(secret)) {
			i := bytes.Index(guestBytes, []byte(secret))
			t.Fatalf("the guest's socket carried %s: …%s…", secret, guestBytes[max(0, i-200):min(len(guestBytes), i+100)])
		}
		for _, a := range assets {
			if bytes.Contains(a, []byte(secret)) {
				t.Fatalf("an asset of the guest's copy carries %s: %s", secret, a)
			}
		}
	}
	for _, want := range []string{"SECRET-TEXT", "SECRET-VALUE2", "SECRET-TITLE2", "SECRET-LATE", "SECRET-FRAME", "SECRET-FRAME-PW"} {
		if !bytes.Contains(hostBytes, []byte(want)) {
			t.Errorf("the host, who sees masked content, lacks %s", want)
		}
	}
	if !bytes.Contains(guestBytes, []byte(`"mask":true`)) {
		t.Error("the guest's copy has no masked boxes")
	}

	// Asset paths are capabilities: another session's, a wrong key or one never issued is
	// the same 404.
	p := assetPath.FindString(string(guestBytes))
	for _, bad := range []string{
		p[:strings.LastIndex(p, "/")+1] + "never-issued",
		strings.Replace(p, "/assets/", "/assets/x", 1),
		strings.Replace(p, s.ID, "nosuchsession", 1),
	} {
		res, err := http.Get(h.srv.URL + bad)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 404 || !strings.Contains(string(body), `"no such asset"`) {
			t.Errorf("GET %s: %d %s, want the same 404", bad, res.StatusCode, body)
		}
	}
}

// TestPageModeFallsBackToPictures: a page that changes too much to mirror puts Page-mode
// viewers back to pictures, saying why, and the session goes on.
func TestPageModeFallsBackToPictures(t *testing.T) {
	huge := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Six thousand elements that all change every 300 ms: more changes at once than a
		// copy takes.
		fmt.Fprint(w, `<!doctype html><title>Busy</title><div id=d></div><script>
			const d = document.getElementById('d');
			for (let i = 0; i < 6000; i++) d.appendChild(document.createElement('i'));
			let on = false;
			setInterval(() => { on = !on; for (const e of d.children) e.className = on ? 'a' : 'b'; }, 300);
		</script>`)
	}))
	t.Cleanup(huge.Close)
	h := newHarness(t)
	s := h.create(huge.URL)
	host := h.join(s.ID, token(s.Links["host"]), "Hana")
	host.state(controllerIs(host.id()))
	host.send(map[string]any{"type": "mode", "mode": "dom"})
	m := host.waitFor("mode", func(m map[string]any) bool { return m["mode"] == "pixels" && m["reason"] != nil })
	if !strings.Contains(fmt.Sprint(m["reason"]), "changes too fast") {
		t.Fatalf("fallback reason: %v", m["reason"])
	}
	host.waitFor("notice", func(m map[string]any) bool { return m["code"] == "page_mode_unavailable" })
	// The session goes on in pictures: a new page comes as pictures.
	seq := host.lastFrame().Seq
	host.send(map[string]any{"type": "navigate", "url": huge.URL + "/?again"})
	host.state(func(m map[string]any) bool { return strings.HasSuffix(fmt.Sprint(m["url"]), "/?again") })
	eventually(t, "pictures of the new page", func() bool { return host.lastFrame().Seq > seq })
}

// TestPageModeHidesHiddenPages: a page hidden from a role sends that role no DOM at all,
// only "hidden", and the next page's copy comes again.
func TestPageModeHidesHiddenPages(t *testing.T) {
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
	guest.send(map[string]any{"type": "mode", "mode": "dom"})
	guest.waitFor("dom", func(m map[string]any) bool { return m["kind"] == "snapshot" })
	host.send(map[string]any{"type": "mode", "mode": "dom"})
	host.send(map[string]any{"type": "navigate", "url": page.URL + "/checkout"})
	host.waitFor("dom", func(m map[string]any) bool { return m["kind"] == "snapshot" && m["title"] == "Checkout" })
	guest.waitFor("dom", func(m map[string]any) bool { return m["kind"] == "hidden" })
	host.send(map[string]any{"type": "navigate", "url": page.URL + "/"})
	guest.waitFor("dom", func(m map[string]any) bool { return m["kind"] == "snapshot" && m["title"] == "Account" })
	guest.mu.Lock()
	defer guest.mu.Unlock()
	for _, b := range guest.raw {
		if bytes.Contains(b, []byte("pay here")) || bytes.Contains(b, []byte(`"title":"Checkout"`)) {
			t.Fatalf("the guest got the hidden page's content: %s", b)
		}
	}
}

// TestPageModeHidesHiddenFrames: a same-origin frame whose page is hidden from a role is
// an empty box in that role's copy, while the page around it and the host's copy of the
// frame are whole.
func TestPageModeHidesHiddenFrames(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `<!doctype html><title>Shop</title><p>outer-text</p>
<iframe src="/pay" style="width:300px;height:100px"></iframe>
<script>setTimeout(() => { document.querySelector('p').textContent = 'outer-changed'; }, 300)</script>`)
	})
	mux.HandleFunc("/pay", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `<!doctype html><title>Pay</title><p id=p>HIDDEN-FRAME-TEXT</p>
<script>setTimeout(() => { document.getElementById('p').textContent = 'HIDDEN-FRAME-LATER'; }, 300)</script>`)
	})
	page := httptest.NewServer(mux)
	t.Cleanup(page.Close)
	h := newHarness(t)
	status, out := h.do("POST", "/api/v1/sessions", "", fmt.Sprintf(`{"url":%q,"rules":{"guest":{"hidePages":["*/pay*"]}}}`, page.URL))
	if status != 201 {
		t.Fatalf("create: %d %v", status, out)
	}
	links := out["links"].(map[string]any)
	id := out["id"].(string)
	host := h.join(id, token(links["host"].(string)), "Hana")
	host.state(controllerIs(host.id()))
	guest := h.join(id, token(links["guest"].(string)), "Gus")
	for _, c := range []*client{host, guest} {
		c.send(map[string]any{"type": "mode", "mode": "dom"})
		c.waitFor("mode", func(m map[string]any) bool { return m["mode"] == "dom" })
	}
	eventually(t, "the host's copy holds the frame", received(host, "HIDDEN-FRAME-LATER"))
	eventually(t, "the guest's copy changes around the frame", received(guest, "outer-changed"))
	// The snapshot that lists the loaded frame shows it to the guest as an empty box (the
	// page has no other mask).
	eventually(t, "the guest's copy has a box in place of the frame", received(guest, `"mask":true`))
	guest.mu.Lock()
	defer guest.mu.Unlock()
	for _, b := range guest.raw {
		if bytes.Contains(b, []byte("HIDDEN-FRAME")) {
			t.Fatalf("the guest got the hidden frame's content: %s", b)
		}
	}
}
