// Recordings: the list of the server's session recordings and a player. A recording is
// the most restricted audience's messages in time (docs/protocol.md, Recordings): frames
// are drawn as viewers draw them, chat and drawings listed as they happened, and Page
// mode's copy is built again with the viewer's own PageView, its assets loaded from the
// recording.
import { ApiError, request } from "./api.js";
import { PageView } from "/assets/js/page.js";

const $ = (id) => document.getElementById(id);
const MAGIC = "TDMREC1\n";

// parse splits a recording into records {at (ms), kind, data}.
export function parse(buf) {
  const bytes = new Uint8Array(buf);
  if (new TextDecoder().decode(bytes.subarray(0, 8)) !== MAGIC) throw new Error("This file is not a Tandem recording.");
  const view = new DataView(buf);
  const out = [];
  for (let off = 8; off + 13 <= bytes.length;) {
    const at = Number(view.getBigUint64(off));
    const kind = bytes[off + 8];
    const n = view.getUint32(off + 9);
    const data = bytes.subarray(off + 13, off + 13 + n);
    if (data.length < n) break; // cut short: play what is there
    out.push({ at, kind, data });
    off += 13 + n;
  }
  return out;
}

// frameOf splits a binary frame message into its header and JPEG.
function frameOf(data) {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const n = view.getUint32(1);
  const header = JSON.parse(new TextDecoder().decode(data.subarray(5, 5 + n)));
  return { header, jpeg: data.subarray(5 + n) };
}

// The prefix of a session's asset paths (proxy.AssetPrefix): in a replay, the recording's.
const SESSION_ASSETS = /\/api\/v1\/sessions\/[A-Za-z0-9_-]+\/assets\/[A-Za-z0-9_-]+\//g;

const clock = (ms) => {
  const s = Math.floor(ms / 1000);
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
};

export class Recordings {
  constructor() {
    this.records = [];
    this.pos = 0; // ms
    this.playing = false;
    this.speed = 1;
    this.drawn = -1; // index of the frame on the canvas
    $("rec-refresh").addEventListener("click", () => this.start());
    $("player-play").addEventListener("click", () => (this.playing ? this.pause() : this.play()));
    $("player-seek").addEventListener("input", (e) => this.seek(Number(e.target.value)));
    $("player-speed").addEventListener("change", (e) => { this.speed = Number(e.target.value) || 1; });
    this.view = "page";
    $("player-page").addEventListener("click", () => this.show("page"));
    $("player-picture").addEventListener("click", () => this.show("picture"));
    this.copy = null;
    this.doms = []; // Page-mode messages: {at, m}
    this.copyAt = { snap: -1, applied: -1 };
    new ResizeObserver(() => this.layoutCopy()).observe($("player-copy"));
  }

  // show switches the player between the recorded copy of the page and its picture.
  show(view) {
    this.view = view;
    const page = view === "page" && this.doms.length > 0;
    $("player-copy").hidden = !page;
    $("player-screen").hidden = page;
    $("player-page").setAttribute("aria-pressed", String(page));
    $("player-picture").setAttribute("aria-pressed", String(!page));
    if (page) this.layoutCopy();
  }

  layoutCopy() {
    if (this.copy && this.copy.vw) this.copy.layout($("player-copy").clientWidth);
  }

  // showCopy brings the copy to the newest snapshot at or before index i of doms and the
  // changes after it up to i, building it again only when the snapshot changes or time
  // went back.
  showCopy(i) {
    if (i < 0) return;
    let snap = i;
    while (snap >= 0 && this.doms[snap].m.kind === "patch") snap--;
    if (snap < 0) return;
    const wrap = $("player-copy");
    if (!this.copy) {
      this.copy = new PageView({
        wrap, onPointer: () => {}, onLeave: () => {}, onBlocked: () => {},
        onResync: () => { this.copyAt = { snap: -1, applied: -1 }; },
        onSize: (w, h) => { wrap.style.aspectRatio = `${w} / ${h}`; this.layoutCopy(); },
      });
      this.copy.setInteractive(false);
    }
    if (snap !== this.copyAt.snap || i < this.copyAt.applied) {
      const first = this.doms[snap].m;
      wrap.querySelector(".player-note")?.remove();
      if (first.kind === "hidden") {
        this.copy.conceal();
        const note = document.createElement("p");
        note.className = "player-note";
        note.textContent = "The page was hidden from some viewers here: it is not recorded.";
        wrap.append(note);
      } else {
        this.copy.show(true);
        this.copy.snapshot(first);
      }
      this.copyAt = { snap, applied: snap };
    }
    for (let k = this.copyAt.applied + 1; k <= i; k++) {
      if (this.doms[k].m.kind === "patch") this.copy.patch(this.doms[k].m);
    }
    this.copyAt.applied = i;
  }

  async start() {
    $("rec-error").hidden = true;
    try {
      const { recordings } = await request("GET", "/api/v1/recordings");
      this.list(recordings || []);
    } catch (err) {
      this.error(err);
    }
  }

  error(err) {
    $("rec-error").textContent = err instanceof ApiError ? err.message : "The recordings could not be loaded.";
    $("rec-error").hidden = false;
  }

  list(recs) {
    const ul = $("rec-list");
    ul.replaceChildren();
    $("rec-empty").hidden = recs.length > 0;
    for (const r of recs) {
      const li = document.createElement("li");
      li.className = "rec-item";
      const what = document.createElement("span");
      what.className = "rec-what";
      what.textContent = `${new Date(r.started).toLocaleString()} · session ${r.session.slice(0, 8)}… · ${Math.max(1, Math.round(r.bytes / 1024))} KB`;
      const play = document.createElement("button");
      play.type = "button";
      play.className = "btn btn-secondary";
      play.textContent = "Play";
      play.addEventListener("click", () => this.open(r.id));
      const del = document.createElement("button");
      del.type = "button";
      del.className = "btn btn-quiet";
      del.textContent = "Delete";
      del.addEventListener("click", async () => {
        if (!confirm("Delete this recording for good?")) return;
        try {
          await request("DELETE", `/api/v1/recordings/${encodeURIComponent(r.id)}`, undefined, { csrf: true });
          this.start();
        } catch (err) {
          this.error(err);
        }
      });
      li.append(what, play, del);
      ul.append(li);
    }
  }

  async open(id) {
    this.pause();
    try {
      const res = await fetch(`/api/v1/recordings/${encodeURIComponent(id)}`, { credentials: "same-origin" });
      if (!res.ok) throw new ApiError(res.status, "fetch", "The recording could not be loaded.");
      this.records = parse(await res.arrayBuffer());
    } catch (err) {
      this.error(err);
      return;
    }
    this.length = this.records.length ? this.records[this.records.length - 1].at : 0;
    // Page-mode messages, with the session's asset paths turned into the recording's.
    const assets = `/api/v1/recordings/${encodeURIComponent(id)}/assets/`;
    this.doms = [];
    for (const r of this.records) {
      if (r.kind !== 3) continue;
      try {
        this.doms.push({ at: r.at, m: JSON.parse(new TextDecoder().decode(r.data).replace(SESSION_ASSETS, assets)) });
      } catch { /* a damaged record: skipped */ }
    }
    this.copyAt = { snap: -1, applied: -1 };
    $("player-mode").hidden = this.doms.length === 0;
    this.show(this.doms.length ? "page" : "picture");
    $("player").hidden = false;
    $("player-seek").max = String(this.length);
    this.seek(0);
    this.play();
  }

  play() {
    if (!this.records.length) return;
    if (this.pos >= this.length) this.pos = 0;
    this.playing = true;
    $("player-play").textContent = "Pause";
    $("player-play").setAttribute("aria-label", "Pause");
    let last = performance.now();
    const tick = (now) => {
      if (!this.playing) return;
      this.seek(Math.min(this.length, this.pos + (now - last) * this.speed), true);
      last = now;
      if (this.pos >= this.length) this.pause();
      else requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
  }

  pause() {
    this.playing = false;
    $("player-play").textContent = "Play";
    $("player-play").setAttribute("aria-label", "Play");
  }

  // seek shows the recording as it was at ms: its newest frame, and the events so far.
  seek(ms, playing = false) {
    this.pos = ms;
    $("player-seek").value = String(Math.round(ms));
    $("player-time").textContent = `${clock(ms)} / ${clock(this.length)}`;
    let frame = -1;
    const events = [];
    for (let i = 0; i < this.records.length && this.records[i].at <= ms; i++) {
      const r = this.records[i];
      if (r.kind === 1) frame = i;
      else if (r.kind === 2) events.push(r);
    }
    if (frame !== this.drawn && frame >= 0) this.draw(frame);
    let dom = -1;
    while (dom + 1 < this.doms.length && this.doms[dom + 1].at <= ms) dom++;
    this.showCopy(dom);
    if (!playing || events.length !== this.shownEvents) this.events(events);
  }

  async draw(i) {
    this.drawn = i;
    const { header, jpeg } = frameOf(this.records[i].data);
    const canvas = $("player-screen");
    if (header.hidden) {
      const ctx = canvas.getContext("2d");
      ctx.fillStyle = "#e5e7eb";
      ctx.fillRect(0, 0, canvas.width, canvas.height);
      return;
    }
    const bmp = await createImageBitmap(new Blob([jpeg], { type: "image/jpeg" }));
    if (this.drawn !== i) return; // a newer one came meanwhile
    canvas.width = bmp.width;
    canvas.height = bmp.height;
    canvas.getContext("2d").drawImage(bmp, 0, 0);
    canvas.dataset.seq = String(header.seq);
  }

  events(records) {
    this.shownEvents = records.length;
    const ol = $("player-events");
    ol.replaceChildren();
    for (const r of records) {
      let m;
      try { m = JSON.parse(new TextDecoder().decode(r.data)); } catch { continue; }
      let text = "";
      if (m.type === "chat") text = `${m.name}: ${m.text}`;
      else if (m.type === "draw") text = "A drawing on the page";
      else if (m.type === "call_state") text = `${(m.members || []).length} in the call`;
      else if (m.type === "state") text = m.url ? `Page: ${m.url}` : "";
      if (!text || (ol.lastElementChild && ol.lastElementChild.dataset.text === text)) continue;
      const li = document.createElement("li");
      li.dataset.text = text;
      const at = document.createElement("span");
      at.className = "player-at";
      at.textContent = clock(r.at);
      li.append(at, document.createTextNode(" " + text));
      ol.append(li);
    }
  }
}
