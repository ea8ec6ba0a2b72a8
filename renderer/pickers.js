// Tandem native pickers. Runs in the tracker's isolated world of every frame the tab's
// target holds (the top document and frames of its process). The browser draws the popups
// of <select>, date, time and colour fields and its context menu outside the page, where
// the screencast cannot see them: this script stops them from opening on a trusted press
// or key (after the page's own listeners had their say) and describes them to the
// renderer through the tandemPicker binding instead, so participants see them drawn by
// Tandem. The renderer answers with __tandemPick in this same frame's world.
//
// Messages: {op: "open" | "update", id, kind, box, vw, vh, …} and {op: "close", id, reason}.
// A box is [x, y, w, h] in CSS px of the top viewport, or null when a frame of another
// origin lies between (its position cannot be read).
(() => {
	if (globalThis.__tandemPick) return;
	const send = globalThis.tandemPicker; // the binding; kept before anyone can delete it
	if (typeof send !== 'function') return;
	const prefix = Math.random().toString(36).slice(2, 8);
	const DATES = new Set(['date', 'time', 'datetime-local', 'month', 'week']);
	const TEXTS = new Set(['text', 'search', 'url', 'tel', 'email', 'password', 'number', '']);
	const MAX_OPTIONS = 2000, MAX_TEXT = 300, MAX_HREF = 2048;
	let seq = 0;
	let open = null; // {id, kind, el, stop()}: the one picker this frame shows

	const post = (m) => { try { send(JSON.stringify(m)); } catch (e) { /* the binding is gone */ } };
	const isEl = (n, name) => !!n && n.nodeType === 1 && n.localName === name;
	const cut = (s, n) => (s.length > n ? s.slice(0, n) : s);
	const pathOf = (e) => { try { return e.composedPath(); } catch (err) { return []; } };
	const isOpen = (el) => { try { return el.matches(':open'); } catch (e) { return false; } };

	// A <select> whose list the browser pops up (not a list box drawn in the page, nor a
	// customizable select, whose picker is part of the page).
	const popupSelect = (el) => {
		if (!isEl(el, 'select') || el.multiple || el.size > 1 || el.disabled) return false;
		try { return getComputedStyle(el).appearance !== 'base-select'; } catch (e) { return true; }
	};
	const pickerInput = (el) => isEl(el, 'input') && !el.disabled && !el.readOnly && (DATES.has(el.type) || el.type === 'color');
	const first = (path, test) => { for (const n of path) if (test(n)) return n; return null; };
	// deepActive is the focused element, through open shadow roots.
	const deepActive = () => {
		let a = document.activeElement;
		while (a && a.shadowRoot && a.shadowRoot.activeElement) a = a.shadowRoot.activeElement;
		return a;
	};

	// toTop moves a rect of this frame's viewport into the top viewport; null when a frame
	// in between cannot be read.
	const toTop = (x, y, w, h) => {
		try {
			for (let win = window; win !== win.top; win = win.parent) {
				const f = win.frameElement;
				if (!f) return null;
				const fr = f.getBoundingClientRect();
				const cs = f.ownerDocument.defaultView.getComputedStyle(f);
				x += fr.left + f.clientLeft + (parseFloat(cs.paddingLeft) || 0);
				y += fr.top + f.clientTop + (parseFloat(cs.paddingTop) || 0);
			}
			const r = (v) => Math.round(v * 100) / 100;
			return [r(x), r(y), r(w), r(h)];
		} catch (e) {
			return null;
		}
	};
	const topSize = () => { try { return [window.top.innerWidth, window.top.innerHeight]; } catch (e) { return [0, 0]; } };

	// maskedBy lists the tracked mask selectors whose elements hold el (itself, an ancestor,
	// a shadow host or a frame element on the way up), and the selectors it was checked
	// against: the renderer fails closed for any selector not checked.
	const maskedBy = (el) => {
		let api = null;
		try { api = window.top.__tandemMaskAPI; } catch (e) { /* a frame of another origin */ }
		if (!api) return {masked: [], checked: []};
		const sels = api.sels();
		const hit = new Set();
		try {
			for (let n = el; n;) {
				if (n.nodeType === 1) for (const i of api.own(n)) hit.add(sels[i]);
				if (n.parentNode && n.parentNode.nodeType === 11 && n.parentNode.host) n = n.parentNode.host;
				else if (n.parentElement) n = n.parentElement;
				else n = n.ownerDocument && n.ownerDocument.defaultView && n.ownerDocument.defaultView.frameElement;
			}
		} catch (e) {
			return {masked: sels.slice(), checked: sels.slice()}; // out of sight: masked by all
		}
		return {masked: [...hit], checked: sels.slice()};
	};

	const boxOf = (el) => { const r = el.getBoundingClientRect(); return toTop(r.left, r.top, r.width, r.height); };

	const options = (el) => {
		const out = [];
		const list = el.options;
		for (let i = 0; i < list.length && out.length < MAX_OPTIONS; i++) {
			const o = list[i];
			if (o.hidden) continue;
			const g = isEl(o.parentElement, 'optgroup') ? o.parentElement : null;
			out.push({
				index: i, label: cut(o.label || o.text || '', MAX_TEXT), value: cut(o.value, MAX_TEXT),
				group: g ? cut(g.label || '', MAX_TEXT) : '', disabled: o.disabled || !!(g && g.disabled), selected: o.selected,
			});
		}
		return out;
	};

	// describe is the open picker as the renderer gets it.
	const describe = (o) => {
		const [vw, vh] = topSize();
		const m = {id: o.id, kind: o.kind, vw, vh, ...maskedBy(o.el)};
		if (o.kind === 'menu') {
			return {...m, box: o.point, link: !!o.href, href: o.href, selection: o.selection, editable: o.editable};
		}
		m.box = boxOf(o.el);
		if (o.kind === 'select') return {...m, options: options(o.el), value: cut(o.el.value, MAX_TEXT)};
		return {...m, value: o.el.value, min: o.el.min, max: o.el.max, step: o.el.step};
	};

	const close = (reason) => {
		if (!open) return;
		const o = open;
		open = null;
		o.stop();
		post({op: 'close', id: o.id, reason});
	};

	// show opens a picker for el (or a menu), replacing any other of this frame.
	const show = (kind, el, extra) => {
		if (open) close('replaced');
		const o = {id: `${prefix}-${++seq}`, kind, el, ...extra, stop: () => {}};
		open = o;
		if (kind !== 'menu') {
			// Kept current while open: the page may change the options or the value, move the
			// field, take it away or move focus elsewhere.
			let queued = false;
			const update = () => {
				if (queued) return;
				queued = true;
				requestAnimationFrame(() => {
					queued = false;
					if (open !== o) return;
					const d = describe(o);
					const key = JSON.stringify(d);
					if (key === o.sent) return; // a scroll elsewhere, a change that changes nothing shown
					o.sent = key;
					post({op: 'update', ...d});
				});
			};
			const blur = () => { if (open === o) close('blur'); };
			const mo = new MutationObserver(update);
			mo.observe(el, {childList: true, subtree: true, attributes: true, characterData: true});
			el.addEventListener('change', update);
			el.addEventListener('input', update);
			el.addEventListener('focusout', blur);
			addEventListener('scroll', update, true);
			addEventListener('resize', update);
			const gone = setInterval(() => { if (!el.isConnected || el.disabled) close('removed'); }, 250);
			o.stop = () => {
				mo.disconnect();
				el.removeEventListener('change', update);
				el.removeEventListener('input', update);
				el.removeEventListener('focusout', blur);
				removeEventListener('scroll', update, true);
				removeEventListener('resize', update);
				clearInterval(gone);
			};
		}
		const d = describe(o);
		o.sent = JSON.stringify(d);
		post({op: 'open', ...d});
	};

	// --- presses ---------------------------------------------------------------------------

	// Any trusted press outside the open picker's element closes it, as a press outside a
	// popup does. A select's own press is judged below, once the page has seen it.
	let pending = null;
	addEventListener('mousedown', (e) => {
		if (!e.isTrusted) return;
		const path = pathOf(e);
		if (open && (open.kind === 'menu' || !path.includes(open.el))) close('outside');
		const el = e.button === 0 ? first(path, popupSelect) : null;
		if (!el) return;
		// The page may stop the event before it bubbles here; then the browser opens its
		// list unseen, and it is closed and replaced once the event is over.
		pending = e;
		setTimeout(() => {
			if (pending !== e) return;
			pending = null;
			if (!e.defaultPrevented && isOpen(el)) {
				el.blur();
				el.focus({preventScroll: true});
				show('select', el);
			}
		}, 0);
	}, true);
	addEventListener('mousedown', (e) => {
		if (pending === e) pending = null;
		if (!e.isTrusted || e.button !== 0 || e.defaultPrevented) return; // the page handles it
		const el = first(pathOf(e), popupSelect);
		if (!el) return;
		e.preventDefault(); // no native list; this also keeps focus where it was
		if (open && open.el === el) {
			close('cancelled'); // a second press on the field closes its list
			return;
		}
		el.focus({preventScroll: true});
		show('select', el);
	});
	// Date and colour fields open their pickers on a click (a key press on a colour field
	// clicks it too, and so does its label); typing into a date field's parts stays as it
	// is, and a date field's label only focuses it.
	addEventListener('click', (e) => {
		if (!e.isTrusted || e.button !== 0 || e.defaultPrevented) return;
		const el = first(pathOf(e), pickerInput);
		if (!el || (el.type !== 'color' && e.detail === 0)) return;
		e.preventDefault();
		if (open && open.el === el) return;
		show(el.type, el);
	});

	// --- keys --------------------------------------------------------------------------------

	const opensList = (e) => !e.ctrlKey && !e.metaKey && (e.key === 'F4' || (e.altKey && (e.key === 'ArrowDown' || e.key === 'ArrowUp')));
	addEventListener('keydown', (e) => {
		if (!e.isTrusted) return;
		if (open && (e.key === 'Escape' || e.key === 'Tab')) {
			close('cancelled');
			return;
		}
		if (e.defaultPrevented) return;
		const el = first(pathOf(e), (n) => n && n.nodeType === 1) || deepActive();
		if (popupSelect(el) && (opensList(e) || ((e.key === ' ' || e.key === 'Enter') && !e.altKey && !e.ctrlKey && !e.metaKey))) {
			e.preventDefault(); // arrows still change the value in place, as they do natively
			if (!open || open.el !== el) show('select', el);
		} else if (pickerInput(el) && DATES.has(el.type) && opensList(e)) {
			e.preventDefault();
			if (!open || open.el !== el) show(el.type, el);
		}
	});

	// --- the context menu ------------------------------------------------------------------

	const editableOf = (el) => {
		if (!el || el.nodeType !== 1) return false;
		if (isEl(el, 'textarea')) return !el.disabled && !el.readOnly;
		if (isEl(el, 'input')) return TEXTS.has(el.type) && !el.disabled && !el.readOnly;
		return !!el.isContentEditable;
	};
	const hasSelection = (el) => {
		try {
			if ((isEl(el, 'input') || isEl(el, 'textarea')) && typeof el.selectionStart === 'number') return el.selectionStart !== el.selectionEnd;
			const s = (el && el.ownerDocument ? el.ownerDocument : document).getSelection();
			return !!s && !s.isCollapsed;
		} catch (e) {
			return false;
		}
	};
	// The menu shows only when the page did not take the right click for itself: that is
	// known once every listener ran, so it is judged on the next task.
	addEventListener('contextmenu', (e) => {
		if (!e.isTrusted) return;
		const path = pathOf(e);
		const target = first(path, (n) => n && n.nodeType === 1) || document.documentElement;
		const link = first(path, (n) => (isEl(n, 'a') || isEl(n, 'area')) && !!n.href);
		const info = {
			point: toTop(e.clientX, e.clientY, 0, 0), href: link ? cut(String(link.href), MAX_HREF) : '',
			editable: editableOf(target), selection: hasSelection(target),
		};
		setTimeout(() => { if (!e.defaultPrevented) show('menu', target, info); }, 0);
	}, true);

	addEventListener('pagehide', () => close('navigated'));

	// --- answers ---------------------------------------------------------------------------

	const fire = (el, type) => el.dispatchEvent(new Event(type, {bubbles: true, composed: type === 'input'}));

	// __tandemPick answers the open picker id: "ok", "gone" (not open here any more) or "bad"
	// (no such option, or a value the field refuses; the picker stays open).
	globalThis.__tandemPick = (id, c) => {
		const o = open;
		if (!o || o.id !== id) return 'gone';
		if (c.cancel) {
			close('cancelled');
			return 'ok';
		}
		const el = o.el;
		if (o.kind === 'select') {
			const opt = el.options[c.index];
			const g = opt && isEl(opt.parentElement, 'optgroup') ? opt.parentElement : null;
			if (!opt || opt.disabled || (g && g.disabled) || opt.value !== c.value) return 'bad';
			if (el.selectedIndex !== c.index) {
				el.selectedIndex = c.index;
				fire(el, 'input');
				fire(el, 'change');
			}
		} else if (o.kind === 'menu') {
			if (c.value === 'selectAll') {
				if (editableOf(el)) el.focus({preventScroll: true});
				(el.ownerDocument || document).execCommand('selectAll');
			}
		} else {
			const before = el.value;
			el.value = c.value; // the field normalises it ("#FF0000" is "#ff0000")
			if (el.value === '' && c.value !== '') {
				el.value = before;
				return 'bad';
			}
			if (el.value !== before) {
				fire(el, 'input');
				fire(el, 'change');
			}
		}
		close('picked');
		return 'ok';
	};
})();
