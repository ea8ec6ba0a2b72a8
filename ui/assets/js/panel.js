// Panel renders the session side panel: requests, people and the host's invite links.
import { h, $, icons } from './dom.js';

const ROLE_LABEL = { host: 'Host', agent: 'Agent', guest: 'Guest' };

export function initials(name) {
  const parts = String(name || '?').trim().split(/\s+/).filter(Boolean);
  const s = parts.length > 1 ? parts[0][0] + parts[parts.length - 1][0] : (parts[0] || '?').slice(0, 2);
  return s.toUpperCase();
}

export function avatar(p, size = '') {
  const el = h('span', { class: `avatar ${size}`, 'aria-hidden': 'true', text: initials(p.name) });
  el.style.setProperty('--c', p.color || '#64748b');
  return el;
}

// render fills the panel from the app's view: {me, state, canDecide, isHost, onGrant,
// onDeny, onRevoke, onConsent}.
export function renderPanel(v) {
  const st = v.state || {};
  const people = st.participants || [];
  const byId = new Map(people.map((p) => [p.id, p]));

  const list = $('#people');
  list.replaceChildren(...people
    .slice()
    .sort((a, b) => (b.connected - a.connected) || (b.priority - a.priority) || a.name.localeCompare(b.name))
    .map((p) => {
      const isMe = v.me && p.id === v.me.id;
      const inControl = st.controller === p.id;
      const row = h('li', { class: `person${p.connected || p.waiting ? '' : ' is-away'}${inControl ? ' is-controller' : ''}`, 'data-id': p.id },
        avatar(p),
        h('div', { class: 'person-main' },
          h('div', { class: 'person-name' },
            h('span', { class: 'name-text', text: p.name }),
            isMe ? h('span', { class: 'you', text: '(you)' }) : null),
          h('div', { class: 'person-meta' },
            h('span', { class: `role role-${p.role}`, text: ROLE_LABEL[p.role] || p.role }),
            inControl
              ? h('span', { class: 'control-mark' }, h('span', { html: icons.hand }), h('span', { text: 'In control' }))
              : p.waiting
                ? h('span', { class: 'presence waiting', text: 'Asks to see the page' })
                : h('span', { class: `presence ${p.connected ? 'on' : 'off'}`, text: p.connected ? 'Connected' : 'Reconnecting…' }))),
        inControl && v.isHost && !isMe ? h('button', { class: 'btn btn-sm btn-ghost', type: 'button', onclick: () => v.onRevoke(), text: 'Revoke' }) : null,
        p.waiting && v.isHost ? h('div', { class: 'request-actions' },
          h('button', { class: 'btn btn-sm btn-secondary', type: 'button', onclick: () => v.onConsent(p.id, false), 'aria-label': `Do not let ${p.name} see the page`, text: "Don't allow" }),
          h('button', { class: 'btn btn-sm btn-primary', type: 'button', onclick: () => v.onConsent(p.id, true), 'aria-label': `Let ${p.name} see the page`, text: 'Allow' })) : null);
      return row;
    }));
  if (!people.length) list.append(h('li', { class: 'empty muted small', text: 'People appear here once you have joined.' }));
  // In a big session a guest's state lists the people who matter and the audience's size.
  const listed = people.filter((p) => p.connected).length;
  const online = st.audience || listed;
  if (st.audience && st.audience > listed) {
    list.append(h('li', { class: 'empty muted small', text: `and ${st.audience - listed} more watching` }));
  }
  $('#people-total').textContent = people.length ? `· ${online} online` : '';
  $('#people-count').textContent = online ? String(online) : '';
  $('#panel-btn').setAttribute('aria-label', `Participants (${online} online)`);

  const reqs = (st.requests || []).filter((r) => byId.has(r.participant));
  const section = $('#requests-section');
  section.hidden = reqs.length === 0;
  $('#requests').replaceChildren(...reqs.map((r) => {
    const p = byId.get(r.participant);
    const mine = v.me && r.participant === v.me.id;
    return h('li', { class: 'request', 'data-id': r.participant },
      avatar(p, 'avatar-sm'),
      h('div', { class: 'request-text' },
        h('strong', { text: mine ? 'You' : p.name }),
        h('span', { class: 'muted', text: mine ? 'asked for control' : 'asks for control' })),
      v.canDecide && !mine ? h('div', { class: 'request-actions' },
        h('button', { class: 'btn btn-sm btn-secondary', type: 'button', onclick: () => v.onDeny(p.id), 'aria-label': `Deny ${p.name}`, text: 'Deny' }),
        h('button', { class: 'btn btn-sm btn-primary', type: 'button', onclick: () => v.onGrant(p.id), 'aria-label': `Grant control to ${p.name}`, text: 'Grant' })) : null);
  }));
}
