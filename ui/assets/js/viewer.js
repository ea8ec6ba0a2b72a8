// Viewer: joins a session over the WebSocket, shows the shared tab and lets this
// participant point, ask for control and drive, within what its role allows.
import { $, normaliseURL } from './dom.js';
import { Connection } from './conn.js';
import { Screen } from './screen.js';
import { PageView } from './page.js';
import { Pickers } from './pickers.js';
import { Input } from './input.js';
import { renderPanel } from './panel.js';
import { toast, copyText } from './toasts.js';
import { Uploads } from './upload.js';
import { Chat } from './chat.js';
import { Call } from './call.js';
import { Recording } from './record.js';
import { Drawings } from './draw.js';

const NAME_KEY = 'tandem.name';
const MODE_KEY = 'tandem.mode';
const sessionId = decodeURIComponent(location.pathname.replace(/^\/s\//, ''));
const fragment = new URLSearchParams(location.hash.slice(1));
const token = fragment.get('token') || '';
// A link issued to a named person (an agent's seat) carries the name the server gives it.
const namedAs = fragment.get('name') || '';
const resumeKey = `tandem.resume.${sessionId}`;

const app = {
  me: null, // {id, name, role, color}
  rules: {},
  links: null,
  joinCode: null, // {code, expiresAt} for the host
  state: null,
  dialog: null,
  ended: false,
  mode: 'pixels', // 'dom' (Page) or 'pixels' (Picture), as the server confirmed
};

const stage = $('#stage');
const screen = new Screen(stage);
let conn = null;

// --- who is who ---

const people = () => (app.state && app.state.participants) || [];
const person = (id) => people().find((p) => p.id === id);
const inControl = () => !!(app.me && app.state && app.state.controller === app.me.id);
const isHost = () => !!(app.me && app.me.role === 'host');
const canDecide = () => isHost() || inControl();
const send = (msg) => (conn ? conn.send(msg) : false);

// --- viewport ---

function viewport() {
  const coarse = window.matchMedia('(pointer: coarse)').matches;
  return {
    width: Math.round(stage.clientWidth),
    height: Math.round(stage.clientHeight),
    dpr: Math.round((window.devicePixelRatio || 1) * 100) / 100,
    mobile: coarse || Math.min(window.innerWidth, window.innerHeight) < 600,
    touch: navigator.maxTouchPoints > 0 || 'ontouchstart' in window,
  };
}

let lastViewport = '';
let viewportTimer = 0;
new ResizeObserver(() => {
  screen.layout();
  clearTimeout(viewportTimer);
  viewportTimer = setTimeout(() => {
    const vp = viewport();
    const key = JSON.stringify(vp);
    if (key !== lastViewport && vp.width > 0 && send({ type: 'viewport', ...vp })) lastViewport = key;
  }, 150);
}).observe(stage);

// --- input ---

let hintTimer = 0;
function hint(at) {
  const el = $('#hint');
  el.textContent = app.rules.control === false
    ? 'You are here to watch. Only participants with control can interact.'
    : app.state && app.state.controller
      ? 'Ask for control to interact'
      : 'Ask for control to interact — nobody is in control right now';
  el.hidden = false;
  const r = stage.getBoundingClientRect();
  if (at && typeof at.clientX === 'number') {
    el.style.left = `${Math.min(Math.max(at.clientX - r.left, 140), r.width - 140)}px`;
    el.style.top = `${Math.min(Math.max(at.clientY - r.top + 18, 12), r.height - 56)}px`;
  }
  el.classList.remove('is-shown');
  void el.offsetWidth; // restart the fade-in
  el.classList.add('is-shown');
  clearTimeout(hintTimer);
  hintTimer = setTimeout(() => { el.hidden = true; }, 2600);
}

const input = new Input({
  screen,
  sink: $('#keys'),
  send,
  inControl,
  mayPoint: () => app.rules.point !== false && !app.ended,
  hint,
  drawing: () => drawings.on,
});

// --- Page mode ---

const page = new PageView({
  wrap: $('#screen-wrap'),
  onPointer: (x, y) => input.pointerMove({ clientX: x, clientY: y }),
  onLeave: () => input.pointerHide(),
  onBlocked: (at) => { if (!app.ended) hint(at); },
  onResync: () => send({ type: 'mode', mode: 'dom' }),
  onSize: () => screen.layout(),
});
screen.page = page;

// The page's select lists, field pickers and menu, drawn over the picture.
const pickers = new Pickers({
  stage,
  wrap: screen.wrap,
  send,
  inControl,
  controllerName: () => {
    const c = app.state && app.state.controller ? person(app.state.controller) : null;
    return c ? c.name : '';
  },
  nav: () => ({ allowed: !!app.rules.navigate, back: !!(app.state && app.state.canGoBack), forward: !!(app.state && app.state.canGoForward) }),
  onDone: () => { if (inControl()) input.focus(); },
});

const modeBtns = { dom: $('#mode-dom'), pixels: $('#mode-pixels') };
function savedMode() {
  try { return localStorage.getItem(MODE_KEY) || ''; } catch { return ''; }
}
function setMode(mode) {
  try { localStorage.setItem(MODE_KEY, mode); } catch { /* storage blocked */ }
  send({ type: 'mode', mode });
}
modeBtns.dom.addEventListener('click', () => setMode('dom'));
modeBtns.pixels.addEventListener('click', () => setMode('pixels'));
function renderMode() {
  for (const [m, b] of Object.entries(modeBtns)) {
    b.setAttribute('aria-pressed', String(app.mode === m));
    b.disabled = app.ended || !app.me;
  }
  page.show(app.mode === 'dom');
  page.setInteractive(!inControl());
  stage.classList.toggle('page-mode', app.mode === 'dom');
  if (app.mode === 'dom' && page.ready) screen.showPage();
  else if (screen.bitmap) screen.show();
  else screen.wrap.classList.remove('is-page');
}
function onDOM(m) {
  if (app.mode !== 'dom') return;
  switch (m.kind) {
    case 'snapshot':
      performance.mark('tandem:snapshot');
      page.snapshot(m).then(() => {
        performance.mark('tandem:page-shown');
        if (app.mode === 'dom') screen.showPage();
      });
      break;
    case 'patch':
      page.patch(m);
      break;
    case 'hidden':
      page.conceal();
      screen.wrap.hidden = false;
      screen.placeholder.hidden = true;
      $('#hidden-note').hidden = false;
      break;
    default:
      break;
  }
}

// --- drawing on the shared view (draw.js) ---

const mayDraw = () => !!app.me && !app.ended && app.rules.point !== false;
const drawings = new Drawings({
  wrap: screen.wrap,
  screen,
  page,
  send,
  me: () => app.me,
  mayDraw,
  person,
  announce: (text) => { $('#draw-live').textContent = text; },
  onMode: (on) => {
    renderDraw();
    if (!on && inControl()) input.focus();
  },
});
// How page px map to the picture's box now, for diagnostics (and the end-to-end tests).
globalThis.tandemDrawView = () => drawings.view();
const drawBtn = $('#draw-btn');
drawBtn.addEventListener('click', () => drawings.setOn(!drawings.on));
$('#draw-done').addEventListener('click', () => drawings.setOn(false));
$('#draw-clear').addEventListener('click', () => drawings.clearMine());
for (const b of document.querySelectorAll('.draw-opt')) {
  b.addEventListener('click', () => {
    drawings.shape = b.dataset.shape;
    renderDraw();
  });
}
// The wheel still scrolls while drawing: the tab's for the controller, the copy's for the
// others in Page mode.
drawings.svg.addEventListener('wheel', (e) => {
  if (input.active) input.onWheel(e);
  else if (screen.pageShown() && page.frame && page.frame.contentWindow) {
    e.preventDefault();
    page.frame.contentWindow.scrollBy(e.deltaX, e.deltaY);
  }
}, { passive: false });
function renderDraw() {
  if (drawings.on && !mayDraw()) drawings.setOn(false);
  drawBtn.disabled = !mayDraw();
  drawBtn.hidden = app.ended;
  drawBtn.setAttribute('aria-pressed', String(drawings.on));
  drawBtn.title = app.rules.point === false ? 'Your role may not draw in this session'
    : drawings.on ? 'Stop drawing (Esc)' : 'Draw on the page for everyone to see';
  $('#draw-dock').hidden = !drawings.on;
  stage.classList.toggle('is-drawing', drawings.on);
  if (app.me) stage.style.setProperty('--draw', app.me.color || '#4f46e5');
  for (const b of document.querySelectorAll('.draw-opt')) b.setAttribute('aria-pressed', String(b.dataset.shape === drawings.shape));
}

// --- top bar ---

const els = {
  back: $('#nav-back'), forward: $('#nav-forward'), reload: $('#nav-reload'),
  address: $('#address-input'), title: $('#page-title'), control: $('#control-btn'),
  status: $('#status'), chip: $('#stage-chip'),
};

els.back.addEventListener('click', () => send({ type: 'history', action: 'back' }));
els.forward.addEventListener('click', () => send({ type: 'history', action: 'forward' }));
els.reload.addEventListener('click', () => send({ type: 'history', action: 'reload' }));
$('#address').addEventListener('submit', (e) => {
  e.preventDefault();
  const url = normaliseURL(els.address.value);
  if (!url) {
    toast({ level: 'warning', title: 'That address cannot be opened', message: 'Use a web address that starts with http:// or https://.' });
    return;
  }
  send({ type: 'navigate', url });
  els.address.blur();
  input.focus();
});
// Like a browser's address bar: focusing it selects the address, ready to be replaced.
els.address.addEventListener('focus', () => els.address.select());
els.address.addEventListener('keydown', (e) => {
  if (e.key === 'Escape') {
    els.address.value = (app.state && app.state.url) || '';
    els.address.blur();
  }
});


function controlAction() {
  if (!app.me || app.ended) return { label: 'Request control', disabled: true };
  if (app.rules.control === false) return { label: 'View only', disabled: true };
  const st = app.state || {};
  if (st.pendingTransfer && st.pendingTransfer.to === app.me.id) return { label: 'Getting control…', disabled: true };
  if (st.controller === app.me.id) return { label: 'Release control', action: 'release', style: 'secondary' };
  if (!st.controller) return { label: 'Request control', action: 'request' };
  const c = person(st.controller);
  if ((app.rules.priority || 0) > ((c && c.priority) || 0)) {
    return { label: isHost() ? 'Take back control' : 'Take control', action: 'take' };
  }
  if ((st.requests || []).some((r) => r.participant === app.me.id)) return { label: 'Request sent', disabled: true };
  return { label: 'Request control', action: 'request' };
}

els.control.addEventListener('click', () => {
  const a = controlAction();
  if (a.action) send({ type: 'control', action: a.action });
});

function renderBar() {
  const st = app.state || {};
  const nav = !!app.rules.navigate && inControl() && !app.ended;
  els.back.disabled = !nav || !st.canGoBack;
  els.forward.disabled = !nav || !st.canGoForward;
  els.reload.disabled = !nav;
  els.address.disabled = !nav;
  els.address.title = nav ? '' : app.rules.navigate ? 'Take control to change the address' : 'Your role cannot navigate';
  if (document.activeElement !== els.address) els.address.value = st.url || '';
  els.title.textContent = st.title || '';
  els.title.title = st.title || '';
  document.title = st.title ? `${st.title} · Tandem` : 'Tandem session';
  stage.classList.toggle('is-loading', !!st.loading);

  const a = controlAction();
  els.control.textContent = a.label;
  els.control.disabled = !!a.disabled;
  els.control.className = `btn ${a.style === 'secondary' ? 'btn-secondary' : 'btn-primary'} control-btn`;
  els.control.dataset.action = a.action || '';
  els.control.hidden = app.ended;

  // The chip says who drives; the ring shows when the keyboard is mine.
  const ctrl = st.controller ? person(st.controller) : null;
  stage.classList.toggle('in-control', inControl());
  if (app.ended || !app.me) {
    els.chip.hidden = true;
  } else {
    const text = inControl() ? 'You are in control' : ctrl ? `${ctrl.name} is in control` : 'Nobody is in control';
    els.chip.hidden = false;
    els.chip.style.setProperty('--c', ctrl ? ctrl.color : '#64748b');
    if (els.chip.textContent !== text) els.chip.textContent = text;
  }
  if (inControl()) stage.style.setProperty('--me', app.me.color || '#4f46e5');
  renderMode();
  renderDraw();
}

function setStatus(s) {
  const label = { connecting: 'Connecting', live: 'Live', reconnecting: 'Reconnecting…', ended: 'Ended', waiting: 'Waiting for the host' }[s] || s;
  els.status.className = `status status-${s}`;
  els.status.querySelector('.status-text').textContent = label;
  if (s === 'reconnecting' && screen.hasFrame) $('#placeholder-text').textContent = 'Reconnecting…';
  stage.classList.toggle('is-stale', s === 'reconnecting');
}

// --- panel ---

const panel = $('#panel');
const panelBtn = $('#panel-btn');
const scrim = $('#scrim');
function openPanel(open) {
  panel.classList.toggle('is-open', open);
  panelBtn.setAttribute('aria-expanded', String(open));
  scrim.hidden = !open;
  if (open) $('#panel-close').focus();
}
panelBtn.addEventListener('click', () => openPanel(!panel.classList.contains('is-open')));
$('#panel-close').addEventListener('click', () => { openPanel(false); panelBtn.focus(); });
scrim.addEventListener('click', () => openPanel(false));
document.addEventListener('keydown', (e) => {
  if (e.key === 'Escape' && panel.classList.contains('is-open') && document.activeElement !== $('#keys')) openPanel(false);
});

function renderSide() {
  renderPanel({
    me: app.me,
    state: app.state,
    canDecide: canDecide(),
    isHost: isHost(),
    onGrant: (id) => send({ type: 'control', action: 'grant', participant: id }),
    onDeny: (id) => send({ type: 'control', action: 'deny', participant: id }),
    onRevoke: () => send({ type: 'control', action: 'revoke' }),
    onConsent: (id, allow) => send({ type: 'consent', kind: 'view', participant: id, allow }),
  });
}

function renderLinks() {
  const links = app.links;
  $('#stop-btn').hidden = !isHost() || app.ended;
  renderJoinCode();
  $('#invite-section').hidden = !links;
  $('#host-foot').hidden = !isHost();
  if (!links) return;
  $('#link-agent').value = links.agent || '';
  $('#link-guest').value = links.guest || '';
}

for (const btn of document.querySelectorAll('.copy-btn')) {
  btn.addEventListener('click', async () => {
    const field = $(`#${btn.dataset.copy}`);
    const ok = await copyText(field.value);
    if (!ok) {
      field.select();
      toast({ level: 'warning', title: 'Copy was blocked', message: 'The link is selected: press Ctrl+C (⌘C) to copy it.' });
      return;
    }
    btn.textContent = 'Copied';
    btn.classList.add('is-copied');
    clearTimeout(btn.copyTimer);
    btn.copyTimer = setTimeout(() => { btn.textContent = 'Copy'; btn.classList.remove('is-copied'); }, 2000);
  });
}

// --- stopping ---

// The host's one button that ends everyone's view at once, always in the top bar.
$('#stop-btn').addEventListener('click', () => {
  if (send({ type: 'stop_sharing' })) return;
  $('#confirm-ok').click(); // the socket is down: end it over HTTP
});

// --- the join code ---

function renderJoinCode() {
  const jc = app.joinCode;
  const box = $('#code-section');
  box.hidden = !isHost() || app.ended;
  if (box.hidden) return;
  const expired = !jc || new Date(jc.expiresAt) <= new Date();
  $('#join-code').textContent = expired ? '––– –––' : `${jc.code.slice(0, 3)} ${jc.code.slice(3)}`;
  $('#join-code-note').textContent = expired
    ? 'The code has expired. Make a new one when someone from support needs it.'
    : `Read it to the support agent. It works until ${new Date(jc.expiresAt).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })}.`;
}
setInterval(renderJoinCode, 15000);
$('#join-code-new').addEventListener('click', async () => {
  try {
    const res = await fetch(`/api/v1/sessions/${encodeURIComponent(sessionId)}/join-code`, {
      method: 'POST', headers: { Authorization: `Bearer ${token}` },
    });
    const body = await res.json().catch(() => ({}));
    if (!res.ok) throw new Error(body.message || `HTTP ${res.status}`);
    app.joinCode = { code: body.joinCode, expiresAt: body.joinCodeExpiresAt };
    renderJoinCode();
  } catch (err) {
    toast({ level: 'error', title: 'Could not make a new code', message: err.message });
  }
});

// --- ending the session ---

const confirmBox = $('#confirm');
$('#end-btn').addEventListener('click', () => {
  confirmBox.hidden = false;
  $('#confirm-cancel').focus();
});
$('#confirm-cancel').addEventListener('click', () => { confirmBox.hidden = true; $('#end-btn').focus(); });
confirmBox.addEventListener('keydown', (e) => { if (e.key === 'Escape') confirmBox.hidden = true; });
$('#confirm-ok').addEventListener('click', async () => {
  const btn = $('#confirm-ok');
  btn.disabled = true;
  try {
    const res = await fetch(`/api/v1/sessions/${encodeURIComponent(sessionId)}`, {
      method: 'DELETE', headers: { Authorization: `Bearer ${token}` },
    });
    if (!res.ok && res.status !== 404) throw new Error(`HTTP ${res.status}`);
    confirmBox.hidden = true;
    // The server says bye; end locally too in case the socket is down.
    setTimeout(() => { if (!app.ended) stop('session_ended', 'You ended the session.'); }, 1500);
  } catch (err) {
    toast({ level: 'error', title: 'Could not end the session', message: `Try again in a moment. (${err.message})` });
  } finally {
    btn.disabled = false;
  }
});

// --- dialogs of the page ---

const dlg = {
  box: $('#dialog'), msg: $('#dialog-message'), input: $('#dialog-input'), wait: $('#dialog-wait'),
  actions: $('#dialog-actions'), ok: $('#dialog-ok'), cancel: $('#dialog-cancel'), title: $('#dialog-title'),
};

function renderDialog() {
  const d = app.dialog;
  if (!d || app.ended) {
    dlg.box.hidden = true;
    return;
  }
  const wasHidden = dlg.box.hidden;
  dlg.box.hidden = false;
  dlg.title.textContent = d.kind === 'beforeunload' ? 'Leave this page?' : 'The page says';
  dlg.msg.textContent = d.message || (d.kind === 'beforeunload' ? 'Changes you made may not be saved.' : '');
  const mine = inControl();
  dlg.actions.hidden = !mine;
  dlg.cancel.hidden = d.kind === 'alert';
  dlg.ok.textContent = d.kind === 'beforeunload' ? 'Leave' : 'OK';
  dlg.input.hidden = !(mine && d.kind === 'prompt');
  dlg.wait.hidden = mine;
  const ctrl = app.state && app.state.controller ? person(app.state.controller) : null;
  dlg.wait.textContent = ctrl ? `Waiting for ${ctrl.name} to answer…` : 'Waiting for someone in control to answer…';
  if (wasHidden && mine) {
    if (d.kind === 'prompt') {
      dlg.input.value = d.defaultPrompt || '';
      dlg.input.focus();
      dlg.input.select();
    } else dlg.ok.focus();
  }
}

function answerDialog(accept) {
  const d = app.dialog;
  if (!d) return;
  const msg = { type: 'dialog', id: d.id, accept };
  if (d.kind === 'prompt' && accept) msg.promptText = dlg.input.value;
  send(msg);
}
dlg.ok.addEventListener('click', () => answerDialog(true));
dlg.cancel.addEventListener('click', () => answerDialog(false));
dlg.input.addEventListener('keydown', (e) => { if (e.key === 'Enter') answerDialog(true); });
dlg.box.addEventListener('keydown', (e) => { if (e.key === 'Escape' && inControl() && app.dialog && app.dialog.kind !== 'alert') answerDialog(false); });

// --- files the page asks for (upload.js) ---

const uploads = new Uploads({
  key: () => { try { return sessionStorage.getItem(resumeKey) || ''; } catch { return ''; } },
  send,
  toast,
  where: () => (app.state && app.state.url) || '',
});

// --- the session's chat (chat.js) ---

const chat = new Chat({ send, me: () => app.me });

// --- the session's call (call.js) ---

const call = new Call({ send, me: () => app.me, person, toast });
const rec = new Recording({ send, toast });
// What the call receives, for diagnostics (and the end-to-end tests).
globalThis.tandemCallStats = () => call.stats();

// --- messages ---

function onMessage(m) {
  switch (m.type) {
    case 'waiting':
      // The host is asked whether we may see the page; nothing of it comes until then.
      setStatus('waiting');
      $('#placeholder').hidden = false;
      $('#placeholder-text').textContent = m.message || 'Waiting for the host to let you see the page.';
      break;
    case 'welcome':
      performance.mark('tandem:welcome');
      app.me = m.participant;
      app.rules = m.rules || {};
      app.links = m.links || null;
      app.joinCode = m.joinCode ? { code: m.joinCode, expiresAt: m.joinCodeExpiresAt } : null;
      screen.resetSeq();
      drawings.reset();
      if (m.resumeToken) sessionStorage.setItem(resumeKey, m.resumeToken);
      lastViewport = '';
      renderLinks();
      renderAll();
      if (!screen.hasFrame) $('#placeholder-text').textContent = 'Waiting for the first picture of the page…';
      call.disconnected(); // a new connection: the old one's media went with it
      call.ready(true);
      rec.welcome(m);
      break;
    case 'recording':
      rec.state(m);
      break;
    case 'call_joined':
      call.joined(m);
      break;
    case 'call_state':
      call.state(m);
      break;
    case 'rtc':
      call.signal(m).catch((err) => console.warn('call:', err));
      break;
    case 'state': {
      const wasMine = inControl();
      app.state = m;
      if (app.me) {
        const self = person(app.me.id);
        if (self) app.me = { ...app.me, name: self.name, color: self.color };
      }
      screen.prunePointers(new Set(people().filter((p) => p.connected).map((p) => p.id)));
      if (wasMine !== inControl()) {
        input.controlChanged(inControl());
        if (inControl()) {
          input.focus();
          toast({ level: 'success', title: 'You are in control', message: 'Your mouse and keyboard now drive the shared page.', key: 'control' });
        } else if (wasMine) {
          toast({ level: 'info', title: 'You are no longer in control', key: 'control' });
        }
      }
      renderAll();
      break;
    }
    case 'mode':
      if (m.reason && m.mode !== app.mode) toast({ level: 'warning', title: 'Showing the picture', message: m.reason, key: 'mode' });
      app.mode = m.mode === 'dom' ? 'dom' : 'pixels';
      renderMode();
      break;
    case 'dom':
      onDOM(m);
      break;
    case 'draw':
      drawings.add(m);
      break;
    case 'draw_clear':
      drawings.clear(m.from);
      break;
    case 'pointer':
      if (app.me && m.participant === app.me.id) break;
      screen.pointer(m, person(m.participant));
      break;
    case 'control_request': {
      const p = person(m.participant);
      const name = p ? p.name : 'Someone';
      toast({
        level: 'info', title: `${name} asks for control`, key: `req-${m.participant}`, sticky: true,
        actions: [
          { label: 'Deny', run: () => send({ type: 'control', action: 'deny', participant: m.participant }) },
          { label: 'Grant', primary: true, run: () => send({ type: 'control', action: 'grant', participant: m.participant }) },
        ],
      });
      break;
    }
    case 'dialog':
      app.dialog = m;
      renderDialog();
      break;
    case 'dialog_closed':
      if (app.dialog && (!m.id || m.id === app.dialog.id)) {
        app.dialog = null;
        renderDialog();
      }
      break;
    case 'picker':
      if (!app.ended) pickers.show(m);
      break;
    case 'picker_closed':
      pickers.closed(m.id);
      break;
    case 'file_chooser':
      uploads.open(m);
      break;
    case 'file_chooser_closed':
      uploads.closed(m);
      break;
    case 'clipboard':
      copyText(m.text || '').then((ok) => toast(ok
        ? { level: 'success', title: 'Copied from the shared page', key: 'clip' }
        : { level: 'warning', title: 'Could not copy to your clipboard', message: 'Your browser blocked the clipboard.', key: 'clip' }));
      break;
    case 'chat_history':
      chat.history(m.messages);
      break;
    case 'chat':
      chat.message(m);
      break;
    case 'notice':
      if (chat.notice(m)) break;
      if (m.code === 'input_refused') pickers.refused();
      if (m.code === 'input_refused' && (m.reason === 'not_allowed' || m.reason === 'rate_limited')) drawings.refused();
      toast({ level: m.level || 'info', message: m.message || m.code, key: `notice-${m.code}-${m.reason || ''}` });
      break;
    case 'error':
      if (chat.error(m)) break;
      pickers.refused();
      if (m.code === 'bad_message') drawings.refused();
      toast({ level: 'error', message: m.message || m.code, key: `error-${m.code}` });
      break;
    case 'bye':
      break; // handled by the connection when the socket closes
    default:
      break;
  }
}

function renderAll() {
  renderBar();
  if (app.ended) {
    renderDialog();
    return;
  }
  renderSide();
  renderDialog();
  pickers.update();
  // Requests toasts go away once the request is no longer pending.
  const pending = new Set(((app.state && app.state.requests) || []).map((r) => r.participant));
  for (const t of document.querySelectorAll('.toast[data-key^="req-"]')) {
    if (!pending.has(t.dataset.key.slice(4))) t.remove();
  }
  askConsent();
}

// askConsent puts every participant waiting to see the page to the host, once each, and
// takes the question away when it is answered (here, in the embed's panel, or by leaving).
const asked = new Set();
function askConsent() {
  const waiting = isHost() && !app.ended ? people().filter((p) => p.waiting) : [];
  const ids = new Set(waiting.map((p) => p.id));
  for (const t of document.querySelectorAll('.toast[data-key^="consent-"]')) {
    if (!ids.has(t.dataset.key.slice(8))) t.remove();
  }
  for (const id of [...asked]) if (!ids.has(id)) asked.delete(id);
  for (const p of waiting) {
    if (asked.has(p.id)) continue;
    asked.add(p.id);
    const who = p.role === 'agent' ? `${p.name} from support` : p.name;
    toast({
      level: 'info', title: `${who} wants to see this page`, key: `consent-${p.id}`, sticky: true,
      message: 'They see nothing until you allow it. Private fields stay hidden either way.',
      actions: [
        { label: "Don't allow", run: () => send({ type: 'consent', kind: 'view', participant: p.id, allow: false }) },
        { label: 'Allow', primary: true, run: () => send({ type: 'consent', kind: 'view', participant: p.id, allow: true }) },
      ],
    });
  }
}

const ENDED = {
  session_ended: ['This session has ended', 'The host ended the session, or it expired.'],
  unauthorized: ['This link is not valid', 'The invitation link is wrong or has expired. Ask the host for a new one.'],
  not_found: ['Session not found', 'This session does not exist any more. Ask the host for a new link.'],
  replaced: ['Opened somewhere else', 'You joined this session from another tab or device, so this one was disconnected.'],
  declined: ['The host did not let you in', 'The person you are helping chose not to share the page. You can ask them again.'],
};

function stop(code, message) {
  app.ended = true;
  app.dialog = null;
  pickers.closed();
  uploads.hide();
  chat.end();
  call.end();
  rec.end();
  drawings.setOn(false);
  if (conn && !conn.stopped) conn.stop();
  input.controlChanged(false);
  const [title, fallback] = ENDED[code] || ['Disconnected', ''];
  $('#ended-title').textContent = title;
  $('#ended-message').textContent = message || fallback;
  $('#ended-retry').hidden = code !== 'replaced';
  $('#ended').hidden = false;
  $('#ended').dataset.code = code;
  $('#join').hidden = true;
  document.body.classList.add('is-ended');
  $('#invite-section').hidden = true;
  $('#code-section').hidden = true;
  $('#stop-btn').hidden = true;
  $('#host-foot').hidden = true;
  $('#requests-section').hidden = true;
  $('#toasts').replaceChildren();
  renderAll();
  setStatus('ended');
}
$('#ended-retry').addEventListener('click', () => location.reload());

// --- start ---

function connect(name) {
  const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
  conn = new Connection({
    url: `${proto}//${location.host}/api/v1/sessions/${encodeURIComponent(sessionId)}/ws`,
    hello: () => {
      const vp = viewport();
      lastViewport = JSON.stringify(vp);
      const msg = { type: 'hello', token, name, viewport: vp, modes: ['dom', 'pixels'] };
      const mode = savedMode();
      if (mode) msg.mode = mode;
      const resume = sessionStorage.getItem(resumeKey);
      if (resume) msg.resume = resume;
      return msg;
    },
    onMessage,
    onFrame: (f) => screen.frame(f),
    onStatus: setStatus,
    onStop: stop,
  });
  conn.start();
}

function join() {
  if (!token) {
    stop('unauthorized', 'This link has no access token. Open the full link you were given.');
    return;
  }
  let saved = namedAs;
  try { saved = saved || localStorage.getItem(NAME_KEY) || ''; } catch { /* storage blocked */ }
  if (saved) {
    connect(saved);
    return;
  }
  const box = $('#join');
  const field = $('#join-name');
  box.hidden = false;
  $('#placeholder').hidden = true;
  field.focus();
  $('#join-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const name = field.value.trim().slice(0, 40);
    if (!name) {
      field.setAttribute('aria-invalid', 'true');
      field.focus();
      return;
    }
    try { localStorage.setItem(NAME_KEY, name); } catch { /* storage blocked */ }
    box.hidden = true;
    $('#placeholder').hidden = false;
    $('#placeholder-text').textContent = 'Connecting to the shared browser…';
    connect(name);
  });
}

renderBar();
renderSide();
// Page mode is the default: the copy's empty frame loads while the connection opens, not
// after the first snapshot arrives.
if (savedMode() !== 'pixels') page.prepare();
join();
