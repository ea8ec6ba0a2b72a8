// Tandem mask tracker. Runs in an isolated world, so page scripts can neither
// see it nor replace the DOM methods it calls. Only the top document measures:
// it walks same-origin frames and open shadow roots itself, so every box comes
// out in the top viewport's coordinates. Child frames only tell the top that a
// new document exists, before anything in it can paint.
(() => {
	if (window !== window.top) {
		globalThis.__tandemMaskConfig = () => {};
		try { window.top.__tandemMaskChild && window.top.__tandemMaskChild(document); } catch (e) {}
		return;
	}
	const send = globalThis.tandemMasks; // the binding; kept before anyone can delete it
	const doc = Math.random().toString(36).slice(2) + Date.now().toString(36);
	const KEEP = 30; // frames to keep measuring after the last change
	let sels = [], cfg = 0;
	let targets = []; // {el, sels:[i], frames:[iframe…], mode}
	let foreign = []; // cross-origin iframes: their inside is unknown
	let dirty = true, last = null, moving = false, armed = 0, looping = false, version = 0;
	const STILL_AFTER = 500; // ms
	let changedAt = -Infinity;
	const observed = new WeakSet();
	const mo = new MutationObserver(() => { dirty = true; measure(); arm(); });
	const observe = (root) => {
		if (observed.has(root)) return;
		observed.add(root);
		mo.observe(root, {subtree: true, childList: true, attributes: true, characterData: true});
	};

	// mode of a top-level box: 0 moves with the document, 1 stays in the
	// viewport, 2 may do either (sticky, or fixed inside a containing block).
	const mode = (el) => {
		let m = 0;
		for (let n = el; n; ) {
			const cs = getComputedStyle(n);
			if (m === 1 && (cs.transform !== 'none' || cs.filter !== 'none' || cs.perspective !== 'none' ||
				/paint|layout|strict|content/.test(cs.contain) || /transform|filter|perspective/.test(cs.willChange))) return 2;
			if (cs.position === 'sticky') return 2;
			if (cs.position === 'fixed') m = 1;
			n = n.parentElement || (n.getRootNode && n.getRootNode().host) || null;
		}
		return m;
	};

	const collect = (root, frames) => {
		observe(root);
		sels.forEach((s, i) => {
			for (const el of root.querySelectorAll(s)) {
				const t = targets.find((x) => x.el === el);
				if (t) t.sels.push(i); else targets.push({el, sels: [i], frames});
			}
		});
		const walker = (root.ownerDocument || root).createTreeWalker(root, NodeFilter.SHOW_ELEMENT);
		for (let n = walker.nextNode(); n; n = walker.nextNode()) {
			if (n.shadowRoot) collect(n.shadowRoot, frames);
			if (n.tagName === 'IFRAME' || n.tagName === 'FRAME') {
				let d = null;
				try { d = n.contentDocument; } catch (e) {}
				if (d) collect(d, [n, ...frames]);
				else foreign.push({el: n, frames});
			}
		}
	};

	const requery = () => {
		targets = []; foreign = [];
		collect(document, []);
		for (const t of targets.concat(foreign)) t.mode = mode(t.frames.length ? t.frames[t.frames.length - 1] : t.el);
		dirty = false;
	};

	// rect of el in the top viewport, clipped by the frames it is inside.
	const rectOf = (el, frames, whole) => {
		const r = el.getBoundingClientRect();
		let x = r.left, y = r.top, w = r.width, h = r.height;
		if (!whole && el.offsetWidth > 0 && el.offsetHeight > 0) {
			// Overflowing content (text, children) paints outside the border box.
			w += Math.max(0, el.scrollWidth - el.clientWidth) * (r.width / el.offsetWidth);
			h += Math.max(0, el.scrollHeight - el.clientHeight) * (r.height / el.offsetHeight);
		}
		for (const f of frames) {
			const fr = f.getBoundingClientRect(), cs = getComputedStyle(f);
			const ox = fr.left + f.clientLeft + parseFloat(cs.paddingLeft), oy = fr.top + f.clientTop + parseFloat(cs.paddingTop);
			x += ox; y += oy;
			const x1 = Math.max(x, ox), y1 = Math.max(y, oy);
			const x2 = Math.min(x + w, ox + f.clientWidth), y2 = Math.min(y + h, oy + f.clientHeight);
			x = x1; y = y1; w = Math.max(0, x2 - x1); h = Math.max(0, y2 - y1);
		}
		return [x, y, w, h];
	};

	// focused: selectors whose elements contain the focused element, looking
	// through open shadow roots and same-origin frames; everything when focus
	// is inside a frame we cannot look into.
	const focused = () => {
		const chain = [];
		let a = document.activeElement;
		for (let i = 0; a && i < 64; i++) {
			chain.push(a);
			if (a.shadowRoot && a.shadowRoot.activeElement) { a = a.shadowRoot.activeElement; continue; }
			if (a.tagName === 'IFRAME' || a.tagName === 'FRAME') {
				let d = null;
				try { d = a.contentDocument; } catch (e) {}
				if (!d) return sels.slice();
				a = d.activeElement;
				if (a === d.body) break;
				continue;
			}
			break;
		}
		return sels.filter((s) => chain.some((n) => {
			for (let m = n; m; m = m.parentElement || (m.getRootNode && m.getRootNode().host) || null) {
				if (m.matches && m.matches(s)) return true;
			}
			return false;
		}));
	};

	const round = (v) => Math.round(v * 100) / 100;

	function measure() {
		if (!cfg) return;
		let out;
		try {
			if (dirty) requery();
			const sx = window.scrollX, sy = window.scrollY;
			const boxes = {};
			const put = (i, rect, m) => {
				if (rect[2] <= 0 || rect[3] <= 0) return;
				const list = boxes[sels[i]] || (boxes[sels[i]] = []);
				if (m !== 1) list.push([round(rect[0] + sx), round(rect[1] + sy), round(rect[2]), round(rect[3]), 0]);
				if (m !== 0) list.push([round(rect[0]), round(rect[1]), round(rect[2]), round(rect[3]), 1]);
			};
			for (const t of targets) {
				if (!t.el.isConnected) { dirty = true; continue; }
				const r = rectOf(t.el, t.frames, false);
				for (const i of t.sels) put(i, r, t.mode);
			}
			for (const f of foreign) {
				const r = rectOf(f.el, f.frames, true);
				sels.forEach((_, i) => put(i, r, f.mode));
			}
			out = {boxes, focused: focused()};
		} catch (e) {
			out = {err: String(e)};
		}
		// A box counts as moving until it has kept still for STILL_AFTER; while it moves,
		// every measurement is reported, so each frame has a fresh report to be judged by
		// (two measurements within one frame must not make a moving box look still).
		const key = JSON.stringify(out);
		const now = performance.now();
		const changed = key !== last;
		if (changed) {
			if (last !== null) changedAt = now;
			last = key;
		}
		const nowMoving = now - changedAt < STILL_AFTER;
		if (!changed && !nowMoving && !moving) return;
		moving = nowMoving;
		version++;
		send(JSON.stringify({doc, cfg, v: version, t: performance.timeOrigin + performance.now(),
			moving, ok: !out.err, err: out.err, boxes: out.boxes || {}, focused: out.focused || []}));
		if (moving) armed = KEEP;
	}

	function frame() {
		looping = false;
		measure();
		if (armed > 0) armed--;
		if (armed === 0 && cfg && document.getAnimations().some((a) => a.playState === 'running')) armed = KEEP;
		if (armed > 0) { looping = true; requestAnimationFrame(frame); }
	}

	function arm() {
		if (!cfg) return;
		armed = Math.max(armed, KEEP);
		if (!looping) { looping = true; requestAnimationFrame(frame); }
	}
	const rearm = () => { dirty = true; arm(); };

	for (const ev of ['scroll', 'resize', 'animationstart', 'animationiteration', 'transitionrun', 'transitionstart',
		'focusin', 'focusout', 'input', 'pointerover', 'pointermove', 'pointerdown', 'pointerup', 'keydown', 'wheel']) {
		window.addEventListener(ev, arm, {capture: true, passive: true});
	}
	window.addEventListener('load', rearm, {capture: true, passive: true});
	window.addEventListener('DOMContentLoaded', rearm, {capture: true, passive: true});
	try { document.fonts.addEventListener('loadingdone', rearm); } catch (e) {}
	setInterval(arm, 250); // backstop for layout changes no event announces

	globalThis.__tandemMaskChild = (d) => { observe(d); rearm(); };
	globalThis.__tandemMaskConfig = (c, s) => {
		cfg = c; sels = s; dirty = true; last = null; moving = false; changedAt = -Infinity;
		measure();
		arm();
	};
})();
