// Pickers draws the popups the shared page would open outside its picture: a select's
// list, a date, time or colour field's picker and the page's context menu (the server's
// `picker` messages, docs/protocol.md). They are drawn over the picture at the field, in
// Picture and Page mode alike. The participant in control answers with the mouse, touch
// or keys (`pick`); everyone else sees the same popup, read-only.
import { h } from './dom.js';
import { toast } from './toasts.js';

const FIELDS = {
  date: ['Choose a date', 'Date'],
  time: ['Choose a time', 'Time'],
  'datetime-local': ['Choose a date and time', 'Date and time'],
  month: ['Choose a month', 'Month'],
  week: ['Choose a week', 'Week'],
  color: ['Choose a colour', 'Colour'],
};
const PAGE_STEP = 8; // options PageUp and PageDown move by
const GAP = 3; // px between the field and its popup
const EDGE = 8; // px kept free at the stage's edges

export class Pickers {
  // opts: stage, wrap (the picture's box), send(msg), inControl(), controllerName()
  // ('' when nobody holds control), nav() → {allowed, back, forward}, onDone() (focus goes
  // back to the shared page).
  constructor(opts) {
    this.o = opts;
    this.m = null; // the picker message shown
    this.pop = null;
    this.shown = ''; // what the popup was drawn for (see key)
    this.busy = false; // an answer was sent; the server's picker_closed follows
    this.active = -1; // the highlighted option's index in the select / the menu item's
    this.typed = '';
    this.typedAt = 0;
    this.layer = h('div', { class: 'pickers', id: 'pickers' });
    this.catcher = h('div', { class: 'picker-catch', 'aria-hidden': 'true' });
    // A press beside the popup closes it, as a press beside a native one does, and
    // reaches nothing else.
    this.catcher.addEventListener('pointerdown', (e) => {
      e.preventDefault();
      e.stopPropagation();
      this.cancel();
    });
    this.catcher.addEventListener('contextmenu', (e) => e.preventDefault());
    this.layer.append(this.catcher);
    opts.stage.append(this.layer);
    const ro = new ResizeObserver(() => this.place());
    ro.observe(opts.stage);
    ro.observe(opts.wrap);
  }

  get mine() {
    return this.o.inControl();
  }

  // show draws picker m (a new one, or the same id with new content). A picker that only
  // moved (the page scrolled) is moved, so nothing the controller is doing in it is lost.
  show(m) {
    const same = this.m && this.m.id === m.id;
    const content = (x) => JSON.stringify({ ...x, box: null, viewport: null });
    if (same && this.pop && content(m) === content(this.m)) {
      this.m = m;
      this.place();
      return;
    }
    const hadFocus = same && this.pop && this.pop.contains(document.activeElement);
    if (!same) {
      this.active = -1;
      this.busy = false;
    }
    this.m = m;
    this.render(!same || hadFocus, !same);
  }

  // closed removes picker id (or any, without one).
  closed(id) {
    if (!this.m || (id && id !== this.m.id)) return;
    const focused = this.pop && this.pop.contains(document.activeElement);
    this.m = null;
    this.busy = false;
    if (this.pop) this.pop.remove();
    this.pop = null;
    this.layer.classList.remove('is-open', 'is-mine');
    if (focused && this.mine) this.o.onDone();
  }

  // refused: the server did not take the answer; the popup takes input again.
  refused() {
    if (!this.busy || !this.pop) return;
    this.busy = false;
    this.pop.classList.remove('is-busy');
  }

  // update redraws after a change of control or of the page's state, if it shows them.
  update() {
    if (this.m && this.key() !== this.shown) this.render(this.mine && !(this.pop && this.pop.contains(document.activeElement)));
  }

  key() {
    const n = this.o.nav();
    return JSON.stringify([this.mine, this.o.controllerName(), this.m.kind === 'menu' ? n : null]);
  }

  // --- answers ---

  answer(fields) {
    if (!this.m || this.busy || !this.mine) return;
    if (this.o.send({ type: 'pick', id: this.m.id, ...fields })) {
      this.busy = true;
      if (this.pop) this.pop.classList.add('is-busy');
    }
  }

  cancel() {
    if (!this.m || !this.mine) return;
    this.o.send({ type: 'pick', id: this.m.id, cancel: true });
    this.closed(this.m.id); // nothing to wait for: the server closes it in any case
  }

  // --- drawing ---

  // render draws the popup anew; focus moves into it when it is the controller's, and a
  // fresh one fades in (a changed one does not flicker).
  render(focus, fresh = false) {
    const m = this.m;
    if (this.pop) this.pop.remove();
    const mine = this.mine;
    let pop;
    if (m.masked && m.kind !== 'menu') pop = this.privateBox();
    else if (m.kind === 'select') pop = this.list();
    else if (m.kind === 'menu') pop = this.menu();
    else pop = this.field();
    pop.classList.toggle('is-busy', this.busy);
    pop.classList.toggle('is-again', !fresh);
    pop.classList.toggle('is-readonly', !mine);
    if (!mine) pop.append(h('p', { class: 'picker-foot', 'aria-live': 'polite', text: this.waiting() }));
    this.pop = pop;
    this.shown = this.key();
    this.layer.append(pop);
    this.layer.classList.add('is-open');
    this.layer.classList.toggle('is-mine', mine);
    this.place();
    if (focus && mine) {
      const target = pop.querySelector('[data-autofocus]') || pop;
      target.focus({ preventScroll: true });
    }
    this.reveal();
  }

  waiting() {
    const who = this.o.controllerName();
    if (!who) return 'Waiting for someone in control…';
    return this.m.kind === 'menu' ? `${who} opened the page's menu` : `${who} is choosing…`;
  }

  privateBox() {
    const pop = h('div', { class: 'picker picker-panel picker-private', role: 'dialog', 'aria-label': 'Private field', tabindex: '-1' },
      h('p', { class: 'picker-private-text', text: 'This field is private: its choices are hidden from you.' }));
    if (this.mine) {
      const close = h('button', { class: 'btn btn-sm btn-secondary', type: 'button', 'data-autofocus': true, onclick: () => this.cancel() }, 'Close');
      pop.append(h('div', { class: 'picker-actions' }, close));
      pop.addEventListener('keydown', (e) => { if (e.key === 'Escape') { e.preventDefault(); this.cancel(); } });
    }
    return pop;
  }

  // list is a select's options as a listbox; groups keep their labels.
  list() {
    const m = this.m;
    const mine = this.mine;
    const opts = m.options || [];
    if (this.active < 0 || !opts.some((o) => o.index === this.active)) {
      const sel = opts.find((o) => o.selected && !o.disabled) || opts.find((o) => !o.disabled);
      this.active = sel ? sel.index : -1;
    }
    const box = h('div', {
      class: 'picker-scroll', role: 'listbox', 'aria-label': 'Options', tabindex: mine ? '0' : null,
      'aria-readonly': mine ? null : 'true', 'data-autofocus': mine ? true : null,
    });
    let group = null;
    let groupLabel = null;
    opts.forEach((o) => {
      if ((o.group || '') !== (groupLabel || '')) {
        groupLabel = o.group || '';
        if (groupLabel) {
          const gid = `picker-g-${o.index}`;
          group = h('div', { class: 'picker-group', role: 'group', 'aria-labelledby': gid },
            h('div', { class: 'picker-group-label', id: gid, text: groupLabel }));
          box.append(group);
        } else group = null;
      }
      const el = h('div', {
        class: 'picker-option', role: 'option', id: `picker-o-${o.index}`, 'data-index': String(o.index),
        'aria-selected': String(!!o.selected), 'aria-disabled': o.disabled ? 'true' : null,
      }, h('span', { class: 'picker-check', 'aria-hidden': 'true' }), h('span', { class: 'picker-label', text: o.label || '\u00a0' }));
      (group || box).append(el);
    });
    if (!opts.length) box.append(h('div', { class: 'picker-empty', text: 'No options' }));
    const pop = h('div', { class: 'picker picker-select' }, box);
    this.highlight(box);
    if (!mine) return pop;
    box.addEventListener('mousedown', (e) => e.preventDefault()); // keep focus in the list
    box.addEventListener('pointermove', (e) => {
      const el = e.target.closest('.picker-option');
      if (el && el.getAttribute('aria-disabled') !== 'true' && Number(el.dataset.index) !== this.active) {
        this.active = Number(el.dataset.index);
        this.highlight(box);
      }
    });
    box.addEventListener('click', (e) => {
      const el = e.target.closest('.picker-option');
      if (el && el.getAttribute('aria-disabled') !== 'true') this.choose(Number(el.dataset.index));
    });
    box.addEventListener('keydown', (e) => this.listKey(e, box));
    return pop;
  }

  highlight(box) {
    let cur = null;
    for (const el of box.querySelectorAll('.picker-option')) {
      const on = Number(el.dataset.index) === this.active;
      el.classList.toggle('is-active', on);
      if (on) cur = el;
    }
    if (cur) {
      box.setAttribute('aria-activedescendant', cur.id);
      // Keep it in view without scrolling anything but the list.
      const top = cur.offsetTop;
      if (top < box.scrollTop) box.scrollTop = top;
      else if (top + cur.offsetHeight > box.scrollTop + box.clientHeight) box.scrollTop = top + cur.offsetHeight - box.clientHeight;
    } else box.removeAttribute('aria-activedescendant');
  }

  // reveal scrolls a list to its highlighted option once it is laid out.
  reveal() {
    const box = this.pop && this.pop.querySelector('.picker-scroll');
    if (box) this.highlight(box);
  }

  choose(index) {
    const o = (this.m.options || []).find((x) => x.index === index);
    if (!o || o.disabled) return;
    this.answer({ index: o.index, value: o.value });
  }

  listKey(e, box) {
    if (e.repeat && (e.key === 'Enter' || e.key === ' ')) {
      e.preventDefault(); // a key held since it opened the list picks nothing
      return;
    }
    const enabled = (this.m.options || []).filter((o) => !o.disabled);
    if (!enabled.length) {
      if (e.key === 'Escape' || e.key === 'Tab') { e.preventDefault(); this.cancel(); }
      return;
    }
    const at = enabled.findIndex((o) => o.index === this.active);
    const go = (i) => {
      this.active = enabled[Math.max(0, Math.min(enabled.length - 1, i))].index;
      this.highlight(box);
    };
    switch (e.key) {
      case 'ArrowDown':
        if (e.altKey) this.choose(this.active);
        else go(at + 1);
        break;
      case 'ArrowUp':
        if (e.altKey) this.choose(this.active);
        else go(at < 0 ? enabled.length - 1 : at - 1);
        break;
      case 'PageDown': go(at + PAGE_STEP); break;
      case 'PageUp': go(at - PAGE_STEP); break;
      case 'Home': go(0); break;
      case 'End': go(enabled.length - 1); break;
      case 'Enter':
      case 'F4':
        this.choose(this.active);
        break;
      case ' ':
        if (this.typed && performance.now() - this.typedAt < 1000) this.typeahead(' ', enabled, box);
        else this.choose(this.active);
        break;
      case 'Escape':
      case 'Tab':
        this.cancel();
        break;
      default:
        if ([...e.key].length === 1 && !e.ctrlKey && !e.metaKey && !e.altKey) {
          this.typeahead(e.key, enabled, box);
          break;
        }
        return;
    }
    e.preventDefault();
  }

  // typeahead moves to the next option whose label starts with what was typed lately.
  typeahead(ch, enabled, box) {
    const now = performance.now();
    this.typed = now - this.typedAt < 1000 ? this.typed + ch.toLowerCase() : ch.toLowerCase();
    this.typedAt = now;
    const start = Math.max(0, enabled.findIndex((o) => o.index === this.active));
    const one = this.typed.length === 1;
    for (let k = 0; k < enabled.length; k++) {
      const o = enabled[(start + (one ? k + 1 : k)) % enabled.length];
      if ((o.label || '').trim().toLowerCase().startsWith(this.typed)) {
        this.active = o.index;
        this.highlight(box);
        return;
      }
    }
  }

  // field is a small panel with a field of the same type, in the participant's browser.
  field() {
    const m = this.m;
    const mine = this.mine;
    const [title, label] = FIELDS[m.kind] || ['Choose a value', 'Value'];
    const input = h('input', {
      class: 'picker-input', type: FIELDS[m.kind] ? m.kind : 'text', 'aria-label': label,
      disabled: !mine, 'data-autofocus': mine ? true : null,
    });
    for (const k of ['min', 'max', 'step']) if (m[k]) input.setAttribute(k, m[k]);
    input.value = m.value || '';
    const pop = h('div', { class: `picker picker-panel picker-${m.kind === 'color' ? 'color' : 'date'}`, role: 'dialog', 'aria-label': title },
      h('p', { class: 'picker-title', text: title }));
    const row = h('div', { class: 'picker-field' }, input);
    if (m.kind === 'color') {
      const hex = h('span', { class: 'picker-hex', text: input.value });
      input.addEventListener('input', () => { hex.textContent = input.value; });
      row.append(hex);
    }
    pop.append(row);
    if (!mine) return pop;
    const set = () => this.answer({ value: input.value });
    pop.append(h('div', { class: 'picker-actions' },
      h('button', { class: 'btn btn-sm btn-secondary', type: 'button', onclick: () => this.cancel() }, 'Cancel'),
      h('button', { class: 'btn btn-sm btn-primary', type: 'button', onclick: set }, 'Set')));
    pop.addEventListener('keydown', (e) => {
      if (e.key === 'Escape') { e.preventDefault(); this.cancel(); }
      else if (e.key === 'Enter' && e.target === input && !e.repeat) { e.preventDefault(); set(); }
    });
    return pop;
  }

  // menu is the page's context menu, with what Tandem can do there.
  menu() {
    const m = this.m;
    const mine = this.mine;
    const nav = this.o.nav();
    const items = [];
    if (nav.allowed) {
      items.push(['back', 'Back', nav.back], ['forward', 'Forward', nav.forward], ['reload', 'Reload', true], null);
    }
    if (m.link) items.push(['copyLink', 'Copy link address', true]);
    if (m.editable) items.push(['cut', 'Cut', !!m.selection]);
    if (m.selection || m.editable) items.push(['copy', 'Copy', !!m.selection]);
    if (m.editable) items.push(['paste', 'Paste', true]);
    items.push(['selectAll', 'Select all', true]);
    const pop = h('div', { class: 'picker picker-menu', role: 'menu', 'aria-label': "The page's menu" });
    let first = true;
    for (const it of items) {
      if (!it) {
        pop.append(h('div', { class: 'picker-sep', role: 'separator' }));
        continue;
      }
      const [action, label, on] = it;
      const usable = on && mine;
      pop.append(h('div', {
        class: 'picker-item', role: 'menuitem', tabindex: '-1', 'data-action': action,
        'aria-disabled': usable ? null : 'true', 'data-autofocus': usable && first ? true : null,
      }, label));
      if (usable) first = false;
    }
    if (!mine) return pop;
    pop.addEventListener('mousedown', (e) => e.preventDefault());
    pop.addEventListener('pointermove', (e) => {
      const el = e.target.closest('.picker-item');
      if (el && el.getAttribute('aria-disabled') !== 'true' && document.activeElement !== el) el.focus({ preventScroll: true });
    });
    pop.addEventListener('click', (e) => {
      const el = e.target.closest('.picker-item');
      if (el && el.getAttribute('aria-disabled') !== 'true') this.act(el.dataset.action);
    });
    pop.addEventListener('keydown', (e) => {
      const list = [...pop.querySelectorAll('.picker-item:not([aria-disabled="true"])')];
      const at = list.indexOf(document.activeElement);
      const go = (i) => { if (list.length) list[(i + list.length) % list.length].focus({ preventScroll: true }); };
      switch (e.key) {
        case 'ArrowDown': go(at + 1); break;
        case 'ArrowUp': go(at < 0 ? list.length - 1 : at - 1); break;
        case 'Home': go(0); break;
        case 'End': go(list.length - 1); break;
        case 'Enter':
        case ' ':
          if (at >= 0) this.act(list[at].dataset.action);
          break;
        case 'Escape':
        case 'Tab':
          this.cancel();
          break;
        default:
          return;
      }
      e.preventDefault();
    });
    return pop;
  }

  act(action) {
    this.answer({ value: action });
    if (action !== 'paste') return;
    // The participant's own clipboard goes in as typed text, as Ctrl+V does.
    const ask = navigator.clipboard && navigator.clipboard.readText ? navigator.clipboard.readText() : Promise.reject(new Error('no clipboard'));
    ask.then((text) => { if (text) this.o.send({ type: 'text', text }); })
      .catch(() => toast({ level: 'info', title: 'Paste with your keyboard', message: 'Your browser keeps the clipboard to itself here: press Ctrl+V (⌘V) to paste.', key: 'paste' }));
  }

  // place puts the popup at its field (below it, or above when there is more room
  // there), or a menu at its point, inside the stage.
  place() {
    const pop = this.pop;
    const m = this.m;
    if (!pop || !m) return;
    const sr = this.o.stage.getBoundingClientRect();
    const wrap = this.o.wrap;
    const wr = wrap.hidden ? sr : wrap.getBoundingClientRect();
    const vw = (m.viewport && m.viewport.width) || wr.width;
    const k = wr.width / vw;
    const W = sr.width;
    const H = sr.height;
    const b = m.box
      ? { x: wr.left - sr.left + m.box.x * k, y: wr.top - sr.top + m.box.y * k, w: m.box.w * k, h: m.box.h * k }
      : { x: W / 2 - 120, y: H / 3, w: 240, h: 0 }; // out of sight: in the middle
    const st = pop.style;
    st.maxHeight = '';
    st.minWidth = m.kind === 'select' ? `${Math.max(Math.round(b.w), 140)}px` : '';
    if (m.kind === 'menu') {
      const pw = pop.offsetWidth;
      const ph = pop.offsetHeight;
      let x = b.x;
      let y = b.y;
      if (x + pw > W - EDGE) x = Math.max(EDGE, x - pw);
      if (y + ph > H - EDGE) y = Math.max(EDGE, y - ph);
      st.left = `${Math.round(x)}px`;
      st.top = `${Math.round(y)}px`;
      return;
    }
    const below = H - (b.y + b.h) - GAP - EDGE;
    const above = b.y - GAP - EDGE;
    const ph = pop.offsetHeight;
    const down = ph <= below || below >= above;
    const room = Math.max(80, down ? below : above);
    st.maxHeight = `${Math.round(room)}px`;
    const height = Math.min(ph, room);
    const pw = pop.offsetWidth;
    const top = down ? b.y + b.h + GAP : b.y - GAP - height;
    st.left = `${Math.round(Math.max(EDGE, Math.min(b.x, W - pw - EDGE)))}px`;
    st.top = `${Math.round(Math.max(EDGE, Math.min(top, H - height - EDGE)))}px`; // a field out of sight
  }
}
