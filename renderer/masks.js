// Tandem mask tracker. Runs in an isolated world, so page scripts can neither see it nor
// replace the DOM methods it calls. Only the top document measures: it walks same-origin
// frames and shadow roots itself (closed ones too: shadow.js opens them for this world,
// and the renderer hands over the ones the parser made), so every box comes out in the
// top viewport's coordinates. Child frames only tell the top that a new document exists,
// before anything in it can paint.
//
// A box covers all of an element's ink: its descendants (escaping ones included), its
// text as laid out (leftward and RTL overflow), outlines, shadows, filters, reflections
// and pseudo-elements, and copies an ancestor's reflection or drop shadow makes of it.
// What cannot be bounded covers the whole picture.
(() => {
	if (window !== window.top) {
		globalThis.__tandemMaskConfig = () => {};
		try { window.top.__tandemMaskChild && window.top.__tandemMaskChild(document); } catch (e) {}
		return;
	}
	const send = globalThis.tandemMasks; // the binding; kept before anyone can delete it
	const doc = Math.random().toString(36).slice(2) + Date.now().toString(36);
	const KEEP = 30; // frames to keep measuring after the last change
	const EVERYWHERE = [-1e6, -1e6, 2e6, 2e6]; // a box that covers any picture
	let sels = [], cfg = 0;
	let targets = []; // {el, sels:[i], frames:[iframe…]}
	let foreign = []; // frames whose inside cannot be read: {el, frames}
	let dirty = true, last = null, moving = false, armed = 0, looping = false, version = 0;
	let poked = 0, pokeDue = false; // newest poke of the renderer, echoed in every report
	let scanAsked = 0, scanDone = 0; // scans of the DOM for parser-made closed shadow roots
	const parsing = new Set(); // documents being parsed: each is scanned once it is done
	const STILL_AFTER = 500; // ms
	let changedAt = -Infinity;
	const observed = new WeakSet();
	// Elements that ever matched a selector stay masked for the life of the page, whatever
	// happens to their type or attributes ("show password" toggles): el -> Set(selector).
	const sticky = new WeakMap();
	let stickyRefs = []; // WeakRef(el), to walk them
	const handed = new WeakMap(); // host -> closed shadow root handed over by the renderer
	const mo = new MutationObserver(() => { dirty = true; measure(); arm(); });
	const rearmNow = () => { dirty = true; measure(); arm(); };
	const observe = (root) => {
		if (observed.has(root)) return;
		observed.add(root);
		mo.observe(root, {subtree: true, childList: true, attributes: true, characterData: true});
		if (root instanceof ShadowRoot) root.addEventListener('slotchange', rearmNow, true);
	};
	const shadowOf = (el) => el.shadowRoot || handed.get(el) || null;
	const parentOf = (n) => n.assignedSlot || n.parentElement || (n.parentNode && n.parentNode.host) || null;

	const remember = (el, s, frames) => {
		let set = sticky.get(el);
		if (!set) {
			set = new Set();
			sticky.set(el, set);
			stickyRefs.push({ref: new WeakRef(el), frames});
		}
		set.add(s);
	};

	const collect = (root, frames) => {
		observe(root);
		sels.forEach((s, i) => {
			for (const el of root.querySelectorAll(s)) {
				remember(el, s, frames);
				const t = targets.find((x) => x.el === el);
				if (t) { if (!t.sels.includes(i)) t.sels.push(i); } else targets.push({el, sels: [i], frames});
			}
		});
		const walker = (root.ownerDocument || root).createTreeWalker(root, NodeFilter.SHOW_ELEMENT);
		for (let n = walker.nextNode(); n; n = walker.nextNode()) {
			const sr = shadowOf(n);
			if (sr) collect(sr, frames);
			if (n.tagName === 'IFRAME' || n.tagName === 'FRAME' || n.tagName === 'OBJECT' || n.tagName === 'EMBED') {
				let d = null;
				try { d = n.contentDocument; } catch (e) {}
				if (d && d.documentElement) {
					if (d.readyState === 'loading') parsing.add(d);
					collect(d, [n, ...frames]);
				} else if (n.tagName !== 'OBJECT' || n.data) foreign.push({el: n, frames});
			}
		}
	};

	const requery = () => {
		targets = []; foreign = [];
		if (document.readyState === 'loading') parsing.add(document);
		collect(document, []);
		// Elements that matched once and no longer match (a password field turned to text).
		const keep = [];
		for (const s of stickyRefs) {
			const el = s.ref.deref();
			if (!el) continue;
			keep.push(s);
			if (!el.isConnected) continue;
			const idx = [];
			for (const sel of sticky.get(el)) { const i = sels.indexOf(sel); if (i >= 0) idx.push(i); }
			if (!idx.length) continue;
			const t = targets.find((x) => x.el === el);
			if (t) { for (const i of idx) if (!t.sels.includes(i)) t.sels.push(i); } else targets.push({el, sels: idx, frames: s.frames});
		}
		stickyRefs = keep;
		dirty = false;
	};

	// --- geometry -------------------------------------------------------------------

	const px = (v) => { const n = parseFloat(v); return Number.isFinite(n) ? n : 0; };
	// shadowReach is how far a box-shadow or text-shadow list reaches past the box.
	const shadowReach = (v) => {
		if (!v || v === 'none') return 0;
		let most = 0;
		for (const part of v.split(/,(?![^(]*\))/)) {
			if (/\binset\b/.test(part)) continue;
			const nums = (part.replace(/rgba?\([^)]*\)|hsla?\([^)]*\)|#[0-9a-f]+|[a-z-]+\([^)]*\)/gi, ' ').match(/-?[\d.]+px/g) || []).map(px);
			const [x = 0, y = 0, blur = 0, spread = 0] = nums;
			most = Math.max(most, Math.max(Math.abs(x), Math.abs(y)) + 2 * Math.abs(blur) + Math.max(0, spread));
		}
		return most;
	};
	// filterEffect: how far a filter spreads its input, copies it by, or null when it
	// cannot be bounded (an SVG filter can move pixels anywhere).
	const filterEffect = (v) => {
		if (!v || v === 'none') return {reach: 0, copies: []};
		if (/url\(/.test(v)) return null;
		let reach = 0;
		const copies = [];
		for (const m of v.matchAll(/blur\(([^)]*)\)/g)) reach += 3 * px(m[1]);
		for (const m of v.matchAll(/drop-shadow\(((?:[^()]|\([^)]*\))*)\)/g)) {
			const nums = (m[1].replace(/rgba?\([^)]*\)|hsla?\([^)]*\)|#[0-9a-f]+|[a-z-]+\([^)]*\)/gi, ' ').match(/-?[\d.]+px/g) || []).map(px);
			const [x = 0, y = 0, blur = 0] = nums;
			copies.push({x, y, blur: 3 * Math.abs(blur)});
		}
		return {reach, copies};
	};
	const grow = (r, d) => (d > 0 ? [r[0] - d, r[1] - d, r[2] + 2 * d, r[3] + 2 * d] : r);
	const union = (a, b) => {
		if (!a) return b;
		if (!b) return a;
		const x0 = Math.min(a[0], b[0]), y0 = Math.min(a[1], b[1]);
		return [x0, y0, Math.max(a[0] + a[2], b[0] + b[2]) - x0, Math.max(a[1] + a[3], b[1] + b[3]) - y0];
	};
	const fromDOMRect = (r) => [r.left, r.top, r.width, r.height];
	// mirror: where -webkit-box-reflect puts the ink ink of an element with border box bb.
	const mirror = (ink, bb, v) => {
		const m = /^(above|below|left|right)\s*(-?[\d.]+px)?/.exec(v.trim());
		if (!m) return EVERYWHERE;
		const d = px(m[2] || '0');
		switch (m[1]) {
		case 'below': { const axis = bb[1] + bb[3] + d / 2; return [ink[0], 2 * axis - (ink[1] + ink[3]), ink[2], ink[3]]; }
		case 'above': { const axis = bb[1] - d / 2; return [ink[0], 2 * axis - (ink[1] + ink[3]), ink[2], ink[3]]; }
		case 'right': { const axis = bb[0] + bb[2] + d / 2; return [2 * axis - (ink[0] + ink[2]), ink[1], ink[2], ink[3]]; }
		default: { const axis = bb[0] - d / 2; return [2 * axis - (ink[0] + ink[2]), ink[1], ink[2], ink[3]]; }
		}
	};
	// effects applies what an element's own style paints around (or copies of) ink.
	const effects = (ink, bb, cs) => {
		if (!ink) return ink;
		let out = ink;
		const f = filterEffect(cs.filter);
		if (!f) return EVERYWHERE;
		out = grow(out, f.reach);
		for (const c of f.copies) out = union(out, grow([out[0] + c.x, out[1] + c.y, out[2], out[3]], c.blur));
		const reflect = cs.webkitBoxReflect || cs.getPropertyValue('-webkit-box-reflect');
		if (reflect && reflect !== 'none') out = union(out, mirror(out, bb, reflect));
		return out;
	};
	// transformed is the bounding box of rect r (at the element's position) under the
	// computed transform of cs; null when it cannot be bounded (perspective).
	const transformed = (r, cs) => {
		const t = cs.transform;
		if (!t || t === 'none') return r;
		let a, b, c, d, e, f;
		let m = /^matrix\(([^)]*)\)$/.exec(t);
		if (m) [a, b, c, d, e, f] = m[1].split(',').map(Number);
		else if ((m = /^matrix3d\(([^)]*)\)$/.exec(t))) {
			const v = m[1].split(',').map(Number);
			if (v[3] || v[7] || v[11] || v[15] !== 1) return null;
			[a, b, c, d, e, f] = [v[0], v[1], v[4], v[5], v[12], v[13]];
		} else return null;
		const [ox, oy] = (cs.transformOrigin || '0 0').split(' ').map(px);
		const xs = [], ys = [];
		for (const [x, y] of [[0, 0], [r[2], 0], [0, r[3]], [r[2], r[3]]]) {
			xs.push(r[0] + ox + a * (x - ox) + c * (y - oy) + e);
			ys.push(r[1] + oy + b * (x - ox) + d * (y - oy) + f);
		}
		const x0 = Math.min(...xs), y0 = Math.min(...ys);
		return [x0, y0, Math.max(...xs) - x0, Math.max(...ys) - y0];
	};
	const positioned = (cs) => cs.position !== 'static' || cs.transform !== 'none' || cs.filter !== 'none' ||
		cs.perspective !== 'none' || /paint|layout|strict|content/.test(cs.contain) || /transform|filter|perspective/.test(cs.willChange);
	// pseudoInk bounds a ::before or ::after box, which the DOM does not show.
	const pseudoInk = (el, cs, ps, bb) => {
		const reach = Math.max(shadowReach(ps.textShadow), shadowReach(ps.boxShadow),
			ps.outlineStyle !== 'none' ? px(ps.outlineWidth) + Math.max(0, px(ps.outlineOffset)) : 0);
		let r;
		if (ps.position === 'absolute' || ps.position === 'fixed') {
			// The containing block: the viewport for fixed (unless a transformed ancestor),
			// the nearest positioned ancestor (the element itself, often) for absolute.
			let cb = null;
			for (let n = el; n; n = parentOf(n)) {
				const ns = n === el ? cs : getComputedStyle(n);
				if (ps.position === 'fixed' ? (ns.transform !== 'none' || ns.filter !== 'none' || ns.perspective !== 'none') : positioned(ns)) { cb = n; break; }
			}
			let box;
			if (cb) {
				const b = cb.getBoundingClientRect();
				box = [b.left + cb.clientLeft, b.top + cb.clientTop, cb.clientWidth || b.width, cb.clientHeight || b.height];
			} else if (ps.position === 'fixed') box = [0, 0, innerWidth, innerHeight];
			else box = [-scrollX, -scrollY, document.documentElement.scrollWidth, document.documentElement.scrollHeight];
			const w = px(ps.width) + px(ps.paddingLeft) + px(ps.paddingRight) + px(ps.borderLeftWidth) + px(ps.borderRightWidth);
			const h = px(ps.height) + px(ps.paddingTop) + px(ps.paddingBottom) + px(ps.borderTopWidth) + px(ps.borderBottomWidth);
			let x = box[0] + (ps.left !== 'auto' ? px(ps.left) : ps.right !== 'auto' ? box[2] - px(ps.right) - w : bb[0] - box[0]);
			let y = box[1] + (ps.top !== 'auto' ? px(ps.top) : ps.bottom !== 'auto' ? box[3] - px(ps.bottom) - h : bb[1] - box[1]);
			if (ps.left === 'auto' && ps.right === 'auto') x = bb[0];
			if (ps.top === 'auto' && ps.bottom === 'auto') y = bb[1];
			r = transformed([x + px(ps.marginLeft), y + px(ps.marginTop), w, h], ps);
			if (!r) return EVERYWHERE;
			// Its own content can overflow it like any box's: as far again.
			r = union(r, [r[0] - r[2], r[1] - r[3], 3 * r[2], 3 * r[3]]);
		} else {
			// In flow: inside the element's box, moved by relative offsets and transforms.
			r = bb;
			const dx = Math.abs(px(ps.left)) + Math.abs(px(ps.right)), dy = Math.abs(px(ps.top)) + Math.abs(px(ps.bottom));
			r = [r[0] - dx, r[1] - dy, r[2] + 2 * dx, r[3] + 2 * dy];
			if (ps.transform !== 'none') {
				const t = transformed(r, ps);
				if (!t) return EVERYWHERE;
				r = union(r, t);
			}
		}
		return grow(r, reach);
	};

	// ink is the box an element paints into, in the top viewport of its own document,
	// per mode: 0 moves with the document, 1 stays in the viewport. Descendants are
	// walked in the flat tree (shadow trees and slotted nodes), with their own modes.
	const MAX_NODES = 4000;
	const inkOf = (el, outerMode, outerTransformed) => {
		const boxes = [null, null];
		let budget = MAX_NODES, unbounded = false;
		const visit = (n, mode, transformedAbove) => {
			if (--budget < 0) { unbounded = true; return; }
			if (n.nodeType === 3) {
				if (!n.data.trim()) return;
				const range = n.ownerDocument.createRange();
				range.selectNodeContents(n);
				const r = range.getBoundingClientRect();
				if (r.width || r.height) {
					const p = n.parentElement && getComputedStyle(n.parentElement);
					boxes[mode] = union(boxes[mode], grow(fromDOMRect(r), p ? shadowReach(p.textShadow) : 0));
				}
				return;
			}
			if (n.nodeType !== 1) return;
			const cs = getComputedStyle(n);
			if (cs.display === 'none') return;
			let m = mode, tr = transformedAbove;
			if (mode !== 2) {
				if (cs.position === 'sticky') m = 2;
				else if (cs.position === 'fixed') m = transformedAbove ? 2 : 1;
			}
			if (cs.transform !== 'none' || cs.filter !== 'none' || cs.perspective !== 'none' ||
				/paint|layout|strict|content/.test(cs.contain) || /transform|filter|perspective/.test(cs.willChange)) tr = true;
			const bb = fromDOMRect(n.getBoundingClientRect());
			let own = null;
			const outline = cs.outlineStyle !== 'none' ? px(cs.outlineWidth) + Math.max(0, px(cs.outlineOffset)) : 0;
			const reach = Math.max(outline, shadowReach(cs.boxShadow), shadowReach(cs.textShadow));
			if (bb[2] > 0 || bb[3] > 0 || reach > 0) {
				own = grow(bb, reach);
				// Content scrolled out of view in a scroll container is clipped, but what
				// overflows a visible box paints: rightward in LTR, leftward in RTL.
				if (n.offsetWidth > 0 && n.offsetHeight > 0 && cs.overflowX === 'visible') {
					const k = bb[2] / n.offsetWidth, extra = Math.max(0, n.scrollWidth - n.clientWidth) * k;
					own = union(own, cs.direction === 'rtl' ? [bb[0] - extra, bb[1], extra, bb[3]] : [bb[0] + bb[2], bb[1], extra, bb[3]]);
				}
				if (n.offsetHeight > 0 && cs.overflowY === 'visible') {
					const k = bb[3] / n.offsetHeight, extra = Math.max(0, n.scrollHeight - n.clientHeight) * k;
					own = union(own, [bb[0], bb[1] + bb[3], bb[2], extra]);
				}
				for (const which of ['::before', '::after', '::marker']) {
					const ps = getComputedStyle(n, which);
					if (!ps || ps.content === 'none' || ps.content === 'normal' || ps.display === 'none') continue;
					own = union(own, pseudoInk(n, cs, ps, bb));
				}
			}
			const before = [boxes[0], boxes[1]];
			boxes[0] = null; boxes[1] = null;
			if (m === 2) { boxes[0] = own; boxes[1] = own; } else boxes[m] = own;
			// The flat tree: a host renders its shadow tree, a slot what is assigned to it.
			const sr = shadowOf(n);
			const kids = sr ? sr.childNodes : n.tagName === 'SLOT' ? n.assignedNodes({flatten: true}) : n.childNodes;
			for (const k of kids) visit(k, m === 2 ? 2 : m, tr);
			// The element's filters and reflection act on everything it painted.
			if (cs.filter !== 'none' || (cs.webkitBoxReflect || cs.getPropertyValue('-webkit-box-reflect') || 'none') !== 'none') {
				for (const i of [0, 1]) if (boxes[i]) boxes[i] = effects(boxes[i], bb, cs);
			}
			boxes[0] = union(before[0], boxes[0]);
			boxes[1] = union(before[1], boxes[1]);
		};
		visit(el, outerMode, outerTransformed);
		if (unbounded) return {boxes: [EVERYWHERE, EVERYWHERE], unbounded: true};
		// Ancestors that copy what they paint (reflections, drop shadows) copy the element.
		for (let a = parentOf(el); a; a = parentOf(a)) {
			const cs = getComputedStyle(a);
			const reflect = cs.webkitBoxReflect || cs.getPropertyValue('-webkit-box-reflect') || 'none';
			if (cs.filter === 'none' && reflect === 'none') continue;
			const bb = fromDOMRect(a.getBoundingClientRect());
			for (const i of [0, 1]) if (boxes[i]) boxes[i] = union(boxes[i], effects(boxes[i], bb, cs));
		}
		return {boxes, unbounded: false};
	};

	// modeOf: how the element's box moves: 0 with the document, 1 with the viewport, 2
	// either (sticky, or fixed inside a containing block); and whether any ancestor makes
	// a containing block for fixed descendants.
	const modeOf = (el) => {
		let m = 0, tr = false;
		for (let n = el; n; n = parentOf(n)) {
			const cs = getComputedStyle(n);
			const t = cs.transform !== 'none' || cs.filter !== 'none' || cs.perspective !== 'none' ||
				/paint|layout|strict|content/.test(cs.contain) || /transform|filter|perspective/.test(cs.willChange);
			if (t) tr = true;
			if (m === 1 && t) return {mode: 2, tr};
			if (cs.position === 'sticky') return {mode: 2, tr};
			if (cs.position === 'fixed') m = 1;
		}
		return {mode: m, tr};
	};

	// toTop moves rect r from the viewport of the document inside frames into the top
	// viewport, clipped by each frame.
	const toTop = (r, frames) => {
		let [x, y, w, h] = r;
		for (const f of frames) {
			const fr = f.getBoundingClientRect(), cs = getComputedStyle(f);
			const ox = fr.left + f.clientLeft + px(cs.paddingLeft), oy = fr.top + f.clientTop + px(cs.paddingTop);
			x += ox; y += oy;
			const x1 = Math.max(x, ox), y1 = Math.max(y, oy);
			const x2 = Math.min(x + w, ox + f.clientWidth), y2 = Math.min(y + h, oy + f.clientHeight);
			x = x1; y = y1; w = Math.max(0, x2 - x1); h = Math.max(0, y2 - y1);
		}
		return [x, y, w, h];
	};

	// --- focus and selection ----------------------------------------------------------

	const maskedBy = (el, list) => list.filter((s) => {
		for (let m = el; m; m = parentOf(m)) {
			if (m.nodeType !== 1) continue;
			const st = sticky.get(m);
			if (st && st.has(s)) return true;
			try { if (m.matches(s)) return true; } catch (e) {}
		}
		return false;
	});

	// focusChain is the focused element and its hosts and frames, through shadow roots
	// and same-origin frames; null when focus is inside a frame that cannot be read.
	const focusChain = () => {
		const chain = [];
		let a = document.activeElement;
		for (let i = 0; a && i < 64; i++) {
			chain.push(a);
			const sr = shadowOf(a);
			if (sr && sr.activeElement) { a = sr.activeElement; continue; }
			if (a.tagName === 'IFRAME' || a.tagName === 'FRAME' || a.tagName === 'OBJECT' || a.tagName === 'EMBED') {
				let d = null;
				try { d = a.contentDocument; } catch (e) {}
				if (!d) return null;
				a = d.activeElement;
				if (!a || a === d.body) break;
				continue;
			}
			break;
		}
		return chain;
	};

	// focusMatches lists the selectors of list (the tracked ones by default) whose
	// elements contain the focused element; all of them when focus is out of sight.
	const focusMatches = (list) => {
		const chain = focusChain();
		if (!chain) return list.slice();
		return list.filter((s) => chain.some((n) => maskedBy(n, [s]).length > 0));
	};
	globalThis.__tandemFocus = (list) => focusMatches(list);
	// For the DOM capture (dom.js), in this world: shadow roots as the tracker sees them,
	// the tracked selectors, and the indices of those an element matches itself (or did).
	// framesOf is the chain of frame elements el lies in, innermost first, as collect
	// records it: a box inside a frame is measured through them.
	const framesOf = (el) => {
		const out = [];
		try {
			for (let w = el.ownerDocument && el.ownerDocument.defaultView; w && w !== window && w.frameElement; w = w.frameElement.ownerDocument.defaultView) out.push(w.frameElement);
		} catch (e) {}
		return out;
	};
	globalThis.__tandemMaskAPI = {
		shadowOf,
		sels: () => sels,
		own: (el) => {
			const out = [];
			const st = sticky.get(el);
			sels.forEach((s, i) => {
				let hit = !!(st && st.has(s));
				if (!hit) { try { hit = el.matches(s); } catch (e) {} }
				if (hit) { out.push(i); remember(el, s, framesOf(el)); }
			});
			return out;
		},
	};

	// __tandemSelection is the text a copy takes, for a role that must not see what list
	// masks: {text, masked}, masked when the selection holds any of it (or lies in a field
	// or frame out of sight).
	globalThis.__tandemSelection = (list) => {
		const chain = focusChain();
		if (!chain) return {text: '', masked: true};
		const a = chain[chain.length - 1];
		if (a && (a.tagName === 'INPUT' || a.tagName === 'TEXTAREA')) {
			if (maskedBy(a, list).length) return {text: '', masked: true};
			try {
				if (typeof a.selectionStart === 'number') return {text: a.value.substring(a.selectionStart, a.selectionEnd), masked: false};
			} catch (e) {}
		}
		const d = (a && a.ownerDocument) || document;
		const s = (d.defaultView || window).getSelection();
		if (!s || s.isCollapsed) return {text: '', masked: false};
		const hidden = [];
		// find adds what root masks to hidden, and says whether it masks anything.
		const find = (root) => {
			const before = hidden.length;
			for (const q of list) { try { for (const el of root.querySelectorAll(q)) hidden.push(el); } catch (e) {} }
			const walker = (root.ownerDocument || root).createTreeWalker(root, NodeFilter.SHOW_ELEMENT);
			for (let n = walker.nextNode(); n; n = walker.nextNode()) {
				const sr = shadowOf(n);
				if (sr && find(sr)) hidden.push(n); // its text is copied with the host's
				const st = sticky.get(n);
				if (st && list.some((q) => st.has(q))) hidden.push(n);
			}
			return hidden.length > before;
		};
		find(d);
		for (let i = 0; i < s.rangeCount; i++) {
			const r = s.getRangeAt(i);
			for (const el of hidden) {
				// An element in a shadow tree shows in the selection through its host.
				let n = el;
				while (n && n.getRootNode() !== d && n.getRootNode().host) n = n.getRootNode().host;
				if (n && n.getRootNode() === d && r.intersectsNode(n)) return {text: '', masked: true};
			}
		}
		return {text: s.toString(), masked: false};
	};

	// --- reports ------------------------------------------------------------------------

	const round = (v) => Math.round(v * 100) / 100;

	function measure() {
		if (!cfg) return;
		let out;
		try {
			if (dirty) requery();
			for (const d of parsing) {
				if (!d.defaultView) parsing.delete(d); // its frame went away
				else if (d.readyState !== 'loading') { parsing.delete(d); scanAsked++; }
			}
			if (parsing.size || scanDone < scanAsked) {
				// The parser can attach closed shadow roots that no script sees: until a
				// document is parsed and the renderer has looked into it, nothing is vouched for.
				out = {err: parsing.size ? 'loading' : 'scanning'};
			} else {
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
					const own = modeOf(t.el); // within its own document
					const ink = inkOf(t.el, own.mode, own.tr);
					// Inside a frame, the outermost frame's mode says how a box moves in the top.
					const frameMode = t.frames.length ? modeOf(t.frames[t.frames.length - 1]).mode : -1;
					ink.boxes.forEach((b, m) => {
						if (!b) return;
						if (ink.unbounded) { for (const i of t.sels) put(i, b, 1); return; }
						const r = toTop(b, t.frames);
						for (const i of t.sels) put(i, r, frameMode >= 0 ? frameMode : m);
					});
				}
				for (const f of foreign) {
					const r = toTop(fromDOMRect(f.el.getBoundingClientRect()), f.frames);
					const mode = modeOf(f.frames.length ? f.frames[f.frames.length - 1] : f.el).mode;
					sels.forEach((_, i) => put(i, r, mode));
				}
				out = {boxes, focused: focusMatches(sels)};
			}
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
		if (!changed && !nowMoving && !moving && !pokeDue) return;
		pokeDue = false;
		moving = nowMoving;
		version++;
		// ft: the animation frame this measurement belongs to, on the clock of the
		// screencast's frame timestamps.
		const tl = document.timeline && document.timeline.currentTime;
		send(JSON.stringify({doc, cfg, v: version, t: performance.timeOrigin + performance.now(),
			ft: tl == null ? 0 : performance.timeOrigin + tl, poke: poked, scan: scanAsked,
			moving, ok: !out.err, err: out.err, boxes: out.boxes || {}, focused: out.focused || []}));
		if (moving) armed = KEEP;
	}
	function frame() {
		looping = false;
		measure();
		if (armed > 0) armed--;
		if (armed === 0 && cfg && (parsing.size || document.getAnimations().some((a) => a.playState === 'running' || a.pending))) armed = KEEP;
		if (armed > 0) { looping = true; requestAnimationFrame(frame); }
	}

	function arm() {
		if (!cfg) return;
		armed = Math.max(armed, KEEP);
		if (!looping) { looping = true; requestAnimationFrame(frame); }
	}
	const rearm = () => { dirty = true; arm(); };
	const askScan = () => { scanAsked++; dirty = true; measure(); arm(); };

	for (const ev of ['scroll', 'resize', 'animationstart', 'animationiteration', 'transitionrun', 'transitionstart',
		'focusin', 'focusout', 'input', 'change', 'pointerover', 'pointermove', 'pointerdown', 'pointerup', 'keydown', 'wheel',
		'toggle', 'load', 'error']) {
		window.addEventListener(ev, arm, {capture: true, passive: true});
	}
	window.addEventListener('load', rearm, {capture: true, passive: true});
	// A parsed document may hold closed shadow roots: the renderer looks once it is parsed
	// (see measure); one that already was when this script ran is looked at now.
	window.addEventListener('DOMContentLoaded', rearmNow, {capture: true, passive: true});
	if (document.readyState !== 'loading') scanAsked = 1;
	// Signals from shadow.js in the page's world: a shadow root was attached (rescan the
	// tree at once, before it paints), or HTML was parsed that may declare closed roots.
	window.addEventListener('__tandem_shadow', () => { dirty = true; queueMicrotask(() => { measure(); arm(); }); }, true);
	window.addEventListener('__tandem_parse', () => queueMicrotask(askScan), true);
	try { document.fonts.addEventListener('loadingdone', rearm); } catch (e) {}
	setInterval(arm, 250); // backstop for layout changes no event announces

	globalThis.__tandemMaskChild = (d) => {
		observe(d);
		if (d.readyState === 'loading') {
			parsing.add(d);
			d.addEventListener('DOMContentLoaded', rearmNow, {capture: true, passive: true});
		} else scanAsked++; // a document made by script (about:blank, document.write)
		rearmNow();
	};
	globalThis.__tandemMaskConfig = (c, s) => {
		cfg = c; sels = s; dirty = true; last = null; moving = false; changedAt = -Infinity;
		measure();
		arm();
	};
	// The renderer pokes after something it saw and the page may not have (a frame
	// navigated): the next report, sent at once, echoes n.
	globalThis.__tandemMaskPoke = (n, d) => { if (d !== doc) return; poked = Math.max(poked, n); pokeDue = true; dirty = true; measure(); arm(); };
	// The renderer hands over closed shadow roots the parser attached, then says the scan
	// asked for as n is done.
	globalThis.__tandemMaskAdopt = (root) => { if (root && root.host) { handed.set(root.host, root); dirty = true; } };
	globalThis.__tandemMaskScanned = (n, d) => { if (d !== doc) return; scanDone = Math.max(scanDone, n); pokeDue = true; dirty = true; measure(); arm(); };
})();
