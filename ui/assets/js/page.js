// PageView shows the shared page as a live copy of its DOM (Page mode), built from the
// server's sanitised snapshots and patches (docs/protocol.md, "Page mode") inside a
// sandboxed frame whose policy lets nothing run and nothing load but Tandem's own assets.
// Nodes are made with DOM calls, never parsed from HTML. The copy is laid out at the tab's
// viewport size and scaled to the picture's box, so pointers and input map the same way
// in both modes. Regions only pictures can show are canvases filled from the screencast.
// Same-origin frames of the page are frames of the copy, built the same way: their
// documents are filled from here (they inherit the copy's sandbox and policy).
const NS = { svg: 'http://www.w3.org/2000/svg', math: 'http://www.w3.org/1998/Math/MathML' };
const HTML = 'http://www.w3.org/1999/xhtml';
const XLINK = 'http://www.w3.org/1999/xlink';

// Styles the copy itself needs: masked boxes and pixel regions cannot be restyled by the
// page's CSS (their styles are inline and important), and the controller's focus shows.
const OWN_CSS = `[data-tandem-focus]{outline:2px solid #4f46e5 !important;outline-offset:1px !important}
::highlight(tandem-selection){background-color:rgba(79,70,229,.28);color:inherit}
html{scrollbar-width:thin}`;

export class PageView {
  // opts: wrap (the element the copy sits in), onPointer(clientX, clientY), onLeave(),
  // onBlocked({clientX, clientY}) (a press on a control of the copy), onResync(), onSize(w, h)
  constructor(opts) {
    this.o = opts;
    this.frame = null;
    this.doc = null;
    this.nodes = new Map(); // id → node (elements, texts, shadow roots, frame documents)
    this.frames = new Map(); // <iframe> of the copy → {doc: its fd, html: its built root}
    this.extra = new WeakSet(); // nodes the copy adds (its own styles): kept by changes
    this.pixels = new Set(); // canvases of pixel regions
    this.gen = 0;
    this.seq = 0;
    this.vw = 0;
    this.vh = 0;
    this.focused = null;
    this.waiting = [];
    this.active = false;
    this.interactive = true;
    this.ready = false;
  }

  // show turns Page mode on or off in the viewer.
  show(on) {
    this.active = on;
    if (!on) {
      if (this.frame) this.frame.hidden = true;
      this.ready = false;
      return;
    }
    if (!this.frame) this.makeFrame();
    this.frame.hidden = !this.ready;
  }

  // prepare loads the copy's empty frame ahead of the first snapshot.
  prepare() {
    if (!this.frame) this.makeFrame();
  }

  makeFrame() {
    const f = document.createElement('iframe');
    f.className = 'page-copy';
    f.title = 'The shared page';
    // Scripts never run in the copy; same origin only lets the viewer build it.
    f.setAttribute('sandbox', 'allow-same-origin');
    f.setAttribute('referrerpolicy', 'no-referrer');
    f.src = '/page-frame';
    f.hidden = true;
    f.style.pointerEvents = this.interactive ? 'auto' : 'none';
    this.frame = f;
    this.loaded = new Promise((resolve) => f.addEventListener('load', resolve, { once: true }));
    this.o.wrap.prepend(f);
  }

  // conceal hides the copy until the next snapshot (the page is hidden from this role),
  // staying in Page mode.
  conceal() {
    if (this.frame) this.frame.hidden = true;
    this.ready = false;
  }

  // setInteractive lets the copy take the mouse (select text, find, read) or leaves it to
  // the input surface below (the participant in control drives the tab).
  setInteractive(on) {
    this.interactive = on;
    if (this.frame) this.frame.style.pointerEvents = on ? 'auto' : 'none';
  }

  async snapshot(m) {
    if (!this.frame) this.makeFrame();
    // Patches that follow this snapshot wait while the frame loads and the copy is built.
    this.gen = m.gen;
    this.seq = 0;
    this.ready = false;
    this.waiting = [];
    await this.loaded;
    if (this.gen !== m.gen) return; // a newer snapshot came meanwhile
    const doc = this.frame.contentDocument;
    if (!doc) return;
    this.doc = doc;
    this.nodes = new Map();
    this.frames = new Map();
    this.pixels = new Set();
    this.focused = null;
    this.hovered = [];
    const root = this.build(m.root, '');
    if (!root) return;
    doc.replaceChild(root, doc.documentElement);
    this.dress(doc, m.sheets);
    if (this.listening !== doc) {
      this.listening = doc; // the frame's document outlives snapshots: listen once
      this.listen(doc);
    }
    this.mountFrames();
    this.size(m.vw, m.vh);
    this.ready = true;
    this.frame.hidden = !this.active;
    const waiting = this.waiting;
    this.waiting = [];
    for (const p of waiting) this.patch(p);
    // Scroll positions need the layout: after it.
    requestAnimationFrame(() => {
      this.scrollTo(0, m.sx, m.sy);
      this.restoreScrolls(m.root);
    });
  }

  // dress adds what the copy itself needs to a document: its own styles and the page's
  // adopted sheets, marked as the copy's so the page's changes leave them alone.
  dress(doc, sheets) {
    const head = doc.head || doc.documentElement.insertBefore(doc.createElement('head'), doc.documentElement.firstChild);
    const own = doc.createElement('style');
    own.textContent = OWN_CSS;
    this.extra.add(own);
    head.prepend(own);
    for (const css of sheets || []) {
      const s = doc.createElement('style');
      s.textContent = css;
      this.extra.add(s);
      head.append(s);
    }
  }

  // mountFrames puts each frame's built document into its <iframe>: once it is in the
  // copy, and again whenever the browser gave it a fresh document (a frame moved).
  mountFrames() {
    for (const [el, f] of this.frames) {
      if (!el.isConnected) continue;
      const d = el.contentDocument;
      if (!d || d.documentElement === f.html) continue;
      try {
        d.open();
        d.write(f.fd.q ? '<html></html>' : '<!doctype html><html></html>');
        d.close();
        d.replaceChild(d.adoptNode(f.html), d.documentElement);
      } catch {
        continue; // a document the copy cannot write
      }
      this.nodes.set(f.fd.i, d);
      this.dress(d, f.fd.sheets);
      this.listen(d);
      this.mountFrames(); // frames inside it
      requestAnimationFrame(() => { for (const c of f.fd.c || []) this.restoreScrolls(c); });
    }
  }

  patch(m) {
    if (m.gen !== this.gen) return; // of another snapshot
    if (!this.ready) {
      this.waiting.push(m);
      return;
    }
    if (m.seq !== this.seq + 1) {
      this.o.onResync(); // a change went missing: start again from a snapshot
      return;
    }
    this.seq = m.seq;
    for (const op of m.ops || []) {
      try {
        this.apply(op);
      } catch {
        // one odd change must not stop the others
      }
    }
  }

  apply(op) {
    const [kind, id] = op;
    const n = this.nodes.get(id);
    switch (kind) {
      case 'kids': {
        if (!n) return;
        const list = [];
        for (const e of op[2]) {
          if (typeof e === 'number') {
            const k = this.nodes.get(e);
            if (k) list.push(k);
            else { this.o.onResync(); return; }
          } else {
            const k = this.build(e, n.namespaceURI === NS.svg ? 'svg' : '');
            if (k) list.push(k);
          }
        }
        const keep = new Set(list);
        for (const c of Array.from(n.childNodes)) if (!keep.has(c) && !this.extra.has(c)) this.forget(c);
        // In place: a node that stays is not taken out and put back (a frame would
        // reload, a scroll position reset).
        let at = n.firstChild;
        const skip = () => { while (at && this.extra.has(at)) at = at.nextSibling; };
        skip();
        for (const k of list) {
          if (k === at) {
            at = at.nextSibling;
            skip();
          } else {
            n.insertBefore(k, at);
          }
        }
        while (at) {
          const next = at.nextSibling;
          if (!this.extra.has(at)) at.remove();
          at = next;
        }
        this.mountFrames();
        break;
      }
      case 'attr':
        if (!n || n.nodeType !== 1) return;
        if (op[3] === null) n.removeAttribute(op[2]);
        else this.setAttr(n, op[2], op[3]);
        break;
      case 'text':
        if (n && n.nodeType === 3) n.data = op[2];
        break;
      case 'css':
        if (n) n.textContent = op[2];
        break;
      case 'val':
        if (n && 'value' in n) n.value = op[2];
        break;
      case 'chk':
        if (n && 'checked' in n) n.checked = !!op[2];
        break;
      case 'opt':
        if (n && n.options) Array.from(n.options).forEach((o, i) => { o.selected = op[2].includes(i); });
        break;
      case 'size':
        if (n && n.style) {
          n.style.setProperty('width', `${op[2]}px`, 'important');
          n.style.setProperty('height', `${op[3]}px`, 'important');
        }
        break;
      case 'scroll':
        this.scrollTo(id, op[2], op[3]);
        break;
      case 'vp':
        this.size(op[1], op[2]);
        break;
      case 'focus':
        if (this.focused) this.focused.removeAttribute('data-tandem-focus');
        this.focused = n && n.nodeType === 1 ? n : null;
        if (this.focused) this.focused.setAttribute('data-tandem-focus', '');
        break;
      case 'select':
        this.select(op);
        break;
      case 'hover':
        // The page's :hover rules read [data-tandem-hover] in the copy: the element under
        // the controller's pointer and every element it is in.
        for (const el of this.hovered || []) el.removeAttribute('data-tandem-hover');
        this.hovered = [];
        for (let el = n; el && el.nodeType === 1;) {
          el.setAttribute('data-tandem-hover', '');
          this.hovered.push(el);
          const p = el.parentNode;
          el = p && p.nodeType === 11 ? p.host : p && p.nodeType === 9 ? p.defaultView && p.defaultView.frameElement : p;
        }
        break;
      default:
        break;
    }
  }

  // build makes the node n (and its subtree) in the copy's document.
  build(n, parentNS) {
    const doc = this.doc;
    if (typeof n.x === 'string') {
      const t = doc.createTextNode(n.x);
      this.nodes.set(n.i, t);
      return t;
    }
    let el;
    if (n.mask) {
      el = doc.createElement('div');
      el.setAttribute('data-tandem-masked', '');
      el.setAttribute('role', 'img');
      el.setAttribute('aria-label', 'Hidden from you');
      this.boxStyle(el, n, '#9aa0a6');
    } else if (n.px) {
      el = doc.createElement('canvas');
      el.setAttribute('data-tandem-pixels', '');
      el.setAttribute('aria-hidden', 'true');
      this.boxStyle(el, n, 'transparent');
      this.pixels.add(el);
    } else {
      const ns = NS[n.ns] || (parentNS === 'svg' ? NS.svg : HTML);
      try {
        el = doc.createElementNS(ns, n.n);
      } catch {
        el = doc.createElement('span');
      }
      for (const [k, v] of n.a || []) this.setAttr(el, k, v);
      if (n.fd && el.tagName === 'IFRAME') {
        // A same-origin frame: its document is built now and mounted once the frame is
        // in the copy (only then does it have a document to hold it).
        el.setAttribute('sandbox', 'allow-same-origin');
        el.setAttribute('referrerpolicy', 'no-referrer');
        const html = (n.fd.c || []).map((c) => this.build(c, '')).find((k) => k && k.nodeType === 1);
        if (html) this.frames.set(el, { fd: n.fd, html });
      }
      if (typeof n.css === 'string') el.textContent = n.css;
      if (n.sr) {
        let root = null;
        try { root = el.attachShadow({ mode: 'open' }); } catch { /* not a host in the copy */ }
        const into = root || el;
        if (root) this.nodes.set(n.sr.i, root);
        for (const css of n.sr.sheets || []) {
          const s = doc.createElement('style');
          s.textContent = css;
          into.append(s);
        }
        for (const c of n.sr.c || []) {
          const k = this.build(c, n.ns || '');
          if (k) into.append(k);
        }
      }
      for (const c of n.c || []) {
        const k = this.build(c, n.ns || (n.n === 'svg' ? 'svg' : ''));
        if (k) el.append(k);
      }
      if (typeof n.v === 'string' && 'value' in el) el.value = n.v;
      if (typeof n.ck === 'boolean' && 'checked' in el) el.checked = n.ck;
      if (n.sel && el.options) Array.from(el.options).forEach((o, i) => { o.selected = n.sel.includes(i); });
    }
    this.nodes.set(n.i, el);
    return el;
  }

  // select shows the tab's text selection (the controller's) as a highlight, leaving the
  // participant's own selection in the copy alone.
  select(op) {
    const win = this.frame && this.frame.contentWindow;
    if (!win || !win.CSS || !win.CSS.highlights || !win.Highlight) return;
    win.CSS.highlights.delete('tandem-selection');
    if (!op[1]) return;
    const a = this.nodes.get(op[1]);
    const f = this.nodes.get(op[3]);
    if (!a || !f) return;
    try {
      const r = this.doc.createRange();
      r.setStart(a, Math.min(op[2], a.nodeType === 3 ? a.length : a.childNodes.length));
      r.setEnd(f, Math.min(op[4], f.nodeType === 3 ? f.length : f.childNodes.length));
      if (r.collapsed) { r.setStart(f, Math.min(op[4], f.nodeType === 3 ? f.length : f.childNodes.length)); r.setEnd(a, Math.min(op[2], a.nodeType === 3 ? a.length : a.childNodes.length)); }
      win.CSS.highlights.set('tandem-selection', new win.Highlight(r));
    } catch {
      // ends the copy cannot place
    }
  }

  setAttr(el, k, v) {
    try {
      if (k === 'xlink:href') el.setAttributeNS(XLINK, k, v);
      else el.setAttribute(k, v);
    } catch {
      // a name the copy's document refuses
    }
  }

  // boxStyle gives a box its captured size, so the copy keeps its layout.
  boxStyle(el, n, background) {
    const [w, h] = n.bx || [0, 0];
    const st = el.style;
    st.setProperty('display', n.d && n.d !== 'inline' ? n.d : 'inline-block', 'important');
    st.setProperty('width', `${w}px`, 'important');
    st.setProperty('height', `${h}px`, 'important');
    st.setProperty('background', background, 'important');
    st.setProperty('box-sizing', 'border-box', 'important');
    st.setProperty('vertical-align', 'bottom', 'important');
    if (el.tagName === 'CANVAS') {
      el.width = Math.max(1, Math.round(w));
      el.height = Math.max(1, Math.round(h));
    }
  }

  forget(node) {
    const walker = this.doc.createTreeWalker(node, NodeFilter.SHOW_ALL);
    for (let k = walker.currentNode; k; k = walker.nextNode()) {
      if (this.focused === k) this.focused = null;
      this.pixels.delete(k);
    }
    // Ids stay in the map only while their node is in the copy.
    for (const [id, k] of this.nodes) if (!k.isConnected && (k === node || node.contains(k))) this.nodes.delete(id);
  }

  restoreScrolls(n) {
    if (!n || typeof n.x === 'string') return;
    if (n.s) this.scrollTo(n.i, n.s[0], n.s[1]);
    for (const c of n.c || []) this.restoreScrolls(c);
    if (n.sr) for (const c of n.sr.c || []) this.restoreScrolls(c);
    if (n.fd) for (const c of n.fd.c || []) this.restoreScrolls(c);
  }

  scrollTo(id, x, y) {
    if (!this.doc) return;
    const el = id === 0 ? (this.doc.scrollingElement || this.doc.documentElement) : this.nodes.get(id);
    if (el && el.nodeType === 1) {
      el.scrollLeft = x;
      el.scrollTop = y;
    }
  }

  // size lays the copy out at the tab's viewport size; layout scales it to the box.
  size(w, h) {
    if (!(w > 0 && h > 0)) return;
    this.vw = w;
    this.vh = h;
    this.frame.style.width = `${w}px`;
    this.frame.style.height = `${h}px`;
    this.o.onSize(w, h);
  }

  // layout scales the copy to the picture's box, width × height CSS px.
  layout(width) {
    if (!this.frame || !this.vw) return;
    this.frame.style.transform = `scale(${width / this.vw})`;
  }

  // paint fills the pixel regions with their part of the newest picture.
  paint(bitmap, header) {
    if (!this.ready || !this.pixels.size || !bitmap || !this.doc) return;
    const tw = (header && header.width) || this.vw;
    const kx = bitmap.width / tw;
    const ky = bitmap.height / ((header && header.height) || this.vh);
    for (const c of this.pixels) {
      const r = this.rectInCopy(c); // in the copy's own viewport: the tab's
      if (r.width <= 0 || r.height <= 0) continue;
      const ctx = c.getContext('2d');
      if (!ctx) continue;
      c.width = Math.max(1, Math.round(r.width * kx));
      c.height = Math.max(1, Math.round(r.height * ky));
      ctx.drawImage(bitmap, r.left * kx, r.top * ky, r.width * kx, r.height * ky, 0, 0, c.width, c.height);
    }
  }

  // rectInCopy is el's box in the copy's top viewport, through the frames it is in.
  rectInCopy(el) {
    const r = el.getBoundingClientRect();
    let { left, top } = r;
    for (let w = el.ownerDocument.defaultView; w && w.frameElement && el.ownerDocument !== this.doc; w = w.frameElement.ownerDocument.defaultView) {
      const f = w.frameElement;
      const fr = f.getBoundingClientRect();
      left += fr.left + f.clientLeft;
      top += fr.top + f.clientTop;
      if (f.ownerDocument === this.doc) break;
    }
    return { left, top, width: r.width, height: r.height };
  }

  // listen keeps the copy inert for the participant: links and forms go nowhere (a press
  // on them says how to interact, as over the picture), and the pointer is shared.
  listen(doc) {
    // at maps an event in doc to the viewer's own coordinates.
    const at = (e) => {
      const r = this.frame.getBoundingClientRect();
      const k = r.width / this.vw;
      let x = e.clientX, y = e.clientY;
      if (doc !== this.doc) {
        const box = this.rectInCopy(doc.documentElement);
        const root = doc.documentElement.getBoundingClientRect();
        x += box.left - root.left;
        y += box.top - root.top;
      }
      return { clientX: r.left + x * k, clientY: r.top + y * k };
    };
    const stop = (e) => {
      const a = e.target.closest ? e.target.closest('a, button, input, select, textarea, label, summary') : null;
      if (!a) return;
      e.preventDefault();
      this.o.onBlocked(at(e));
    };
    doc.addEventListener('click', stop, true);
    doc.addEventListener('submit', (e) => e.preventDefault(), true);
    doc.addEventListener('mousemove', (e) => {
      const p = at(e);
      this.o.onPointer(p.clientX, p.clientY);
    }, true);
    doc.addEventListener('mouseleave', () => this.o.onLeave(), true);
  }
}
