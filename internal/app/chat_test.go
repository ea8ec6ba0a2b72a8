package app_test

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/chromedp/cdproto/input"
	cdppage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/tandem-cobrowse/tandem/internal/app"
)

// say types text into the viewer's chat and sends it with Enter; a line break in text is
// typed as Shift+Enter.
func say(t *testing.T, ctx context.Context, who, text string) {
	t.Helper()
	must(t, ctx, who+" focuses the chat", chromedp.Click(chromedp.ID("chat-input")))
	for i, line := range strings.Split(text, "\n") {
		if i > 0 {
			enter(t, ctx, who, 8)
		}
		must(t, ctx, who+" types", chromedp.SendKeys(chromedp.ID("chat-input"), line))
	}
	enter(t, ctx, who, 0)
	waitTrue(t, ctx, who+"'s message is sent", `document.getElementById('chat-input').value === ''`)
}

// enter presses Enter as a keyboard does: one key down that carries its text, so the
// page's preventDefault keeps the text out (chromedp's KeyEvent sends the text apart).
func enter(t *testing.T, ctx context.Context, who string, modifiers int64) {
	t.Helper()
	for _, typ := range []input.DispatchKeyEventType{input.DispatchKeyEventTypeKeyDown, input.DispatchKeyEventTypeKeyUp} {
		p := input.DispatchKeyEventParams{Type: typ, Modifiers: modifiers, Key: "Enter", Code: "Enter", WindowsVirtualKeyCode: 13, NativeVirtualKeyCode: 13}
		if typ == input.DispatchKeyEventTypeKeyDown {
			p.Text, p.UnmodifiedText = "\r", "\r"
		}
		if _, err := chromedp.Call(ctx, input.DispatchKeyEvent, p); err != nil {
			t.Fatalf("%s presses Enter: %v", who, err)
		}
	}
}

// openChat switches the viewer's side panel to Chat.
func openChat(t *testing.T, ctx context.Context, who string) {
	t.Helper()
	must(t, ctx, who+" opens the chat", chromedp.Click(chromedp.ID("tab-chat")))
	waitTrue(t, ctx, who+" sees the chat", `!document.getElementById('chat-pane').hidden`)
}

// chatShows is JS that holds when the viewer's chat lists exactly these "name: text" lines.
func chatShows(lines ...string) string {
	return fmt.Sprintf(`[...document.querySelectorAll('#chat-list .chat-msg')].map((m) =>
		m.querySelector('.chat-name').textContent + ': ' + m.querySelector('.chat-text').textContent).join('\n') === %q`,
		strings.Join(lines, "\n"))
}

// countDialogs counts (and dismisses) the JavaScript dialogs the viewer opens.
func countDialogs(ctx context.Context) *atomic.Int64 {
	var n atomic.Int64
	dialogs := chromedp.Events(ctx, cdppage.JavascriptDialogOpening)
	go func() {
		for _, err := range dialogs {
			if err != nil {
				return
			}
			n.Add(1)
			_, _ = chromedp.Call(ctx, cdppage.HandleJavaScriptDialog, cdppage.HandleJavaScriptDialogParams{})
		}
	}()
	return &n
}

// TestChatInRealBrowsers: the host and a guest talk in the viewer's chat. Markup in a
// message is shown as the text it is, creating no element and running nothing; a guest
// who joins later reads what was said; a flood is refused with a visible error.
func TestChatInRealBrowsers(t *testing.T) {
	provider := page(t, `<!doctype html><title>Order 10482</title>
<body style="margin:0;font:16px system-ui,sans-serif;color:#1c2333">
<header style="padding:18px 32px;background:#0f3d5e;color:#fff;font-weight:700;font-size:20px">Northwind Outfitters</header>
<main style="padding:28px 32px;max-width:640px"><h1 style="font-size:26px;margin:0 0 12px">Your basket</h1>
<p style="display:flex;justify-content:space-between;border-bottom:1px solid #dde2ea;padding:12px 0;margin:0"><span>Trail jacket, size M</span><b>€129.00</b></p>
<p style="display:flex;justify-content:space-between;border-bottom:1px solid #dde2ea;padding:12px 0;margin:0"><span>Wool socks ×2</span><b>€18.00</b></p>
<p style="display:flex;justify-content:space-between;padding:12px 0;margin:0;font-size:18px"><span>Total</span><b>€147.00</b></p>
<button style="margin-top:16px;padding:12px 22px;border:0;border-radius:8px;background:#0f7b5f;color:#fff;font:inherit;font-weight:600">Check out</button></main>`)
	var audit lockedBuffer
	browser, host, links := hostOn(t, provider.URL+"/", app.Config{AllowHosts: allowed(provider), AuditLog: &audit})
	hostDialogs := countDialogs(host)

	openChat(t, host, "the host")
	waitTrue(t, host, "the empty chat says so", `!document.getElementById('chat-empty').hidden`)

	guest := openTab(t, browser, links["guest"].(string))
	guestDialogs := countDialogs(guest)
	join(t, guest, "Gus")
	say(t, host, "the host", "Hi Gus! Can you see the basket?")

	// The guest is on People: the message waits as unread, on the panel button and the tab.
	waitTrue(t, guest, "the guest has an unread message", `(() => {
		const b = document.getElementById('chat-unread'), tab = document.getElementById('chat-tab-unread');
		return !b.hidden && b.textContent === '1' && !tab.hidden &&
			document.getElementById('chat-unread-text').textContent === '1 unread chat message';
	})()`)
	openChat(t, guest, "the guest")
	waitTrue(t, guest, "the guest reads it and the badge goes", chatShows("Hana: Hi Gus! Can you see the basket?")+
		` && document.getElementById('chat-unread').hidden && document.querySelector('.chat-msg .role').textContent === 'Host'`)

	const markup = `<img src=x onerror=alert(1)><b>bold</b>`
	say(t, guest, "the guest", markup)
	for who, ctx := range map[string]context.Context{"host": host, "guest": guest} {
		waitTrue(t, ctx, "the "+who+" sees the markup as text", chatShows("Hana: Hi Gus! Can you see the basket?", "Gus: "+markup))
		if n := textOf(t, ctx, `String(document.querySelectorAll('#chat-list img, #chat-list b, #chat-list script').length)`); n != "0" {
			t.Errorf("the %s's chat has %s elements made from the message", who, n)
		}
	}

	say(t, host, "the host", "Yes, the jacket is there.\nThe total should be €147.00 — does yours say the same?")
	say(t, guest, "the guest", "It does. Link for later: https://shop.example/orders/10482/invoice?download=pdf&lang=en")
	lines := []string{
		"Hana: Hi Gus! Can you see the basket?",
		"Gus: " + markup,
		"Hana: Yes, the jacket is there.\nThe total should be €147.00 — does yours say the same?",
		"Gus: It does. Link for later: https://shop.example/orders/10482/invoice?download=pdf&lang=en",
	}
	waitTrue(t, host, "the host has the whole conversation", chatShows(lines...))
	// Long words wrap inside the panel: nothing scrolls sideways.
	waitTrue(t, host, "messages fit the panel", `(() => { const l = document.getElementById('chat-list'); return l.scrollWidth <= l.clientWidth; })()`)
	shotSettled(t, host, "chat-panel")

	// A late joiner gets the history, on a phone: the badge on the panel button leads there.
	late := openTab(t, browser, links["guest"].(string))
	must(t, late, "a phone", chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2), chromedp.EmulateMobile, chromedp.EmulateTouch))
	join(t, late, "Lia")
	waitTrue(t, late, "the late joiner has the history", chatShows(lines...))
	say(t, host, "the host", "Welcome, Lia.")
	waitTrue(t, late, "the phone shows an unread message", `!document.getElementById('chat-unread').hidden`)
	must(t, late, "Lia opens the panel", chromedp.Click(chromedp.ID("panel-btn")))
	waitTrue(t, late, "the panel opens on the chat", `document.getElementById('tab-chat').getAttribute('aria-selected') === 'true' &&
		document.getElementById('chat-unread').hidden`)
	waitTrue(t, late, "the chat fits the phone", `(() => {
		const f = document.getElementById('chat-form').getBoundingClientRect();
		return f.bottom <= innerHeight && f.right <= innerWidth && document.getElementById('chat-list').scrollWidth <= document.getElementById('chat-list').clientWidth;
	})()`)
	shotSettled(t, late, "chat-phone")

	// A flood: what the guest's allowance takes goes (five at once, fewer if it spoke in
	// the last seconds), the rest is refused with a visible error, and the text that did
	// not go is given back. (proxy's TestAChatFloodIsLimited counts the allowance exactly.)
	must(t, guest, "the guest floods the chat", chromedp.Evaluate[chromedp.Void](`(() => {
		const i = document.getElementById('chat-input'), f = document.getElementById('chat-form');
		for (let n = 1; n <= 8; n++) { i.value = 'flood ' + n; f.requestSubmit(); }
	})()`))
	waitTrue(t, guest, "the guest is told to slow down", `(() => {
		const e = document.getElementById('chat-error');
		return !e.hidden && /too quickly/.test(e.textContent) && /^flood [2-8]$/.test(document.getElementById('chat-input').value);
	})()`)
	waitTrue(t, host, "the host has the flood's first", `[...document.querySelectorAll('#chat-list .chat-text')].some((m) => m.textContent === 'flood 1')`)
	shotSettled(t, guest, "chat-rate-limited")

	if n := hostDialogs.Load() + guestDialogs.Load(); n != 0 {
		t.Errorf("%d dialogs opened", n)
	}
	if log := audit.String(); !strings.Contains(log, `"event":"chat_message"`) || strings.Contains(log, "jacket") {
		t.Errorf("audit log:\n%s", log)
	}
}
