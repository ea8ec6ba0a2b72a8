package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"golang.org/x/crypto/bcrypt"

	"github.com/tandem-cobrowse/tandem/agent"
	"github.com/tandem-cobrowse/tandem/internal/app"
	"github.com/tandem-cobrowse/tandem/site"
	"github.com/tandem-cobrowse/tandem/store"
)

// supportServer runs Tandem with its demo shop and one agent account, anna, whose
// password is annaPassword. The account is added through the store file while the
// server runs, as `tandem agents add` does; the store is returned for more of that.
func supportServer(t *testing.T, cfg app.Config) (*app.Server, *store.DB) {
	t.Helper()
	cfg.DBPath = filepath.Join(t.TempDir(), "tandem.db")
	if cfg.DemoAddr == "" {
		cfg.DemoAddr = "127.0.0.1:0"
	}
	srv := startServer(t, cfg)
	db, err := store.Open(cfg.DBPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := agent.NewAccounts(db, agent.WithBcryptCost(bcrypt.MinCost)).Add("anna", "Anna", annaPassword); err != nil {
		t.Fatal(err)
	}
	return srv, db
}

const annaPassword = "correct horse battery"

// signInAgent opens the agent console in a browser of its own and signs anna in.
func signInAgent(t *testing.T, browser context.Context, srv *app.Server) context.Context {
	t.Helper()
	console := openTab(t, browser, srv.URL()+"/agent")
	must(t, console, "anna signs in",
		chromedp.WaitVisible(chromedp.ID("signin-name")),
		chromedp.SendKeys(chromedp.ID("signin-name"), "anna"),
		chromedp.SendKeys(chromedp.ID("signin-password"), annaPassword+"\n"),
		chromedp.WaitVisible(chromedp.ID("console-view")),
	)
	return console
}

// joinWithCode types code into the console and returns the agent's link it answers. The
// console opens that link in a new tab; the test opens it in a tab of its own instead,
// so window.open only notes it.
func joinWithCode(t *testing.T, console context.Context, code string) string {
	t.Helper()
	must(t, console, "anna joins with the code",
		void(chromedp.Evaluate[bool](`window.open = (u) => { window.opened = u; return null; }; true`)),
		chromedp.SetValue(chromedp.ID("join-code"), ""),
		chromedp.SendKeys(chromedp.ID("join-code"), code+"\n"),
		chromedp.WaitVisible(chromedp.CSS("#join-result a[href*='#token=']")),
	)
	link, err := chromedp.Run(console, chromedp.Evaluate[string](`document.querySelector("#join-result a[href*='#token=']").href`))
	if err != nil {
		t.Fatal(err)
	}
	if opened := textOf(t, console, `window.opened || ''`); opened != link {
		t.Fatalf("the console opened %q and shows %q", opened, link)
	}
	return link
}

// clickInCopy clicks, in a viewer in Page mode, the element of the shared page that
// matches selector.
func clickInCopy(t *testing.T, viewer context.Context, who, selector string) {
	t.Helper()
	var at []float64
	must(t, viewer, who+" finds "+selector, void(chromedp.Poll[bool](fmt.Sprintf(`(() => {
		const f = document.querySelector('.page-copy');
		const el = f && !f.hidden && f.contentDocument && f.contentDocument.querySelector(%q);
		return !!el && el.getBoundingClientRect().width > 0;
	})()`, selector), chromedp.WithPollingTimeout(20*time.Second))))
	at, err := chromedp.Run(viewer, chromedp.Evaluate[[]float64](fmt.Sprintf(`(() => {
		const f = document.querySelector('.page-copy'), el = f.contentDocument.querySelector(%q);
		el.scrollIntoView({block: 'center'});
		const fr = f.getBoundingClientRect(), r = el.getBoundingClientRect(), s = fr.width / f.contentDocument.documentElement.clientWidth;
		return [fr.left + (r.left + r.width / 2) * s, fr.top + (r.top + r.height / 2) * s];
	})()`, selector)))
	if err != nil || len(at) != 2 {
		t.Fatalf("%s: where %s is: %v", who, selector, err)
	}
	// Notices stack over the page's corner: dismiss them, as a person would, until the
	// spot is the page's.
	must(t, viewer, who+" sees "+selector+" uncovered", void(chromedp.Poll[bool](fmt.Sprintf(`(() => {
		for (const b of document.querySelectorAll('#toasts .toast-close')) b.click();
		const el = document.elementFromPoint(%f, %f);
		return !!el && !el.closest('#toasts');
	})()`, at[0], at[1]), chromedp.WithPollingTimeout(20*time.Second))))
	must(t, viewer, who+" clicks "+selector, chromedp.MouseClickXY(at[0], at[1]))
}

// cartCount is the number in the demo shop's cart badge, as the visitor's own browser
// gets it from the shop's server.
func cartCount(t *testing.T, visitor context.Context, url string) string {
	t.Helper()
	must(t, visitor, "the visitor opens "+url, chromedp.Navigate(url), chromedp.WaitVisible(chromedp.ID("cart-count")))
	n, err := chromedp.Run(visitor, chromedp.Evaluate[string](`document.getElementById('cart-count').textContent.trim()`))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func textOf(t *testing.T, ctx context.Context, js string) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](js))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// createForDemo starts a session at the demo shop through the API, as the provider's
// backend does (no key: the server has none).
func createForDemo(t *testing.T, srv *app.Server, path string) (id, hostLink, code string) {
	t.Helper()
	res, err := http.Post(srv.URL()+"/api/v1/sessions", "application/json", strings.NewReader(fmt.Sprintf(`{"url":%q}`, srv.DemoURL()+path)))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var out struct {
		ID       string            `json:"id"`
		Links    map[string]string `json:"links"`
		JoinCode string            `json:"joinCode"`
	}
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil || res.StatusCode != 201 {
		t.Fatalf("create: %d %v", res.StatusCode, err)
	}
	return out.ID, out.Links["host"], out.JoinCode
}

// TestAgentJoinsByCodeWithTheVisitorsConsent: an agent signed in to the console joins
// with the visitor's code, sees nothing until the visitor allows it, gets control only
// when the visitor grants it, and its view ends the moment the visitor stops sharing.
func TestAgentJoinsByCodeWithTheVisitorsConsent(t *testing.T) {
	execPath := chromiumOrSkip(t)
	var audit lockedBuffer
	srv, _ := supportServer(t, app.Config{AuditLog: &audit})
	browser := participantBrowser(t, execPath)

	_, hostLink, code := createForDemo(t, srv, "products/ridgeline-2p-tent")
	host := openTab(t, browser, hostLink)
	join(t, host, "Vera")
	waitFrame(t, host)

	console := signInAgent(t, browser, srv)
	shot(t, console, "agent-console")
	agentLink := joinWithCode(t, console, code)
	agentView := openTab(t, browser, agentLink)
	must(t, agentView, "anna waits for the visitor", chromedp.WaitVisible(chromedp.CSS("#status.status-waiting")))

	// The visitor is asked, and allows.
	must(t, host, "the visitor is asked", chromedp.WaitVisible(chromedp.CSS(`#toasts [data-key^="consent-"]`)))
	if s := textOf(t, host, `document.querySelector('#toasts [data-key^="consent-"]').innerText`); !strings.Contains(s, "Anna from support wants to see this page") {
		t.Fatalf("the visitor's question reads %q", s)
	}
	shot(t, host, "visitor-consent")
	must(t, host, "the visitor allows", chromedp.Click(chromedp.CSS(`#toasts [data-key^="consent-"] .btn-primary`)))
	waitFrame(t, agentView)
	waitCopy(t, agentView, "anna", "Ridgeline 2P Tent")

	// Control: anna asks, the visitor grants.
	must(t, agentView, "anna asks for control", chromedp.Click(chromedp.ID("control-btn")))
	must(t, host, "the visitor grants", chromedp.WaitVisible(chromedp.CSS(`#toasts [data-key^="req-"] .btn-primary`)),
		chromedp.Click(chromedp.CSS(`#toasts [data-key^="req-"] .btn-primary`)))
	waitControlMine(t, agentView)
	clickInCopy(t, agentView, "anna", ".add-to-cart button")
	waitCopy(t, agentView, "anna", "Added")
	shot(t, agentView, "agent-in-control")

	// The visitor stops sharing: anna's view ends at once.
	must(t, host, "the visitor stops sharing", chromedp.Click(chromedp.ID("stop-btn")))
	must(t, agentView, "anna's view ends", chromedp.WaitVisible(chromedp.ID("ended")))
	if s := textOf(t, agentView, `document.getElementById('ended-message').textContent`); !strings.Contains(s, "stopped sharing") {
		t.Fatalf("anna is told %q", s)
	}
	for _, want := range []string{`"event":"join_code_redeemed"`, `"event":"consent_asked"`, `"event":"consent_answered"`,
		`"allowed":true`, `"action":"grant"`, `"event":"sharing_stopped"`} {
		if !strings.Contains(audit.String(), want) {
			t.Errorf("audit log lacks %s", want)
		}
	}
}

// inEmbed runs js with `root`, the embed's shadow root on the provider's page.
func inEmbed[T any](t *testing.T, ctx context.Context, js string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](`(() => { const root = document.querySelector('tandem-cobrowse').shadowRoot; `+js+` })()`))
	if err != nil {
		t.Fatalf("in the embed: %v", err)
	}
	return v
}

// waitEmbed waits until js (an expression over root) holds in the embed.
func waitEmbed(t *testing.T, ctx context.Context, what, js string) {
	t.Helper()
	must(t, ctx, what, void(chromedp.Poll[bool](`(() => { const h = document.querySelector('tandem-cobrowse');
		const root = h && h.shadowRoot; return !!root && !!(`+js+`); })()`, chromedp.WithPollingTimeout(30*time.Second))))
}

// clickEmbed clicks the embed's button whose text is label.
func clickEmbed(t *testing.T, ctx context.Context, label string) {
	t.Helper()
	waitEmbed(t, ctx, "the embed shows "+label, fmt.Sprintf(`[...root.querySelectorAll('button')].some((b) => b.textContent.trim() === %q && b.offsetParent)`, label))
	inEmbed[bool](t, ctx, fmt.Sprintf(`const b = [...root.querySelectorAll('button')].find((b) => b.textContent.trim() === %q && b.offsetParent); b.click(); return true;`, label))
}

// TestVisitorStartsFromTheProvidersPage is the whole flow of issue 8 in real browsers:
// the demo shop with its one script tag, a visitor who signs in and presses the
// button; the session is the visitor's own signed-in shop (its cart is the visitor's,
// on the shop's server); anna joins from the console with the code, sees nothing until
// the visitor allows her in the embed's panel, gets control when the visitor grants it,
// and her click lands in the visitor's cart; the visitor stops sharing and her view
// ends.
func TestVisitorStartsFromTheProvidersPage(t *testing.T) {
	execPath := chromiumOrSkip(t)
	var audit lockedBuffer
	srv, db := supportServer(t, app.Config{AuditLog: &audit})
	shop := srv.DemoURL()
	browser := participantBrowser(t, execPath)
	// The site's button text is set in Tandem, as `tandem sites add demo --button-text` does.
	sites := site.NewStore(db)
	demoSite, err := sites.Get("demo")
	if err != nil {
		t.Fatal(err)
	}
	demoSite.ButtonText = "Shop together with us"
	if _, err := sites.Put(demoSite); err != nil {
		t.Fatal(err)
	}

	visitor := openTab(t, browser, shop+"login")
	must(t, visitor, "the visitor signs in to the shop",
		chromedp.WaitVisible(chromedp.ID("username")),
		chromedp.SendKeys(chromedp.ID("username"), "demo"),
		chromedp.SendKeys(chromedp.ID("password"), "demo\n"),
		chromedp.WaitVisible(chromedp.CSS(".signed-in")),
	)
	product := shop + "products/ridgeline-2p-tent"
	if n := cartCount(t, visitor, product); n != "0" {
		t.Fatalf("the visitor's cart starts with %s", n)
	}
	waitEmbed(t, visitor, "the co-browse button is on the page, with the site's text",
		`root.querySelector('button.launch') && root.querySelector('button.launch').offsetParent && root.querySelector('button.launch').textContent.includes('Shop together with us')`)
	shot(t, visitor, "embed-button")
	// The shared page opens in a window of its own; the test opens it in a tab instead.
	must(t, visitor, "window.open is noted", void(chromedp.Evaluate[bool](`window.open = (u) => { window.opened = u; return null; }; true`)))
	inEmbed[bool](t, visitor, `root.querySelector('button.launch').click(); return true;`)
	clickEmbed(t, visitor, "Start co-browsing")
	waitEmbed(t, visitor, "the visitor's code is shown", `/^\d{3}\s?\d{3}$/.test(root.querySelector('.code span').textContent.trim())`)
	shot(t, visitor, "embed-panel")
	code := strings.ReplaceAll(inEmbed[string](t, visitor, `return root.querySelector('.code span').textContent;`), " ", "")
	hostLink := inEmbed[string](t, visitor, `return [...root.querySelectorAll('a')].find((a) => a.href.includes('#token=')).href;`)
	if !strings.HasPrefix(hostLink, srv.URL()+"/s/") {
		t.Fatalf("the shared page's link is %q", hostLink)
	}

	// The session's page is the visitor's signed-in shop.
	host := openTab(t, browser, hostLink)
	join(t, host, "Vera")
	waitCopy(t, host, "the visitor", "Signed in as")
	waitCopy(t, host, "the visitor", "Ridgeline 2P Tent")
	// The shop's own co-browse button is not part of the shared page.
	if s, _ := copyText(host); strings.Contains(s, "Co-browse with support") {
		t.Fatalf("the shared page shows the embed's button: %q", s)
	}

	// A code alone gives nothing: the API wants a signed-in agent.
	res, err := http.Post(srv.URL()+"/api/v1/join", "application/json", strings.NewReader(fmt.Sprintf(`{"code":%q}`, code)))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("redeeming without an agent: %d", res.StatusCode)
	}

	console := signInAgent(t, browser, srv)
	agentView := openTab(t, browser, joinWithCode(t, console, code))
	must(t, agentView, "anna waits for the visitor", chromedp.WaitVisible(chromedp.CSS("#status.status-waiting")))
	waitEmbed(t, visitor, "the visitor is asked in the panel", `root.querySelector('.ask') && /Anna/.test(root.querySelector('.ask').textContent)`)
	shot(t, visitor, "embed-consent")
	if c, _ := copyText(agentView); c != "" {
		t.Fatalf("anna sees the page before the visitor allowed it: %q", c)
	}
	clickEmbed(t, visitor, "Allow")
	waitCopy(t, agentView, "anna", "Signed in as")
	waitEmbed(t, visitor, "the panel says anna joined", `/Anna from support joined/.test(root.textContent)`)

	// Control: anna asks, the visitor grants in the panel, anna's click is the visitor's.
	must(t, agentView, "anna asks for control", chromedp.Click(chromedp.ID("control-btn")))
	waitEmbed(t, visitor, "the visitor is asked about control", `root.querySelector('.ask') && /control/.test(root.querySelector('.ask').textContent)`)
	clickEmbed(t, visitor, "Allow")
	waitControlMine(t, agentView)
	clickInCopy(t, agentView, "anna", ".add-to-cart button")
	waitCopy(t, agentView, "anna", "Added")
	if n := cartCount(t, visitor, product); n != "1" {
		t.Fatalf("after anna's click the visitor's own cart has %s items, want 1", n)
	}

	// Stop sharing, from the panel on the provider's page.
	clickEmbed(t, visitor, "Stop sharing")
	must(t, agentView, "anna's view ends", chromedp.WaitVisible(chromedp.ID("ended")))
	waitEmbed(t, visitor, "the panel says sharing stopped", `/Sharing stopped/.test(root.textContent)`)
	for _, want := range []string{`"handoff":true`, `"site":"demo"`, `"event":"join_code_redeemed"`, `"event":"consent_answered"`, `"event":"control_changed"`, `"event":"session_ended"`} {
		if !strings.Contains(audit.String(), want) {
			t.Errorf("audit log lacks %s", want)
		}
	}
}

// TestVisitorAsksForHelp: the instant share. A visitor asks for help from the shop's
// page; the request waits (long enough to be told so), shows up live in the agent
// console, anna accepts it and lands in the visitor's session, which this site counts
// as consent to be seen, and the visitor is told who joined.
func TestVisitorAsksForHelp(t *testing.T) {
	execPath := chromiumOrSkip(t)
	var audit lockedBuffer
	srv, db := supportServer(t, app.Config{AuditLog: &audit, HelpPatience: time.Millisecond})
	sites := site.NewStore(db)
	demoSite, err := sites.Get("demo")
	if err != nil {
		t.Fatal(err)
	}
	demoSite.ViewConsent = site.ConsentHelp
	if _, err := sites.Put(demoSite); err != nil {
		t.Fatal(err)
	}
	browser := participantBrowser(t, execPath)
	console := signInAgent(t, browser, srv)
	must(t, console, "the queue is live and empty", chromedp.WaitVisible(chromedp.ID("queue-empty")))

	visitor := openTab(t, browser, srv.DemoURL()+"products/summit-45-pack")
	must(t, visitor, "window.open is noted", void(chromedp.Evaluate[bool](`window.open = (u) => { window.opened = u; return null; }; true`)))
	waitEmbed(t, visitor, "the co-browse button is on the page", `root.querySelector('button.launch') && root.querySelector('button.launch').offsetParent`)
	inEmbed[bool](t, visitor, `root.querySelector('button.launch').click(); return true;`)
	clickEmbed(t, visitor, "Get help")
	waitEmbed(t, visitor, "the help form is shown", `root.querySelector('form input') && root.querySelector('form input').offsetParent`)
	inEmbed[bool](t, visitor, `const f = root.querySelector('form'); f.querySelector('input').value = 'Sam';
		f.querySelector('textarea').value = 'Which pack fits a 60 cm back?'; return true;`)
	clickEmbed(t, visitor, "Ask for help")
	waitEmbed(t, visitor, "the visitor is told it is taking long", `/taking longer than usual/.test(root.textContent)`)
	shot(t, visitor, "embed-help-waiting")

	// The visitor's page: its address at once, its title once it has loaded.
	must(t, console, "the request shows up in anna's queue", chromedp.WaitVisible(chromedp.CSS("#queue-list .req")))
	if s := textOf(t, console, `document.querySelector('#queue-list .req').innerText`); !strings.Contains(s, "Sam") ||
		!strings.Contains(s, "Which pack fits a 60 cm back?") || !strings.Contains(s, "summit-45-pack") {
		t.Fatalf("the queue shows %q", s)
	}
	shot(t, console, "agent-console-queue")
	must(t, console, "anna accepts", void(chromedp.Evaluate[bool](`window.open = (u) => { window.opened = u; return null; }; true`)),
		chromedp.Click(chromedp.CSS("#queue-list .req button.btn-primary")),
		void(chromedp.Poll[bool](`!!window.opened`, chromedp.WithPollingTimeout(20*time.Second))))
	agentView := openTab(t, browser, textOf(t, console, `window.opened`))
	// Asking for help was consent to be seen on this site: anna sees the page at once,
	// and the visitor is told why.
	waitCopy(t, agentView, "anna", "Summit 45 Pack")
	waitEmbed(t, visitor, "the panel says anna joined", `/Anna from support joined/.test(root.textContent)`)
	must(t, console, "the queue is empty again", chromedp.WaitVisible(chromedp.ID("queue-empty")))
	for _, want := range []string{`"event":"help_requested"`, `"event":"help_accepted"`, `"event":"consent_implied"`} {
		if !strings.Contains(audit.String(), want) {
			t.Errorf("audit log lacks %s", want)
		}
	}
}

// TestConsoleRefusesCrossSiteRequests: an agent signed in to the console, whose cookie a
// page of another site makes the browser send, cannot redeem codes or accept requests
// without the console's own token; with it, the API answers as usual.
func TestConsoleRefusesCrossSiteRequests(t *testing.T) {
	chromiumOrSkip(t)
	srv, _ := supportServer(t, app.Config{})
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar}
	call := func(method, path string, hdr map[string]string, body string) (int, map[string]any) {
		t.Helper()
		req, _ := http.NewRequest(method, srv.URL()+path, strings.NewReader(body))
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		res, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var out map[string]any
		_ = json.NewDecoder(res.Body).Decode(&out)
		return res.StatusCode, out
	}
	if status, _ := call("GET", "/agent", nil, ""); status != 200 {
		t.Fatalf("console page: %d", status)
	}
	_, lt := call("GET", "/api/v1/agent/login-token", nil, "")
	status, me := call("POST", "/agent/sign-in", map[string]string{"Origin": srv.URL(), "Content-Type": "application/json",
		"X-CSRF-Token": fmt.Sprint(lt["token"])}, fmt.Sprintf(`{"name":"anna","password":%q}`, annaPassword))
	if status != 200 || me["csrfToken"] == nil {
		t.Fatalf("sign-in: %d %v", status, me)
	}
	hdr := map[string]string{"Content-Type": "application/json", "Origin": "https://evil.example"}
	if status, out := call("POST", "/api/v1/join", hdr, `{"code":"123456"}`); status != http.StatusForbidden || out["error"] != "csrf" {
		t.Fatalf("join without the console's token: %d %v", status, out)
	}
	if status, out := call("POST", "/api/v1/help-requests/hr_x/accept", hdr, ``); status != http.StatusForbidden || out["error"] != "csrf" {
		t.Fatalf("accept without the console's token: %d %v", status, out)
	}
	hdr["X-CSRF-Token"] = fmt.Sprint(me["csrfToken"])
	if status, out := call("POST", "/api/v1/join", hdr, `{"code":"123456"}`); status != http.StatusNotFound || out["error"] != "bad_code" {
		t.Fatalf("join with the console's token and a wrong code: %d %v", status, out)
	}
}
