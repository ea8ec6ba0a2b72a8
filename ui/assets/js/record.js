// Recording: the host starts and stops it (when the session's rules allow it), and
// everyone sees that the session is being recorded.
import { $ } from './dom.js';

export class Recording {
  // opts: send(msg), toast(opts)
  constructor(opts) {
    this.o = opts;
    this.on = false;
    this.chip = $('#rec-chip');
    this.btn = $('#rec-btn');
    this.btn.addEventListener('click', () => this.o.send({ type: 'record', action: this.on ? 'stop' : 'start' }));
  }

  // welcome: only a host whose session may be recorded gets the button.
  welcome(m) {
    this.btn.hidden = !m.canRecord;
    this.render();
  }

  state(m) {
    const was = this.on;
    this.on = !!m.on;
    if (this.on !== was) {
      this.o.toast(this.on
        ? { level: 'warning', title: 'This session is being recorded', message: 'What a guest sees is kept: masked fields stay masked.', key: 'recording' }
        : { level: 'info', title: 'Recording stopped', key: 'recording' });
    }
    this.render();
  }

  end() {
    this.on = false;
    this.btn.hidden = true;
    this.render();
  }

  render() {
    this.chip.hidden = !this.on;
    this.btn.textContent = this.on ? 'Stop recording' : 'Record';
    this.btn.setAttribute('aria-pressed', String(this.on));
  }
}
