// Uploads: the shared page asks for a file (an <input type=file> was clicked). The
// participant in control picks it here, in their own browser; it is uploaded to Tandem,
// which hands it to the page. Everyone else is told by the server's notices.
import { $, h } from './dom.js';

// formatBytes says a size as people read it (1024-based, as file managers do).
export function formatBytes(n) {
  if (n >= 1 << 20) return `${(n / (1 << 20)).toFixed(n % (1 << 20) ? 1 : 0)} MB`;
  if (n >= 1 << 10) return `${Math.round(n / (1 << 10))} KB`;
  return `${n} bytes`;
}

// allowed mirrors the server's first check: the name's extension or the browser's type
// of the file is on the list (the server also looks at the content).
function allowed(file, types) {
  if (!types || !types.length) return true;
  const dot = file.name.lastIndexOf('.');
  const ext = dot > 0 ? file.name.slice(dot).toLowerCase() : '';
  const type = (file.type || '').toLowerCase();
  return types.some((t) => (t.startsWith('.') ? t === ext : t.endsWith('/*') ? type.startsWith(t.slice(0, -1)) : t === type));
}

// kindName names an entry of a type list as people know it: ".pdf" and "application/pdf"
// are both "PDF", "image/*" is "Images".
const FAMILIES = { image: 'Images', audio: 'Audio', video: 'Video', text: 'Text files', application: 'Documents' };
function kindName(t) {
  t = t.trim().toLowerCase();
  if (t.startsWith('.')) return t.slice(1).toUpperCase();
  const [family, sub = ''] = t.split('/');
  if (sub === '*') return FAMILIES[family] || `${family} files`;
  const short = sub.replace(/^x-/, '');
  return /^[a-z0-9]{1,5}$/.test(short) ? short.toUpperCase() : t;
}

// describe says which files go, from the session's rule, else from the page's own hint.
function describe(m) {
  const source = m.types && m.types.length ? m.types : (m.accept || '').split(',').filter((s) => s.trim());
  const list = [...new Set(source.map(kindName))];
  const kinds = list.length ? list.slice(0, 6).join(', ') + (list.length > 6 ? '…' : '') : 'Any file';
  return `${kinds} · up to ${formatBytes(m.maxBytes)}${m.mode === 'multiple' ? ' each' : ''}`;
}

export class Uploads {
  // opts: key() → this participant's own key (its welcome's resumeToken), send(msg),
  // toast(opts), where() → the shared page's address.
  constructor(opts) {
    this.o = opts;
    this.chooser = null; // the file_chooser message being answered
    this.xhr = null;
    this.el = {
      box: $('#upload'), form: $('#upload-form'), title: $('#upload-title'), input: $('#upload-input'),
      drop: $('#upload-drop'), pick: $('#upload-pick'), limits: $('#upload-limits'), files: $('#upload-files'),
      progress: $('#upload-progress'), bar: $('#upload-bar'), percent: $('#upload-percent'),
      error: $('#upload-error'), send: $('#upload-send'), cancel: $('#upload-cancel'), note: $('#upload-note'),
    };
    const { el } = this;
    el.input.addEventListener('change', () => this.chosen());
    el.form.addEventListener('submit', (e) => { e.preventDefault(); this.upload(); });
    el.cancel.addEventListener('click', () => this.cancel());
    el.box.addEventListener('keydown', (e) => { if (e.key === 'Escape') this.cancel(); });
    el.input.addEventListener('dragenter', () => el.drop.classList.add('is-over'));
    for (const ev of ['dragleave', 'drop']) el.input.addEventListener(ev, () => el.drop.classList.remove('is-over'));
  }

  // open shows the panel for a file_chooser message: the page asks this participant.
  open(m) {
    this.abort();
    this.chooser = m;
    const { el } = this;
    const many = m.mode === 'multiple';
    el.title.textContent = many ? 'The page asks for files' : 'The page asks for a file';
    let host = '';
    try { host = new URL(this.o.where()).host; } catch { /* no address yet */ }
    el.note.textContent = `${host ? `${host} wants` : 'It wants'} ${many ? 'files' : 'a file'} from this device. `
      + 'Only the shared page gets the contents; the others in the session see the name and size.';
    el.pick.textContent = many ? 'Choose files' : 'Choose a file';
    el.limits.textContent = describe(m);
    el.input.value = '';
    el.input.multiple = many;
    el.input.accept = m.accept || '';
    el.files.replaceChildren();
    el.files.hidden = true;
    this.busy(false);
    this.error('');
    el.send.disabled = true;
    el.box.hidden = false;
    el.input.focus();
  }

  // closed ends the panel when the server says the chooser is over.
  closed(m) {
    if (!this.chooser || m.id !== this.chooser.id) return;
    const mine = m.result === 'chosen' || (m.result === 'cancelled' && m.reason === 'cancelled');
    this.hide();
    if (mine) return;
    this.o.toast({
      level: 'info', key: 'upload',
      title: m.reason === 'control_changed' ? 'The file request was cancelled' : 'The page no longer asks for a file',
      message: m.reason === 'control_changed' ? 'Control moved to someone else.' : '',
    });
  }

  hide() {
    this.abort();
    this.chooser = null;
    this.el.box.hidden = true;
  }

  cancel() {
    if (!this.chooser) return;
    this.o.send({ type: 'file_chooser', id: this.chooser.id, action: 'cancel' });
    this.hide();
  }

  // chosen lists the picked files and says at once what the server would refuse.
  chosen() {
    const m = this.chooser;
    if (!m) return;
    const files = [...this.el.input.files];
    let problem = '';
    this.el.files.replaceChildren(...files.map((f) => {
      const tooBig = f.size > m.maxBytes;
      const refused = !allowed(f, m.types);
      if (!problem && tooBig) problem = `${f.name} is larger than ${formatBytes(m.maxBytes)}, the most allowed here.`;
      if (!problem && refused) problem = `${f.name} is not a type of file allowed here (${describe(m)}).`;
      return h('li', { class: `upload-file${tooBig || refused ? ' is-bad' : ''}` },
        h('span', { class: 'upload-file-name', text: f.name, title: f.name }),
        h('span', { class: 'upload-file-size', text: formatBytes(f.size) }));
    }));
    this.el.files.hidden = !files.length;
    this.error(problem);
    this.el.send.disabled = !files.length || !!problem;
  }

  upload() {
    const m = this.chooser;
    const files = [...this.el.input.files];
    if (!m || !files.length || this.xhr) return;
    const body = new FormData();
    for (const f of files) body.append('file', f, f.name);
    const xhr = new XMLHttpRequest();
    this.xhr = xhr;
    xhr.open('POST', m.upload);
    xhr.setRequestHeader('Authorization', `Bearer ${this.o.key()}`);
    xhr.responseType = 'json';
    xhr.upload.onprogress = (e) => { if (e.lengthComputable) this.progress(e.loaded / e.total); };
    xhr.onload = () => {
      this.xhr = null;
      if (xhr.status === 200) {
        this.progress(1);
        this.hide(); // everyone, this participant too, is told by the server's notice
        return;
      }
      this.busy(false);
      const answer = xhr.response || {};
      this.error(answer.message || `The upload was refused (HTTP ${xhr.status}).`);
      if (answer.error === 'no_chooser' || answer.error === 'not_controller' || answer.error === 'upload_refused') {
        this.el.send.disabled = true;
      }
    };
    xhr.onerror = () => {
      this.xhr = null;
      this.busy(false);
      this.error('The upload did not get through. Check your connection and try again.');
    };
    this.error('');
    this.busy(true);
    this.progress(0);
    xhr.send(body);
  }

  abort() {
    if (this.xhr) {
      const x = this.xhr;
      this.xhr = null;
      x.abort();
    }
  }

  busy(on) {
    const { el } = this;
    el.form.classList.toggle('is-busy', on);
    el.send.disabled = on;
    el.input.disabled = on;
    el.progress.hidden = !on;
  }

  progress(f) {
    this.el.bar.style.transform = `scaleX(${f})`;
    this.el.percent.textContent = `${Math.round(f * 100)}%`;
  }

  error(text) {
    this.el.error.textContent = text;
    this.el.error.hidden = !text;
  }
}
