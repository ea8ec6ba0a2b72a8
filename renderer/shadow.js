// Tandem's shadow root hook, in the page's own world before any page script. Closed
// shadow roots are out of reach of every script, the mask tracker's isolated world
// included, so a masked field inside one would go unmasked. Roots the page asks to be
// closed are attached open and look closed to the page (Element.shadowRoot is null for
// them, ShadowRoot.mode says "closed"); the tracker's world keeps the browser's own
// accessors and sees them. Every attach, and every parse of HTML that can declare shadow
// roots, is signalled to the tracker with an event, so it looks again before the next
// frame paints. Changes to stylesheets by script are signalled too, for the DOM capture.
(() => {
	const E = globalThis.Element && Element.prototype, S = globalThis.ShadowRoot && ShadowRoot.prototype;
	if (!E || !S || !E.attachShadow || E.attachShadow.__tandem) return;
	const attach = E.attachShadow;
	const rootGet = Object.getOwnPropertyDescriptor(E, 'shadowRoot').get;
	const modeGet = Object.getOwnPropertyDescriptor(S, 'mode').get;
	const closed = new WeakSet();
	const Ev = Event, dispatch = EventTarget.prototype.dispatchEvent;
	const signal = (name) => { try { dispatch.call(window, new Ev(name)); } catch (e) {} };
	const define = (obj, name, desc) => {
		const old = Object.getOwnPropertyDescriptor(obj, name);
		if (old) Object.defineProperty(obj, name, {...desc, enumerable: old.enumerable, configurable: true});
	};
	function attachShadow(init) {
		let root;
		if (init && init.mode === 'closed') {
			const open = {};
			for (const k in init) open[k] = init[k];
			open.mode = 'open';
			root = attach.call(this, open);
			closed.add(root);
		} else root = attach.call(this, init);
		signal('__tandem_shadow');
		return root;
	}
	attachShadow.__tandem = true;
	define(E, 'attachShadow', {value: attachShadow, writable: true});
	define(E, 'shadowRoot', {get() { const r = rootGet.call(this); return r && closed.has(r) ? null : r; }});
	define(S, 'mode', {get() { return closed.has(this) ? 'closed' : modeGet.call(this); }});
	// Declarative shadow roots come from the parser, which no hook sees: the renderer
	// looks for closed ones after each parse.
	const parsed = (obj, name) => {
		const f = obj && obj[name];
		if (typeof f !== 'function') return;
		define(obj, name, {value: function (...args) { try { return f.apply(this, args); } finally { signal('__tandem_parse'); } }, writable: true});
	};
	parsed(E, 'setHTMLUnsafe');
	parsed(S, 'setHTMLUnsafe');
	parsed(globalThis.Document, 'parseHTMLUnsafe');
	parsed(globalThis.Document && Document.prototype, 'write');
	parsed(globalThis.Document && Document.prototype, 'writeln');
	// Rules a script inserts or replaces change no DOM: the Page-mode capture is told, so
	// the copy gets them (a replaced rule leaves the count the same).
	const C = globalThis.CSSStyleSheet && CSSStyleSheet.prototype;
	for (const name of ['insertRule', 'deleteRule', 'addRule', 'removeRule', 'replace', 'replaceSync']) {
		const f = C && C[name];
		if (typeof f !== 'function') continue;
		define(C, name, {value: function (...args) { try { return f.apply(this, args); } finally { signal('__tandem_css'); } }, writable: true});
	}
})();
