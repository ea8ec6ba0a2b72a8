// Recordings: the list of the server's session recordings and a player. A recording is
// the most restricted audience's messages in time (docs/protocol.md, Recordings): frames
// are drawn as viewers draw them, chat and drawings listed as they happened.
import { ApiError, request } from "./api.js";

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
      else events.push(r);
    }
    if (frame !== this.drawn && frame >= 0) this.draw(frame);
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
