// Tandem DOM capture. Runs in the mask tracker's isolated world (after masks.js), in the
// top document only, so page scripts can neither see it nor replace what it calls. It
// sends the page as data, never as HTML: a snapshot (every node with an id, its tag,
// attributes, text, form state and scroll position) when asked and for every new
// document, then changes batched per animation frame. The server sanitises everything;
// this script only describes. Mask matches come from the tracker: every element carries
// the indices of the tracked selectors that apply to it or an ancestor ("im"), and the
// elements that match themselves carry their box size ("bx"), so a masked audience's copy
// can keep their place without their content.
//
// Same-origin frames are part of the copy: a frame's document is sent inside its <iframe>
// ("fd"), and every node in it carries the index of a "@frame URL" entry the snapshot adds
// to the selectors, so the server can leave a frame's content out for a role its page is
// hidden from, exactly as it leaves masked content out. A frame that loads or navigates
// starts a new snapshot; frames the capture cannot read stay pictures.
(() => {
	if (window !== window.top) return;
	const send = globalThis.tandemDOM; // the binding; kept before anyone can delete it
	const mask = () => globalThis.__tandemMaskAPI || null;
	const doc = Math.random().toString(36).slice(2) + Date.now().toString(36);
	const MAX_NODES = 50000, MAX_TEXT = 100000, MAX_ATTR = 20000, MAX_OPS = 5000, MAX_BYTES = 8 << 20;
	// Elements whose inside is not a DOM the copy can show: they are sent as boxes, and the
	// viewer fills them with pixels of the picture.
	const PIXELS = new Set(['CANVAS', 'VIDEO', 'IFRAME', 'FRAME', 'EMBED', 'OBJECT', 'APPLET', 'AUDIO', 'PORTAL', 'FENCEDFRAME']);
	const SKIP = new Set(['SCRIPT', 'NOSCRIPT', 'TEMPLATE']);
	const URL_ATTRS = new Set(['src', 'href', 'xlink:href', 'poster', 'background', 'action', 'formaction', 'data', 'cite', 'longdesc']);

	let wanted = false, gen = 0, seq = 0;
	const ids = new WeakMap();
	let nextId = 1;
	const idOf = (n) => { let i = ids.get(n); if (!i) { i = nextId++; ids.set(n, i); } return i; };
	// What the copy has, this generation: node -> {p: parent id, im: mask key}.
	let sent = new WeakMap();
	let forms = new Set(); // WeakRefs of sent form controls, for their values
	let styles = new Set(); // WeakRefs of sent <style> elements, for rules added by script
	let masked = new Set(); // WeakRefs of sent elements that match a mask selector themselves
	let last = new WeakMap(); // element -> last sent value/checked/options, or style text
	let ruleCounts = new WeakMap(); // <style> -> its rule count and text length when last read
	let sizes = new WeakMap(); // masked element -> its size when last sent
	// watched: per set (forms, styles, masked), the elements already in it.
	let watched = new WeakMap();
	const watch = (set, el) => {
		let w = watched.get(set);
		if (!w) { w = new WeakSet(); watched.set(set, w); }
		if (!w.has(el)) { w.add(el); set.add(new WeakRef(el)); }
	};
	let dirtyKids = new Set(); // parents whose children changed
	let ops = [];
	let scrolls = new Map(); // id -> [x, y]
	let flushing = false, broken = false, shadowsDirty = false, cssDirty = false, adopted = '';
	let roots = new Set(); // WeakRefs of the document and shadow roots sent
	const observed = new WeakSet();
	const mo = new MutationObserver((recs) => { if (wanted && !broken) { record(recs); schedule(); } });

	const imKey = (im) => im.join(',');
	const merge = (a, b) => (b.length ? [...new Set([...a, ...b])].sort((x, y) => x - y) : a);
	const own = (el) => { const m = mask(); return m ? m.own(el) : []; };
	const shadowOf = (el) => { const m = mask(); return m ? m.shadowOf(el) : el.shadowRoot; };

	const observe = (root) => {
		if (observed.has(root)) return;
		observed.add(root);
		mo.observe(root, {subtree: true, childList: true, attributes: true, characterData: true});
	};

	const abs = (v, n) => { try { return new URL(v, n.baseURI || document.baseURI).href; } catch (e) { return ''; } };
	// Frames of this generation: "@frame URL" entries after the mask selectors, and the
	// URL each frame document had when it was sent.
	let frameSels = [], frameURLs = new WeakMap(), frameDocs = new Set(), inSnapshot = false, snapDue = false;
	const frameIndex = (url) => {
		let i = frameSels.indexOf('@frame ' + url);
		if (i < 0) { i = frameSels.length; frameSels.push('@frame ' + url); }
		const m = mask();
		return (m ? m.sels().length : 0) + i;
	};
	// frameDoc is the document of a same-origin frame the copy can show, or null.
	const frameDoc = (el) => {
		if (el.tagName !== 'IFRAME') return null;
		let d = null;
		try { d = el.contentDocument; } catch (e) {}
		// (srcdoc and about:blank frames, written by script, stay pictures for now.)
		return d && d.documentElement && d.readyState !== 'loading' && /^https?:/.test(d.URL) ? d : null;
	};

	const attrs = (el) => {
		const out = [];
		for (const a of el.attributes) {
			let v = a.value;
			if (v.length > MAX_ATTR) v = v.slice(0, MAX_ATTR);
			if (URL_ATTRS.has(a.name) && v && !v.startsWith('#')) v = abs(v, el);
			out.push([a.name, v]);
		}
		if (el.tagName === 'IMG' && el.currentSrc) {
			const i = out.findIndex((x) => x[0] === 'src');
			if (i >= 0) out[i][1] = el.currentSrc; else out.push(['src', el.currentSrc]);
		}
		return out;
	};

	const styleText = (el) => {
		let t = el.textContent || '';
		try {
			const rules = el.sheet && el.sheet.cssRules;
			if (rules && rules.length && !t.trim()) t = Array.from(rules, (r) => r.cssText).join('\n');
		} catch (e) {}
		return t.length > MAX_TEXT * 10 ? t.slice(0, MAX_TEXT * 10) : t;
	};

	const sheetsOf = (root) => {
		try {
			const list = root.adoptedStyleSheets || [];
			return list.length ? Array.from(list, (s) => Array.from(s.cssRules, (r) => r.cssText).join('\n')) : null;
		} catch (e) { return null; }
	};

	const formState = (el, out) => {
		switch (el.tagName) {
		case 'INPUT':
			if (el.type === 'checkbox' || el.type === 'radio') out.ck = el.checked;
			else if (el.type !== 'file') out.v = el.value;
			break;
		case 'TEXTAREA':
			out.v = el.value;
			break;
		case 'SELECT':
			out.sel = Array.from(el.options).flatMap((o, i) => (o.selected ? [i] : []));
			break;
		default:
			return false;
		}
		return true;
	};

	let budget = 0;
	// node serialises n, whose parent's mask key is pim, or returns null for what is not
	// sent at all (scripts, comments, processing instructions).
	function node(n, pim, parentId) {
		if (--budget < 0) throw new Error('too many nodes');
		if (n.nodeType === 3) {
			sent.set(n, {p: parentId, im: imKey(pim)});
			const t = n.data;
			return {i: idOf(n), x: t.length > MAX_TEXT ? t.slice(0, MAX_TEXT) : t};
		}
		if (n.nodeType !== 1 || SKIP.has(n.tagName)) return null;
		const mine = own(n);
		const im = merge(pim, mine);
		const id = idOf(n);
		sent.set(n, {p: parentId, im: imKey(im)});
		const out = {i: id, n: n.localName};
		if (n.namespaceURI === 'http://www.w3.org/2000/svg') out.ns = 'svg';
		else if (n.namespaceURI === 'http://www.w3.org/1998/Math/MathML') out.ns = 'math';
		out.a = attrs(n);
		if (im.length) out.im = im;
		let fdoc = frameDoc(n);
		if (fdoc && !inSnapshot && !frameURLs.has(fdoc)) {
			// A frame this generation has not listed: a new snapshot lists it.
			snapDue = true;
			fdoc = null;
		}
		if (mine.length || PIXELS.has(n.tagName)) {
			const r = n.getBoundingClientRect();
			out.bx = [Math.round(r.width * 100) / 100, Math.round(r.height * 100) / 100];
			sizes.set(n, Math.round(r.width) + 'x' + Math.round(r.height));
			out.d = getComputedStyle(n).display;
			if (mine.length) watch(masked, n);
		}
		if (formState(n, out)) { watch(forms, n); last.set(n, JSON.stringify([out.v, out.ck, out.sel])); }
		if (n.scrollTop || n.scrollLeft) out.s = [n.scrollLeft, n.scrollTop];
		if (fdoc) { out.fd = frame(fdoc, im, id); return out; }
		if (PIXELS.has(n.tagName)) { out.px = 1; return out; }
		if (n.tagName === 'STYLE') {
			out.css = styleText(n);
			watch(styles, n);
			last.set(n, out.css);
			observe(n);
			return out;
		}
		const sr = shadowOf(n);
		if (sr) {
			observe(sr);
			roots.add(new WeakRef(sr));
			sent.set(sr, {p: id, im: imKey(im)});
			out.sr = {i: idOf(sr), c: kids(sr, im, idOf(sr))};
			const sh = sheetsOf(sr);
			if (sh) out.sr.sheets = sh;
		}
		out.c = kids(n, im, id);
		return out;
	}

	// frame serialises a same-origin frame's document, inside the frame element frameId.
	function frame(d, im, frameId) {
		const url = d.URL;
		frameURLs.set(d, url);
		frameDocs.add(new WeakRef(d));
		const fim = merge(im, [frameIndex(url)]);
		sent.set(d, {p: frameId, im: imKey(fim)});
		observe(d);
		listen(d.defaultView);
		const out = {i: idOf(d), u: url, b: d.baseURI, im: fim, c: []};
		const root = node(d.documentElement, fim, idOf(d));
		if (root) out.c.push(root);
		const sh = sheetsOf(d);
		if (sh) out.sheets = sh;
		if (d.compatMode === 'BackCompat') out.q = true;
		return out;
	}

	function kids(parent, im, parentId) {
		const out = [];
		for (let c = parent.firstChild; c; c = c.nextSibling) {
			const s = node(c, im, parentId);
			if (s) out.push(s);
		}
		return out;
	}

	const post = (msg) => {
		const s = JSON.stringify(msg);
		if (s.length > MAX_BYTES) {
			broken = true;
			send(JSON.stringify({k: 'overflow', doc, gen, why: 'a message of ' + s.length + ' bytes'}));
			return;
		}
		send(s);
	};

	function snapshot() {
		if (!wanted) return;
		gen++; seq = 0; broken = false;
		sent = new WeakMap(); forms = new Set(); styles = new Set(); masked = new Set(); last = new WeakMap(); ruleCounts = new WeakMap();
		sizes = new WeakMap(); watched = new WeakMap();
		dirtyKids = new Set(); ops = []; scrolls = new Map(); roots = new Set([new WeakRef(document)]); shadowsDirty = false;
		frameSels = []; frameURLs = new WeakMap(); frameDocs = new Set(); snapDue = false;
		observe(document);
		budget = MAX_NODES;
		const m = mask();
		let root;
		inSnapshot = true;
		try {
			root = node(document.documentElement, [], 0);
		} catch (e) {
			broken = true;
			send(JSON.stringify({k: 'overflow', doc, gen, why: String(e.message || e)}));
			return;
		} finally {
			inSnapshot = false;
		}
		const se = document.scrollingElement || document.documentElement;
		adopted = JSON.stringify(sheetsOf(document));
		post({k: 'snap', doc, gen, url: location.href, title: document.title, base: document.baseURI,
			vw: innerWidth, vh: innerHeight, sx: se.scrollLeft, sy: se.scrollTop, sels: [...(m ? m.sels() : []), ...frameSels],
			quirks: document.compatMode === 'BackCompat', sheets: sheetsOf(document), root});
	}

	// record turns mutation records into work for the next flush. Children are
	// reconciled per parent at flush time, from the DOM as it is then.
	function record(recs) {
		for (const r of recs) {
			const t = r.target;
			if (r.type === 'childList') {
				dirtyKids.add(t);
			} else if (r.type === 'characterData') {
				const s = sent.get(t);
				if (s) {
					if (t.parentNode && t.parentNode.tagName === 'STYLE') dirtyKids.add(t.parentNode);
					else ops.push(['text', idOf(t), t.data.length > MAX_TEXT ? t.data.slice(0, MAX_TEXT) : t.data, s.im]);
				}
			} else if (r.type === 'attributes') {
				const s = sent.get(t);
				if (!s) continue;
				// A changed attribute can change what masks apply, here or below: such an
				// element is sent again whole.
				if (maskChanged(t)) { resend(t); continue; }
				let v = t.getAttribute(r.attributeName);
				if (v !== null && URL_ATTRS.has(r.attributeName) && v && !v.startsWith('#')) v = abs(v, t);
				if (v !== null && v.length > MAX_ATTR) v = v.slice(0, MAX_ATTR);
				ops.push(['attr', idOf(t), r.attributeName, v, s.im, t.localName,
					t.namespaceURI === 'http://www.w3.org/2000/svg' ? 'svg' : t.namespaceURI === 'http://www.w3.org/1998/Math/MathML' ? 'math' : '']);
			}
		}
	}

	// maskChanged reports whether el or anything under it now matches other selectors.
	function maskChanged(el) {
		const m = mask();
		if (!m || !m.sels().length) return false;
		const check = (e) => {
			const s = sent.get(e);
			if (!s) return false;
			const p = e.parentNode && sent.get(e.parentNode);
			const want = imKey(merge(p ? p.im.split(',').filter(Boolean).map(Number) : [], own(e)));
			return want !== s.im;
		};
		if (check(el)) return true;
		const walker = document.createTreeWalker(el, NodeFilter.SHOW_ELEMENT);
		for (let n = walker.nextNode(), k = 0; n && k < 5000; n = walker.nextNode(), k++) if (check(n)) return true;
		return false;
	}

	function resend(el) {
		const p = el.parentNode;
		if (p) { sent.delete(el); dirtyKids.add(p); }
	}

	// flush sends what changed since the last flush, as one patch.
	let lastFlush = 0;
	function flush() {
		if (!flushing) return; // a frame or timer after the patch already went
		flushing = false;
		lastFlush = performance.now();
		if (!wanted || broken || gen === 0) return;
		if (framesMoved()) snapDue = true;
		try {
			if (shadowsDirty) {
				shadowsDirty = false;
				for (const w of roots) {
					const root = w.deref();
					if (!root) { roots.delete(w); continue; }
					for (const el of root.querySelectorAll('*')) {
						const sr = shadowOf(el);
						if (sr && !sent.get(sr) && sent.get(el)) resend(el);
					}
				}
			}
			for (const p of dirtyKids) {
				const s = sent.get(p);
				if (!s || !p.isConnected) continue;
				if (p.nodeType === 9 && !p.defaultView) continue; // a frame's old document
				if (p.tagName === 'STYLE') {
					const css = styleText(p);
					if (last.get(p) !== css) { last.set(p, css); ops.push(['css', idOf(p), css, s.im]); }
					continue;
				}
				const im = s.im ? s.im.split(',').map(Number) : [];
				budget = MAX_NODES;
				const list = [];
				for (let c = p.firstChild; c; c = c.nextSibling) {
					const cs = sent.get(c);
					if (cs && cs.p === idOf(p) && cs.im === imKey(merge(im, c.nodeType === 1 ? own(c) : []))) {
						list.push(idOf(c));
						continue;
					}
					const n = node(c, im, idOf(p));
					if (n) list.push(n);
				}
				ops.push(['kids', idOf(p), list, s.im]);
			}
			dirtyKids = new Set();
			values();
			for (const [id, xy] of scrolls) ops.push(['scroll', id, xy[0], xy[1]]);
			scrolls = new Map();
		} catch (e) {
			broken = true;
			send(JSON.stringify({k: 'overflow', doc, gen, why: String(e.message || e)}));
			return;
		}
		if (snapDue) { snapshot(); return; }
		if (!ops.length) return;
		if (ops.length > MAX_OPS) {
			broken = true;
			send(JSON.stringify({k: 'overflow', doc, gen, why: ops.length + ' changes at once'}));
			return;
		}
		post({k: 'patch', doc, gen, seq: ++seq, ops});
		ops = [];
	}

	// framesMoved reports whether a frame sent this generation now shows another page
	// (history.pushState inside it changes no DOM): its "@frame" entry would be stale.
	function framesMoved() {
		for (const w of frameDocs) {
			const d = w.deref();
			if (!d) { frameDocs.delete(w); continue; }
			if (d.defaultView && d.URL !== frameURLs.get(d)) return true;
		}
		return false;
	}

	// values compares what form controls, script-filled styles and masked boxes hold
	// with what was sent: a page script that sets .value fires no event.
	function values() {
		const keep = (set, f) => { for (const w of set) { const el = w.deref(); if (!el || !el.isConnected) set.delete(w); else f(el); } };
		keep(forms, (el) => {
			const s = sent.get(el);
			if (!s) return;
			const out = {};
			formState(el, out);
			const key = JSON.stringify([out.v, out.ck, out.sel]);
			if (last.get(el) === key) return;
			last.set(el, key);
			if ('v' in out) ops.push(['val', idOf(el), out.v, s.im]);
			if ('ck' in out) ops.push(['chk', idOf(el), out.ck, s.im]);
			if ('sel' in out) ops.push(['opt', idOf(el), out.sel, s.im]);
		});
		const all = cssDirty;
		cssDirty = false;
		if (all && gen && adopted !== JSON.stringify(sheetsOf(document))) snapDue = true; // adopted sheets travel in snapshots
		keep(styles, (el) => {
			const s = sent.get(el);
			if (!s) return;
			// Rules added by script change no text: their count tells, cheaply; a rule
			// replaced by script is signalled (all) and read again.
			let n = -1;
			try { n = el.sheet ? el.sheet.cssRules.length : -1; } catch (e) {}
			const key = n + ':' + (el.textContent || '').length;
			if (ruleCounts.get(el) === key && !all) return;
			ruleCounts.set(el, key);
			const css = styleText(el);
			if (last.get(el) !== css) { last.set(el, css); ops.push(['css', idOf(el), css, s.im]); }
		});
		keep(masked, (el) => {
			const s = sent.get(el);
			if (!s) return;
			const r = el.getBoundingClientRect();
			const key = Math.round(r.width) + 'x' + Math.round(r.height);
			if (sizes.get(el) !== key) { sizes.set(el, key); ops.push(['size', idOf(el), Math.round(r.width * 100) / 100, Math.round(r.height * 100) / 100, s.im]); }
		});
	}

	function schedule() {
		if (flushing || !wanted) return;
		flushing = true;
		// A change after a quiet spell goes out at once, in a microtask: before the page's
		// next task, which may block it (an alert holds the page's thread as long as it is
		// open). Busier changes ride on animation frames, one patch a frame.
		if (performance.now() - lastFlush > 100) { queueMicrotask(flush); return; }
		requestAnimationFrame(flush);
		setTimeout(() => { if (flushing) flush(); }, 100); // rAF stalls when the tab is hidden
	}

	const onScroll = (e) => {
		if (!wanted) return;
		const t = e.target;
		const d = t.nodeType === 9 ? t : t.document || t.ownerDocument || document;
		const top = d.scrollingElement || d.documentElement;
		const el = t === d || t === d.defaultView ? top : t;
		// The top page's own scroll is id 0; a frame's is its root element's.
		const id = el === (document.scrollingElement || document.documentElement) ? 0 : (sent.get(el) ? idOf(el) : -1);
		if (id < 0) return;
		scrolls.set(id, [el.scrollLeft, el.scrollTop]);
		schedule();
	};
	// The element under the controller's pointer, so the copy can follow :hover styles;
	// into same-origin frames.
	let hovered = 0;
	const onHover = () => {
		if (!wanted || !gen) return;
		let d = document, el = null;
		for (let k = 0; d && k < 8; k++) {
			const all = d.querySelectorAll(':hover');
			el = all.length ? all[all.length - 1] : el;
			const inner = all.length ? frameDoc(all[all.length - 1]) : null;
			d = inner && sent.get(inner) ? inner : null;
		}
		const id = el && sent.get(el) ? idOf(el) : 0;
		if (id !== hovered) { hovered = id; ops.push(['hover', id]); schedule(); }
	};
	const onFocus = (e) => {
		if (!wanted) return;
		const path = e.composedPath ? e.composedPath() : [e.target];
		const el = path.find((n) => n.nodeType === 1 && sent.get(n));
		if (el) { ops.push(['focus', idOf(el)]); schedule(); }
	};
	// A frame that loads a page starts a new snapshot, which lists it.
	// (A frame of another site stays a picture whatever it loads: it brings nothing.)
	const onLoad = (e) => {
		const el = e.target;
		if (wanted && gen && el && el.tagName === 'IFRAME' && sent.get(el) && frameDoc(el)) { snapDue = true; schedule(); }
	};
	const listening = new WeakSet();
	// listen follows what changes without a mutation in window w (the top or a frame).
	function listen(w) {
		if (!w || listening.has(w)) return;
		listening.add(w);
		w.addEventListener('scroll', onScroll, {capture: true, passive: true});
		for (const ev of ['input', 'change']) w.addEventListener(ev, () => schedule(), {capture: true, passive: true});
		for (const ev of ['pointerover', 'pointerout', 'pointermove']) w.addEventListener(ev, onHover, {capture: true, passive: true});
		w.addEventListener('focusin', onFocus, {capture: true, passive: true});
		// (A load event never reaches the window: it is caught on the document.)
		w.document.addEventListener('load', onLoad, {capture: true, passive: true});
	}
	listen(window);
	window.addEventListener('resize', () => { if (wanted) { ops.push(['vp', innerWidth, innerHeight]); schedule(); } }, {passive: true});
	// The tab's text selection (the controller's), so the copy can show it.
	let selKey = '';
	document.addEventListener('selectionchange', () => {
		if (!wanted || !gen) return;
		const s = getSelection();
		let op = ['select', 0];
		if (s && s.rangeCount && !s.isCollapsed) {
			const a = s.anchorNode, f = s.focusNode;
			const sa = a && sent.get(a), sf = f && sent.get(f);
			if (sa && sf) op = ['select', idOf(a), s.anchorOffset, idOf(f), s.focusOffset, sa.im, sf.im];
		}
		const key = JSON.stringify(op);
		if (key !== selKey) { selKey = key; ops.push(op); schedule(); }
	}, {passive: true});
	setInterval(() => {
		if (!wanted || !gen) return;
		values();
		if (framesMoved()) snapDue = true;
		if (ops.length || snapDue) schedule();
	}, 300);
	// A new page is sent once it is parsed, and in full now and then, so nothing drifts.
	document.addEventListener('DOMContentLoaded', () => snapshot(), {once: true});
	setInterval(() => { if (wanted && gen) snapshot(); }, 60000);
	// A shadow root attached to an element already sent changes what it shows without a
	// mutation of its children: such hosts are sent again, found once per flush.
	window.addEventListener('__tandem_shadow', () => { if (wanted) { shadowsDirty = true; schedule(); } }, true);
	window.addEventListener('__tandem_css', () => { if (wanted && gen) { cssDirty = true; schedule(); } }, true);

	globalThis.__tandemDOMConfig = (on) => {
		wanted = !!on;
		if (wanted && document.readyState !== 'loading') snapshot();
	};
	globalThis.__tandemDOMSnapshot = () => { if (wanted && document.readyState !== 'loading') snapshot(); };
})();
