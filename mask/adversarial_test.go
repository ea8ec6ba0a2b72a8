package mask

import (
	"context"
	"testing"

	"github.com/tandem-cobrowse/tandem/renderer"
)

// TestNoLeakUnderAdversarialPages runs the classes of an adversarial review: pages that
// paint a masked element's pixels where its layout box is not, hide masked fields where
// scripts cannot look, change content without a mutation a script sees, move masked
// elements behind the main thread's back, or turn a password into text. Every frame a
// masked audience would get must be free of the page's magenta; the unpainted frames
// must show it (or the test would see nothing).
func TestNoLeakUnderAdversarialPages(t *testing.T) {
	const m = `background:#f0f`
	// A spinner keeps frames coming long after a change, as a real page's would: a stale
	// box must not outlive the change in any of them.
	const head = head + `<style>@keyframes blink{to{background:#ccc}}</style>
		<div style="position:fixed;right:8px;bottom:8px;width:16px;height:16px;background:#888;animation:blink 300ms steps(1) infinite alternate"></div>`
	pages := map[string]string{
		// 1. Ink outside the measured box.
		"/text-shadow": head + `<p style="margin:40px"><span data-tandem-mask style="font:bold 40px sans-serif;color:#fff;text-shadow:90px 70px 0 #f0f">SECRET</span></p>`,
		"/box-reflect": head + `<div class=m data-tandem-mask style="margin:20px;-webkit-box-reflect:below 40px"></div>`,
		"/outline":     head + `<div data-tandem-mask style="margin:80px;width:40px;height:20px;outline:30px solid #f0f;outline-offset:20px"></div>`,
		"/box-shadow":  head + `<div data-tandem-mask style="margin:40px;width:40px;height:20px;box-shadow:150px 80px 0 20px #f0f"></div>`,
		"/rtl-overflow": head + `<div style="margin-left:300px"><div data-tandem-mask dir=rtl style="width:40px;white-space:nowrap">` +
			`<span style="display:inline-block;width:220px;height:50px;` + m + `"></span></div></div>`,
		"/negative-margin": head + `<div style="margin-left:300px" data-tandem-mask><div style="margin-left:-250px;width:120px;height:50px;` + m + `"></div></div>`,
		"/overflow-down":   head + `<div data-tandem-mask style="height:10px;width:60px"><div style="height:160px;` + m + `"></div></div>`,
		"/fixed-child": head + `<div data-tandem-mask style="width:10px;height:10px"><div style="position:fixed;left:300px;top:200px;width:100px;height:60px;` + m + `"></div></div>` +
			`<div style="height:3000px"></div>`,
		"/absolute-child": head + `<div style="position:relative"><div data-tandem-mask style="width:10px;height:10px">` +
			`<div style="position:absolute;left:250px;top:150px;width:100px;height:50px;` + m + `"></div></div></div>`,
		"/transformed-child": head + `<div data-tandem-mask style="margin-left:300px;width:30px;height:30px"><div style="transform:translate(-290px,160px) rotate(20deg);width:90px;height:40px;` + m + `"></div></div>`,
		"/pseudo": head + `<style>.p::after{content:'';position:absolute;left:-280px;top:140px;width:90px;height:50px;` + m + `}</style>` +
			`<div class=p data-tandem-mask style="position:relative;margin-left:320px;width:20px;height:20px"></div>`,
		"/ancestor-drop-shadow": head + `<div style="filter:drop-shadow(220px 120px 0 #f0f)"><div data-tandem-mask style="width:80px;height:40px;background:#fff;border:1px solid #fff">` +
			`<div style="width:60px;height:30px;` + m + `"></div></div></div>`,
		"/ancestor-reflect": head + `<div style="-webkit-box-reflect:right 120px;display:inline-block"><div class=m data-tandem-mask></div></div>`,

		// 2. Closed shadow roots, attached by script and declared in HTML.
		"/closed-shadow": head + `<div id=h></div><script>
			const r = document.getElementById('h').attachShadow({mode: 'closed'});
			r.innerHTML = '<input type=password value=secret style="background:#f0f;border:0;width:150px;height:30px"><div data-tandem-mask style="width:120px;height:60px;background:#f0f"></div>';
			</script>`,
		"/declarative-closed": head + `<div><template shadowrootmode=closed><div style="padding:30px">` +
			`<input autocomplete=cc-number style="background:#f0f;border:0;width:150px;height:30px"><div data-tandem-mask style="width:120px;height:60px;` + m + `"></div></div></template></div>`,
		"/nested-closed": head + `<div id=h></div><script>
			const outer = document.getElementById('h').attachShadow({mode: 'open'});
			outer.innerHTML = '<section></section>';
			const inner = outer.querySelector('section').attachShadow({mode: 'closed'});
			inner.innerHTML = '<div data-tandem-mask style="margin:50px;width:120px;height:60px;background:#f0f"></div>';
			</script>`,

		// 3. Content that appears without a mutation the old observer saw.
		"/late-custom-element": head + `<x-card></x-card><script>
			setTimeout(() => customElements.define('x-card', class extends HTMLElement {
				constructor() { super(); this.root = this.attachShadow({mode: 'open'}); }
				connectedCallback() { Promise.resolve().then(() => { this.root.innerHTML = '<div data-tandem-mask style="margin:40px;width:120px;height:60px;background:#f0f"></div>'; }); }
			}), 600);</script>`,
		"/late-closed-custom-element": head + `<x-card></x-card><script>
			setTimeout(() => customElements.define('x-card', class extends HTMLElement {
				constructor() { super(); this.root = this.attachShadow({mode: 'closed'}); }
				connectedCallback() { Promise.resolve().then(() => { this.root.innerHTML = '<div data-tandem-mask style="margin:40px;width:120px;height:60px;background:#f0f"></div>'; }); }
			}), 300);</script>`,
		"/shadow-content-changes": head + `<div id=h></div><script>
			const r = document.getElementById('h').attachShadow({mode: 'open'});
			let n = 0;
			setInterval(() => { r.innerHTML = '<div data-tandem-mask style="position:absolute;left:' + (n * 67 % 350) + 'px;top:' + (n * 41 % 280) + 'px;width:100px;height:50px;background:#f0f"></div>'; n++; }, 110);
			</script>`,
		"/slot-assign": head + `<div id=h><div id=a style="width:120px;height:60px;background:#eee"></div><div id=b data-tandem-mask style="width:120px;height:60px;` + m + `"></div></div><script>
			const host = document.getElementById('h');
			const r = host.attachShadow({mode: 'open', slotAssignment: 'manual'});
			r.innerHTML = '<div style="padding:60px"><slot></slot></div>';
			const slot = r.querySelector('slot');
			slot.assign(document.getElementById('a'));
			let flip = false;
			// In an animation frame callback: after the tracker's own, before the paint.
			setInterval(() => requestAnimationFrame(() => { flip = !flip; slot.assign(document.getElementById(flip ? 'b' : 'a')); }), 150);
			</script>`,
		"/iframe-later": head + `<iframe id=f style="border:0;width:400px;height:300px"></iframe><script>
			setTimeout(() => { document.getElementById('f').srcdoc = '<div data-tandem-mask style="margin:40px;width:120px;height:60px;background:#f0f"></div>'; }, 300);
			</script>`,
		"/sandboxed-iframe-later": head + `<iframe id=f sandbox="allow-same-origin" style="border:0;width:400px;height:300px"></iframe><script>
			setTimeout(() => { document.getElementById('f').srcdoc = '<div data-tandem-mask style="margin:40px;width:120px;height:60px;background:#f0f"></div>'; }, 600);
			</script>`,
		"/iframe-written": head + `<iframe id=f style="border:0;width:400px;height:300px"></iframe><script>
			setTimeout(() => { const d = document.getElementById('f').contentDocument; d.open(); d.write('<div data-tandem-mask style="margin:40px;width:120px;height:60px;background:#f0f"></div>'); d.close(); }, 300);
			</script>`,

		// 4. Motion while the main thread is busy.
		"/busy-css-animation": head + `<style>@keyframes mv{from{transform:translate(0,0)}to{transform:translate(320px,260px)}}</style>
			<div class=m data-tandem-mask style="animation:mv 700ms linear 1000ms infinite alternate"></div><script>
			setTimeout(() => { const end = Date.now() + 900; while (Date.now() < end) {} }, 900);</script>`,
		"/busy-web-animation": head + `<div id=b class=m data-tandem-mask></div><script>
			document.getElementById('b').animate([{transform: 'translate(0,0)'}, {transform: 'translate(330px,250px)'}], {duration: 700, delay: 1000, iterations: Infinity, direction: 'alternate'});
			setTimeout(() => { const end = Date.now() + 900; while (Date.now() < end) {} }, 900);</script>`,

		// 5. A "show password" toggle.
		"/show-password": head + `<input id=p type=password value=secret style="margin:40px;background:#f0f;border:0;width:150px;height:30px">
			<input autocomplete=cc-number id=c style="background:#f0f;border:0;width:150px;height:30px"><script>
			setTimeout(() => { document.getElementById('p').type = 'text'; document.getElementById('c').removeAttribute('autocomplete'); }, 600);</script>`,
	}
	// The inner scroller is scrolled by the wheel while the page keeps its main thread busy.
	pages["/busy-inner-scroll"] = head + `<div id=sc style="position:fixed;inset:0;overflow:auto"><div style="height:4000px;position:relative">` +
		`<div class=m data-tandem-mask style="position:absolute;left:100px;top:200px"></div><div class=m data-tandem-mask style="position:absolute;left:200px;top:500px"></div>` +
		`</div></div><script>setInterval(() => { const end = Date.now() + 300; while (Date.now() < end) {} }, 350);</script>`
	srv := serve(t, pages)

	for path := range pages {
		t.Run(path[1:], func(t *testing.T) {
			act := idle
			if path == "/busy-inner-scroll" {
				act = func(ctx context.Context, tab *renderer.Tab) { wheel(ctx, tab, 150) }
			}
			if known, _ := run(t, srv, path, act); known == 0 {
				t.Fatal("no frame known: masked viewers would see nothing at all")
			}
		})
	}
}
