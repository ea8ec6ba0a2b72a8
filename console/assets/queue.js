// The help queue: visitors who asked for help, kept live by Server-Sent Events. Each
// event carries the whole waiting queue, so the list simply becomes what it says.

import { ApiError, openTab, request } from "./api.js";

const $ = (id) => document.getElementById(id);

const EVENTS = "/api/v1/help-requests/events";
const LONG_WAIT = 2 * 60; // seconds; the wait is shown in amber from here
const OVERDUE = 5 * 60; // and in red from here
const baseTitle = document.title;

// formatWait reads a wait in seconds the way people say it.
export function formatWait(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${String(s % 60).padStart(2, "0")} s`;
  return `${Math.floor(m / 60)} h ${String(m % 60).padStart(2, "0")} min`;
}

// pageLabel is what the visitor is looking at: the page title, and where it is.
function pageLabel(req) {
  let where = "";
  try {
    const u = new URL(req.url);
    where = u.host + (u.pathname === "/" ? "" : u.pathname);
  } catch {
    where = req.url || "";
  }
  return { title: req.title || "", where };
}

const clockIcon = () => {
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("focusable", "false");
  const c = document.createElementNS(ns, "circle");
  c.setAttribute("cx", "12");
  c.setAttribute("cy", "12");
  c.setAttribute("r", "9");
  const p = document.createElementNS(ns, "path");
  p.setAttribute("d", "M12 7v5l3 2");
  svg.append(c, p);
  return svg;
};

export class Queue {
  constructor({ onSignedOut, sessionAlive }) {
    this.onSignedOut = onSignedOut;
    this.sessionAlive = sessionAlive; // resolves false when the agent is signed out
    this.list = $("queue-list");
    this.empty = $("queue-empty");
    this.count = $("queue-count");
    this.notice = $("queue-notice");
    this.message = $("queue-message");
    this.announcer = $("queue-announce");
    this.live = $("live");
    this.liveText = $("live-text");
    this.items = new Map(); // request id -> { li, req, since, els }
    this.es = null;
    this.loaded = false;
    this.dropped = false;
    this.retry = 0;
    this.retryTimer = 0;
    this.ticker = 0;
    this.gen = 0; // bumped by start and stop, so late callbacks of an old run do nothing
  }

  start() {
    this.stop();
    this.loaded = false;
    this.connect();
    this.ticker = setInterval(() => this.tick(), 1000);
  }

  stop() {
    this.gen++;
    if (this.es) this.es.close();
    this.es = null;
    clearTimeout(this.retryTimer);
    clearInterval(this.ticker);
    for (const item of this.items.values()) item.li.remove();
    this.items.clear();
    this.message.hidden = true;
    this.notice.hidden = true;
    this.empty.hidden = true;
    this.count.hidden = true;
    document.title = baseTitle;
  }

  connect() {
    this.setLive("connecting", "Connecting…");
    const es = new EventSource(EVENTS);
    this.es = es;
    es.addEventListener("open", () => {
      this.retry = 0;
      this.setLive("live", "Live");
      this.notice.hidden = true;
      if (this.dropped) this.announce("Reconnected. The help queue is up to date.");
      this.dropped = false;
    });
    es.addEventListener("message", (ev) => {
      let data;
      try {
        data = JSON.parse(ev.data);
      } catch {
        return;
      }
      this.render(Array.isArray(data.requests) ? data.requests : []);
    });
    es.addEventListener("error", () => {
      if (this.es !== es) return;
      this.dropped = true;
      this.setLive("down", "Reconnecting…");
      this.showNotice("The live connection to the help queue dropped. Reconnecting…");
      // While CONNECTING the browser retries by itself. CLOSED means it gave up, as
      // it does on a 401: find out whether the agent is still signed in.
      if (es.readyState === EventSource.CLOSED) {
        es.close();
        this.es = null;
        this.reconnectLater();
      }
    });
  }

  async reconnectLater() {
    const gen = this.gen;
    const alive = await this.sessionAlive().catch(() => true);
    if (gen !== this.gen) return;
    if (!alive) {
      this.onSignedOut();
      return;
    }
    const delay = Math.min(30000, 2000 * 2 ** this.retry);
    this.retry++;
    this.showNotice(`The live connection to the help queue dropped. Trying again in ${Math.round(delay / 1000)} s…`);
    this.retryTimer = setTimeout(() => this.connect(), delay);
  }

  setLive(state, text) {
    this.live.dataset.state = state;
    this.liveText.textContent = text;
  }

  showNotice(text) {
    this.notice.textContent = text;
    this.notice.hidden = false;
  }

  announce(text) {
    // Clearing first makes screen readers announce the same sentence again.
    this.announcer.textContent = "";
    setTimeout(() => {
      this.announcer.textContent = text;
    }, 50);
  }

  showMessage(kind, text, link) {
    const box = this.message;
    box.className = `alert alert-${kind}`;
    box.replaceChildren(text);
    if (link) {
      const a = document.createElement("a");
      a.href = link;
      a.target = "_blank";
      a.rel = "noopener noreferrer";
      a.textContent = "Open it again";
      box.append(" ", a);
    }
    box.hidden = false;
  }

  render(requests) {
    const waiting = requests
      .filter((r) => r && r.id && (!r.status || r.status === "waiting"))
      .sort((a, b) => Date.parse(a.createdAt) - Date.parse(b.createdAt));
    const focused = document.activeElement;
    const arrived = [];

    const keep = new Set();
    for (const req of waiting) {
      keep.add(req.id);
      let item = this.items.get(req.id);
      if (!item) {
        item = this.createItem(req);
        this.items.set(req.id, item);
        if (this.loaded) arrived.push(item);
      }
      this.updateItem(item, req);
    }

    let lostFocus = false;
    for (const [id, item] of this.items) {
      if (keep.has(id)) continue;
      if (item.li.contains(focused)) lostFocus = true;
      item.li.remove();
      this.items.delete(id);
    }

    // Move nodes only when the order changed: moving a node can drop keyboard focus.
    const order = waiting.map((r) => this.items.get(r.id).li);
    const same = order.length === this.list.children.length && order.every((li, i) => this.list.children[i] === li);
    if (!same) {
      this.list.append(...order);
      if (focused && document.contains(focused) && document.activeElement !== focused) focused.focus();
    }
    if (lostFocus) {
      const next = this.list.querySelector("button:not(:disabled)");
      (next || $("queue-title")).focus?.();
    }

    for (const item of arrived) {
      item.li.classList.add("is-new");
      setTimeout(() => item.li.classList.remove("is-new"), 4000);
    }
    if (arrived.length === 1) {
      const r = arrived[0].req;
      this.announce(`New help request from ${r.name || "a visitor"}${r.topic ? `: ${r.topic}` : ""}.`);
    } else if (arrived.length > 1) {
      this.announce(`${arrived.length} new help requests.`);
    } else if (!this.loaded) {
      this.announce(waiting.length ? `${waiting.length} waiting in the help queue.` : "The help queue is empty.");
    }
    this.loaded = true;

    const n = waiting.length;
    this.count.textContent = String(n);
    this.count.hidden = n === 0;
    this.empty.hidden = n !== 0;
    document.title = n ? `(${n}) ${baseTitle}` : baseTitle;
    this.tick();
  }

  createItem(req) {
    const li = document.createElement("li");
    li.className = "req";

    const main = document.createElement("div");
    main.className = "req-main";
    const top = document.createElement("div");
    top.className = "req-top";
    const name = document.createElement("span");
    name.className = "req-name";
    const wait = document.createElement("span");
    wait.className = "req-wait";
    const waitText = document.createElement("span");
    wait.append(clockIcon(), waitText);
    top.append(name, wait);
    const topic = document.createElement("p");
    topic.className = "req-topic";
    const page = document.createElement("p");
    page.className = "req-page";
    main.append(top, topic, page);

    const button = document.createElement("button");
    button.type = "button";
    button.className = "btn btn-primary";
    button.textContent = "Accept";
    const item = { li, req, since: 0, els: { name, wait, waitText, topic, page, button } };
    button.addEventListener("click", () => this.accept(item));

    li.append(main, button);
    return item;
  }

  updateItem(item, req) {
    item.req = req;
    const { name, topic, page, button } = item.els;
    const who = req.name || "Visitor";
    name.textContent = who;
    topic.textContent = req.topic || "No topic given";
    topic.classList.toggle("is-empty", !req.topic);
    const { title, where } = pageLabel(req);
    page.replaceChildren();
    if (title) page.append(title);
    if (where) {
      const url = document.createElement("span");
      url.className = "req-url";
      url.textContent = title ? ` · ${where}` : where;
      page.append(url);
    }
    page.title = [title, req.url].filter(Boolean).join("\n");
    button.setAttribute("aria-label", `Accept help request from ${who}`);
    // The server's own count of seconds, when it sends one, is immune to a wrong
    // clock on this computer; otherwise the creation time has to do.
    item.since = typeof req.waitingSeconds === "number"
      ? Date.now() - req.waitingSeconds * 1000
      : Date.parse(req.createdAt) || Date.now();
  }

  tick() {
    const now = Date.now();
    for (const item of this.items.values()) {
      const secs = (now - item.since) / 1000;
      item.els.waitText.textContent = `Waiting ${formatWait(secs)}`;
      item.els.wait.dataset.level = secs >= OVERDUE ? "overdue" : secs >= LONG_WAIT ? "long" : "";
    }
  }

  async accept(item) {
    const { button } = item.els;
    if (button.disabled) return;
    button.disabled = true;
    button.textContent = "Accepting…";
    this.message.hidden = true;
    const who = item.req.name || "the visitor";
    try {
      const { link } = await request("POST", `/api/v1/help-requests/${encodeURIComponent(item.req.id)}/accept`);
      openTab(link);
      button.textContent = "Accepted";
      this.showMessage("success", `You are helping ${who}. The session opened in a new tab.`, link);
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) {
        this.onSignedOut();
        return;
      }
      if (err instanceof ApiError && (err.status === 409 || err.code === "already_accepted")) {
        button.textContent = "Taken";
        this.showMessage("error", "Another agent took this request.");
        return;
      }
      button.disabled = false;
      button.textContent = "Accept";
      this.showMessage("error", err.message);
    }
  }
}
