// Toasts: short, stacked notices in the corner; errors stay longer, actions optional.
import { h, $, icons } from './dom.js';

const LIFETIME = { info: 4500, success: 3500, warning: 7000, error: 9000 };

export function toast({ level = 'info', title = '', message = '', actions = [], key = '', sticky = false }) {
  const box = $('#toasts');
  if (key) {
    const old = box.querySelector(`[data-key="${CSS.escape(key)}"]`);
    if (old) old.remove();
  }
  const icon = level === 'error' ? icons.error : level === 'warning' ? icons.warn : level === 'success' ? icons.check : icons.info;
  const close = () => {
    el.classList.add('is-leaving');
    setTimeout(() => el.remove(), 200);
  };
  const el = h('div', { class: `toast toast-${level}`, role: level === 'error' ? 'alert' : 'status', 'data-key': key || null },
    h('span', { class: 'toast-icon', html: icon }),
    h('div', { class: 'toast-body' },
      title ? h('strong', { class: 'toast-title', text: title }) : null,
      message ? h('p', { class: 'toast-msg', text: message }) : null,
      actions.length ? h('div', { class: 'toast-actions' }, actions.map((a) =>
        h('button', { class: `btn btn-sm ${a.primary ? 'btn-primary' : 'btn-secondary'}`, type: 'button', onclick: () => { close(); a.run(); } }, a.label))) : null),
    h('button', { class: 'icon-btn icon-btn-sm toast-close', type: 'button', 'aria-label': 'Dismiss', html: icons.close, onclick: close }));
  box.append(el);
  while (box.children.length > 4) box.firstElementChild.remove();
  if (!sticky) setTimeout(close, LIFETIME[level] || 5000);
  return { close };
}

// copyText writes to the clipboard, falling back to a hidden textarea and execCommand
// where the async clipboard is unavailable (plain http, older browsers).
export async function copyText(text) {
  try {
    if (navigator.clipboard && window.isSecureContext) {
      await navigator.clipboard.writeText(text);
      return true;
    }
  } catch { /* fall through to the fallback */ }
  const ta = h('textarea', { class: 'offscreen', readonly: true, 'aria-hidden': 'true' });
  ta.value = text;
  document.body.append(ta);
  const active = document.activeElement;
  ta.select();
  let ok = false;
  try {
    ok = document.execCommand('copy');
  } catch { ok = false; }
  ta.remove();
  if (active && active.focus) active.focus({ preventScroll: true });
  return ok;
}
