// The sign-in view: name and password, and single sign-on when the server has it.

import { ApiError, request } from "./api.js";

// What the server's ?sso= code after a refused single sign-on means to a person.
export const ssoMessages = {
  expired: "Single sign-on took too long or was started in another tab. Please try again.",
  denied: "Single sign-on was cancelled at the provider.",
  failed: "Single sign-on did not work. Try again, or sign in with your name and password.",
  not_allowed: "Your account at the provider may not use this console. Ask an administrator to allow it.",
};

const $ = (id) => document.getElementById(id);

function invalid(input, on) {
  if (on) input.setAttribute("aria-invalid", "true");
  else input.removeAttribute("aria-invalid");
}

export class SignIn {
  constructor({ onSignedIn }) {
    this.onSignedIn = onSignedIn;
    this.view = $("signin-view");
    this.form = $("signin-form");
    this.name = $("signin-name");
    this.password = $("signin-password");
    this.submit = $("signin-submit");
    this.error = $("signin-error");
    this.info = $("signin-info");
    this.loginToken = "";
    this.busy = false;
    this.form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      this.signIn();
    });
    for (const input of [this.name, this.password]) {
      input.addEventListener("input", () => input.removeAttribute("aria-invalid"));
    }
  }

  // show displays the view; error is a refusal to explain, info a neutral note.
  async show({ error = "", info = "" } = {}) {
    this.view.hidden = false;
    this.setError(error);
    this.info.textContent = info;
    this.info.hidden = !info;
    this.name.focus();
    try {
      await this.fetchLoginToken();
    } catch (err) {
      this.setError(err.message);
    }
  }

  hide() {
    this.view.hidden = true;
    this.password.value = "";
  }

  async fetchLoginToken() {
    const data = await request("GET", "/api/v1/agent/login-token");
    this.loginToken = data.token || "";
    const sso = data.sso;
    $("sso").hidden = !sso;
    if (sso) {
      $("sso-name").textContent = sso.provider;
      $("sso-link").href = sso.loginURL;
    }
  }

  setError(message) {
    this.error.textContent = message;
    this.error.hidden = !message;
    if (message) this.info.hidden = true;
  }

  async signIn() {
    if (this.busy) return;
    const name = this.name.value.trim();
    const password = this.password.value;
    invalid(this.name, !name);
    invalid(this.password, !password);
    if (!name || !password) {
      this.setError(!name ? "Enter your name." : "Enter your password.");
      (!name ? this.name : this.password).focus();
      return;
    }

    this.busy = true;
    this.submit.disabled = true;
    this.submit.textContent = "Signing in…";
    this.setError("");
    try {
      const me = await this.post(name, password);
      this.password.value = "";
      this.onSignedIn(me);
    } catch (err) {
      const msg = err instanceof ApiError ? err.message : "Sign-in failed. Please try again.";
      this.setError(msg);
      if (err.status === 401) {
        this.password.value = "";
        invalid(this.name, true);
        invalid(this.password, true);
        this.password.focus();
      } else {
        this.error.focus();
      }
    } finally {
      this.busy = false;
      this.submit.disabled = false;
      this.submit.textContent = "Sign in";
    }
  }

  // post signs in; a stale login token (the browser dropped its cookie, say) is
  // fetched anew and the request tried once more.
  async post(name, password) {
    if (!this.loginToken) await this.fetchLoginToken();
    try {
      return await request("POST", "/agent/sign-in", { name, password }, { csrf: this.loginToken });
    } catch (err) {
      if (!(err instanceof ApiError) || err.code !== "csrf") throw err;
      await this.fetchLoginToken();
      return request("POST", "/agent/sign-in", { name, password }, { csrf: this.loginToken });
    }
  }
}
