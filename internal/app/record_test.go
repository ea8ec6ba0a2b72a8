package app_test

import (
	"bytes"
	"fmt"
	"image"
	"image/png"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/tandem-cobrowse/tandem/internal/app"
)

// TestRecordAndReplay: the host records a session whose rules allow it (everyone sees
// that it records), and an agent replays it in the console: the picture plays, masked
// fields masked, with the chat of the session.
func TestRecordAndReplay(t *testing.T) {
	exec := chromiumOrSkip(t)
	provider := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `<!doctype html><title>Account</title>
<style>body{margin:0;font:22px sans-serif;padding:24px} .s{background:#ff00ff;color:#ff00ff}</style>
<h1>Your account</h1><div class=s data-tandem-mask style="width:320px;height:80px">4111 1111 1111 1111</div>
<p>Updated <span id=clock>0</span></p><script>let n = 0; setInterval(() => { clock.textContent = ++n; }, 100)</script>`)
	}))
	t.Cleanup(provider.Close)
	srv, _ := supportServer(t, app.Config{AllowHosts: allowed(provider), DataDir: t.TempDir()})
	status, s := post(t, srv, http.Header{"Content-Type": {"application/json"}}, fmt.Sprintf(`{"url":%q,"rules":{"recording":{"allow":true}}}`, provider.URL+"/"))
	if status != http.StatusCreated {
		t.Fatalf("create: %d %v", status, s)
	}
	links := s["links"].(map[string]any)
	browser := participantBrowser(t, exec)
	host := openTab(t, browser, links["host"].(string))
	join(t, host, "Hana")
	guest := openTab(t, browser, links["guest"].(string))
	join(t, guest, "Gus")
	pictureMode(t, guest, "Gus") // the guests' pictures are what is recorded: Gus watches them

	must(t, host, "Hana starts recording",
		chromedp.WaitVisible(chromedp.ID("rec-btn")),
		chromedp.Click(chromedp.ID("rec-btn")),
		chromedp.WaitVisible(chromedp.ID("rec-chip")),
	)
	must(t, guest, "Gus sees that it records", chromedp.WaitVisible(chromedp.ID("rec-chip")))
	// A new picture reaches Gus while it records (the page's clock ticks): the recording,
	// which keeps the guests' pictures, has it too.
	picture := `(() => {
		const c = document.getElementById('screen'), d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
		let h = 0;
		for (let i = 0; i < d.length; i += 97) h = (h * 31 + d[i]) | 0;
		return h;
	})()`
	before, err := chromedp.Run(guest, chromedp.Evaluate[int](picture))
	if err != nil {
		t.Fatal(err)
	}
	waitTrue(t, guest, "a new picture reaches Gus", fmt.Sprintf(`%s !== %d`, picture, before))
	if hidden, err := chromedp.Run(guest, chromedp.Evaluate[bool](`document.getElementById('rec-btn').hidden`)); err != nil || !hidden {
		t.Fatalf("a guest has the record button (hidden=%v, %v)", hidden, err)
	}
	must(t, guest, "Gus chats", chromedp.Click(chromedp.ID("panel-btn")), chromedp.Click(chromedp.ID("tab-chat")),
		chromedp.SendKeys(chromedp.ID("chat-input"), "is this recorded?\n"))
	waitTrue(t, host, "Hana has the chat", `[...document.querySelectorAll('#chat-list .chat-text')].some((m) => m.textContent === 'is this recorded?')`)
	shot(t, guest, "recording-guest")
	must(t, host, "Hana stops recording", chromedp.Click(chromedp.ID("rec-btn")), chromedp.WaitNotVisible(chromedp.ID("rec-chip")))
	must(t, guest, "the chip goes for Gus too", chromedp.WaitNotVisible(chromedp.ID("rec-chip")))

	console := signInAgent(t, browser, srv)
	must(t, console, "Anna plays the recording",
		chromedp.WaitVisible(chromedp.CSS("#rec-list .rec-item button")),
		chromedp.Click(chromedp.CSS("#rec-list .rec-item button")),
		chromedp.WaitVisible(chromedp.ID("player")),
	)
	waitTrue(t, console, "a picture plays", `!!document.getElementById('player-screen').dataset.seq`)
	waitTrue(t, console, "the chat is in it", `[...document.querySelectorAll('#player-events li')].some((l) => l.textContent.includes('Gus: is this recorded?'))`)
	// The picture that plays is the guests': the card shows as a grey block, never magenta.
	magenta, err := chromedp.Run(console, chromedp.Evaluate[int](`(() => {
		const c = document.getElementById('player-screen');
		const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
		let n = 0;
		for (let i = 0; i < d.length; i += 4) if (d[i] > 200 && d[i + 1] < 80 && d[i + 2] > 200) n++;
		return n;
	})()`))
	if err != nil || magenta != 0 {
		t.Fatalf("the replay shows %d masked pixels (%v)", magenta, err)
	}
	shot(t, console, "replay")
}

// TestReplayBuildsThePageCopy: a session watched in Page mode is recorded with its copy of
// the page as the most restricted audience gets it, and the console replays that copy:
// the page's text, its image loaded from the recording (the session, and its asset paths,
// are gone by then), the changes made while it recorded, and never a masked field's text.
func TestReplayBuildsThePageCopy(t *testing.T) {
	exec := chromiumOrSkip(t)
	png := tinyPNG(t)
	provider := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/logo.png" {
			w.Header().Set("Content-Type", "image/png")
			_, _ = w.Write(png)
			return
		}
		fmt.Fprint(w, `<!doctype html><title>Account</title>
<style>body{margin:0;font:22px sans-serif;padding:24px}</style>
<h1>Your account</h1><img id=logo src="/logo.png" width=40 height=40 alt="">
<div class=s data-tandem-mask style="width:320px;height:80px">4111 1111 1111 1111</div>
<p>Step <span id=step>0</span></p><script>let n = 0; setInterval(() => { step.textContent = ++n; }, 250)</script>`)
	}))
	t.Cleanup(provider.Close)
	srv, _ := supportServer(t, app.Config{AllowHosts: allowed(provider), DataDir: t.TempDir()})
	status, s := post(t, srv, http.Header{"Content-Type": {"application/json"}}, fmt.Sprintf(`{"url":%q,"rules":{"recording":{"allow":true}}}`, provider.URL+"/"))
	if status != http.StatusCreated {
		t.Fatalf("create: %d %v", status, s)
	}
	links := s["links"].(map[string]any)
	browser := participantBrowser(t, exec)
	host := openTab(t, browser, links["host"].(string))
	join(t, host, "Hana")
	waitCopy(t, host, "Hana", "Your account") // Page mode, the host's default

	must(t, host, "Hana starts recording", chromedp.Click(chromedp.ID("rec-btn")), chromedp.WaitVisible(chromedp.ID("rec-chip")))
	// The page changes while it records (patches of the copy).
	id, _ := s["id"].(string)
	stepNow := `Number(document.querySelector('.page-copy').contentDocument.getElementById('step').textContent)`
	first, err := chromedp.Run(host, chromedp.Evaluate[int](stepNow))
	if err != nil {
		t.Fatal(err)
	}
	waitTrue(t, host, "the page's step moves on while it records", fmt.Sprintf(`%s >= %d`, stepNow, first+6))
	must(t, host, "Hana stops recording", chromedp.Click(chromedp.ID("rec-btn")), chromedp.WaitNotVisible(chromedp.ID("rec-chip")))
	if status, _ := apiCall(t, http.MethodDelete, srv.URL()+"/api/v1/sessions/"+id, tokenOf(links["host"].(string)), ""); status != http.StatusNoContent {
		t.Fatalf("ending the session: %d", status)
	}

	console := signInAgent(t, browser, srv)
	must(t, console, "Anna plays the recording",
		chromedp.WaitVisible(chromedp.CSS("#rec-list .rec-item button")),
		chromedp.Click(chromedp.CSS("#rec-list .rec-item button")),
		chromedp.WaitVisible(chromedp.ID("player-copy")),
	)
	copyDoc := `document.querySelector('#player-copy iframe') && document.querySelector('#player-copy iframe').contentDocument`
	waitTrue(t, console, "the recorded copy shows the page", copyDoc+` && `+copyDoc+`.body && `+copyDoc+`.body.innerText.includes('Your account')`)
	waitTrue(t, console, "its image loads from the recording", `(() => {
		const d = `+copyDoc+`, img = d && d.querySelector('img');
		return !!img && img.complete && img.naturalWidth > 0 && img.src.includes('/api/v1/recordings/');
	})()`)
	text, err := chromedp.Run(console, chromedp.Evaluate[string](copyDoc+`.documentElement.outerHTML`))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(text, "4111") {
		t.Fatal("the replayed copy holds the masked card number")
	}
	// Nor does the recording: not in any record, nor in any recorded asset.
	inFile, err := chromedp.Run(console, chromedp.Evaluate[string](`(async () => {
		const list = await (await fetch('/api/v1/recordings')).json();
		const body = await (await fetch('/api/v1/recordings/' + list.recordings[0].id)).text();
		return (body.includes('4111') ? 'masked text; ' : '') + (body.includes('"kind":"snapshot"') ? 'snapshot' : 'no snapshot');
	})()`, chromedp.EvalAwaitPromise))
	if err != nil || inFile != "snapshot" {
		t.Fatalf("the recording file: %q (%v), want a snapshot and no masked text", inFile, err)
	}
	// At its end, the replay's copy has the changes made while it recorded.
	must(t, console, "Anna seeks to the end", void(chromedp.Evaluate[bool](`(() => { const s = document.getElementById('player-seek'); s.value = s.max; s.dispatchEvent(new Event('input')); return true; })()`)))
	waitTrue(t, console, "the changes made while it recorded replay", fmt.Sprintf(`Number(%s.getElementById('step').textContent) >= %d`, copyDoc, first+6))
	shot(t, console, "replay-page")
	must(t, console, "and switches to the picture", chromedp.Click(chromedp.ID("player-picture")), chromedp.WaitVisible(chromedp.ID("player-screen")))
}

// tinyPNG is a 4x4 blue PNG, an image for a provider's page.
func tinyPNG(t *testing.T) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 4, 4))
	for i := 0; i < len(img.Pix); i += 4 {
		img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = 0x30, 0x60, 0xc0, 0xff
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}
