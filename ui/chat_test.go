package ui_test

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

func chatMsg(id string, from person, text string) map[string]any {
	return map[string]any{"type": "chat", "id": id, "from": from.ID, "name": from.Name, "role": from.Role,
		"color": from.Color, "text": text, "at": "2026-12-01T10:04:05Z"}
}

// TestViewerChat: history and messages are shown as text; what the viewer sends, and what
// it shows when the server refuses it.
func TestViewerChat(t *testing.T) {
	ctx, c := joinWithFrame(t, guest, host.ID, host)
	markup := `<img src=x onerror=alert(1)><b>bold</b>`
	c.send(t, map[string]any{"type": "chat_history", "messages": []any{
		chatMsg("c1", host, "Hello"), chatMsg("c2", host, "line one\nline two"), chatMsg("c3", guest, markup)}})
	run(t, ctx, chromedp.Click(chromedp.ID("tab-chat")))
	waitJS(t, ctx, `document.querySelectorAll('#chat-list .chat-msg').length === 3 && document.getElementById('chat-empty').hidden`)
	got := eval[[]string](t, ctx, `[...document.querySelectorAll('#chat-list .chat-text')].map((e) => e.textContent)`)
	if strings.Join(got, "|") != "Hello|line one\nline two|"+markup {
		t.Errorf("texts %q", got)
	}
	if n := eval[float64](t, ctx, `document.querySelectorAll('#chat-list img, #chat-list b').length`); n != 0 {
		t.Errorf("%v elements made from a message", n)
	}
	// The host's second message shares the first's heading; mine says it is mine.
	if v := eval[string](t, ctx, `[...document.querySelectorAll('.chat-msg')].map((m) => m.className.replace('chat-msg', '').trim() || '-').join()`); v != "-,is-cont,is-mine" {
		t.Errorf("classes %s", v)
	}
	// A second history (a reconnect) replaces the list.
	c.send(t, map[string]any{"type": "chat_history", "messages": []any{chatMsg("c1", host, "Hello")}})
	waitJS(t, ctx, `document.querySelectorAll('#chat-list .chat-msg').length === 1`)

	// Enter sends; the counter shows near the limit; over it nothing is sent.
	run(t, ctx, chromedp.SendKeys(chromedp.ID("chat-input"), "Hi there"), chromedp.Evaluate[chromedp.Void](
		`document.getElementById('chat-form').requestSubmit()`))
	if m := c.expect(t, "chat", nil); m.str("text") != "Hi there" {
		t.Errorf("sent %v", m)
	}
	c.send(t, chatMsg("c2", guest, "Hi there")) // the server's echo: it went
	waitJS(t, ctx, `document.querySelectorAll('#chat-list .chat-msg').length === 2`)
	run(t, ctx, chromedp.Evaluate[chromedp.Void](`(() => { const i = document.getElementById('chat-input');
		i.value = 'é'.repeat(1001); i.dispatchEvent(new Event('input')); })()`))
	waitJS(t, ctx, `document.getElementById('chat-send').disabled && document.getElementById('chat-count').textContent === '1 over the limit of 1000' &&
		!document.getElementById('chat-count').hidden`)

	// The server refuses: the text comes back with the reason, and no toast is shown.
	run(t, ctx, chromedp.Evaluate[chromedp.Void](`(() => { const i = document.getElementById('chat-input');
		i.value = 'too fast'; i.dispatchEvent(new Event('input')); document.getElementById('chat-form').requestSubmit(); })()`))
	c.expect(t, "chat", func(m msg) bool { return m.str("text") == "too fast" })
	waitJS(t, ctx, `document.getElementById('chat-input').value === ''`)
	c.send(t, map[string]any{"type": "notice", "level": "warning", "code": "chat_rate_limited", "message": "slow down"})
	waitJS(t, ctx, `document.getElementById('chat-input').value === 'too fast' && /too quickly/.test(document.getElementById('chat-error').textContent) &&
		!document.querySelector('.toast')`)
	run(t, ctx, chromedp.Evaluate[chromedp.Void](`document.getElementById('chat-form').requestSubmit()`))
	c.expect(t, "chat", func(m msg) bool { return m.str("text") == "too fast" })
	c.send(t, map[string]any{"type": "error", "code": "bad_message", "message": "chat message is longer than 1000 characters"})
	waitJS(t, ctx, `document.getElementById('chat-error').textContent === 'Not sent: the message is longer than 1000 characters.'`)
}
