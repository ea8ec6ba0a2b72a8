// Input turns the viewer's mouse, wheel, keyboard, clipboard, IME and touch events into
// protocol messages while this participant holds control, and into a named pointer
// while it does not.
import { modifiers, buttonName, wheelPixels } from './protocol.js';

// Named keys whose browser default must not run on the viewer page (Tab must not leave
// the stage, Backspace must not navigate, arrows must not scroll the viewer).
const CAPTURED = new Set([
  'Tab', 'Backspace', 'Delete', 'Escape', 'ArrowUp', 'ArrowDown', 'ArrowLeft', 'ArrowRight',
  'Home', 'End', 'PageUp', 'PageDown', 'Insert', 'Enter', ' ',
]);
// Keys that only feed the IME or carry nothing the tab can use.
const IGNORED = new Set(['Dead', 'Unidentified', 'Process', 'Compose']);
const POINTER_INTERVAL = 50; // ms: the server relays at most 20 pointer updates a second

export class Input {
  // opts: screen, sink (textarea), send(msg), inControl(), mayPoint(), hint(text),
  // drawing() (drawing mode is on: presses draw, they are never input; see draw.js)
  constructor(opts) {
    this.o = opts;
    this.canvas = opts.screen.canvas;
    this.sink = opts.sink;
    this.buttons = 0; // buttons we sent down and not yet up
    this.keysDown = new Set(); // codes we sent down and not yet up
    this.move = null; // pending mouse move for the next animation frame
    this.wheel = null;
    this.touch = null;
    this.raf = 0;
    this.pointerAt = 0;
    this.pointerTimer = 0;
    this.pointerPending = null;
    this.pointerShown = false;
    this.composing = false;
    this.bind();
  }

  bind() {
    const c = this.canvas;
    c.addEventListener('mousedown', (e) => this.mouseDown(e));
    c.addEventListener('mousemove', (e) => this.mouseMove(e));
    c.addEventListener('mouseleave', () => this.leave());
    window.addEventListener('mousemove', (e) => { if (this.buttons) this.mouseMove(e); });
    window.addEventListener('mouseup', (e) => this.mouseUp(e));
    c.addEventListener('contextmenu', (e) => e.preventDefault());
    c.addEventListener('wheel', (e) => this.onWheel(e), { passive: false });
    for (const t of ['touchstart', 'touchmove', 'touchend', 'touchcancel']) {
      c.addEventListener(t, (e) => this.onTouch(e), { passive: false });
    }
    const s = this.sink;
    s.addEventListener('keydown', (e) => this.keyDown(e));
    s.addEventListener('keyup', (e) => this.keyUp(e));
    // A key down this viewer sent already carried its text: the character it produces
    // must not arrive a second time through the sink (some input paths deliver it as a
    // keypress of its own even after the key down was cancelled).
    s.addEventListener('keypress', (e) => { if (this.o.inControl() && !this.composing) e.preventDefault(); });
    s.addEventListener('paste', (e) => this.paste(e));
    s.addEventListener('input', (e) => this.input(e));
    s.addEventListener('compositionstart', (e) => this.compose(e));
    s.addEventListener('compositionupdate', (e) => this.compose(e));
    s.addEventListener('compositionend', (e) => this.composeEnd(e));
    s.addEventListener('blur', () => this.releaseKeys());
  }

  get active() {
    return this.o.inControl() && this.o.screen.hasFrame;
  }

  // controlChanged forgets held state when control moves; the server releases keys
  // and buttons in the tab itself.
  controlChanged(inControl) {
    if (!inControl) {
      this.buttons = 0;
      this.keysDown.clear();
      this.move = this.wheel = this.touch = null;
      if (document.activeElement === this.sink) this.sink.blur();
    }
  }

  focus() {
    this.sink.focus({ preventScroll: true });
  }

  // --- mouse ---

  mouseMsg(action, e, extra = {}) {
    const p = this.o.screen.normalise(e.clientX, e.clientY);
    return {
      type: 'mouse', action, x: p.x, y: p.y, button: 'none',
      buttons: e.buttons | 0, clickCount: 0, modifiers: modifiers(e), ...extra,
    };
  }

  mouseDown(e) {
    if (this.o.drawing && this.o.drawing()) return;
    if (!this.active) {
      if (e.button === 0) this.o.hint(e);
      this.pointerMove(e);
      return;
    }
    e.preventDefault(); // keep focus in the key sink and stop text selection
    this.focus();
    this.flush();
    this.buttons |= 1 << e.button;
    this.o.send(this.mouseMsg('down', e, { button: buttonName(e.button), clickCount: e.detail || 1 }));
  }

  mouseUp(e) {
    const bit = 1 << e.button;
    if (!(this.buttons & bit)) return;
    this.buttons &= ~bit;
    if (!this.active) return;
    this.flush();
    this.o.send(this.mouseMsg('up', e, { button: buttonName(e.button), clickCount: e.detail || 1 }));
  }

  mouseMove(e) {
    if (this.active) {
      this.move = this.mouseMsg('move', e);
      this.schedule();
    }
    this.pointerMove(e);
  }

  leave() {
    if (this.buttons) return; // a drag continues outside the picture
    this.pointerHide();
  }

  onWheel(e) {
    if (!this.active) return;
    e.preventDefault();
    const p = this.o.screen.normalise(e.clientX, e.clientY);
    const d = wheelPixels(e, this.canvas.clientHeight);
    if (this.wheel) {
      this.wheel.deltaX += d.deltaX;
      this.wheel.deltaY += d.deltaY;
      this.wheel.x = p.x;
      this.wheel.y = p.y;
    } else {
      this.wheel = { type: 'wheel', x: p.x, y: p.y, ...d, modifiers: modifiers(e) };
    }
    this.schedule();
  }

  // --- named pointer (also while in control, so others see where the driver is) ---

  pointerMove(e) {
    if (!this.o.mayPoint() || !this.o.screen.hasFrame || e.sourceCapabilities?.firesTouchEvents) return;
    const p = this.o.screen.normalise(e.clientX, e.clientY);
    if (!p.inside) {
      this.pointerHide();
      return;
    }
    this.pointerPending = { type: 'pointer', x: p.x, y: p.y };
    const wait = this.pointerAt + POINTER_INTERVAL - performance.now();
    if (wait <= 0) this.pointerFlush();
    else if (!this.pointerTimer) this.pointerTimer = setTimeout(() => this.pointerFlush(), wait);
  }

  pointerFlush() {
    this.pointerTimer = 0;
    if (!this.pointerPending) return;
    if (this.o.send(this.pointerPending)) {
      this.pointerAt = performance.now();
      this.pointerShown = true;
    }
    this.pointerPending = null;
  }

  pointerHide() {
    clearTimeout(this.pointerTimer);
    this.pointerTimer = 0;
    this.pointerPending = null;
    if (this.pointerShown) {
      this.o.send({ type: 'pointer', visible: false });
      this.pointerShown = false;
    }
  }

  // --- touch ---

  onTouch(e) {
    if (this.o.drawing && this.o.drawing()) return;
    if (!this.active) {
      if (e.type === 'touchstart' && e.touches.length === 1) this.o.hint(e.touches[0]);
      return;
    }
    e.preventDefault(); // the viewer page itself must not scroll or zoom
    const action = { touchstart: 'start', touchmove: 'move', touchend: 'end', touchcancel: 'cancel' }[e.type];
    const touches = action === 'cancel' ? [] : Array.from(e.touches, (t) => {
      const p = this.o.screen.normalise(t.clientX, t.clientY);
      return { id: t.identifier, x: p.x, y: p.y };
    });
    const msg = { type: 'touch', action, touches, modifiers: modifiers(e) };
    if (action === 'move') {
      this.touch = msg;
      this.schedule();
      return;
    }
    this.flush();
    this.o.send(msg);
  }

  // --- animation-frame batching of moves, wheel and touch moves ---

  schedule() {
    if (!this.raf) this.raf = requestAnimationFrame(() => this.flush());
  }

  flush() {
    if (this.raf) cancelAnimationFrame(this.raf);
    this.raf = 0;
    if (!this.active) {
      this.move = this.wheel = this.touch = null;
      return;
    }
    for (const k of ['move', 'touch', 'wheel']) {
      if (this[k]) this.o.send(this[k]);
      this[k] = null;
    }
  }

  // --- keyboard ---

  keyMsg(action, e, text) {
    return {
      type: 'key', action, key: e.key, code: e.code, keyCode: e.keyCode | 0, text,
      modifiers: modifiers(e), repeat: !!e.repeat, location: e.location | 0,
    };
  }

  keyDown(e) {
    if (!this.o.inControl()) return;
    if (e.isComposing || e.keyCode === 229 || this.composing) return; // the IME owns it
    if (IGNORED.has(e.key)) return;
    const shortcut = (e.ctrlKey || e.metaKey) && !(e.ctrlKey && e.altKey); // AltGr is Ctrl+Alt
    const k = e.key.length === 1 ? e.key.toLowerCase() : '';
    const shiftInsert = e.key === 'Insert' && e.shiftKey && !e.ctrlKey && !e.metaKey && !e.altKey;
    if ((shortcut && k === 'v' && !e.altKey) || shiftInsert) {
      return; // let the paste event bring the viewer's clipboard as text
    }
    this.flush();
    const printable = [...e.key].length === 1;
    let text = '';
    if (!shortcut && printable) text = e.key;
    else if (!shortcut && e.key === 'Enter') text = '\r';
    e.preventDefault();
    this.keysDown.add(e.code || e.key);
    // Copy and cut keys are answered by the server with a clipboard message.
    this.o.send(this.keyMsg('down', e, text));
  }

  keyUp(e) {
    const id = e.code || e.key;
    if (!this.keysDown.has(id)) return;
    this.keysDown.delete(id);
    if (!this.o.inControl()) return;
    if (CAPTURED.has(e.key) || [...e.key].length === 1) e.preventDefault();
    this.o.send(this.keyMsg('up', e, ''));
  }

  // releaseKeys sends key ups for keys held when the sink loses focus (alt-tab), so
  // nothing stays stuck in the tab.
  releaseKeys() {
    if (!this.keysDown.size) return;
    if (this.o.inControl()) {
      for (const code of this.keysDown) {
        this.o.send({ type: 'key', action: 'up', key: '', code, keyCode: 0, text: '', modifiers: 0, repeat: false, location: 0 });
      }
    }
    this.keysDown.clear();
  }

  paste(e) {
    e.preventDefault();
    if (!this.o.inControl()) return;
    const text = e.clipboardData ? e.clipboardData.getData('text/plain') : '';
    if (text) this.o.send({ type: 'text', text });
  }

  // input catches text that arrived without a key we could express (emoji pickers,
  // dictation, InsertText); keys we handled never reach the textarea.
  input(e) {
    if (e.isComposing || e.inputType === 'insertCompositionText') return;
    const text = e.data || (e.inputType === 'insertLineBreak' ? '\r' : '');
    this.sink.value = '';
    if (text && this.o.inControl()) this.o.send({ type: 'text', text });
  }

  compose(e) {
    if (e.type === 'compositionstart') this.composing = true;
    if (!this.o.inControl()) return;
    const text = e.data || '';
    if (e.type === 'compositionstart' && !text) return;
    const n = text.length;
    this.o.send({ type: 'composition', text, selectionStart: n, selectionEnd: n });
  }

  composeEnd(e) {
    this.composing = false;
    this.sink.value = '';
    if (!this.o.inControl()) return;
    if (e.data) this.o.send({ type: 'text', text: e.data });
    else this.o.send({ type: 'composition', text: '', selectionStart: 0, selectionEnd: 0 });
  }
}
