// The session's call: voice and video through Tandem's own SFU, negotiated on the
// session's WebSocket (docs/protocol.md, Call). Tandem makes every offer; this side
// answers, sending its microphone and camera on the m-lines Tandem offers to receive, and
// shows one tile per participant in the call. On a server whose calls go through LiveKit,
// call_joined carries a room token instead, and LiveKit's own client (vendored, loaded
// only then) carries the media; the tiles are the same.
import { $, h } from './dom.js';

const MIC_OFF = '<svg viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" aria-hidden="true"><path d="M3 3l18 18"/><path d="M9 9v3a3 3 0 0 0 5.1 2.1M15 9.3V5a3 3 0 0 0-5.9-.7"/><path d="M19 11a7 7 0 0 1-1.2 3.9M5 11a7 7 0 0 0 11 5.7M12 18v3"/></svg>';

const VIDEO = { width: { ideal: 640 }, height: { ideal: 360 }, frameRate: { ideal: 24 } };

// publishMids lists the m-lines of an offer that Tandem receives on (a=recvonly): this
// side sends there. The rest carry the others' tracks to this side.
function publishMids(sdp) {
  const out = {};
  for (const section of sdp.split(/\r?\nm=/).slice(1)) {
    const kind = section.startsWith('audio') ? 'audio' : section.startsWith('video') ? 'video' : '';
    const mid = (section.match(/\r?\na=mid:(\S+)/) || [])[1];
    if (kind && mid && /\r?\na=recvonly/.test(section)) out[mid] = kind;
  }
  return out;
}

export class Call {
  // opts: send(msg), me() → {id, name, color}, person(id) → a participant of the state,
  // toast(opts).
  constructor(opts) {
    this.o = opts;
    this.want = false;      // the user is in the call (and wants back in after a reconnect)
    this.granted = null;    // {audio, video} Tandem lets this participant publish
    this.pc = null;
    this.pendingOffer = null;    // Tandem's offer, until this.pc exists
    this.pendingCandidates = []; // and Tandem's candidates after it
    this.local = null;      // MediaStream of the microphone and camera
    this.remote = new Map(); // participant id → MediaStream
    this.members = [];      // call_state members
    this.muted = { audio: false, video: false };
    this.audioCtx = null;
    this.levels = new Map(); // participant id → AnalyserNode
    this.el = { btn: $('#call-btn'), dock: $('#call-dock'), tiles: $('#call-tiles'),
      mic: $('#call-mic'), cam: $('#call-cam'), leave: $('#call-leave'), fold: $('#call-fold') };
    // Folded, the dock keeps its controls and the call's sound, and leaves the page free.
    this.folded = localStorage.getItem('tandem.callFolded') === '1';
    this.el.fold.addEventListener('click', () => {
      this.folded = !this.folded;
      try { localStorage.setItem('tandem.callFolded', this.folded ? '1' : '0'); } catch { /* private mode */ }
      this.render();
    });
    this.el.btn.addEventListener('click', () => (this.want ? this.leave() : this.join()));
    this.el.leave.addEventListener('click', () => this.leave());
    this.el.mic.addEventListener('click', () => this.toggle('audio'));
    this.el.cam.addEventListener('click', () => this.toggle('video'));
    setInterval(() => this.speaking(), 250);
  }

  // ready enables the button once the participant has joined the session.
  ready(on) {
    this.el.btn.disabled = !on;
    if (on && this.want && !this.pc && !this.lk) this.join(); // back in after a reconnect
  }

  join() {
    if (!navigator.mediaDevices || !window.RTCPeerConnection) {
      this.o.toast({ level: 'error', title: 'Calls need a secure page', message: 'Open Tandem over https (or on this computer) to join the call.', key: 'call' });
      return;
    }
    this.want = true;
    // Made on the click: an audio context started without one stays suspended.
    try {
      this.audioCtx = this.audioCtx || new AudioContext();
      this.audioCtx.resume();
    } catch { /* no Web Audio: no speaking highlight */ }
    this.render();
    this.o.send({ type: 'call', action: 'join', audio: true, video: true });
  }

  leave() {
    this.want = false;
    this.o.send({ type: 'call', action: 'leave' });
    this.teardown();
    this.render();
  }

  // end is the session's end: out of the call for good.
  end() {
    this.want = false;
    this.teardown();
    this.render();
    this.el.btn.disabled = true;
  }

  // disconnected drops the media: the server took us out of the call with the socket.
  disconnected() { this.teardown(); this.render(); }

  teardown() {
    if (this.pc) this.pc.close();
    this.pc = null;
    this.pendingOffer = null;
    this.pendingCandidates = [];
    if (this.lk) this.lk.disconnect();
    this.lk = null;
    if (this.local) this.local.getTracks().forEach((t) => t.stop());
    this.local = null;
    this.remote.clear();
    this.levels.clear();
    this.granted = null;
  }

  async joined(m) {
    this.joins = (this.joins || 0) + 1;
    this.granted = { audio: !!m.audio, video: !!m.video };
    if (m.livekit) { await this.joinLiveKit(m); return; }
    try {
      if (m.audio || m.video) {
        this.local = await navigator.mediaDevices.getUserMedia({ audio: !!m.audio, video: m.video ? VIDEO : false });
      }
    } catch (err) {
      this.o.toast({ level: 'warning', title: 'No microphone or camera', message: `You can listen and watch. (${err.name})`, key: 'call' });
      this.local = null;
    }
    this.pc = new RTCPeerConnection({ iceServers: m.iceServers || [] });
    this.pc.onicecandidate = (e) => { if (e.candidate) this.o.send({ type: 'rtc', candidate: e.candidate.toJSON() }); };
    // Tandem names each forwarded stream by its publisher. Tracks of one person can come
    // in different negotiations, as different stream objects: each person gets one stream
    // of their own here, with their every live track.
    this.pc.ontrack = (e) => {
      const id = e.streams[0] ? e.streams[0].id : '';
      if (!id) return;
      let stream = this.remote.get(id);
      if (!stream) this.remote.set(id, (stream = new MediaStream()));
      stream.getTracks().filter((t) => t.kind === e.track.kind).forEach((t) => stream.removeTrack(t));
      stream.addTrack(e.track);
      e.track.addEventListener('ended', () => { stream.removeTrack(e.track); this.render(); });
      if (e.track.kind === 'audio') this.listen(id, stream);
      this.render();
    };
    if (this.local) this.listen(this.o.me().id, this.local);
    this.render();
    if (this.pendingOffer) {
      // The offer's description is set first: candidates queue behind it in the connection.
      const waiting = [this.pendingOffer, ...this.pendingCandidates];
      this.pendingOffer = null;
      this.pendingCandidates = [];
      for (const w of waiting) this.signal(w);
    }
  }

  // joinLiveKit joins the session's LiveKit room with the token Tandem minted, publishing
  // what it grants, and keeps one stream per participant (LiveKit identity = Tandem id).
  async joinLiveKit(m) {
    let lk;
    try {
      lk = await import('./vendor/livekit-client.esm.js');
    } catch (err) {
      this.o.toast({ level: 'error', title: 'The call could not start', message: `Its client did not load. (${err.message})`, key: 'call' });
      return;
    }
    const room = new lk.Room({ adaptiveStream: false, dynacast: true });
    this.lk = room;
    const add = (track, participant) => {
      const id = participant.identity;
      let stream = this.remote.get(id);
      if (!stream) this.remote.set(id, (stream = new MediaStream()));
      stream.getTracks().filter((t) => t.kind === track.kind).forEach((t) => stream.removeTrack(t));
      stream.addTrack(track.mediaStreamTrack);
      if (track.kind === 'audio') this.listen(id, stream);
      this.render();
    };
    room.on(lk.RoomEvent.TrackSubscribed, (track, _pub, participant) => add(track, participant));
    room.on(lk.RoomEvent.TrackUnsubscribed, (track, _pub, participant) => {
      const stream = this.remote.get(participant.identity);
      if (stream) stream.removeTrack(track.mediaStreamTrack);
      this.render();
    });
    try {
      await room.connect(m.livekit.url, m.livekit.token);
    } catch (err) {
      if (this.lk !== room) return; // left meanwhile
      this.o.toast({ level: 'error', title: 'The call could not connect', message: `Its media server did not answer. (${err.message})`, key: 'call' });
      this.leave();
      return;
    }
    try {
      if (m.audio) await room.localParticipant.setMicrophoneEnabled(true);
      if (m.video) await room.localParticipant.setCameraEnabled(true, { resolution: { width: 640, height: 360, frameRate: 24 } });
    } catch (err) {
      if (this.lk !== room) return;
      this.o.toast({ level: 'warning', title: 'No microphone or camera', message: `You can listen and watch. (${err.name || err.message})`, key: 'call' });
    }
    if (this.lk !== room) { room.disconnect(); return; }
    const mine = [...room.localParticipant.trackPublications.values()].map((p) => p.track && p.track.mediaStreamTrack).filter(Boolean);
    this.local = mine.length ? new MediaStream(mine) : null;
    if (this.local) this.listen(this.o.me().id, this.local);
    this.render();
  }

  async signal(m) {
    // Until the connection exists (the camera is still being asked for), Tandem's offer
    // and the candidates that follow it wait; a lost candidate could leave a browser
    // that must relay through TURN with no address to relay to.
    if (!this.pc) {
      if (m.sdp) this.pendingOffer = m;
      else if (m.candidate && this.pendingOffer) this.pendingCandidates.push(m);
      return;
    }
    if (m.candidate) { try { await this.pc.addIceCandidate(m.candidate); } catch { /* for an old offer */ } }
    if (!m.sdp || m.sdp.type !== 'offer') return;
    await this.pc.setRemoteDescription(m.sdp);
    const mids = publishMids(m.sdp.sdp);
    for (const t of this.pc.getTransceivers()) {
      const kind = mids[t.mid];
      if (!kind) continue;
      const track = this.local && this.local.getTracks().find((x) => x.kind === kind);
      if (track && t.sender.track !== track) await t.sender.replaceTrack(track);
      t.direction = track ? 'sendonly' : 'inactive';
    }
    await this.pc.setLocalDescription(await this.pc.createAnswer());
    this.o.send({ type: 'rtc', sdp: this.pc.localDescription.toJSON() });
  }

  toggle(kind) {
    this.muted[kind] = !this.muted[kind];
    if (this.local) this.local.getTracks().filter((t) => t.kind === kind).forEach((t) => { t.enabled = !this.muted[kind]; });
    this.o.send({ type: 'call', action: 'mute', [kind]: !this.muted[kind] });
    this.render();
  }

  state(m) {
    this.members = m.members || [];
    this.render();
  }

  // listen measures a stream's loudness for the speaking highlight.
  listen(id, stream) {
    if (!stream.getAudioTracks().length) return;
    try {
      this.audioCtx = this.audioCtx || new AudioContext();
      const src = this.audioCtx.createMediaStreamSource(stream);
      const an = this.audioCtx.createAnalyser();
      an.fftSize = 512;
      src.connect(an);
      this.levels.set(id, an);
    } catch { /* no Web Audio: no highlight */ }
  }

  speaking() {
    if (!this.levels.size) return;
    const buf = new Float32Array(512);
    for (const [id, an] of this.levels) {
      an.getFloatTimeDomainData(buf);
      let sum = 0;
      for (const v of buf) sum += v * v;
      const loud = Math.sqrt(sum / buf.length) > 0.02;
      const tile = this.el.tiles.querySelector(`[data-id="${CSS.escape(id)}"]`);
      if (tile) tile.classList.toggle('speaking', loud);
    }
  }

  render() {
    const { el } = this;
    const label = this.want ? 'Leave call' : 'Join call';
    el.btn.querySelector('.call-btn-label').textContent = label;
    el.btn.setAttribute('aria-label', label);
    el.btn.classList.toggle('btn-danger-soft', this.want);
    el.btn.setAttribute('aria-pressed', String(this.want));
    el.dock.hidden = !this.want;
    el.tiles.hidden = this.folded;
    el.fold.textContent = this.folded ? 'Show videos' : 'Hide videos';
    el.fold.setAttribute('aria-expanded', String(!this.folded));
    el.tiles.classList.toggle('many', this.members.length > 2);
    el.mic.disabled = !(this.granted && this.granted.audio && this.local);
    el.cam.disabled = !(this.granted && this.granted.video && this.local);
    el.mic.setAttribute('aria-pressed', String(this.muted.audio));
    el.cam.setAttribute('aria-pressed', String(this.muted.video));
    el.mic.textContent = this.muted.audio ? 'Unmute' : 'Mute';
    el.cam.textContent = this.muted.video ? 'Camera on' : 'Camera off';
    if (!this.want) { el.tiles.replaceChildren(); return; }
    const me = this.o.me();
    const tiles = [];
    for (const mem of this.members) {
      const p = this.o.person(mem.id) || { name: 'Someone', color: '#64748b' };
      const self = me && mem.id === me.id;
      const stream = self ? this.local : this.remote.get(mem.id);
      let tile = el.tiles.querySelector(`[data-id="${CSS.escape(mem.id)}"]`);
      if (!tile) {
        const video = h('video', { autoplay: '', playsinline: '' });
        tile = h('figure', { class: 'call-tile', 'data-id': mem.id }, [video, h('figcaption', {})]);
      }
      const video = tile.querySelector('video');
      video.muted = self; // never play yourself back
      if (stream && video.srcObject !== stream) video.srcObject = stream;
      const showVideo = stream && stream.getVideoTracks().length && !(self ? this.muted.video : mem.videoMuted);
      tile.classList.toggle('no-video', !showVideo);
      tile.style.setProperty('--who', p.color || '#64748b');
      const cap = tile.querySelector('figcaption');
      cap.textContent = self ? `${p.name} (you)` : p.name;
      if (self ? this.muted.audio : mem.audioMuted) cap.append(h('span', { class: 'call-muted', role: 'img', 'aria-label': 'muted', html: MIC_OFF }));
      tiles.push(tile);
    }
    el.tiles.replaceChildren(...tiles);
  }

  // stats sums what this side receives, for tests and diagnostics.
  async stats() {
    const out = { framesDecoded: 0, audioEnergy: 0, audioSamples: 0, audioPackets: 0, tracks: this.remote.size,
      remotes: [], selected: '', joins: this.joins || 0, bytesReceived: 0, bytesSent: 0, videosDecoding: 0,
      jitterBufferDelay: 0, jitterBufferEmitted: 0 };
    // One report of the whole connection with Tandem's SFU; through LiveKit, one per track.
    let reports = [];
    if (this.lk) {
      for (const p of this.lk.remoteParticipants.values()) {
        for (const pub of p.trackPublications.values()) {
          if (pub.track && pub.track.receiver) reports.push(await pub.track.receiver.getStats());
        }
      }
      for (const pub of this.lk.localParticipant.trackPublications.values()) {
        if (pub.track && pub.track.sender) reports.push(await pub.track.sender.getStats());
      }
    } else if (this.pc) {
      reports = [await this.pc.getStats()];
    }
    const counted = new Set();
    for (const report of reports) {
      report.forEach((s) => {
        // Where this side's media goes: every candidate offered, and the pair in use.
        if (s.type === 'remote-candidate') {
          const c = `${s.protocol} ${s.address || s.ip}:${s.port}`;
          if (!out.remotes.includes(c)) out.remotes.push(c);
        }
        if (s.type === 'transport' && s.selectedCandidatePairId) {
          const pair = report.get(s.selectedCandidatePairId);
          const remote = pair && report.get(pair.remoteCandidateId);
          if (remote) out.selected = `${remote.protocol} ${remote.address || remote.ip}:${remote.port}`;
        }
        if ((s.type !== 'inbound-rtp' && s.type !== 'outbound-rtp') || counted.has(s.id)) return;
        counted.add(s.id);
        if (s.type === 'outbound-rtp') { out.bytesSent += s.bytesSent || 0; return; }
        out.bytesReceived += s.bytesReceived || 0;
        if (s.kind === 'video') {
          out.framesDecoded += s.framesDecoded || 0;
          if (s.framesDecoded > 0) out.videosDecoding++;
          out.jitterBufferDelay += s.jitterBufferDelay || 0;
          out.jitterBufferEmitted += s.jitterBufferEmittedCount || 0;
        }
        if (s.kind === 'audio') {
          out.audioEnergy += s.totalAudioEnergy || 0;
          out.audioSamples += s.totalSamplesReceived || 0;
          out.audioPackets += s.packetsReceived || 0;
        }
      });
    }
    return out;
  }
}
