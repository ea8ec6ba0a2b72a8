// Connection keeps one WebSocket to the session alive: hello first, reconnect with
// jittered backoff and resume after a blip, stop for good on a terminal bye.
import { decodeFrame, STOP_CODES, STOP_CLOSE } from './protocol.js';

const MIN_DELAY = 500;
const MAX_DELAY = 5000;

export class Connection {
  // opts: url, hello() → hello message, onMessage(msg), onFrame(frame), onStatus(status),
  // onStop(code, message). status is 'connecting' | 'live' | 'reconnecting' | 'ended'.
  constructor(opts) {
    this.opts = opts;
    this.ws = null;
    this.attempt = 0;
    this.timer = 0;
    this.stopped = false;
    this.bye = null;
    this.welcomed = false; // ever welcomed: later drops say "reconnecting"
    this.ready = false; // welcomed on the current socket
    this.onOnline = () => {
      if (!this.stopped && this.timer) {
        clearTimeout(this.timer);
        this.open();
      }
    };
    window.addEventListener('online', this.onOnline);
  }

  start() {
    this.setStatus('connecting');
    this.open();
  }

  open() {
    this.timer = 0;
    this.bye = null;
    let ws;
    try {
      ws = new WebSocket(this.opts.url);
    } catch {
      this.retry();
      return;
    }
    ws.binaryType = 'arraybuffer';
    this.ws = ws;
    ws.onopen = () => ws.send(JSON.stringify(this.opts.hello()));
    ws.onmessage = (ev) => this.receive(ev.data);
    ws.onclose = (ev) => {
      if (this.ws !== ws) return;
      this.ws = null;
      this.ready = false;
      this.closed(ev.code, ev.reason);
    };
  }

  receive(data) {
    if (typeof data !== 'string') {
      const frame = decodeFrame(data);
      if (frame) this.opts.onFrame(frame);
      return;
    }
    let msg;
    try {
      msg = JSON.parse(data);
    } catch {
      return;
    }
    if (!msg || typeof msg.type !== 'string') return;
    if (msg.type === 'welcome') {
      this.attempt = 0;
      this.welcomed = true;
      this.ready = true;
      this.setStatus('live');
    } else if (msg.type === 'bye') {
      this.bye = msg;
    }
    this.opts.onMessage(msg);
  }

  closed(code, reason) {
    if (this.stopped) return;
    const byeCode = this.bye ? this.bye.code : STOP_CLOSE.get(code);
    if (byeCode && STOP_CODES.has(byeCode)) {
      this.stop();
      this.opts.onStop(byeCode, (this.bye && this.bye.message) || reason || '');
      return;
    }
    this.retry();
  }

  retry() {
    this.setStatus(this.welcomed ? 'reconnecting' : 'connecting');
    const base = Math.min(MAX_DELAY, MIN_DELAY * 2 ** this.attempt);
    this.attempt++;
    // Jitter spreads the reconnects of a whole session after a server restart.
    const delay = base * (0.75 + Math.random() * 0.5);
    this.timer = setTimeout(() => this.open(), delay);
  }

  send(msg) {
    if (!this.ready || !this.ws || this.ws.readyState !== WebSocket.OPEN) return false;
    this.ws.send(JSON.stringify(msg));
    return true;
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    window.removeEventListener('online', this.onOnline);
    if (this.ws) {
      const ws = this.ws;
      this.ws = null;
      ws.close(1000);
    }
    this.setStatus('ended');
  }

  setStatus(s) {
    if (this.status === s) return;
    this.status = s;
    this.opts.onStatus(s);
  }
}
