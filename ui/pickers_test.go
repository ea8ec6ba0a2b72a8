package ui_test

import (
	"image/color"
	"os"
	"path/filepath"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

func selectPicker(id string) map[string]any {
	return map[string]any{
		"type": "picker", "id": id, "kind": "select",
		"box": map[string]any{"x": 100, "y": 100, "w": 200, "h": 30}, "viewport": map[string]any{"width": 1000, "height": 625},
		"options": []any{
			map[string]any{"index": 0, "label": "Apple", "value": "a"},
			map[string]any{"index": 1, "label": "Banana", "value": "b", "selected": true},
			map[string]any{"index": 2, "label": "Cherry", "value": "c", "disabled": true, "group": "Red"},
			map[string]any{"index": 3, "label": "Date", "value": "d", "group": "Red"},
		},
		"value": "b",
	}
}

// TestViewerPickersTakeKeys: the controller drives Tandem's list, panel and menu with
// the keyboard; focus goes back to the page when they close.
func TestViewerPickersTakeKeys(t *testing.T) {
	ctx, c := joinWithFrame(t, host, host.ID, guest)
	c.send(t, selectPicker("k1"))
	waitJS(t, ctx, `document.activeElement === document.querySelector('.picker-scroll') &&
		document.querySelector('.picker-option.is-active')?.dataset.index === '1'`)
	// The list lies under the field: 100 px of a 1000 px wide tab, scaled to the picture.
	waitJS(t, ctx, `document.getAnimations().every((a) => a.playState !== 'running' || a.effect.getComputedTiming().iterations === Infinity)`)
	if d := eval[float64](t, ctx, `(() => {
		const s = document.getElementById('screen').getBoundingClientRect(), p = document.querySelector('.picker').getBoundingClientRect();
		return Math.abs(p.left - (s.left + 100 * s.width / 1000)) + Math.abs(p.top - (s.top + 130 * s.width / 1000 + 3));
	})()`); d > 2 {
		t.Errorf("the list is %v px off its place", d)
	}
	// Down skips the disabled option; Enter picks.
	run(t, ctx, chromedp.KeyEvent(kb.ArrowDown), chromedp.KeyEvent(kb.Enter))
	if m := c.expect(t, "pick", nil); m.str("id") != "k1" || m.num("index") != 3 || m.str("value") != "d" || m.has("cancel") {
		t.Errorf("pick %v", m)
	}
	waitJS(t, ctx, `!!document.querySelector('.picker')?.classList.contains('is-busy')`)
	c.send(t, map[string]any{"type": "picker_closed", "id": "k1", "reason": "picked"})
	waitJS(t, ctx, `!document.querySelector('.picker') && document.activeElement === document.getElementById('keys')`)

	// Escape cancels.
	c.send(t, selectPicker("k2"))
	waitJS(t, ctx, `document.activeElement === document.querySelector('.picker-scroll')`)
	run(t, ctx, chromedp.KeyEvent(kb.Escape))
	if m := c.expect(t, "pick", func(m msg) bool { return m.str("id") == "k2" }); m["cancel"] != true {
		t.Errorf("cancel %v", m)
	}
	waitJS(t, ctx, `!document.querySelector('.picker')`)

	// A date field: a panel with a date field; Enter sets it.
	c.send(t, map[string]any{"type": "picker", "id": "k3", "kind": "date", "value": "2026-05-01", "min": "2026-01-01",
		"box": map[string]any{"x": 100, "y": 100, "w": 200, "h": 30}, "viewport": map[string]any{"width": 1000, "height": 625}})
	waitJS(t, ctx, `document.activeElement === document.querySelector('.picker-panel input[type=date]') && document.activeElement.min === '2026-01-01'`)
	run(t, ctx, chromedp.Evaluate[chromedp.Void](`document.activeElement.value = '2026-08-09'`), chromedp.KeyEvent(kb.Enter))
	if m := c.expect(t, "pick", func(m msg) bool { return m.str("id") == "k3" }); m.str("value") != "2026-08-09" {
		t.Errorf("date pick %v", m)
	}
	c.send(t, map[string]any{"type": "picker_closed", "id": "k3", "reason": "picked"})

	// The menu: Back first (the state says the tab can go back), Forward skipped.
	c.send(t, map[string]any{"type": "picker", "id": "k4", "kind": "menu", "link": true,
		"box": map[string]any{"x": 500, "y": 300, "w": 0, "h": 0}, "viewport": map[string]any{"width": 1000, "height": 625}})
	waitJS(t, ctx, `document.activeElement.dataset.action === 'back' &&
		[...document.querySelectorAll('.picker-menu [role=menuitem]')].map((i) => i.dataset.action).join() === 'back,forward,reload,copyLink,selectAll'`)
	run(t, ctx, chromedp.KeyEvent(kb.ArrowDown), chromedp.KeyEvent(kb.ArrowDown), chromedp.KeyEvent(kb.Enter))
	if m := c.expect(t, "pick", func(m msg) bool { return m.str("id") == "k4" }); m.str("value") != "copyLink" {
		t.Errorf("menu pick %v", m)
	}
}

// TestViewerPickersForOthers: someone else in control: the list is shown, read-only, and
// says who chooses; a private field shows no choices.
func TestViewerPickersForOthers(t *testing.T) {
	ctx, c := joinWithFrame(t, guest, host.ID, host)
	c.send(t, selectPicker("k1"))
	waitJS(t, ctx, `(() => {
		const p = document.querySelector('.picker'), l = document.querySelector('.picker-scroll');
		if (!p || !l) return false; // not drawn yet
		return p.classList.contains('is-readonly') && l.getAttribute('aria-readonly') === 'true' && !l.hasAttribute('tabindex') &&
			p.querySelector('.picker-foot').textContent === 'Hana Host is choosing…' && document.activeElement !== l;
	})()`)
	run(t, ctx, chromedp.Click(chromedp.CSS(`.picker-option[data-index="3"]`)))
	// Control moves to me: the list becomes mine.
	c.send(t, stateMsg(guest.ID, nil, host, guest))
	waitJS(t, ctx, `!!document.querySelector('.picker') && !document.querySelector('.picker').classList.contains('is-readonly') && document.activeElement === document.querySelector('.picker-scroll')`)
	run(t, ctx, chromedp.Click(chromedp.CSS(`.picker-option[data-index="0"]`)))
	if m := c.expect(t, "pick", nil); m.num("index") != 0 {
		t.Errorf("pick %v (a click without control was sent first?)", m)
	}
	c.send(t, map[string]any{"type": "picker_closed", "id": "k1", "reason": "picked"})
	c.send(t, map[string]any{"type": "picker", "id": "k2", "kind": "select", "masked": true,
		"box": map[string]any{"x": 100, "y": 100, "w": 200, "h": 30}, "viewport": map[string]any{"width": 1000, "height": 625}})
	waitJS(t, ctx, `!!document.querySelector('.picker-private') && !document.querySelector('.picker-option')`)
}

// TestViewerPickerOnAPhone: a tap on an option picks it; the list fits the small screen.
func TestViewerPickerOnAPhone(t *testing.T) {
	ctx := newTab(t)
	run(t, ctx, chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(3), chromedp.EmulateMobile, chromedp.EmulateTouch))
	srv, p := testServer(t, nil)
	c, hello := openViewer(t, ctx, srv, p, "agent-token", "Ana")
	vp := hello.obj("viewport")
	c.send(t, welcomeMsg(agent, "r", false))
	c.send(t, stateMsg(agent.ID, nil, host, agent))
	c.sendFrame(t, 1, int(vp.num("width")), int(vp.num("height")), solidJPEG(t, 200, 300, color.RGBA{240, 240, 240, 255}))
	waitJS(t, ctx, `!document.getElementById('screen-wrap').hidden`)
	m := selectPicker("k1")
	m["box"] = map[string]any{"x": 250, "y": 40, "w": 300, "h": 40}
	m["viewport"] = map[string]any{"width": vp.num("width"), "height": vp.num("height")}
	c.send(t, m)
	waitJS(t, ctx, `(() => {
		const p = document.querySelector('.picker'); if (!p) return false;
		const r = p.getBoundingClientRect(), s = document.getElementById('stage').getBoundingClientRect();
		return r.left >= s.left && r.right <= s.right && r.bottom <= s.bottom;
	})()`)
	waitJS(t, ctx, `document.getAnimations().every((a) => a.playState !== 'running' || a.effect.getComputedTiming().iterations === Infinity)`)
	if dir := os.Getenv("UI_SHOTS"); dir != "" {
		png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
		if err == nil {
			_ = os.WriteFile(filepath.Join(dir, "picker-phone.png"), png, 0o644)
		}
	}
	run(t, ctx, chromedp.Tap(chromedp.CSS(`.picker-option[data-index="0"]`)))
	if m := c.expect(t, "pick", nil); m.num("index") != 0 || m.str("value") != "a" {
		t.Errorf("pick %v", m)
	}
	for _, m := range c.seen {
		if m.str("type") == "touch" || m.str("type") == "mouse" {
			t.Errorf("the tap also reached the page: %v", m)
		}
	}
}
