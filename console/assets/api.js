// Talking to the Tandem server: JSON in and out, errors as ApiError carrying the
// server's {"error", "message"} so views can show the sentence it wrote.

export class ApiError extends Error {
  constructor(status, code, message, { retryAfter = 0, fromServer = false } = {}) {
    super(message);
    this.status = status;
    this.code = code;
    this.retryAfter = retryAfter;
    this.fromServer = fromServer; // message is the server's own sentence
  }
}

// The session's CSRF token, sent as X-CSRF-Token on every unsafe request.
let csrfToken = "";

export function setCSRFToken(token) {
  csrfToken = token || "";
}

// refreshCSRF, when set, fetches the current session's token after the server refused
// ours: another tab may have signed in again and so replaced the session.
let refreshCSRF = null;

export function onStaleCSRF(fn) {
  refreshCSRF = fn;
}

const fallback = {
  400: "The server did not understand the request.",
  401: "You are signed out. Sign in again.",
  403: "The request was refused. Reload the page and try again.",
  404: "Not found.",
  409: "That has already been taken care of.",
  429: "Too many attempts. Wait a minute and try again.",
};

// request sends method to path with an optional JSON body. It resolves to the parsed
// answer (an empty object when there is none) and rejects with an ApiError.
export async function request(method, path, body, { csrf } = {}) {
  try {
    return await send(method, path, body, csrf);
  } catch (err) {
    if (csrf !== undefined || !refreshCSRF || err.code !== "csrf") throw err;
    setCSRFToken(await refreshCSRF());
    return send(method, path, body, csrf);
  }
}

async function send(method, path, body, csrf) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const token = csrf ?? csrfToken;
  if (method !== "GET" && token) headers["X-CSRF-Token"] = token;

  let res;
  try {
    res = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "same-origin",
      cache: "no-store",
    });
  } catch {
    throw new ApiError(0, "network", "Tandem could not be reached. Check your connection and try again.");
  }

  let data = null;
  const text = await res.text().catch(() => "");
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = null;
    }
  }
  if (!res.ok) {
    const own = data && typeof data.message === "string" && data.message ? data.message : "";
    const code = (data && typeof data.error === "string" && data.error) || `http_${res.status}`;
    throw new ApiError(res.status, code, own || fallback[res.status] || `The server answered ${res.status}.`, {
      retryAfter: Number(res.headers.get("Retry-After")) || 0,
      fromServer: Boolean(own),
    });
  }
  return data ?? {};
}

// openTab opens a session link in a new tab without giving it a handle on this page.
export function openTab(link) {
  window.open(link, "_blank", "noopener");
}
