// Drawings: participants mark the shared view (freehand, arrow, highlight) for everyone,
// in their colour, over the picture and over the page copy alike. A drawing lives in page
// (document) CSS px, so it stays on what it marks while the page scrolls; it is redrawn in
// screen px whenever the picture's scroll, the copy's scroll or the layout changes, and
// fades over the last second of its ttl. Drawing is never input to the tab: while
// drawing mode is on, the overlay takes the mouse and touch before the picture can.
const SVG = 'http://www.w3.org/2000/svg';
const MAX_POINTS = 500; // of a freehand stroke (docs/protocol.md)
const MAX_COORD = 100000;
const FADE = 1000; // ms: drawings fade out over the last second of their ttl
const STROKE = 4; // screen px
const MIN_STEP = 2; // screen px between two points of a stroke kept
const SHAPES = { free: 'freehand stroke', arrow: 'arrow', rect: 'highlight' };

const el = (tag, attrs = {}) => {
  const n = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) n.setAttribute(k, v);
  return n;
};

export class Drawings {
  // opts: wrap (the picture's box), screen (Screen), page (PageView), send(msg),
  // me() → {id, color}, mayDraw(), person(id) → {name, color}, announce(text)
  constructor(opts) {
    this.o = opts;
    this.wrap = opts.wrap;
    this.svg = el('svg', { class: 'drawings', 'aria-hidden': 'true' });
    this.wrap.insertBefore(this.svg, opts.wrap.querySelector('#pointers'));
    this.items = new Map(); // id → drawing {id, from, color, shape, points, born, ttl, g}
    this.pending = []; // my drawings sent and not yet back from the server
    this.live = null; // my stroke in progress
    this.on = false;
    this.shape = 'free';
    this.raf = 0;
    this.viewKey = '';
    this.bind();
  }

  bind() {
    const s = this.svg;
    s.addEventListener('pointerdown', (e) => this.down(e));
    s.addEventListener('pointermove', (e) => this.moveTo(e));
    s.addEventListener('pointerup', (e) => this.up(e));
    s.addEventListener('pointercancel', () => this.cancel());
    s.addEventListener('contextmenu', (e) => e.preventDefault());
    // Escape leaves drawing mode before the key sink could send it to the tab.
    window.addEventListener('keydown', (e) => {
      if (e.key !== 'Escape' || !this.on) return;
      e.preventDefault();
      e.stopImmediatePropagation();
      this.setOn(false);
    }, true);
  }

  // setOn turns drawing mode on or off; the viewer shows it (toolbar, hint).
  setOn(on) {
    on = !!on && this.o.mayDraw();
    if (on === this.on) return;
    this.on = on;
    if (!on) this.cancel();
    this.svg.classList.toggle('is-drawing', on);
    this.o.onMode && this.o.onMode(on);
  }

  // view is how page px map to the box's px now: scale and the page's scroll, from the
  // copy in Page mode and from the newest picture otherwise.
  view() {
    const w = this.wrap.clientWidth;
    const sc = this.o.screen;
    const pg = this.o.page;
    if (sc.pageShown() && pg.vw > 0 && pg.doc) {
      const root = pg.doc.scrollingElement || pg.doc.documentElement;
      return { k: w / pg.vw, sx: root ? root.scrollLeft : 0, sy: root ? root.scrollTop : 0 };
    }
    const hd = sc.header || {};
    if (hd.width > 0) return { k: w / hd.width, sx: hd.scrollX || 0, sy: hd.scrollY || 0 };
    return null;
  }

  // toPage maps a client point to page px, clamped to the picture's box.
  toPage(clientX, clientY) {
    const v = this.view();
    if (!v) return null;
    const r = this.wrap.getBoundingClientRect();
    const lx = Math.min(Math.max(clientX - r.left, 0), r.width);
    const ly = Math.min(Math.max(clientY - r.top, 0), r.height);
    const clamp = (n) => Math.min(Math.max(Math.round(n * 10) / 10, 0), MAX_COORD);
    return [clamp(lx / v.k + v.sx), clamp(ly / v.k + v.sy)];
  }

  // --- drawing with mouse, pen or finger ---

  down(e) {
    if (!this.on || !e.isPrimary || (e.pointerType === 'mouse' && e.button !== 0)) return;
    e.preventDefault();
    const p = this.toPage(e.clientX, e.clientY);
    if (!p) return;
    this.svg.setPointerCapture(e.pointerId);
    const me = this.o.me() || {};
    this.live = this.make({ id: '', from: me.id, color: me.color, shape: this.shape, points: this.shape === 'free' ? [p] : [p, p] }, true);
    this.live.lastScreen = [e.clientX, e.clientY];
    this.kick();
  }

  moveTo(e) {
    const d = this.live;
    if (!d || !e.isPrimary) return;
    e.preventDefault();
    const p = this.toPage(e.clientX, e.clientY);
    if (!p) return;
    if (d.shape === 'free') {
      const [x, y] = d.lastScreen;
      if (Math.hypot(e.clientX - x, e.clientY - y) < MIN_STEP) return;
      d.lastScreen = [e.clientX, e.clientY];
      if (d.points.length >= MAX_POINTS) d.points = d.points.filter((_, i) => i % 2 === 0); // thin a long stroke
      d.points.push(p);
    } else {
      d.points[1] = p;
    }
    d.key = ''; // redraw
    this.kick();
  }

  up(e) {
    const d = this.live;
    if (!d || !e.isPrimary) return;
    this.moveTo(e);
    this.live = null;
    const v = this.view();
    const [a, b] = [d.points[0], d.points[d.points.length - 1]];
    // A tap draws nothing as an arrow or a highlight: both need a length.
    if (d.shape !== 'free' && v && Math.hypot(b[0] - a[0], b[1] - a[1]) * v.k < 6) {
      d.g.remove();
      return;
    }
    if (!this.o.send({ type: 'draw', shape: d.shape, points: d.points })) {
      d.g.remove();
      return;
    }
    d.born = performance.now();
    d.ttl = 6000;
    this.pending.push(d);
    // Until the server's copy comes back, mine shows as sent; a refusal takes it away.
    d.timer = setTimeout(() => this.dropPending(d), 5000);
    this.kick();
  }

  cancel() {
    if (this.live) this.live.g.remove();
    this.live = null;
  }

  dropPending(d) {
    clearTimeout(d.timer);
    d.g.remove();
    this.pending = this.pending.filter((x) => x !== d);
  }

  // refused: the server said no to something of mine; a drawing on its way was it.
  refused() {
    for (const d of [...this.pending]) this.dropPending(d);
  }

  // clearMine asks the server to take my drawings away from everyone.
  clearMine() {
    this.o.send({ type: 'draw', action: 'clear' });
  }

  // --- what the server relays ---

  add(m) {
    if (!Array.isArray(m.points) || !SHAPES[m.shape]) return;
    const me = this.o.me();
    if (me && m.from === me.id && this.pending.length) this.dropPending(this.pending[0]);
    const who = this.o.person(m.from);
    const d = this.make({ ...m, color: m.color || (who && who.color) }, !!me && m.from === me.id);
    d.born = performance.now();
    d.ttl = m.ttl > 0 ? m.ttl : 6000;
    const old = this.items.get(m.id);
    if (old) old.g.remove();
    this.items.set(m.id, d);
    if (!me || m.from !== me.id) this.o.announce(`${m.name || (who && who.name) || 'Someone'} drew a ${SHAPES[m.shape]} on the page.`);
    this.kick();
  }

  clear(from) {
    for (const [id, d] of this.items) {
      if (d.from === from) {
        d.g.remove();
        this.items.delete(id);
      }
    }
  }

  // reset forgets every drawing (a new connection: the old ones are of another time).
  reset() {
    for (const d of this.items.values()) d.g.remove();
    this.items.clear();
    for (const d of [...this.pending]) this.dropPending(d);
    this.cancel();
  }

  // --- rendering ---

  make(m, mine) {
    const g = el('g', { class: `drawing drawing-${m.shape}`, 'data-from': m.from || '', 'data-id': m.id || '' });
    g.style.setProperty('--c', m.color || '#4f46e5');
    const halo = el('path', { class: 'draw-halo' });
    const ink = el('path', { class: 'draw-ink' });
    g.append(halo, ink);
    if (!mine) {
      // The author's name on a tag at the shape's start, as on pointers.
      const who = this.o.person(m.from);
      const name = m.name || (who && who.name) || '';
      if (name) {
        const tag = el('g', { class: 'draw-tag' });
        const text = el('text', { class: 'draw-tag-text' });
        text.textContent = name;
        tag.append(el('rect', { class: 'draw-tag-box', rx: 5 }), text);
        g.append(tag);
      }
    }
    this.svg.append(g);
    return { ...m, points: m.points.map((p) => [p[0], p[1]]), g, halo, ink, key: '' };
  }

  // kick runs the animation loop while there is anything to show or fade.
  kick() {
    if (!this.raf) this.raf = requestAnimationFrame(() => this.frame());
  }

  // layout redraws at once (the box or the scroll changed).
  layout() {
    this.viewKey = '';
    if (this.items.size || this.pending.length || this.live) this.frame();
  }

  frame() {
    this.raf = 0;
    const v = this.view();
    const now = performance.now();
    const all = [...this.items.values(), ...this.pending];
    if (this.live) all.push(this.live);
    if (!all.length) return;
    const w = this.wrap.clientWidth;
    const h = this.wrap.clientHeight;
    const key = v ? `${v.k.toFixed(5)}|${v.sx}|${v.sy}|${w}|${h}` : '';
    for (const d of all) {
      if (d.born !== undefined) {
        const left = d.ttl - (now - d.born);
        if (left <= 0) {
          d.g.remove();
          if (this.items.get(d.id) === d) this.items.delete(d.id);
          else if (this.pending.includes(d)) this.dropPending(d);
          continue;
        }
        d.g.style.opacity = String(Math.min(1, left / FADE));
      }
      if (v && d.key !== key) {
        this.shapeOf(d, v);
        d.key = key;
      }
    }
    this.viewKey = key;
    this.raf = requestAnimationFrame(() => this.frame());
  }

  // shapeOf sets a drawing's paths in the box's px.
  shapeOf(d, v) {
    const at = (p) => [(p[0] - v.sx) * v.k, (p[1] - v.sy) * v.k];
    const f = (n) => n.toFixed(1);
    let path = '';
    const pts = d.points.map(at);
    if (d.shape === 'free') {
      path = pts.map((p, i) => `${i ? 'L' : 'M'}${f(p[0])} ${f(p[1])}`).join('');
      if (pts.length === 1) path += 'l0.01 0'; // a dot
    } else if (d.shape === 'arrow') {
      const [[x1, y1], [x2, y2]] = pts;
      const len = Math.hypot(x2 - x1, y2 - y1) || 1;
      const head = Math.min(18, len * 0.6);
      const ux = (x2 - x1) / len;
      const uy = (y2 - y1) / len;
      const bx = x2 - ux * head;
      const by = y2 - uy * head;
      const wx = -uy * head * 0.55;
      const wy = ux * head * 0.55;
      path = `M${f(x1)} ${f(y1)}L${f(x2)} ${f(y2)}M${f(bx + wx)} ${f(by + wy)}L${f(x2)} ${f(y2)}L${f(bx - wx)} ${f(by - wy)}`;
    } else {
      const [[x1, y1], [x2, y2]] = pts;
      const x = Math.min(x1, x2);
      const y = Math.min(y1, y2);
      const w = Math.abs(x2 - x1);
      const h = Math.abs(y2 - y1);
      const r = Math.min(6, w / 2, h / 2);
      path = `M${f(x + r)} ${f(y)}H${f(x + w - r)}Q${f(x + w)} ${f(y)} ${f(x + w)} ${f(y + r)}V${f(y + h - r)}Q${f(x + w)} ${f(y + h)} ${f(x + w - r)} ${f(y + h)}H${f(x + r)}Q${f(x)} ${f(y + h)} ${f(x)} ${f(y + h - r)}V${f(y + r)}Q${f(x)} ${f(y)} ${f(x + r)} ${f(y)}Z`;
    }
    d.halo.setAttribute('d', path);
    d.ink.setAttribute('d', path);
    d.ink.setAttribute('stroke-width', String(d.shape === 'rect' ? STROKE - 1 : STROKE));
    d.halo.setAttribute('stroke-width', String((d.shape === 'rect' ? STROKE - 1 : STROKE) + 3));
    const tag = d.g.querySelector('.draw-tag');
    if (tag) {
      const [x, y] = d.shape === 'rect'
        ? [Math.min(pts[0][0], pts[1][0]), Math.min(pts[0][1], pts[1][1])]
        : pts[0];
      const text = tag.querySelector('text');
      const box = tag.querySelector('rect');
      const tw = text.getComputedTextLength ? text.getComputedTextLength() : 40;
      // Above the shape's corner, inside the box where it can be.
      const ty = y - 24 >= 0 ? y - 24 : y + 4;
      text.setAttribute('x', f(x + 7));
      text.setAttribute('y', f(ty + 14.5));
      box.setAttribute('x', f(x));
      box.setAttribute('y', f(ty));
      box.setAttribute('width', f(tw + 14));
      box.setAttribute('height', '20');
    }
  }
}
