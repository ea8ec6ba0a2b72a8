// Screen draws the newest frame on a canvas sized to the letterboxed picture rect (sharp
// on HiDPI) and draws other participants' pointers over it.
import { h, $ } from './dom.js';
import { clamp01 } from './protocol.js';

export class Screen {
  constructor(stage) {
    this.stage = stage;
    this.wrap = $('#screen-wrap');
    this.canvas = $('#screen');
    this.ctx = this.canvas.getContext('2d', { alpha: false });
    this.layer = $('#pointers');
    this.placeholder = $('#placeholder');
    this.bitmap = null;
    this.header = null;
    this.pending = null; // newest frame waiting while one decodes
    this.decoding = false;
    this.pointers = new Map(); // participant id → element
    this.seq = -1;
    this.page = null; // the PageView, in Page mode
  }

  // hasFrame: there is a picture (or a page copy) to point at and drive.
  get hasFrame() {
    return !!this.bitmap || this.pageShown();
  }

  pageShown() {
    return !!(this.page && this.page.active && this.page.ready);
  }

  // showPage makes the copy visible once it is built.
  showPage() {
    this.wrap.hidden = false;
    this.placeholder.hidden = true;
    $('#hidden-note').hidden = true;
    this.wrap.classList.toggle('is-page', this.pageShown());
    this.layout();
  }

  // frame takes a decoded wire frame; decodes one at a time, newest wins.
  frame(f) {
    this.pending = f;
    if (!this.decoding) this.decodeNext();
  }

  async decodeNext() {
    const f = this.pending;
    this.pending = null;
    if (!f) return;
    if (typeof f.header.seq === 'number' && f.header.seq <= this.seq) {
      this.decodeNext(); // a stale frame after a newer one: skip
      return;
    }
    this.decoding = true;
    try {
      const bmp = await createImageBitmap(f.jpeg);
      if (this.bitmap) this.bitmap.close();
      this.bitmap = bmp;
      this.header = f.header;
      if (typeof f.header.seq === 'number') this.seq = f.header.seq;
      this.show();
    } catch {
      // A corrupt JPEG costs one frame; the next one repairs the picture.
    } finally {
      this.decoding = false;
    }
    if (this.pending) this.decodeNext();
  }

  // resetSeq accepts any sequence number again (a new connection may restart it).
  resetSeq() {
    this.seq = -1;
  }

  show() {
    if (this.wrap.hidden) {
      this.wrap.hidden = false;
      this.placeholder.hidden = true;
    }
    const hd = this.header || {};
    $('#hidden-note').hidden = !hd.hidden;
    $('#masked-note').hidden = !hd.masked || !!hd.hidden;
    this.layout();
  }

  // aspect of the picture: the tab's CSS viewport, falling back to the JPEG's size.
  aspect() {
    if (this.pageShown() && this.page.vw > 0 && this.page.vh > 0) return this.page.vw / this.page.vh;
    const hd = this.header || {};
    if (hd.width > 0 && hd.height > 0) return hd.width / hd.height;
    return this.bitmap ? this.bitmap.width / this.bitmap.height : 16 / 10;
  }

  layout() {
    if (!this.bitmap && !this.pageShown()) return;
    const W = this.stage.clientWidth;
    const H = this.stage.clientHeight;
    if (W <= 0 || H <= 0) return;
    const a = this.aspect();
    let w = W;
    let hgt = W / a;
    if (hgt > H) {
      hgt = H;
      w = H * a;
    }
    w = Math.max(1, Math.floor(w));
    hgt = Math.max(1, Math.floor(hgt));
    const left = Math.floor((W - w) / 2);
    const top = Math.floor((H - hgt) / 2);
    const st = this.wrap.style;
    st.left = `${left}px`;
    st.top = `${top}px`;
    st.width = `${w}px`;
    st.height = `${hgt}px`;
    const dpr = window.devicePixelRatio || 1;
    const bw = Math.round(w * dpr);
    const bh = Math.round(hgt * dpr);
    if (this.canvas.width !== bw || this.canvas.height !== bh) {
      this.canvas.width = bw;
      this.canvas.height = bh;
    }
    this.draw();
    if (this.page) this.page.layout(w);
    for (const el of this.pointers.values()) this.flip(el);
  }

  draw() {
    if (!this.bitmap) return;
    if (this.page) this.page.paint(this.bitmap, this.header);
    const c = this.ctx;
    c.imageSmoothingEnabled = true;
    c.imageSmoothingQuality = 'high';
    c.drawImage(this.bitmap, 0, 0, this.canvas.width, this.canvas.height);
  }

  // normalise maps client coordinates to the picture: {x, y, inside}.
  normalise(clientX, clientY) {
    const r = this.canvas.getBoundingClientRect();
    if (r.width <= 0 || r.height <= 0) return { x: 0, y: 0, inside: false };
    const x = (clientX - r.left) / r.width;
    const y = (clientY - r.top) / r.height;
    return { x: clamp01(x), y: clamp01(y), inside: x >= 0 && x <= 1 && y >= 0 && y <= 1 };
  }

  // pointer shows, moves or hides a participant's named arrow.
  pointer(msg, who) {
    let el = this.pointers.get(msg.participant);
    if (msg.visible === false || !who) {
      if (el) el.classList.add('is-hidden');
      return;
    }
    if (!el) {
      el = h('div', { class: 'pointer' },
        h('span', {
          class: 'pointer-arrow',
          html: '<svg viewBox="0 0 20 22" width="20" height="22"><path d="M2 2l15 8.2-6.6 1.6L7.6 19z" stroke="#fff" stroke-width="1.6" stroke-linejoin="round"/></svg>',
        }),
        h('span', { class: 'pointer-label' }));
      this.layer.append(el);
      this.pointers.set(msg.participant, el);
    }
    el.style.setProperty('--c', who.color || '#4f46e5');
    el.querySelector('.pointer-label').textContent = who.name || 'Someone';
    el.style.left = `${clamp01(msg.x) * 100}%`;
    el.style.top = `${clamp01(msg.y) * 100}%`;
    el.dataset.x = String(clamp01(msg.x));
    this.flip(el);
    el.classList.remove('is-hidden');
  }

  // flip keeps a label inside the picture near its right edge.
  flip(el) {
    const w = this.layer.clientWidth;
    const label = el.querySelector('.pointer-label');
    el.classList.toggle('is-flipped', w > 0 && Number(el.dataset.x) * w + 18 + label.offsetWidth > w);
  }

  // prunePointers removes arrows of participants that left or lost their connection.
  prunePointers(active) {
    for (const [id, el] of this.pointers) {
      if (!active.has(id)) {
        el.remove();
        this.pointers.delete(id);
      }
    }
  }
}
