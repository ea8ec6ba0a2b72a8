package demo

import (
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

// newServer serves the demo site; the client keeps cookies and does not follow
// redirects, so tests see each answer.
func newServer(t *testing.T) (*httptest.Server, *http.Client) {
	t.Helper()
	srv := httptest.NewServer(Handler(nil, Options{}))
	t.Cleanup(srv.Close)
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{
		Jar:           jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return srv, client
}

func get(t *testing.T, c *http.Client, u string) (int, http.Header, string) {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	return read(t, resp)
}

func post(t *testing.T, c *http.Client, u string, form url.Values) (int, http.Header, string) {
	t.Helper()
	resp, err := c.PostForm(u, form)
	if err != nil {
		t.Fatal(err)
	}
	return read(t, resp)
}

func read(t *testing.T, resp *http.Response) (int, http.Header, string) {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, string(b)
}

func mustContain(t *testing.T, body string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(body, w) {
			t.Errorf("body lacks %q", w)
		}
	}
}

func TestEveryPageAnswersWithItsKeyElements(t *testing.T) {
	srv, c := newServer(t)
	cases := []struct {
		path  string
		wants []string
	}{
		{"/", []string{"Gear for every trail", `href="/products/ridgeline-2p-tent"`, `href="/long"`, `href="/login"`, `href="/checkout"`, `href="/notes"`, `href="/popup"`, `href="/alert"`, `href="/download"`, `href="/animated"`}},
		{"/products/storm-shell-jacket", []string{"Storm Shell Jacket", "$249.00", `action="/cart/add"`, `name="slug" value="storm-shell-jacket"`}},
		{"/long", []string{`class="toc"`, `href="#planning"`, `id="planning"`, `id="leave-no-trace"`, `href="#top"`}},
		{"/login", []string{`type="password"`, `name="username"`, `action="/login"`, "<code>demo</code>"}},
		{"/checkout", []string{`autocomplete="cc-name"`, `autocomplete="cc-number"`, `autocomplete="cc-exp"`, `autocomplete="cc-csc"`, "data-tandem-mask", `name="address"`, `type="email"`}},
		{"/notes", []string{`<textarea id="message" name="message"`, `maxlength="500"`, `id="message-count"`, "/static/js/counter.js"}},
		{"/popup", []string{`target="_blank"`, `href="/popup/opened"`, `data-href="/popup/opened?via=window.open"`, "/static/js/popup.js"}},
		{"/popup/opened", []string{`target=&#34;_blank&#34;`}},
		{"/popup/opened?via=window.open", []string{"window.open()"}},
		{"/alert", []string{`data-dialog="alert"`, `data-dialog="confirm"`, `data-dialog="prompt"`, `id="dialog-results"`}},
		{"/download", []string{`href="/download/report.csv"`}},
		{"/animated", []string{`id="probe"`, fmt.Sprintf("left: %dpx; top: %dpx; width: %dpx; height: %dpx", ProbeX, ProbeY, ProbeSize, ProbeSize), `data-state="black"`, "/static/js/animated.js", `id="clock"`}},
	}
	for _, tc := range cases {
		t.Run(tc.path, func(t *testing.T) {
			code, h, body := get(t, c, srv.URL+tc.path)
			if code != http.StatusOK {
				t.Fatalf("status %d, want 200", code)
			}
			if ct := h.Get("Content-Type"); ct != "text/html; charset=utf-8" {
				t.Errorf("Content-Type %q", ct)
			}
			// The shared header and footer are on every page.
			mustContain(t, body, "Northwind", `href="/checkout" class="cart`, `href="/login"`, `href="/animated"`)
			mustContain(t, body, tc.wants...)
		})
	}
}

func TestStaticAssetsAreServedWithoutListings(t *testing.T) {
	srv, c := newServer(t)
	for _, p := range []string{"/static/css/site.css", "/static/js/animated.js", "/static/img/logo.svg", "/static/img/ridgeline-2p-tent.svg"} {
		if code, _, body := get(t, c, srv.URL+p); code != http.StatusOK || body == "" {
			t.Errorf("%s: status %d, %d bytes", p, code, len(body))
		}
	}
	// Every product has its picture.
	for _, p := range newCatalog().products {
		if code, _, _ := get(t, c, srv.URL+"/static/img/"+p.Slug+".svg"); code != http.StatusOK {
			t.Errorf("picture of %s: status %d", p.Slug, code)
		}
	}
	if code, _, _ := get(t, c, srv.URL+"/static/"); code != http.StatusNotFound {
		t.Errorf("directory listing: status %d, want 404", code)
	}
}

func TestUnknownPathsAre404(t *testing.T) {
	srv, c := newServer(t)
	for _, p := range []string{"/nope", "/products/no-such-thing", "/products/", "/static/img/none.svg", "/long/more"} {
		code, _, body := get(t, c, srv.URL+p)
		if code != http.StatusNotFound {
			t.Errorf("%s: status %d, want 404", p, code)
		}
		if !strings.HasPrefix(p, "/static/") {
			mustContain(t, body, "We could not find that trail")
		}
	}
}

func TestHealthz(t *testing.T) {
	srv, c := newServer(t)
	code, _, body := get(t, c, srv.URL+"/healthz")
	if code != http.StatusOK || body != "ok" {
		t.Fatalf("got %d %q, want 200 \"ok\"", code, body)
	}
}

func TestLogin(t *testing.T) {
	t.Run("sets a cookie and the header shows the name", func(t *testing.T) {
		srv, c := newServer(t)
		code, h, _ := post(t, c, srv.URL+"/login", url.Values{"username": {"demo"}, "password": {"demo"}, "next": {"/checkout"}})
		if code != http.StatusSeeOther || h.Get("Location") != "/checkout" {
			t.Fatalf("got %d to %q, want 303 to /checkout", code, h.Get("Location"))
		}
		if !strings.Contains(h.Get("Set-Cookie"), cookieName+"=") || !strings.Contains(h.Get("Set-Cookie"), "HttpOnly") {
			t.Fatalf("Set-Cookie %q", h.Get("Set-Cookie"))
		}
		_, _, body := get(t, c, srv.URL+"/")
		mustContain(t, body, "Signed in as <strong>demo</strong>", `action="/logout"`)
		// The checkout form suggests the signed-in name.
		_, _, body = get(t, c, srv.URL+"/checkout")
		mustContain(t, body, `autocomplete="name" value="demo"`)

		code, _, _ = post(t, c, srv.URL+"/logout", nil)
		if code != http.StatusSeeOther {
			t.Fatalf("logout: status %d", code)
		}
		_, _, body = get(t, c, srv.URL+"/")
		if strings.Contains(body, "Signed in as") {
			t.Error("still signed in after logout")
		}
	})
	t.Run("a new session id is issued on sign-in", func(t *testing.T) {
		srv, c := newServer(t)
		post(t, c, srv.URL+"/cart/add", url.Values{"slug": {"summit-45-pack"}})
		u, _ := url.Parse(srv.URL)
		before := c.Jar.Cookies(u)[0].Value
		post(t, c, srv.URL+"/login", url.Values{"username": {"ada"}, "password": {"x"}})
		after := c.Jar.Cookies(u)[0].Value
		if before == after {
			t.Fatal("session id unchanged by sign-in")
		}
		// The cart survives the new id.
		_, _, body := get(t, c, srv.URL+"/")
		mustContain(t, body, `id="cart-count">1<`, "Signed in as <strong>ada</strong>")
	})
	t.Run("an empty field gets a 400 and no cookie", func(t *testing.T) {
		srv, c := newServer(t)
		for _, form := range []url.Values{
			{"username": {""}, "password": {"hunter2"}},
			{"username": {"ada"}, "password": {""}},
			{"username": {"   "}, "password": {"hunter2"}},
			{"username": {strings.Repeat("a", 41)}, "password": {"hunter2"}},
			{"username": {"a\x00b"}, "password": {"hunter2"}},
		} {
			code, h, body := post(t, c, srv.URL+"/login", form)
			if code != http.StatusBadRequest {
				t.Errorf("%v: status %d, want 400", form, code)
			}
			if h.Get("Set-Cookie") != "" {
				t.Errorf("%v: cookie set on a failed sign-in", form)
			}
			if strings.Contains(body, "hunter2") {
				t.Errorf("%v: the password was echoed", form)
			}
			mustContain(t, body, `type="password"`, "Please fix the highlighted fields")
		}
	})
	t.Run("next never leaves the site", func(t *testing.T) {
		srv, c := newServer(t)
		for _, next := range []string{"//evil.example", "https://evil.example/", "/\\evil.example"} {
			_, h, _ := post(t, c, srv.URL+"/login", url.Values{"username": {"a"}, "password": {"b"}, "next": {next}})
			if h.Get("Location") != "/" {
				t.Errorf("next %q redirected to %q", next, h.Get("Location"))
			}
		}
	})
}

func TestCart(t *testing.T) {
	srv, c := newServer(t)
	code, h, _ := post(t, c, srv.URL+"/cart/add", url.Values{"slug": {"ember-camp-stove"}, "quantity": {"2"}})
	if code != http.StatusSeeOther || h.Get("Location") != "/products/ember-camp-stove?added=1" {
		t.Fatalf("got %d to %q", code, h.Get("Location"))
	}
	_, _, body := get(t, c, srv.URL+"/products/ember-camp-stove?added=1")
	mustContain(t, body, `id="cart-count">2<`, "Added to your cart. You have 2 of these.")
	post(t, c, srv.URL+"/cart/add", url.Values{"slug": {"summit-45-pack"}})
	_, _, body = get(t, c, srv.URL+"/checkout")
	mustContain(t, body, `id="cart-count">3<`, "Ember Camp Stove", "Qty 2", "$138.00", "Summit 45 Pack", "$327.00")

	// A quantity is capped per product.
	for range 3 {
		post(t, c, srv.URL+"/cart/add", url.Values{"slug": {"ember-camp-stove"}, "quantity": {"5"}})
	}
	_, _, body = get(t, c, srv.URL+"/checkout")
	mustContain(t, body, `id="cart-count">11<`, "Qty 10")

	for _, form := range []url.Values{
		{"slug": {"no-such-thing"}},
		{"slug": {"summit-45-pack"}, "quantity": {"0"}},
		{"slug": {"summit-45-pack"}, "quantity": {"11"}},
		{"slug": {"summit-45-pack"}, "quantity": {"two"}},
	} {
		if code, _, body := post(t, c, srv.URL+"/cart/add", form); code != http.StatusBadRequest || !strings.Contains(body, "Something in that request was not right") {
			t.Errorf("%v: status %d, want the 400 page", form, code)
		}
	}

	if code, _, _ := post(t, c, srv.URL+"/cart/clear", nil); code != http.StatusSeeOther {
		t.Fatalf("clear: status %d", code)
	}
	_, _, body = get(t, c, srv.URL+"/checkout")
	mustContain(t, body, `id="cart-count">0<`, "Your cart is empty")
}

func validCheckout() url.Values {
	return url.Values{
		"name": {"Ada Lovelace"}, "email": {"ada@example.com"}, "address": {"12 Ridge Road\nKeswick"},
		"cc-name": {"A LOVELACE"}, "cc-number": {"4242 4242 4242 1234"}, "cc-exp": {"12/39"}, "cc-csc": {"123"},
	}
}

func TestCheckout(t *testing.T) {
	t.Run("the confirmation shows an order number and only the last 4 digits", func(t *testing.T) {
		srv, c := newServer(t)
		post(t, c, srv.URL+"/cart/add", url.Values{"slug": {"ridgeline-2p-tent"}})
		code, _, body := post(t, c, srv.URL+"/checkout", validCheckout())
		if code != http.StatusOK {
			t.Fatalf("status %d, want 200", code)
		}
		mustContain(t, body, "your order is confirmed", `id="order-number">NW-`, `id="card-last4">1234<`, "ada@example.com", "Ridgeline 2P Tent", "$329.00")
		for _, leak := range []string{"4242 4242 4242 1234", "4242424242421234", "42424242", "123<"} {
			if strings.Contains(body, leak) {
				t.Errorf("confirmation contains %q", leak)
			}
		}
		// The cart is emptied, on this page and after.
		mustContain(t, body, `id="cart-count">0<`)
		_, _, body = get(t, c, srv.URL+"/")
		mustContain(t, body, `id="cart-count">0<`)
	})
	t.Run("order numbers differ", func(t *testing.T) {
		srv, c := newServer(t)
		_, _, a := post(t, c, srv.URL+"/checkout", validCheckout())
		_, _, b := post(t, c, srv.URL+"/checkout", validCheckout())
		num := func(s string) string {
			_, after, _ := strings.Cut(s, `id="order-number">`)
			n, _, _ := strings.Cut(after, "<")
			return n
		}
		if num(a) == "" || num(a) == num(b) {
			t.Fatalf("order numbers %q and %q", num(a), num(b))
		}
	})
	t.Run("bad input gets a 400 page without the card details", func(t *testing.T) {
		srv, c := newServer(t)
		cases := map[string]func(url.Values){
			"missing name":        func(f url.Values) { f.Del("name") },
			"bad email":           func(f url.Values) { f.Set("email", "ada at example") },
			"email without a dot": func(f url.Values) { f.Set("email", "ada@localhost") },
			"missing address":     func(f url.Values) { f.Set("address", "  ") },
			"letters in the card": func(f url.Values) { f.Set("cc-number", "4242 4242 4242 12ab") },
			"short card":          func(f url.Values) { f.Set("cc-number", "4242 4242") },
			"expired card":        func(f url.Values) { f.Set("cc-exp", "01/20") },
			"bad month":           func(f url.Values) { f.Set("cc-exp", "13/39") },
			"expiry not a date":   func(f url.Values) { f.Set("cc-exp", "soon") },
			"short csc":           func(f url.Values) { f.Set("cc-csc", "12") },
			"missing card name":   func(f url.Values) { f.Del("cc-name") },
		}
		for name, mutate := range cases {
			t.Run(name, func(t *testing.T) {
				f := validCheckout()
				mutate(f)
				code, _, body := post(t, c, srv.URL+"/checkout", f)
				if code != http.StatusBadRequest {
					t.Fatalf("status %d, want 400", code)
				}
				mustContain(t, body, "Please fix the highlighted fields", `class="field-error"`)
				if strings.Contains(body, "4242 4242 4242 1234") || strings.Contains(body, "A LOVELACE") {
					t.Error("card details were written back into the page")
				}
			})
		}
	})
	t.Run("a body that is too large gets a 400", func(t *testing.T) {
		srv, c := newServer(t)
		f := validCheckout()
		f.Set("address", strings.Repeat("x", maxFormBytes))
		if code, _, _ := post(t, c, srv.URL+"/checkout", f); code != http.StatusBadRequest {
			t.Fatalf("status %d, want 400", code)
		}
	})
}

func TestNotes(t *testing.T) {
	srv, c := newServer(t)
	code, h, _ := post(t, c, srv.URL+"/notes", url.Values{"message": {"My tent pole <b>snapped</b>"}})
	if code != http.StatusSeeOther || h.Get("Location") != "/notes?sent=1" {
		t.Fatalf("got %d to %q", code, h.Get("Location"))
	}
	post(t, c, srv.URL+"/notes", url.Values{"message": {"Second message"}})
	_, _, body := get(t, c, srv.URL+"/notes?sent=1")
	mustContain(t, body, "your message was sent", "My tent pole &lt;b&gt;snapped&lt;/b&gt;", "Second message")
	if strings.Index(body, "Second message") > strings.Index(body, "My tent pole") {
		t.Error("newest message is not listed first")
	}

	// The limit counts characters, not bytes.
	if code, _, _ := post(t, c, srv.URL+"/notes", url.Values{"message": {strings.Repeat("é", maxNoteChars)}}); code != http.StatusSeeOther {
		t.Errorf("500 two-byte characters: status %d, want 303", code)
	}
	for name, msg := range map[string]string{"empty": "", "blank": " \n ", "too long": strings.Repeat("a", maxNoteChars+1)} {
		code, _, body := post(t, c, srv.URL+"/notes", url.Values{"message": {msg}})
		if code != http.StatusBadRequest {
			t.Errorf("%s: status %d, want 400", name, code)
		}
		mustContain(t, body, `class="field-error"`)
	}

	// Messages belong to the visitor who sent them.
	_, other := newServer(t)
	_, _, body = get(t, other, srv.URL+"/notes")
	if strings.Contains(body, "Second message") {
		t.Error("another visitor sees the messages")
	}
}

func TestDownloadIsAnAttachment(t *testing.T) {
	srv, c := newServer(t)
	code, h, body := get(t, c, srv.URL+"/download/report.csv")
	if code != http.StatusOK {
		t.Fatalf("status %d", code)
	}
	if cd := h.Get("Content-Disposition"); cd != `attachment; filename="report.csv"` {
		t.Errorf("Content-Disposition %q", cd)
	}
	if ct := h.Get("Content-Type"); !strings.HasPrefix(ct, "text/csv") {
		t.Errorf("Content-Type %q", ct)
	}
	lines := strings.Split(strings.TrimSpace(body), "\n")
	if lines[0] != "month,product,units,revenue_usd" || len(lines) != 1+6*len(newCatalog().products) {
		t.Errorf("report has %d lines, header %q", len(lines), lines[0])
	}
}

func TestPopupOpenedRejectsUnknownVia(t *testing.T) {
	srv, c := newServer(t)
	if code, _, _ := get(t, c, srv.URL+"/popup/opened?via=%3Cscript%3E"); code != http.StatusBadRequest {
		t.Fatalf("status %d, want 400", code)
	}
}

func TestWrongMethodIsRefused(t *testing.T) {
	srv, c := newServer(t)
	resp, err := c.Post(srv.URL+"/healthz", "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("status %d, want 405", resp.StatusCode)
	}
}

func TestExpiry(t *testing.T) {
	now := time.Date(2026, time.June, 15, 0, 0, 0, 0, time.UTC)
	for in, ok := range map[string]bool{
		"06/26": true, "6/26": true, "12/2030": true, "07 / 27": true,
		"05/26": false, "12/25": false, "00/30": false, "13/30": false, "1230": false, "12/300": false, "ab/cd": false, "": false, "12/99": false,
	} {
		if err := expiry(in, now); (err == nil) != ok {
			t.Errorf("expiry(%q) = %v, want ok=%v", in, err, ok)
		}
	}
}

func TestStoreForgetsTheLeastRecentlyUsed(t *testing.T) {
	s := newStore(2)
	a := s.update("", func(v *visitor) { v.User = "a" })
	b := s.update("", func(v *visitor) { v.User = "b" })
	s.get(a) // a is now more recent than b
	c := s.update("", func(v *visitor) { v.User = "c" })
	if _, ok := s.get(b); ok {
		t.Error("b survived eviction")
	}
	for id, want := range map[string]string{a: "a", c: "c"} {
		if v, ok := s.get(id); !ok || v.User != want {
			t.Errorf("%s: got %+v, %v", want, v, ok)
		}
	}
	// Unknown ids get a fresh one rather than the one offered.
	if id := s.update("made-up", func(*visitor) {}); id == "made-up" {
		t.Error("an unknown id was adopted")
	}
}

func TestStoreGetReturnsCopies(t *testing.T) {
	s := newStore(2)
	a := s.update("", func(v *visitor) { v.Cart = map[string]int{"x": 1} })
	v, _ := s.get(a)
	v.Cart["x"] = 9
	if v2, _ := s.get(a); v2.Cart["x"] != 1 {
		t.Error("get shares the cart map")
	}
}
