package ui_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/accessibility"
	"github.com/chromedp/cdproto/target"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/tandem-cobrowse/tandem/demo"
	"github.com/tandem-cobrowse/tandem/ui"
)

// maxEmbedGzip bounds the embed script as a provider's visitor downloads it.
const maxEmbedGzip = 9 << 10

func TestEmbedScriptIsServed(t *testing.T) {
	srv := httptest.NewServer(ui.Handler())
	defer srv.Close()
	res, err := http.Get(srv.URL + "/embed.js")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("status %d", res.StatusCode)
	}
	for k, want := range map[string]string{
		"Content-Type":                 "text/javascript; charset=utf-8",
		"Cache-Control":                "public, max-age=300",
		"Access-Control-Allow-Origin":  "*",
		"Cross-Origin-Resource-Policy": "cross-origin",
		"X-Content-Type-Options":       "nosniff",
	} {
		if got := res.Header.Get(k); got != want {
			t.Errorf("%s: %q, want %q", k, got, want)
		}
	}
	if !bytes.Contains(body, []byte("'tandem-cobrowse'")) {
		t.Error("the body is not the embed script")
	}
	for line := range bytes.Lines(body) {
		if bytes.HasPrefix(bytes.TrimSpace(line), []byte("//")) {
			t.Fatalf("comment line served: %q", line)
		}
	}

	etag := res.Header.Get("ETag")
	req, _ := http.NewRequest("GET", srv.URL+"/embed.js", nil)
	req.Header.Set("If-None-Match", etag)
	res, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if etag == "" || res.StatusCode != http.StatusNotModified {
		t.Errorf("revalidation with ETag %q: status %d, want 304", etag, res.StatusCode)
	}
	if res, err := http.Get(srv.URL + "/assets/embed.js"); err != nil || res.StatusCode != 404 {
		t.Errorf("the script is also under /assets/: %v %v", res.StatusCode, err)
	}

	var gz bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&gz, gzip.BestCompression)
	_, _ = zw.Write(body)
	_ = zw.Close()
	src, err := os.ReadFile("assets/embed.js")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("embed.js: %d bytes in the repository, %d served, %d gzipped", len(src), len(body), gz.Len())
	if gz.Len() > maxEmbedGzip {
		t.Errorf("embed.js is %d bytes gzipped, more than %d", gz.Len(), maxEmbedGzip)
	}
}

// fakeTandem answers the API calls of the embed script as the real server would, with
// CORS, and records them.
type fakeTandem struct {
	srv *httptest.Server

	mu       sync.Mutex
	starts   []map[string]any // bodies of POST /api/v1/embed/sessions
	auths    []string         // Authorization headers of the session calls
	polls    int
	consents []map[string]any
	deletes  int
	helps    []map[string]any
	status   map[string]any // the answer to GET /api/v1/sessions/s1
	ended    bool
}

const hostToken = "host-tok"

func newFakeTandem(t *testing.T) *fakeTandem {
	f := &fakeTandem{status: map[string]any{"id": "s1"}}
	mux := http.NewServeMux()
	mux.Handle("GET /embed.js", ui.Handler())
	mux.HandleFunc("GET /s/", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "<!doctype html><title>Tandem viewer</title><p>viewer</p>")
	})
	mux.HandleFunc("OPTIONS /api/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Access-Control-Allow-Methods", "GET, POST, DELETE")
		w.Header().Set("Access-Control-Allow-Headers", "Authorization, Content-Type")
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("POST /api/v1/embed/sessions", func(w http.ResponseWriter, r *http.Request) {
		body := decode(t, r)
		f.mu.Lock()
		f.starts = append(f.starts, body)
		f.ended = false
		f.mu.Unlock()
		if body["site"] == "pk_bad" {
			writeJSON(w, 403, map[string]any{"error": "origin_not_allowed", "message": "This site may not start co-browsing sessions from this page."})
			return
		}
		writeJSON(w, 201, map[string]any{"id": "s1", "joinCode": "123456",
			"joinCodeExpiresAt": time.Now().Add(10 * time.Minute).UTC().Format(time.RFC3339),
			"hostLink":          f.srv.URL + "/s/s1#token=" + hostToken})
	})
	session := func(fn func(w http.ResponseWriter, r *http.Request)) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			f.mu.Lock()
			f.auths = append(f.auths, r.Header.Get("Authorization"))
			ended := f.ended
			f.mu.Unlock()
			if r.Header.Get("Authorization") != "Bearer "+hostToken {
				writeJSON(w, 401, map[string]any{"error": "unauthorized", "message": "The host token is required."})
				return
			}
			if ended {
				writeJSON(w, 404, map[string]any{"error": "not_found", "message": "This session does not exist or has ended."})
				return
			}
			fn(w, r)
		}
	}
	mux.HandleFunc("GET /api/v1/sessions/s1", session(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.polls++
		st := f.status
		f.mu.Unlock()
		writeJSON(w, 200, st)
	}))
	mux.HandleFunc("POST /api/v1/sessions/s1/consent", session(func(w http.ResponseWriter, r *http.Request) {
		body := decode(t, r)
		f.mu.Lock()
		f.consents = append(f.consents, body)
		f.status = map[string]any{"id": "s1"}
		f.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	mux.HandleFunc("DELETE /api/v1/sessions/s1", session(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.deletes++
		f.ended = true
		f.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	// The provider backend's call (the demo shop's, in the screenshots).
	mux.HandleFunc("POST /api/v1/sessions", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.ended = false
		f.mu.Unlock()
		writeJSON(w, 201, map[string]any{"id": "s1", "joinCode": "482913",
			"joinCodeExpiresAt": time.Now().Add(10 * time.Minute).UTC().Format(time.RFC3339),
			"links":             map[string]any{"host": f.srv.URL + "/s/s1#token=" + hostToken, "agent": f.srv.URL + "/s/s1#token=a", "guest": f.srv.URL + "/s/s1#token=g"}})
	})
	mux.HandleFunc("POST /api/v1/help-requests", session(func(w http.ResponseWriter, r *http.Request) {
		body := decode(t, r)
		f.mu.Lock()
		f.helps = append(f.helps, body)
		f.mu.Unlock()
		writeJSON(w, 201, map[string]any{"id": "h1", "session": body["session"], "name": body["name"], "status": "waiting"})
	}))
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if o := r.Header.Get("Origin"); o != "" && strings.HasPrefix(r.URL.Path, "/api/") {
			w.Header().Set("Access-Control-Allow-Origin", o)
		}
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeTandem) setStatus(st map[string]any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	st["id"] = "s1"
	f.status = st
}

func (f *fakeTandem) pollCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.polls
}

// waitFor waits until cond holds for the fake's records.
func (f *fakeTandem) waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		f.mu.Lock()
		ok := cond()
		f.mu.Unlock()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the fake Tandem never saw %s", what)
		}
	}
}

func decode(t *testing.T, r *http.Request) map[string]any {
	var m map[string]any
	if err := json.NewDecoder(r.Body).Decode(&m); err != nil {
		t.Errorf("%s %s: body is not JSON: %v", r.Method, r.URL.Path, err)
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("%s %s: Content-Type %q", r.Method, r.URL.Path, ct)
	}
	return m
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// provider is a shop on another origin (localhost, where Tandem is 127.0.0.1) with a
// strict CSP, so that the embed must work without inline styles or scripts. Its pages
// load the script with the data attributes of attrs; /bare has no script.
type provider struct {
	srv    *httptest.Server
	url    string
	attrs  string
	mu     sync.Mutex
	starts []*http.Request // requests to its own start endpoint
	bodies []map[string]any
}

const providerForm = `<h1>Trail shop</h1>
<p class="lead">Find your gear.</p>
<form>
  <input id="q" name="q" type="search">
  <input id="dup" name="dup1"><input id="dup" name="dup2">
  <div class="box"><span>Email</span><input name="email" type="email"></div>
  <textarea id="note" name="note"></textarea>
  <select id="size" name="size"><option>S</option><option>M</option></select>
  <select id="colour" name="colour"><option>Red</option><option>Blue</option></select>
  <select id="fit" name="fit"><option>Slim</option><option selected>Regular</option></select>
  <input id="pw" name="pw" type="password">
  <input id="cc" name="cc" autocomplete="cc-number">
  <input id="exp" name="exp" autocomplete="billing cc-exp">
  <fieldset data-tandem-mask><input id="secret" name="secret"></fieldset>
  <input id="masked" name="masked" data-tandem-mask>
  <input id="hid" name="hid" type="hidden" value="h">
  <input id="kept" name="kept" value="preset">
  <button type="button" id="own">Shop button</button>
</form>`

const providerCSS = `body { font: 16px Georgia, serif; color: rgb(30, 40, 50); background: rgb(250, 245, 235); }
h1 { color: rgb(120, 20, 20); letter-spacing: 2px; }
button { background: rgb(0, 90, 0); color: white; border-radius: 0; }`

// hostileCSS is what careless page CSS looks like: none of it may reach the widget.
const hostileCSS = `* { color: red !important; background: lime !important; font-family: serif !important;
  border: 5px dashed red !important; display: none !important; opacity: 0 !important; }
html, body { display: block !important; opacity: 1 !important; }
button, p, div, section, span { display: none !important; visibility: hidden !important; }
tandem-cobrowse { display: none !important; transform: scale(0) !important; position: static !important; }`

func newProvider(t *testing.T, tandem *fakeTandem, attrs string) *provider {
	p := &provider{attrs: attrs}
	page := func(script bool, css string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Security-Policy", fmt.Sprintf(
				"default-src 'self'; script-src 'self' %[1]s; connect-src 'self' %[1]s; style-src 'self'; img-src 'self'", tandem.srv.URL))
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			tag := ""
			if script {
				tag = fmt.Sprintf(`<script src="%s/embed.js" %s async></script>`, html.EscapeString(tandem.srv.URL), p.attrs)
			}
			fmt.Fprintf(w, `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Trail shop</title>
<link rel="stylesheet" href="/%s">%s</head><body>%s</body></html>`, css, tag, providerForm)
		}
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", page(true, "page.css"))
	mux.HandleFunc("GET /other", page(true, "page.css"))
	mux.HandleFunc("GET /bare", page(false, "page.css"))
	mux.HandleFunc("GET /hostile", page(true, "hostile.css"))
	mux.HandleFunc("GET /page.css", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/css")
		_, _ = io.WriteString(w, providerCSS)
	})
	mux.HandleFunc("GET /hostile.css", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/css")
		_, _ = io.WriteString(w, hostileCSS)
	})
	mux.HandleFunc("POST /start", func(w http.ResponseWriter, r *http.Request) {
		body := decode(t, r)
		p.mu.Lock()
		p.starts = append(p.starts, r)
		p.bodies = append(p.bodies, body)
		p.mu.Unlock()
		writeJSON(w, 201, map[string]any{"id": "s1", "joinCode": "654321",
			"joinCodeExpiresAt": time.Now().Add(10 * time.Minute).UTC().Format(time.RFC3339),
			"links":             map[string]any{"host": tandem.srv.URL + "/s/s1#token=" + hostToken}})
	})
	p.srv = httptest.NewServer(mux)
	t.Cleanup(p.srv.Close)
	p.url = strings.Replace(p.srv.URL, "127.0.0.1", "localhost", 1)
	return p
}

// shadow is the widget's shadow root, in page JavaScript.
const shadow = `document.querySelector('tandem-cobrowse').shadowRoot`

// visible is a JS expression: the element matching sel in the widget is rendered.
func visible(sel string) string {
	return fmt.Sprintf(`(() => { const e = %s.querySelector(%q); return !!e && e.getClientRects().length > 0; })()`, shadow, sel)
}

// textOf is a JS expression: the text of the element matching sel in the widget.
func textOf(sel string) string {
	return fmt.Sprintf(`(%s.querySelector(%q) || {}).textContent`, shadow, sel)
}

// buttonNamed is a JS expression: the visible button of the widget with that text.
func buttonNamed(name string) string {
	return fmt.Sprintf(`[...%s.querySelectorAll('button')].find((b) => b.textContent.trim() === %q && b.getClientRects().length)`, shadow, name)
}

// click clicks the element of expr with the mouse, as a visitor would: a real click
// lets window.open through.
func click(t *testing.T, ctx context.Context, expr string) {
	t.Helper()
	waitJS(t, ctx, expr)
	r := eval[rect](t, ctx, fmt.Sprintf(`(() => { const e = %s; e.scrollIntoView({block: 'nearest'});
		const r = e.getBoundingClientRect(); return {X: r.left, Y: r.top, W: r.width, H: r.height}; })()`, expr))
	run(t, ctx, chromedp.MouseClickXY(r.X+r.W/2, r.Y+r.H/2))
}

// startSharing opens the panel and presses Start co-browsing, and waits for the code.
func startSharing(t *testing.T, ctx context.Context) {
	t.Helper()
	waitJS(t, ctx, `window.Tandem && document.querySelector('tandem-cobrowse')`)
	if !eval[bool](t, ctx, visible(".panel")) {
		click(t, ctx, shadow+`.querySelector('.launch')`)
	}
	click(t, ctx, buttonNamed("Start co-browsing"))
	waitJS(t, ctx, visible(".codebox"))
}

func TestEmbedDefinesOneGlobalAndKeepsThePageAsItIs(t *testing.T) {
	tandem := newFakeTandem(t)
	shop := newProvider(t, tandem, `data-tandem-site="pk_test"`)
	ctx := newTab(t)
	run(t, ctx, chromedp.Navigate(shop.url+"/bare"))

	// Everything the page can see of itself: globals, prototypes, its styles.
	const look = `(() => {
		const protos = [Object, Array, Function, String, Number, Promise, EventTarget, Node, Element, HTMLElement,
			HTMLButtonElement, Document, Window, Storage, Response, Request, URL, JSON, Math];
		const style = (el) => { const s = getComputedStyle(el);
			return ['color', 'background-color', 'font-family', 'font-size', 'letter-spacing', 'display', 'margin-top', 'border-radius', 'line-height']
				.map((k) => s.getPropertyValue(k)).join('|'); };
		return {
			globals: Object.getOwnPropertyNames(window),
			protos: protos.map((c) => Object.getOwnPropertyNames(c.prototype || c).sort().join()),
			styles: ['body', 'h1', 'p', 'input', 'button', 'form'].map((s) => style(document.querySelector(s))),
			sheets: document.styleSheets.length + document.adoptedStyleSheets.length,
			scroll: document.documentElement.scrollHeight,
		};
	})()`
	type looks struct {
		Globals []string
		Protos  []string
		Styles  []string
		Sheets  int
		Scroll  int
	}
	before := eval[looks](t, ctx, look)
	run(t, ctx, chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`(() => { const s = document.createElement('script');
		s.src = %q; s.async = true; s.dataset.tandemSite = 'pk_test'; document.head.append(s); })()`, tandem.srv.URL+"/embed.js")))
	waitJS(t, ctx, `window.Tandem && document.querySelector('tandem-cobrowse')`)

	after := eval[looks](t, ctx, look)
	var added []string
	for _, g := range after.Globals {
		if !slices.Contains(before.Globals, g) {
			added = append(added, g)
		}
	}
	if !slices.Equal(added, []string{"Tandem"}) {
		t.Errorf("new globals %q, want only Tandem", added)
	}
	if !slices.Equal(before.Protos, after.Protos) {
		t.Error("a prototype changed")
	}
	if !slices.Equal(before.Styles, after.Styles) || before.Sheets != after.Sheets || before.Scroll != after.Scroll {
		t.Errorf("the page's styles changed:\n%v\n%v", before, after)
	}
	if got := eval[[]string](t, ctx, `Object.keys(Tandem).sort()`); !slices.Equal(got, []string{"end", "help", "off", "on", "start", "state"}) {
		t.Errorf("Tandem has %q", got)
	}
	if eval[bool](t, ctx, `(() => { try { Tandem.start = 1; } catch {} return typeof Tandem.start !== 'function'; })()`) {
		t.Error("the page can replace Tandem.start")
	}

	// The launcher is a real button with a name, in the accessibility tree.
	tree, err := chromedp.Call(ctx, accessibility.GetFullAXTree, accessibility.GetFullAXTreeParams{})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, n := range tree.Nodes {
		if n.Role != nil && n.Name != nil && string(n.Role.Value) == `"button"` && string(n.Name.Value) == `"Co-browse with support"` && !n.Ignored {
			found = true
		}
	}
	if !found {
		t.Error("no button named \"Co-browse with support\" in the accessibility tree")
	}

	// Opened, the panel changes nothing of the page either.
	click(t, ctx, shadow+`.querySelector('.launch')`)
	waitJS(t, ctx, visible(".panel"))
	if open := eval[looks](t, ctx, look); !slices.Equal(before.Styles, open.Styles) || before.Sheets != open.Sheets {
		t.Errorf("the page's styles changed with the panel open: %v", open.Styles)
	}
}

func TestEmbedIgnoresHostilePageCSS(t *testing.T) {
	tandem := newFakeTandem(t)
	shop := newProvider(t, tandem, `data-tandem-site="pk_test"`)
	ctx := newTab(t)
	run(t, ctx, chromedp.Navigate(shop.url+"/hostile"))
	waitJS(t, ctx, `window.Tandem && document.querySelector('tandem-cobrowse')`)
	waitJS(t, ctx, visible(".launch"))

	type look struct {
		Color, Background, Font, Border, Display string
		Opacity                                  string
		OnTop                                    bool
		W, H                                     float64
	}
	get := func(sel string) look {
		return eval[look](t, ctx, fmt.Sprintf(`(() => { const e = %s.querySelector(%q); const s = getComputedStyle(e);
			const r = e.getBoundingClientRect();
			return {Color: s.color, Background: s.backgroundColor, Font: s.fontFamily, Border: s.borderTopStyle, Display: s.display,
				Opacity: getComputedStyle(document.querySelector('tandem-cobrowse')).opacity,
				OnTop: document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2) === document.querySelector('tandem-cobrowse'),
				W: r.width, H: r.height}; })()`, shadow, sel))
	}
	bad := func(l look) bool {
		return l.Color == "rgb(255, 0, 0)" || l.Background == "rgb(0, 255, 0)" || l.Font == "serif" || l.Border == "dashed" ||
			l.Display == "none" || l.Opacity != "1" || !l.OnTop || l.W < 40 || l.H < 40
	}
	if l := get(".launch"); bad(l) {
		t.Errorf("the page's CSS reached the launcher: %+v", l)
	}
	click(t, ctx, shadow+`.querySelector('.launch')`)
	waitJS(t, ctx, visible(".panel"))
	if l := get("h2"); l.Color == "rgb(255, 0, 0)" || l.Display == "none" || l.Font == "serif" || !l.OnTop {
		t.Errorf("the page's CSS reached the panel: %+v", l)
	}
	if l := get(".btn.pri"); bad(l) {
		t.Errorf("the page's CSS reached the start button: %+v", l)
	}
}

func TestEmbedStartsASession(t *testing.T) {
	tandem := newFakeTandem(t)
	shop := newProvider(t, tandem, `data-tandem-site="pk_test"`)
	ctx := newTab(t)
	run(t, ctx, chromedp.Navigate(shop.url+"/"))
	waitJS(t, ctx, `window.Tandem`)
	run(t, ctx, chromedp.Evaluate[chromedp.Void](`localStorage.setItem('cart', '3'); sessionStorage.setItem('step', 'shipping');
		window.seen = []; for (const e of ['started', 'code', 'joined', 'consent', 'ended', 'error'])
			Tandem.on(e, (d) => seen.push(e + ':' + JSON.stringify(d)));`))
	for id, text := range map[string]string{"q": "tents", "email": "sam@example.com", "note": "size?", "pw": "hunter2",
		"cc": "4242", "exp": "12/30", "secret": "psst", "masked": "no"} {
		run(t, ctx, chromedp.SendKeys(chromedp.CSS(`[name=`+id+`]`), text))
	}
	run(t, ctx, chromedp.SendKeys(chromedp.CSS(`input[name=dup2]`), "second"),
		chromedp.SetValue(chromedp.ID("size"), "M"),
		chromedp.Evaluate[chromedp.Void](`document.getElementById('hid').value = 'changed'`))

	// Keyboard: the launcher takes Enter, Escape closes the panel and gives the focus back.
	run(t, ctx, chromedp.Evaluate[chromedp.Void](shadow+`.querySelector('.launch').focus()`), chromedp.KeyEvent("\r"))
	waitJS(t, ctx, visible(".panel"))
	if got := eval[string](t, ctx, shadow+`.activeElement && `+shadow+`.activeElement.id`); got != "tdm-panel" {
		t.Errorf("the focus is on %q after opening, want the panel", got)
	}
	run(t, ctx, chromedp.KeyEvent(kb.Escape))
	waitJS(t, ctx, `!`+visible(".panel")+` && `+shadow+`.activeElement === `+shadow+`.querySelector('.launch')`)

	startSharing(t, ctx)
	// The pressed button is gone: the keyboard's place stays in the panel.
	if got := eval[string](t, ctx, `(`+shadow+`.activeElement || {}).id`); got != "tdm-panel" {
		t.Errorf("the focus is on %q after starting, want the panel", got)
	}
	if got := eval[string](t, ctx, textOf(".code span")); got != "123 456" {
		t.Errorf("code %q, want 123 456", got)
	}
	if got := eval[string](t, ctx, textOf(".code .sr")); got != "1 2 3 4 5 6" {
		t.Errorf("spoken code %q", got)
	}
	for _, want := range []string{"Give this code to the support agent", "Valid until", "Stop sharing", "Open the shared page", "Waiting for an agent…"} {
		if !strings.Contains(eval[string](t, ctx, shadow+`.querySelector('.panel').innerText`), want) {
			t.Errorf("the panel lacks %q", want)
		}
	}
	if got := eval[string](t, ctx, shadow+`.querySelector('a').href`); got != tandem.srv.URL+"/s/s1#token="+hostToken {
		t.Errorf("link %q", got)
	}

	tandem.mu.Lock()
	body := tandem.starts[0]
	tandem.mu.Unlock()
	if body["site"] != "pk_test" || body["url"] != shop.url+"/" {
		t.Errorf("start body %v", body)
	}
	st, _ := body["storage"].(map[string]any)
	local, _ := st["local"].(map[string]any)
	sess, _ := st["session"].(map[string]any)
	if local["cart"] != "3" || sess["step"] != "shipping" || len(sess) != 1 {
		t.Errorf("storage %v", st)
	}
	// Each field's selector finds its field again in the page; only typed, unmasked ones.
	fields, _ := body["fields"].([]any)
	got := map[string]string{}
	for _, f := range fields {
		f, _ := f.(map[string]any)
		sel, _ := f["selector"].(string)
		name := eval[string](t, ctx, fmt.Sprintf(`(document.querySelector(%q) || {}).name || 'no match: ' + %[1]q`, sel))
		got[name], _ = f["value"].(string)
	}
	want := map[string]string{"q": "tents", "dup2": "second", "email": "sam@example.com", "note": "size?", "size": "M"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("fields %v, want %v (sent %v)", got, want, fields)
	}

	// The host window went to the viewer.
	deadline := time.Now().Add(10 * time.Second)
	for {
		targets, err := chromedp.Targets(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if slices.ContainsFunc(targets, func(ti *target.Info) bool { return strings.HasPrefix(ti.URL, tandem.srv.URL+"/s/s1") }) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no window opened the host link")
		}
		time.Sleep(50 * time.Millisecond)
	}

	// Polling, with the host token.
	tandem.waitFor(t, "a poll", func() bool { return tandem.polls > 0 })
	tandem.mu.Lock()
	for _, a := range tandem.auths {
		if a != "Bearer "+hostToken {
			t.Errorf("Authorization %q", a)
		}
	}
	tandem.mu.Unlock()

	// An agent asks to see the page: the prompt appears, Allow posts the consent.
	tandem.setStatus(map[string]any{
		"participants": []any{map[string]any{"id": "p2", "name": "Anna", "role": "agent", "connected": true, "waiting": true}},
		"waiting":      []any{map[string]any{"participant": "p2", "name": "Anna", "role": "agent", "kind": "view"}},
	})
	waitJS(t, ctx, textOf(".ask")+` && `+textOf(".ask")+`.includes("Anna from support asks to see the shared page.")`)
	click(t, ctx, buttonNamed("Allow"))
	tandem.waitFor(t, "the consent", func() bool { return len(tandem.consents) == 1 })
	if c := tandem.consents[0]; c["participant"] != "p2" || c["kind"] != "view" || c["allow"] != true {
		t.Errorf("consent %v", c)
	}
	tandem.setStatus(map[string]any{
		"participants": []any{map[string]any{"id": "p1", "name": "Visitor", "role": "host", "connected": true},
			map[string]any{"id": "p2", "name": "Anna", "role": "agent", "connected": true}},
		"waiting": []any{},
	})
	waitJS(t, ctx, textOf(".status span")+` === "Anna from support joined"`)
	waitJS(t, ctx, textOf("[aria-live]")+` === "Anna from support joined"`)
	waitJS(t, ctx, `!`+visible(".ask"))

	// Another page of the site keeps the panel, the code and the polling.
	polls := tandem.pollCount()
	run(t, ctx, chromedp.Navigate(shop.url+"/other"))
	waitJS(t, ctx, `window.Tandem && document.querySelector('tandem-cobrowse') && `+textOf(".code span")+` === "123 456"`)
	waitJS(t, ctx, visible(".panel")+` && `+textOf(".status span")+` === "Anna from support joined"`)
	tandem.waitFor(t, "polls after the navigation", func() bool { return tandem.polls > polls })
	if s := eval[string](t, ctx, `Tandem.state.status + ' ' + Tandem.state.joinCode + ' ' + Tandem.state.agents`); s != "active 123456 Anna" {
		t.Errorf("state %q", s)
	}

	// Stop sharing ends it for everyone, and the panel can start again.
	run(t, ctx, chromedp.Evaluate[chromedp.Void](`window.seen = []; Tandem.on('ended', () => seen.push('ended'))`))
	click(t, ctx, buttonNamed("Stop sharing"))
	tandem.waitFor(t, "the DELETE", func() bool { return tandem.deletes == 1 })
	waitJS(t, ctx, textOf(".status span")+` === "Sharing stopped."`)
	waitJS(t, ctx, buttonNamed("Start co-browsing"))
	if got := eval[string](t, ctx, `seen.join() + ' ' + sessionStorage.getItem('tandem.session')`); got != "ended null" {
		t.Errorf("after stopping: %q", got)
	}
}

func TestEmbedEventsAndState(t *testing.T) {
	tandem := newFakeTandem(t)
	shop := newProvider(t, tandem, `data-tandem-site="pk_test" data-tandem-button="false"`)
	ctx := newTab(t)
	run(t, ctx, chromedp.Navigate(shop.url+"/"))
	waitJS(t, ctx, `window.Tandem && document.querySelector('tandem-cobrowse')`)
	if eval[bool](t, ctx, visible(".launch")) {
		t.Error(`data-tandem-button="false" shows the button`)
	}
	// The shop's own button starts it; a blocked pop-up leaves a link in the panel.
	run(t, ctx, chromedp.Evaluate[chromedp.Void](`window.seen = [];
		for (const e of ['started', 'code', 'joined', 'consent', 'ended']) Tandem.on(e, (d) => seen.push(e + ' ' + JSON.stringify(d)));
		const noop = () => seen.push('removed'); Tandem.on('started', noop); Tandem.off('started', noop);
		Tandem.on('code', () => { throw new Error('a broken listener'); });
		window.open = () => null;
		document.getElementById('own').addEventListener('click', () => Tandem.start().then((r) => seen.push('resolved ' + JSON.stringify(r))));`))
	click(t, ctx, `document.getElementById('own')`)
	waitJS(t, ctx, visible(".note"))
	if cls := eval[string](t, ctx, shadow+`.querySelector('a').className`); cls != "btn pri" {
		t.Errorf("the link is %q, want a primary button when the window was blocked", cls)
	}
	tandem.setStatus(map[string]any{
		"joinCode": "777888", "joinCodeExpiresAt": "2099-01-01T00:00:00Z",
		"participants": []any{map[string]any{"id": "p2", "name": "Anna", "role": "agent", "connected": true}},
		"waiting":      []any{map[string]any{"participant": "p2", "name": "Anna", "role": "agent", "kind": "control"}},
	})
	waitJS(t, ctx, `seen.some((s) => s.startsWith('consent'))`)
	waitJS(t, ctx, textOf(".code span")+` === "777 888"`)
	got := eval[[]string](t, ctx, `seen`)
	want := []string{
		`started {"id":"s1","joinCode":"123456","joinCodeExpiresAt":`,
		`code {"id":"s1","joinCode":"123456"`,
		`resolved {"id":"s1","joinCode":"123456"`,
		`code {"id":"s1","joinCode":"777888","joinCodeExpiresAt":"2099-01-01T00:00:00Z"}`,
		`joined {"name":"Anna","role":"agent"}`,
		`consent {"participant":"p2","name":"Anna","kind":"control"}`,
	}
	if len(got) != len(want) {
		t.Fatalf("events %q", got)
	}
	for i := range want {
		if !strings.HasPrefix(got[i], want[i]) {
			t.Errorf("event %d: %q, want %q…", i, got[i], want[i])
		}
	}
	if s := eval[string](t, ctx, textOf(".ask")); !strings.Contains(s, "Anna from support asks to control the shared page.") {
		t.Errorf("prompt %q", s)
	}
	// Don't allow refuses; Tandem.end() stops.
	click(t, ctx, buttonNamed("Don’t allow"))
	tandem.waitFor(t, "the refusal", func() bool { return len(tandem.consents) == 1 && tandem.consents[0]["allow"] == false })
	run(t, ctx, chromedp.Evaluate[chromedp.Void](`Tandem.end()`, chromedp.EvalAwaitPromise))
	if s := eval[string](t, ctx, `Tandem.state.status + ' ' + Tandem.state.id`); s != "ended null" {
		t.Errorf("state after end %q", s)
	}
}

func TestEmbedShowsServerErrors(t *testing.T) {
	tandem := newFakeTandem(t)
	shop := newProvider(t, tandem, `data-tandem-site="pk_bad"`)
	ctx := newTab(t)
	run(t, ctx, chromedp.Navigate(shop.url+"/"))
	waitJS(t, ctx, `window.Tandem && document.querySelector('tandem-cobrowse')`)
	click(t, ctx, shadow+`.querySelector('.launch')`)
	click(t, ctx, buttonNamed("Start co-browsing"))
	const msg = "This site may not start co-browsing sessions from this page."
	waitJS(t, ctx, visible("[role=alert]")+` && `+textOf("[role=alert]")+` === `+fmt.Sprintf("%q", msg))
	if s := eval[string](t, ctx, `Tandem.state.status + ': ' + Tandem.state.error`); s != "idle: "+msg {
		t.Errorf("state %q", s)
	}
	// Tandem.start() rejects with the same message.
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](`Tandem.start().then(() => 'resolved', (e) => e.message + ' ' + e.code + ' ' + e.status)`, chromedp.EvalAwaitPromise))
	if err != nil || s != msg+" origin_not_allowed 403" {
		t.Errorf("start() gave %q, %v", s, err)
	}
}

func TestEmbedProviderStart(t *testing.T) {
	tandem := newFakeTandem(t)
	shop := newProvider(t, tandem, `data-tandem-site="pk_test" data-tandem-start="/start" data-tandem-label="Share my screen" data-tandem-color="#fde047" data-tandem-position="bottom-left"`)
	ctx := newTab(t)
	run(t, ctx, chromedp.Navigate(shop.url+"/"))
	run(t, ctx, chromedp.Evaluate[chromedp.Void](`document.cookie = 'shop_session=abc; path=/'`))
	waitJS(t, ctx, `window.Tandem && document.querySelector('tandem-cobrowse')`)
	if s := eval[string](t, ctx, textOf(".launch")); s != "Share my screen" {
		t.Errorf("launcher %q", s)
	}
	// bottom-left, and a light accent gets dark text.
	type look struct {
		Left       float64
		Background string
		Color      string
	}
	l := eval[look](t, ctx, shadow+`.querySelector('.launch') && (() => { const e = `+shadow+`.querySelector('.launch'); const s = getComputedStyle(e);
		return {Left: e.getBoundingClientRect().left, Background: s.backgroundColor, Color: s.color}; })()`)
	if l.Left > 40 || l.Background != "rgb(253, 224, 71)" || (l.Color != "rgb(0, 0, 0)" && l.Color != "lch(0 0 0)") {
		t.Errorf("launcher %+v, want at the left, yellow with black text", l)
	}
	startSharing(t, ctx)
	if got := eval[string](t, ctx, textOf(".code span")); got != "654 321" {
		t.Errorf("code %q", got)
	}
	shop.mu.Lock()
	defer shop.mu.Unlock()
	tandem.mu.Lock()
	defer tandem.mu.Unlock()
	if len(shop.starts) != 1 || len(tandem.starts) != 0 {
		t.Fatalf("%d provider starts, %d publishable starts", len(shop.starts), len(tandem.starts))
	}
	if c, err := shop.starts[0].Cookie("shop_session"); err != nil || c.Value != "abc" {
		t.Errorf("the shop's cookie did not come along: %v", err)
	}
	if shop.bodies[0]["url"] != shop.url+"/" || len(shop.bodies[0]) != 1 {
		t.Errorf("body %v", shop.bodies[0])
	}
}

func TestEmbedHelp(t *testing.T) {
	tandem := newFakeTandem(t)
	shop := newProvider(t, tandem, `data-tandem-site="pk_test" data-tandem-help="true"`)
	ctx := newTab(t)
	run(t, ctx, chromedp.Navigate(shop.url+"/"))
	waitJS(t, ctx, `window.Tandem && document.querySelector('tandem-cobrowse')`)
	run(t, ctx, chromedp.Evaluate[chromedp.Void](`window.seen = [];
		for (const e of ['help-waiting', 'help-overdue', 'help-accepted', 'ended', 'error']) Tandem.on(e, (d) => seen.push(e + ' ' + JSON.stringify(d)));`))
	click(t, ctx, shadow+`.querySelector('.launch')`)
	click(t, ctx, buttonNamed("Get help"))
	waitJS(t, ctx, shadow+`.activeElement === `+shadow+`.querySelector('input')`)
	click(t, ctx, buttonNamed("Ask for help"))
	waitJS(t, ctx, visible("[role=alert]")+` && `+textOf("[role=alert]")+`.startsWith("Please enter your name")`)
	if eval[string](t, ctx, shadow+`.querySelector('input').getAttribute('aria-invalid')`) != "true" {
		t.Error("the empty name is not marked invalid")
	}
	run(t, ctx, chromedp.KeyEvent("Sam"))
	run(t, ctx, chromedp.Evaluate[chromedp.Void](shadow+`.querySelector('textarea').focus()`), chromedp.KeyEvent("Returns"))
	click(t, ctx, buttonNamed("Ask for help"))
	tandem.waitFor(t, "the help request", func() bool { return len(tandem.helps) == 1 })
	if h := tandem.helps[0]; h["session"] != "s1" || h["name"] != "Sam" || h["topic"] != "Returns" {
		t.Errorf("help request %v", h)
	}
	waitJS(t, ctx, textOf(".status span")+` === "Waiting for an agent… (you are in the queue)"`)
	waitJS(t, ctx, `!`+visible("[role=alert]")+` && `+visible(".codebox"))

	tandem.setStatus(map[string]any{"help": map[string]any{"id": "h1", "status": "waiting", "overdue": true}})
	waitJS(t, ctx, textOf(".status span")+` === "It is taking longer than usual; you can keep waiting or try later."`)
	tandem.setStatus(map[string]any{"help": map[string]any{"id": "h1", "status": "accepted", "overdue": false, "agent": "Anna"}})
	waitJS(t, ctx, textOf(".status span")+` === "Anna from support joined"`)
	if s := eval[string](t, ctx, `JSON.stringify(Tandem.state.help)`); s != `{"id":"h1","status":"accepted","overdue":false,"agent":"Anna"}` {
		t.Errorf("state.help %s", s)
	}

	// The session ends elsewhere (the agent, or the server): polling sees the 404.
	tandem.mu.Lock()
	tandem.ended = true
	tandem.mu.Unlock()
	waitJS(t, ctx, textOf(".status span")+` === "Sharing stopped." && !sessionStorage.getItem('tandem.session')`)
	want := []string{
		`error {"message":"Please enter your name, so that the agent knows whom they are helping.","code":"name_required"}`,
		`help-waiting {"id":"h1"}`, `help-overdue {"id":"h1"}`, `help-accepted {"id":"h1","agent":"Anna"}`, `ended {}`,
	}
	if got := eval[[]string](t, ctx, `seen`); !slices.Equal(got, want) {
		t.Errorf("events %q, want %q", got, want)
	}
}

// TestEmbedScreenshots writes screenshots of the embed on the demo shop, at laptop and
// phone sizes, into $TANDEM_SHOTS (for a human to look at); skipped when it is unset.
func TestEmbedScreenshots(t *testing.T) {
	dir := os.Getenv("TANDEM_SHOTS")
	if dir == "" {
		t.Skip("set TANDEM_SHOTS=/tmp/shots to write screenshots")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	tandem := newFakeTandem(t)
	shop := httptest.NewServer(demo.Handler(nil, demo.Options{TandemURL: tandem.srv.URL, SiteKey: "pk_demo", APIKey: "tdm_site_x"}))
	defer shop.Close()
	for _, d := range []struct {
		name   string
		w, h   int64
		scale  float64
		mobile bool
	}{{"laptop", 1280, 800, 1, false}, {"phone", 390, 844, 2, true}} {
		t.Run(d.name, func(t *testing.T) {
			tandem.setStatus(map[string]any{})
			ctx := newTab(t)
			opts := []chromedp.EmulateViewportOption{chromedp.EmulateScale(d.scale)}
			if d.mobile {
				opts = append(opts, chromedp.EmulateMobile, chromedp.EmulateTouch)
			}
			run(t, ctx, chromedp.EmulateViewport(d.w, d.h, opts...), chromedp.Navigate(shop.URL+"/products/storm-shell-jacket"))
			waitJS(t, ctx, `window.Tandem && document.querySelector('tandem-cobrowse')`)
			shot := func(name string) {
				t.Helper()
				waitJS(t, ctx, `document.getAnimations().every((a) => a.playState !== 'running' || a.effect.getComputedTiming().iterations === Infinity) &&
					document.querySelector('tandem-cobrowse').shadowRoot.getAnimations().every((a) => a.playState !== 'running' || a.effect.getComputedTiming().iterations === Infinity)`)
				png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
				if err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(dir, "embed-"+name+"-"+d.name+".png"), png, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			shot("button")
			click(t, ctx, shadow+`.querySelector('.launch')`)
			waitJS(t, ctx, visible(".panel"))
			run(t, ctx, chromedp.Evaluate[chromedp.Void](shadow+`.querySelector('.launch').focus()`))
			shot("panel")
			click(t, ctx, buttonNamed("Get help"))
			shot("help")
			click(t, ctx, buttonNamed("Cancel"))
			click(t, ctx, buttonNamed("Start co-browsing"))
			waitJS(t, ctx, textOf(".code span")+` === "482 913"`)
			tandem.setStatus(map[string]any{
				"participants": []any{map[string]any{"id": "p2", "name": "Anna", "role": "agent", "connected": true, "waiting": true}},
				"waiting":      []any{map[string]any{"participant": "p2", "name": "Anna", "role": "agent", "kind": "view"}},
			})
			waitJS(t, ctx, visible(".ask"))
			shot("consent")
			tandem.setStatus(map[string]any{
				"participants": []any{map[string]any{"id": "p2", "name": "Anna", "role": "agent", "connected": true}},
			})
			waitJS(t, ctx, textOf(".status span")+` === "Anna from support joined"`)
			shot("joined")
			run(t, ctx, chromedp.KeyEvent(kb.Escape))
			waitJS(t, ctx, `!`+visible(".panel"))
			shot("sharing")
		})
	}
}
