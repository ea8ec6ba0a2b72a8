// Start page: create a session and go to the host's viewer link.
import { $, normaliseURL } from './dom.js';

const form = $('#start-form');
const urlInput = $('#url');
const keyField = $('#key-field');
const keyInput = $('#api-key');
const errorBox = $('#form-error');
const button = $('#start-btn');
let keyRequired = false;

function showError(message, field) {
  errorBox.textContent = message;
  errorBox.hidden = false;
  for (const el of [urlInput, keyInput]) el.removeAttribute('aria-invalid');
  if (field) {
    field.setAttribute('aria-invalid', 'true');
    field.focus();
  }
}

function clearError() {
  errorBox.hidden = true;
  errorBox.textContent = '';
  for (const el of [urlInput, keyInput]) el.removeAttribute('aria-invalid');
}

function busy(on) {
  button.disabled = on;
  button.classList.toggle('is-busy', on);
  button.setAttribute('aria-busy', String(on));
}

async function loadConfig() {
  try {
    const res = await fetch('/api/v1/config', { headers: { Accept: 'application/json' } });
    if (!res.ok) throw new Error(`status ${res.status}`);
    const cfg = await res.json();
    if (cfg.demoURL && !urlInput.value) urlInput.value = cfg.demoURL;
    keyRequired = !!cfg.apiKeyRequired;
    keyField.hidden = !keyRequired;
  } catch {
    // The form still works without the config; the server answers with a clear error.
  }
}

async function readError(res) {
  try {
    const body = await res.json();
    if (body && body.message) return body.message;
    if (body && body.error) return body.error.replaceAll('_', ' ');
  } catch { /* not JSON */ }
  return `The server refused the request (HTTP ${res.status}).`;
}

form.addEventListener('submit', async (ev) => {
  ev.preventDefault();
  clearError();
  const url = normaliseURL(urlInput.value);
  if (!url) {
    showError('Enter a web address that starts with http:// or https://.', urlInput);
    return;
  }
  urlInput.value = url;
  const key = keyInput.value.trim();
  if (keyRequired && !key) {
    showError('This server needs an API key to start a session.', keyInput);
    return;
  }
  const headers = { 'Content-Type': 'application/json', Accept: 'application/json' };
  if (key) headers.Authorization = `Bearer ${key}`;
  busy(true);
  try {
    const res = await fetch('/api/v1/sessions', { method: 'POST', headers, body: JSON.stringify({ url }) });
    if (!res.ok) {
      showError(await readError(res), res.status === 401 || res.status === 403 ? keyInput : urlInput);
      busy(false);
      return;
    }
    const body = await res.json();
    const host = body && body.links && body.links.host;
    if (!host) throw new Error('no host link');
    window.location.assign(host);
  } catch {
    showError('Could not reach the Tandem server. Check your connection and try again.');
    busy(false);
  }
});

loadConfig();
