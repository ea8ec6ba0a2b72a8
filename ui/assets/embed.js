// Tandem embed: the co-browse button of a provider's pages. It must never break the
// page: one global (Tandem), no CSS outside its shadow root, no error of its own escapes.
(() => {
  'use strict';
  // Loaded twice: the first copy stays. Inside a co-browse session's own tab (Tandem
  // marks it), the page is already shared: no button there.
  if ((window.Tandem && window.Tandem.start) || window.__tandemCobrowse) return;
  const quiet = (fn, d) => { try { return fn(); } catch { return d; } };
  const KEY = 'tandem.session', WIN = 'tandem-cobrowse';
  const script = document.currentScript || document.querySelector('script[data-tandem-site]');
  const cfg = (script && script.dataset) || {};
  const base = quiet(() => new URL('.', script.src).href.replace(/\/$/, ''), '');
  let label = cfg.tandemLabel || 'Co-browse with support';
  const helpOn = cfg.tandemHelp === 'true';

  const listeners = {};
  // sess is {id, hostLink, joinCode, expiresAt, open, token}; status is idle, starting,
  // active or ended; info is the last polled session; hreq the help request.
  let sess = null, status = 'idle', info = {}, hreq = null;
  let error = '', blocked = false, lost = false, pending = null, timer = 0, ui = null;
  const seen = new Set(), asked = new Set(), answered = new Set();

  const keyOf = (w) => `${w.participant}:${w.kind}`;
  // gone: the session is not ours any more.
  const gone = (e) => [401, 403, 404, 410].includes(e.status);
  const fail = (message, code, st) => Object.assign(new Error(message), { code, status: st });
  const nameOf = (a) => (typeof a === 'string' ? a : (a && (a.displayName || a.name)) || '');
  const who = (p) => (p.name || 'Someone') + (p.role === 'guest' ? '' : ' from support');
  const waiting = () => info.waiting || [];
  const questions = () => waiting().filter((w) => !answered.has(keyOf(w)));
  const pub = () => ({ id: sess.id, joinCode: sess.joinCode, joinCodeExpiresAt: sess.expiresAt });
  const json = (b) => JSON.stringify(b);

  function emit(ev, data) {
    for (const fn of [...(listeners[ev] || [])]) {
      try { fn(data); } catch (e) { console.error('Tandem listener:', e); }
    }
  }

  async function request(url, method, body, headers, credentials = 'omit') {
    const res = await fetch(url, { method, body: body && json(body), headers: { 'Content-Type': 'application/json', ...headers }, credentials, cache: 'no-store' })
      .catch(() => { throw fail('Could not reach the co-browse service. Check your connection and try again.', 'network', 0); });
    const b = await res.json().catch(() => null);
    if (res.ok) return b || {};
    throw fail((b && b.message) || `The co-browse service refused the request (HTTP ${res.status}).`, (b && b.error) || 'http_error', res.status);
  }

  // call reaches Tandem with the host token: at an /api/ path, or below the session's.
  const call = (method, path, body) => request(`${base}${path.startsWith('/api/') ? path : `/api/v1/sessions/${encodeURIComponent(sess.id)}${path}`}`,
    method, body, { Authorization: `Bearer ${sess.token}` });

  // tokenOf is the token in the fragment of an http(s) host link, or "".
  const tokenOf = (link) => quiet(() => {
    const u = new URL(link);
    return (/^https?:$/.test(u.protocol) && new URLSearchParams(u.hash.slice(1)).get('token')) || '';
  }, '');

  function copy(get) {
    const out = {};
    quiet(() => {
      const s = get();
      for (let i = 0; i < s.length; i++) if (s.key(i) !== KEY) out[s.key(i)] = s.getItem(s.key(i));
    });
    return out;
  }

  // fields are what the visitor has typed so far, for the shared tab to fill in again:
  // never passwords, card fields, hidden inputs or anything the page masks.
  function fields() {
    const out = [];
    for (const el of document.querySelectorAll('input, textarea, select')) {
      quiet(() => {
        if (el.closest('[data-tandem-mask]') || /(^|\s)cc-/i.test(el.getAttribute('autocomplete'))) return;
        if (el.localName === 'input' && !/^(text|search|email|tel|url|number|date|datetime-local|month|week|time)$/.test(el.type)) return;
        if (el.multiple) return;
        const d = el.localName === 'select' ? ([...el.options].find((o) => o.defaultSelected) || el.options[0] || { value: '' }).value : el.defaultValue;
        if (el.value !== d) out.push({ selector: selectorOf(el), value: el.value });
      });
    }
    return out;
  }

  // selectorOf is #id when the id is unique, else a path of tag:nth-of-type from the
  // nearest ancestor with a unique id, or from the root.
  function selectorOf(el) {
    const parts = [];
    for (let n = el; n !== document.documentElement; n = n.parentElement) {
      const id = n.id && `#${CSS.escape(n.id)}`;
      if (id && document.querySelectorAll(id).length === 1) return [id, ...parts].join(' > ');
      let i = 1;
      for (let s = n.previousElementSibling; s; s = s.previousElementSibling) i += s.localName === n.localName;
      parts.unshift(`${n.localName}:nth-of-type(${i})`);
    }
    return ['html', ...parts].join(' > ');
  }

  const save = () => quiet(() => sessionStorage.setItem(KEY, json({ ...sess, token: undefined })));

  function start(opts) {
    if (sess) {
      show(true, true);
      return Promise.resolve(pub());
    }
    // The window opens now, within the click, so that pop-up blockers let it through.
    return pending || (pending = begin(quiet(() => window.open('about:blank', WIN)), opts || {})
      .finally(() => { pending = null; }));
  }

  async function begin(win, opts) {
    // The button pressed goes away: keep the keyboard's place in the panel.
    const inside = ui && ui.root.activeElement;
    status = 'starting';
    error = '';
    blocked = false;
    show(true, false);
    quiet(() => { win.opener = null; });
    try {
      if (!base) throw fail('The co-browse script could not find its own address.', 'no_script');
      const url = String(opts.url || location.href);
      const b = await (cfg.tandemStart
        ? request(cfg.tandemStart, 'POST', { url }, {}, 'same-origin')
        : request(`${base}/api/v1/embed/sessions`, 'POST', {
          site: cfg.tandemSite, url, fields: fields(),
          storage: { local: copy(() => localStorage), session: copy(() => sessionStorage) },
        }));
      const hostLink = b.hostLink || (b.links && b.links.host);
      const token = tokenOf(hostLink);
      if (!b.id || !token) throw fail('The co-browse service sent an answer this page cannot use.', 'bad_answer');
      sess = { id: String(b.id), hostLink, joinCode: b.joinCode || '', expiresAt: b.joinCodeExpiresAt || '', open: true, token };
      status = 'active';
      save();
      if (win && !win.closed) win.location.href = hostLink;
      else blocked = true;
      render();
      emit('started', pub());
      if (sess.joinCode) emit('code', pub());
      poll(2000);
      return pub();
    } catch (e) {
      status = 'idle';
      quiet(() => win.close());
      throw oops(e);
    } finally {
      if (inside) refocus();
    }
  }

  function poll(delay) {
    clearTimeout(timer);
    timer = setTimeout(async () => {
      const s = sess;
      if (!s) return;
      try {
        const i = await call('GET', '');
        if (s !== sess) return;
        lost = false;
        update(i);
      } catch (e) {
        if (s !== sess) return;
        if (gone(e)) return finish();
        lost = true;
        render();
      }
      poll(2000);
    }, delay);
  }

  // joined are the people other than the host who are in and see the page.
  function joined() {
    const asking = waiting().filter((w) => w.kind === 'view').map((w) => w.participant);
    return (info.participants || []).filter((p) => p.role !== 'host' && p.connected && !p.waiting && !asking.includes(p.id));
  }

  function update(i) {
    info = i;
    if ('joinCode' in i && (i.joinCode || '') !== sess.joinCode) {
      sess.joinCode = i.joinCode || '';
      sess.expiresAt = i.joinCodeExpiresAt || '';
      save();
      if (sess.joinCode) emit('code', pub());
    }
    for (const p of joined()) if (!seen.has(p.id)) seen.add(p.id) && emit('joined', { name: p.name, role: p.role });
    // A question the server no longer lists may come again, and is announced again.
    for (const k of asked) if (!waiting().some((w) => keyOf(w) === k)) asked.delete(k) && answered.delete(k);
    let ask = false;
    for (const w of waiting()) {
      if (asked.has(keyOf(w))) continue;
      asked.add(keyOf(w));
      ask = true;
      emit('consent', { participant: w.participant, name: w.name, kind: w.kind });
    }
    const h = i.help;
    if (h && h.id) {
      if (h.overdue && !(hreq && hreq.overdue)) emit('help-overdue', { id: h.id });
      if (h.status === 'accepted' && !(hreq && hreq.status === 'accepted')) emit('help-accepted', { id: h.id, agent: nameOf(h.agent) });
      hreq = h;
    }
    // A question for the visitor opens the panel; the focus stays where it is.
    if (ask) show(true, false);
    render();
  }

  function finish() {
    clearTimeout(timer);
    sess = hreq = null;
    info = {};
    lost = blocked = false;
    status = 'ended';
    for (const s of [seen, asked, answered]) s.clear();
    quiet(() => sessionStorage.removeItem(KEY));
    render();
    emit('ended', {});
  }

  async function end() {
    const s = sess;
    if (!s) return;
    await call('DELETE', '').catch((e) => { if (!gone(e)) throw oops(e); });
    if (s === sess) finish();
  }

  function consent(w, allow) {
    answered.add(keyOf(w));
    render();
    return call('POST', '/consent', { participant: w.participant, kind: w.kind, allow })
      .catch((e) => { answered.delete(keyOf(w)); oops(e); });
  }

  function help(o) {
    const name = String((o && o.name) || '').trim();
    if (!name) return Promise.reject(oops(fail('Please enter your name, so that the agent knows whom they are helping.', 'name_required')));
    // start() first, synchronously, so that its window opens within the click.
    return start().then((s) => call('POST', '/api/v1/help-requests', { session: s.id, name, topic: String((o && o.topic) || '').trim() }))
      .then((r) => {
        hreq = { id: r.id, status: r.status || 'waiting' };
        error = '';
        render();
        emit('help-waiting', { id: r.id });
        return hreq;
      }, (e) => { throw oops(e); });
  }

  // oops shows an error in the panel and tells the listeners; it returns the error.
  function oops(e) {
    if (e.shown) return e;
    e.shown = true;
    error = e.message;
    show(true, false);
    render();
    emit('error', { message: error, code: e.code });
    return e;
  }

  function statusText() {
    if (status === 'starting') return 'Starting co-browsing…';
    if (status === 'ended') return 'Sharing stopped.';
    if (status !== 'active') return '';
    if (lost) return 'Lost the connection to the co-browse service; trying again…';
    const people = joined(), q = questions();
    if (q.length) return `${who(q[0])} is waiting for your answer`;
    if (people.length) return `${people.map(who).join(' and ')} joined`;
    if (!hreq) return 'Waiting for an agent…';
    if (hreq.status === 'accepted') return `${nameOf(hreq.agent) || 'An agent'} from support joined`;
    return hreq.overdue ? 'It is taking longer than usual; you can keep waiting or try later.' : 'Waiting for an agent… (you are in the queue)';
  }

  // ---- the UI, in a shadow root ----

  // safe keeps a failing handler from reaching the page as an uncaught error.
  const safe = (fn) => (ev) => {
    try {
      const r = fn(ev);
      // Errors are in the panel already.
      if (r && r.catch) r.catch(() => {});
    } catch (e) {
      console.error('Tandem:', e);
    }
  };

  function h(tag, attrs, ...kids) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) {
      if (typeof v === 'function') el.addEventListener(k.slice(2), safe(v));
      else if (k === 'text') el.textContent = v;
      else if (v !== false) el.setAttribute(k, v === true ? '' : v);
    }
    el.append(...kids);
    return el;
  }

  const btn = (cls, text, onclick) => h('button', { type: 'button', class: `btn ${cls}`, onclick }, text);

  function icon(d) {
    const ns = 'http://www.w3.org/2000/svg', s = document.createElementNS(ns, 'svg'), p = document.createElementNS(ns, 'path');
    s.setAttribute('viewBox', '0 0 24 24');
    s.setAttribute('aria-hidden', 'true');
    p.setAttribute('d', d);
    s.append(p);
    return s;
  }

  // :host rules beat the page's, even its !important ones; the host is the only element
  // of ours that the page's selectors reach.
  const STYLE = `
:host{all:initial!important;position:fixed!important;z-index:2147483647!important;inset:auto 20px 20px auto!important;display:flex!important;flex-direction:column!important;align-items:flex-end!important;gap:12px!important;max-width:calc(100vw - 40px)!important;pointer-events:none!important;font:15px/1.45 system-ui,sans-serif!important;color:#141824!important}
:host([data-left]){inset:auto auto 20px 20px!important;align-items:flex-start!important}
*{box-sizing:border-box;margin:0;font:inherit;color:inherit;pointer-events:auto}
[hidden]{display:none!important}
.panel,.launch{--a:#4f46e5;--on:#fff;--at:var(--a)}
@supports (color:lch(from red l c h)){.panel,.launch{--on:lch(from var(--a) calc((49.5 - l) * infinity) 0 0);--at:lch(from var(--a) min(l,48) c h)}}
svg{width:20px;height:20px;flex:none;fill:none;stroke:currentColor;stroke-width:2;stroke-linecap:round;stroke-linejoin:round}
button,a{cursor:pointer}
:focus{outline:none}
:focus-visible{outline:3px solid var(--at);outline-offset:2px}
.panel{outline:0!important}
.sr{position:absolute;width:1px;height:1px;overflow:hidden;clip-path:inset(50%);white-space:nowrap}
.launch{display:flex;align-items:center;gap:10px;min-height:48px;padding:0 20px 0 16px;border:0;border-radius:99px;background:var(--a);color:var(--on);font-weight:600;box-shadow:0 8px 24px #1118}
.launch b,.code{font-family:ui-monospace,Menlo,Consolas,monospace;font-weight:700}
.launch b{padding-left:10px;border-left:1px solid}
.dot{width:10px;height:10px;border-radius:50%;background:#22c55e;box-shadow:0 0 0 3px #fffd}
.panel{width:352px;max-width:100%;max-height:calc(100vh - 108px);overflow:auto;background:#fff;border:1px solid #e2e5ee;border-radius:16px;box-shadow:0 18px 50px #1115}
.head{display:flex;align-items:center;gap:10px;padding:12px 12px 12px 18px;border-bottom:1px solid #eceef4;color:var(--at)}
h2{flex:1;font-size:16px;font-weight:650;color:#141824}
.x{display:grid;place-items:center;width:34px;height:34px;border:0;border-radius:9px;background:none;color:#5a6376}
.body,.stack{display:grid;gap:14px}
.body{padding:16px 18px 18px}
.muted,.lbl,.exp{color:#5a6376}
.btn{display:flex;align-items:center;justify-content:center;width:100%;min-height:44px;padding:8px 16px;border:1px solid #cfd4e0;border-radius:10px;background:#fff;font-weight:600;text-decoration:none}
.btn:hover,.x:hover{background:#f1f3f8}
.pri,.pri:hover{border-color:transparent;background:var(--a);color:var(--on)}
.pri:hover,.launch:hover{filter:brightness(1.1)}
.stop{border-color:#f1c6c1;color:#b42318;position:sticky;bottom:10px;background:#fff;box-shadow:0 0 0 10px #fff}
.row{display:flex;gap:8px}
.codebox{padding:14px 12px 12px;border-radius:12px;background:#f5f6fa;text-align:center}
.lbl{font-size:12px;font-weight:700;letter-spacing:.08em;text-transform:uppercase}
.code{margin:2px 0 6px;font-size:40px;line-height:1.15;letter-spacing:.06em}
.exp{font-size:13px}
.status,.err,.note{display:flex;gap:10px;padding:10px 12px;border-radius:10px;background:#eef0f8}
.status i{width:10px;height:10px;margin-top:6px;flex:none;border-radius:50%;background:var(--a)}
.ok i{background:#16a34a}
.ask{display:grid;gap:10px;padding:12px;border:1px solid #ecd8a8;border-radius:12px;background:#fdf6e3;font-weight:600}
.err{background:#fdeeed;color:#a51f16}
.note{background:#fdf6e3}
a:not(.btn){color:var(--at);font-weight:600}
form,label{display:grid;gap:12px}
label{gap:5px;font-size:13px;font-weight:600}
input,textarea{width:100%;padding:9px 11px;border:1px solid #cfd4e0;border-radius:9px;font-weight:400;resize:vertical}
input:focus,textarea:focus{outline:2px solid var(--at);outline-offset:0}
[aria-invalid=true]{border-color:#b42318}
@media (prefers-reduced-motion:no-preference){.panel{animation:in .18s ease-out}.busy i{animation:pulse 1.4s infinite}}
@keyframes in{from{opacity:0;transform:translateY(8px)}}
@keyframes pulse{50%{opacity:.3}}
@media (max-width:480px){:host{inset:auto 12px 12px 12px!important}.panel{width:100%}}`;

  const SHARE = 'M4 5h16v11H4zM8 20h8M12 16v4M9 10.5l2 2 4-4';

  function mount() {
    if (ui || !document.body) return;
    const host = document.createElement('tandem-cobrowse');
    if (cfg.tandemPosition === 'bottom-left') host.setAttribute('data-left', '');
    const root = host.attachShadow({ mode: 'open' });
    try {
      // A constructed sheet is not inline CSS, so a page's strict CSP allows it.
      const sheet = new CSSStyleSheet();
      sheet.replaceSync(STYLE);
      root.adoptedStyleSheets = [sheet];
    } catch {
      root.append(h('style', { text: STYLE }));
    }
    const u = { host, root };
    u.live = h('p', { class: 'sr', role: 'status', 'aria-live': 'polite' });
    u.launch = h('button', { type: 'button', class: 'launch', 'aria-expanded': 'false', 'aria-controls': 'tdm-panel', hidden: cfg.tandemButton === 'false', onclick: () => show(u.panel.hidden, true) },
      u.icon = icon(SHARE), u.dot = h('span', { class: 'dot' }), u.launchText = h('span', {}), u.launchCode = h('b', {}));
    u.err = h('p', { class: 'err', role: 'alert' });
    u.status = h('div', {}, h('i', {}), u.statusText = h('span', {}));
    u.idle = h('div', { class: 'stack' },
      h('p', { class: 'muted', text: 'Share this page with our support team. They see this site only, never the rest of your screen, and you can stop at any time.' }),
      u.startBtn = btn('pri', 'Start co-browsing', () => start()), helpOn ? btn('', 'Get help', () => openForm(true)) : '');
    u.form = h('form', { novalidate: true, hidden: true, onsubmit: submitHelp },
      h('label', {}, 'Your name', u.name = h('input', { maxlength: '80', autocomplete: 'name', 'aria-required': 'true' })),
      h('label', {}, h('span', {}, 'What do you need help with? ', h('span', { class: 'muted', text: '(optional)' })),
        u.topic = h('textarea', { rows: '2', maxlength: '500' })),
      h('div', { class: 'row' }, btn('', 'Cancel', () => openForm(false)), h('button', { type: 'submit', class: 'btn pri' }, 'Ask for help')));
    u.codebox = h('div', { class: 'codebox' },
      h('p', { class: 'lbl', text: 'Your code' }),
      h('p', { class: 'code' }, u.digits = h('span', { 'aria-hidden': 'true' }), u.spoken = h('span', { class: 'sr' })),
      h('p', { text: 'Give this code to the support agent' }), u.exp = h('p', { class: 'exp' }));
    u.note = h('p', { class: 'note', text: 'Your browser blocked the new window. Open the shared page with the link below.' });
    u.active = h('div', { class: 'stack' }, u.codebox, u.asks = h('div', { class: 'stack' }), u.note,
      h('p', {}, u.open = h('a', { target: WIN, rel: 'noopener' }, 'Open the shared page')),
      u.helpLive = btn('', 'Get help from an agent', () => openForm(true)), u.stop = btn('stop', 'Stop sharing', end));
    u.panel = h('section', { id: 'tdm-panel', class: 'panel', role: 'dialog', 'aria-labelledby': 'tdm-title', tabindex: '-1', hidden: true },
      h('div', { class: 'head' }, icon(SHARE), u.title = h('h2', { id: 'tdm-title', text: label }),
        h('button', { type: 'button', class: 'x', 'aria-label': 'Close', onclick: () => show(false, true) }, icon('M6 6l12 12M18 6L6 18'))),
      h('div', { class: 'body' }, u.err, u.status, u.idle, u.form, u.active));
    root.append(u.live, u.panel, u.launch);
    root.addEventListener('keydown', safe((ev) => {
      if (ev.key === 'Escape' && !u.panel.hidden) {
        ev.stopPropagation();
        show(false, true);
      }
    }));
    ui = u;
    document.body.append(host);
    colours();
    if (sess) show(sess.open, false);
    render();
  }

  // colours applies data-tandem-color; the stylesheet derives text colours that keep
  // their contrast from it.
  function colours() {
    const c = cfg.tandemColor;
    if (c && CSS.supports('color', c)) for (const el of [ui.panel, ui.launch]) el.style.setProperty('--a', c);
  }

  function openForm(on) {
    ui.form.hidden = !on;
    render();
    (on ? ui.name : sess ? ui.stop : ui.startBtn).focus();
  }

  function submitHelp(ev) {
    ev.preventDefault();
    ui.name.setAttribute('aria-invalid', !ui.name.value.trim());
    const p = help({ name: ui.name.value, topic: ui.topic.value });
    if (ui.name.value.trim()) {
      ui.form.hidden = true;
      render();
      refocus();
    } else ui.name.focus();
    render();
    return p;
  }

  // refocus moves the focus to the panel when its element went away (hidden elements
  // lose it only at the next layout, so ask for the layout).
  function refocus() {
    const a = ui.root.activeElement;
    if (!a || !a.getClientRects().length) ui.panel.focus();
  }

  function show(open, focus) {
    if (sess && sess.open !== open) {
      sess.open = open;
      save();
    }
    if (!ui) return;
    const was = !ui.panel.hidden;
    ui.panel.hidden = !open;
    ui.launch.setAttribute('aria-expanded', open);
    if (focus && open && !was) ui.panel.focus();
    if (focus && !open && was && !ui.launch.hidden) ui.launch.focus();
  }

  function render() {
    if (!ui) return;
    try {
      // The page may have rebuilt its body.
      if (!ui.host.isConnected) document.body.append(ui.host);
      const active = status === 'active';
      const text = statusText();
      const code = active ? String(sess.joinCode) : '';
      const grouped = code.replace(/^(\d{3})(\d{3})$/, '$1 $2');
      ui.err.hidden = !error;
      ui.err.textContent = error;
      ui.status.hidden = !text;
      ui.status.className = `status ${joined().length ? 'ok' : active || status === 'starting' ? 'busy' : ''}`;
      ui.statusText.textContent = text;
      if (ui.live.textContent !== text) ui.live.textContent = text;
      ui.idle.hidden = active || !ui.form.hidden;
      ui.startBtn.disabled = status === 'starting';
      ui.active.hidden = !active;
      ui.launchText.textContent = active ? 'Co-browsing' : label;
      ui.icon.toggleAttribute('hidden', active);
      ui.dot.hidden = !active;
      ui.launchCode.hidden = !code;
      ui.launchCode.textContent = ui.digits.textContent = grouped;
      if (!active) return;
      const t = Date.parse(sess.expiresAt);
      ui.codebox.hidden = !code;
      ui.spoken.textContent = code.split('').join(' ');
      ui.exp.textContent = !t ? '' : t < Date.now() ? 'This code has expired.'
        : `Valid until ${new Date(t).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })}`;
      ui.note.hidden = !blocked;
      ui.open.href = sess.hostLink;
      ui.open.className = blocked ? 'btn pri' : '';
      ui.helpLive.hidden = !helpOn || hreq || !ui.form.hidden;
      const list = questions();
      const sig = json(list);
      // Rebuilt only on change, so that the focus stays on its button.
      if (ui.asks.dataset.sig === sig) return;
      ui.asks.dataset.sig = sig;
      ui.asks.replaceChildren(...list.map((w) => h('div', { class: 'ask', role: 'group', 'aria-label': 'Permission request' },
        `${who(w)} asks to ${w.kind === 'control' ? 'control' : 'see'} the shared page.`,
        h('div', { class: 'row' }, btn('', 'Don’t allow', () => consent(w, false)), btn('pri', 'Allow', () => consent(w, true))))));
    } catch (e) {
      console.error('Tandem:', e);
    }
  }

  // ---- the global ----

  const guard = (fn) => (...a) => {
    try {
      return Promise.resolve(fn(...a));
    } catch (e) {
      return Promise.reject(e);
    }
  };
  const api = {
    start: guard(start),
    end: guard(end),
    help: guard(help),
    on(ev, fn) {
      if (typeof fn === 'function') (listeners[ev] = listeners[ev] || new Set()).add(fn);
      return api;
    },
    off(ev, fn) {
      if (listeners[ev]) listeners[ev].delete(fn);
      return api;
    },
    // state is a snapshot: changing it changes nothing.
    get state() {
      return {
        status,
        id: sess && sess.id,
        joinCode: sess && sess.joinCode,
        joinCodeExpiresAt: sess && sess.expiresAt,
        agents: joined().map((p) => p.name),
        consent: questions().map((w) => ({ ...w })),
        help: hreq && { id: hreq.id, status: hreq.status, overdue: !!hreq.overdue, agent: nameOf(hreq.agent) },
        message: statusText(),
        error,
      };
    },
  };

  try {
    Object.defineProperty(window, 'Tandem', { value: Object.freeze(api), enumerable: true, configurable: true });
    // A session that runs on (the visitor went to another page of the site) keeps its panel.
    quiet(() => {
      const v = JSON.parse(sessionStorage.getItem(KEY));
      const token = tokenOf(v.hostLink);
      if (v.id && token) {
        sess = { ...v, token };
        status = 'active';
        poll(0);
      }
    });
    if (document.body) mount();
    else document.addEventListener('DOMContentLoaded', safe(mount));
    // The site's own button text, set in Tandem, unless the page sets one.
    if (!cfg.tandemLabel && cfg.tandemSite) {
      fetch(`${base}/api/v1/embed/sites/${encodeURIComponent(cfg.tandemSite)}`).then((r) => r.ok && r.json()).then(safe((c) => {
        if (c && c.buttonText) {
          label = c.buttonText;
          if (ui) ui.title.textContent = label;
          render();
        }
      }), () => {});
    }
  } catch (e) {
    console.error('Tandem: the co-browse button could not start:', e);
  }
})();
