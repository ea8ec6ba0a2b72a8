package app_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
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
