// The agent console: signs the agent in, then offers joining by code and the live
// help queue. Plain modules, no build step; see api.js for how it talks to the server.

import { ApiError, onStaleCSRF, request, setCSRFToken } from "./api.js";
import { Join } from "./join.js";
import { Queue } from "./queue.js";
import { SignIn, ssoMessages } from "./signin.js";
import { Recordings } from "./replay.js";

const $ = (id) => document.getElementById(id);

const ended = "Your session has ended. Please sign in again.";

const signIn = new SignIn({ onSignedIn: (me) => showConsole(me) });
const join = new Join({ onSignedOut: () => showSignIn({ error: ended }) });
const queue = new Queue({
  onSignedOut: () => showSignIn({ error: ended }),
  sessionAlive: async () => {
    try {
      await request("GET", "/api/v1/agent/me");
      return true;
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) return false;
      throw err;
    }
  },
});

const recordings = new Recordings();

onStaleCSRF(async () => {
  const me = await request("GET", "/api/v1/agent/me");
  showAgent(me);
  return me.csrfToken;
});

function initials(name) {
  const words = name.replace(/^oidc:/, "").split(/[\s@._-]+/).filter(Boolean);
  return ((words[0]?.[0] || "") + (words[1]?.[0] || "")).toUpperCase() || "?";
}

function showAgent(me) {
  const display = me.displayName || me.name;
  $("agent-display").textContent = display;
  $("agent-name").textContent = me.name.replace(/^oidc:/, "");
  $("agent-name").hidden = display === me.name.replace(/^oidc:/, "");
  $("avatar").textContent = initials(display);
}

function showConsole(me) {
  setCSRFToken(me.csrfToken);
  showAgent(me);
  $("loading").hidden = true;
  signIn.hide();
  $("console-error").hidden = true;
  $("account").hidden = false;
  $("console-view").hidden = false;
  join.reset();
  queue.start();
  recordings.start();
  $("join-code").focus();
}

function showSignIn(note) {
  setCSRFToken("");
  queue.stop();
  join.reset();
  $("loading").hidden = true;
  $("account").hidden = true;
  $("console-view").hidden = true;
  signIn.show(note);
}

$("sign-out").addEventListener("click", async (ev) => {
  const button = ev.currentTarget;
  button.disabled = true;
  try {
    await request("POST", "/agent/sign-out");
  } catch (err) {
    if (!(err instanceof ApiError) || err.status !== 401) {
      const box = $("console-error");
      box.textContent = `Signing out did not work: ${err.message}`;
      box.hidden = false;
      return;
    }
  } finally {
    button.disabled = false;
  }
  showSignIn({ info: "You have signed out." });
});

async function boot() {
  // After single sign-on the server sends the browser here, with ?sso=CODE on refusal.
  const params = new URLSearchParams(location.search);
  const sso = params.get("sso");
  if (params.has("sso")) history.replaceState(null, "", location.pathname);
  try {
    showConsole(await request("GET", "/api/v1/agent/me"));
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) {
      showSignIn({ error: sso ? ssoMessages[sso] || ssoMessages.failed : "" });
    } else {
      showSignIn({ error: err.message });
    }
  }
}

boot();
