// Chat: the session's messages in the side panel, beside People. A message's text is
// data from another person: it is only ever set as textContent, never parsed as HTML.
import { $, h } from './dom.js';
import { avatar } from './panel.js';

export const MAX_CHARS = 1000; // the server's limit, in characters (code points)
const WARN_AT = 800; // the counter shows from here on
const GROUP_MS = 5 * 60 * 1000; // one sender's messages closer than this share a heading
const ROLE_LABEL = { host: 'Host', agent: 'Agent', guest: 'Guest' };

const chars = (s) => [...s].length;
const shortTime = (d) => d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });

export class Chat {
  // opts: send(msg) → whether it went, me() → {id} or null.
  constructor(opts) {
    this.o = opts;
    this.unread = 0;
    this.last = null; // the newest message shown, for grouping
    this.pending = []; // texts sent, in order, not yet answered by the server
    this.stuck = true; // the list is scrolled to its newest message, and follows it
    this.el = {
      panel: $('#panel'), panelBtn: $('#panel-btn'), tabs: [$('#tab-people'), $('#tab-chat')],
      people: $('#people-pane'), pane: $('#chat-pane'), list: $('#chat-list'), empty: $('#chat-empty'),
      form: $('#chat-form'), input: $('#chat-input'), send: $('#chat-send'), count: $('#chat-count'),
      error: $('#chat-error'), badge: $('#chat-unread'), badgeText: $('#chat-unread-text'), tabBadge: $('#chat-tab-unread'),
    };
    const { el } = this;
    for (const tab of el.tabs) {
      tab.addEventListener('click', () => this.show(tab === el.tabs[1] ? 'chat' : 'people'));
      tab.addEventListener('keydown', (e) => {
        if (e.key !== 'ArrowLeft' && e.key !== 'ArrowRight') return;
        e.preventDefault();
        const next = el.tabs[1 - el.tabs.indexOf(tab)];
        this.show(next === el.tabs[1] ? 'chat' : 'people');
        next.focus();
      });
    }
    el.form.addEventListener('submit', (e) => { e.preventDefault(); this.submit(); });
    el.input.addEventListener('keydown', (e) => {
      // Enter sends; Shift+Enter is a new line; Enter that ends an IME composition is not a send.
      if (e.key === 'Enter' && !e.shiftKey && !e.isComposing && e.keyCode !== 229) {
        e.preventDefault();
        this.submit();
      }
    });
    el.input.addEventListener('input', () => { this.hideError(); this.renderInput(); });
    // The list keeps to its newest message while the composer grows, an error shows or
    // the panel resizes, unless the reader scrolled up.
    el.list.addEventListener('scroll', () => { this.stuck = this.nearBottom(); });
    new ResizeObserver(() => { if (this.stuck) this.scrollDown(); }).observe(el.list);
    // Opening the panel (on a phone it slides in) with unread messages goes to them.
    new MutationObserver(() => {
      if (el.panel.classList.contains('is-open') && this.unread && this.tab !== 'chat') this.show('chat');
      else this.seen();
    }).observe(el.panel, { attributes: true, attributeFilter: ['class'] });
    window.matchMedia('(max-width: 860px)').addEventListener('change', () => this.seen());
    this.tab = 'people';
    this.renderInput();
  }

  // show switches the panel between People and Chat.
  show(tab) {
    const { el } = this;
    this.tab = tab;
    const chat = tab === 'chat';
    el.tabs.forEach((t, i) => {
      const on = (i === 1) === chat;
      t.setAttribute('aria-selected', String(on));
      t.tabIndex = on ? 0 : -1;
    });
    el.people.hidden = chat;
    el.pane.hidden = !chat;
    el.panel.classList.toggle('is-chat', chat);
    if (chat) {
      this.scrollDown();
      this.seen();
    }
  }

  // visible is whether this person can see the message list now.
  visible() {
    if (this.tab !== 'chat') return false;
    return getComputedStyle(this.el.panel).visibility !== 'hidden';
  }

  seen() {
    if (this.visible()) this.setUnread(0);
  }

  setUnread(n) {
    const { el } = this;
    this.unread = n;
    const text = n > 99 ? '99+' : String(n);
    el.badge.hidden = el.tabBadge.hidden = n === 0;
    el.badge.textContent = el.tabBadge.textContent = text;
    el.badgeText.textContent = n ? `${n} unread chat message${n === 1 ? '' : 's'}` : '';
  }

  // history replaces the list (a join or a reconnect).
  history(messages) {
    this.el.list.replaceChildren();
    this.last = null;
    this.pending = [];
    for (const m of messages || []) this.add(m, false);
    this.scrollDown();
  }

  // message adds one message everyone received.
  message(m) {
    const mine = this.isMine(m);
    if (mine && this.pending.length) this.pending.shift(); // it went
    this.add(m, true);
    if (this.stuck || mine) this.scrollDown();
    if (!mine && !this.visible()) this.setUnread(this.unread + 1);
  }

  isMine(m) {
    const me = this.o.me();
    return !!(me && m.from === me.id);
  }

  add(m, fresh) {
    const at = new Date(m.at);
    const prev = this.last;
    const cont = prev && prev.from === m.from && at - prev.at < GROUP_MS;
    this.last = { from: m.from, at };
    const who = { name: m.name, color: m.color };
    // Grouped messages keep their heading for screen readers; it is only hidden visually.
    const row = h('li', { class: `chat-msg${cont ? ' is-cont' : ''}${this.isMine(m) ? ' is-mine' : ''}${fresh ? ' is-new' : ''}`, 'data-id': m.id },
      avatar(who, 'avatar-sm chat-avatar'),
      h('div', { class: 'chat-main' },
        h('div', { class: 'chat-head' },
          h('span', { class: 'chat-name', text: m.name }),
          this.isMine(m) ? h('span', { class: 'you', text: '(you)' }) : null,
          h('span', { class: `role role-${m.role}`, text: ROLE_LABEL[m.role] || m.role }),
          h('time', { class: 'chat-time', datetime: m.at, title: at.toLocaleString(), text: shortTime(at) })),
        h('p', { class: 'chat-text', dir: 'auto', text: m.text })));
    row.style.setProperty('--c', m.color || '#64748b');
    this.el.list.append(row);
    this.el.empty.hidden = true;
  }

  nearBottom() {
    const l = this.el.list;
    return l.scrollHeight - l.scrollTop - l.clientHeight < 40;
  }

  scrollDown() {
    const l = this.el.list;
    l.scrollTop = l.scrollHeight;
    this.stuck = true;
  }

  submit() {
    const { el } = this;
    const text = el.input.value.trim();
    if (!text) return;
    if (chars(text) > MAX_CHARS) {
      this.showError(`A message can hold at most ${MAX_CHARS} characters.`);
      return;
    }
    if (!this.o.send({ type: 'chat', text })) {
      this.showError('Not connected. Your message was not sent; try again in a moment.');
      return;
    }
    this.pending.push(text);
    el.input.value = '';
    this.hideError();
    this.renderInput();
  }

  // notice takes the server's notices about chat; it reports whether it took m.
  notice(m) {
    if (m.code !== 'chat_rate_limited') return false;
    this.refused('You are sending messages too quickly. Wait a moment, then send it again.');
    return true;
  }

  // error takes the server's refusal of a chat message (too long, empty).
  error(m) {
    if (!this.pending.length || !/^chat message/.test(m.message || '')) return false;
    this.refused(`Not sent: the ${m.message.replace(/^chat /, '')}.`);
    return true;
  }

  // refused gives the sender back the text that did not go, unless they typed anew.
  refused(message) {
    const text = this.pending.shift();
    if (text && !this.el.input.value) {
      this.el.input.value = text;
      this.renderInput();
    }
    this.showError(message);
  }

  showError(message) {
    this.el.error.textContent = message;
    this.el.error.hidden = false;
  }

  hideError() {
    this.el.error.hidden = true;
  }

  renderInput() {
    const { el } = this;
    const n = chars(el.input.value.trim());
    const over = n > MAX_CHARS;
    el.count.hidden = n < WARN_AT;
    el.count.textContent = over ? `${n - MAX_CHARS} over the limit of ${MAX_CHARS}` : `${n} / ${MAX_CHARS}`;
    el.count.classList.toggle('is-over', over);
    el.input.setAttribute('aria-invalid', String(over));
    el.send.disabled = n === 0 || over || this.ended;
    // Grow with the text, up to a few lines; then it scrolls.
    el.input.style.height = 'auto';
    el.input.style.height = `${Math.min(el.input.scrollHeight, 132)}px`;
  }

  // end stops sending when the session is over; the messages stay readable.
  end() {
    this.ended = true;
    this.el.input.disabled = true;
    this.el.input.placeholder = 'The session has ended';
    this.renderInput();
  }
}
