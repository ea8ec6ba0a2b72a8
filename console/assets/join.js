// The "Join with a code" card: the visitor reads out a 6-digit code, the agent types
// it, and the session opens in a new tab.

import { ApiError, openTab, request } from "./api.js";

const $ = (id) => document.getElementById(id);

const messages = {
  404: "That code is wrong or has expired.",
  429: "Too many wrong codes. Wait a minute and try again.",
};

export class Join {
  constructor({ onSignedOut }) {
    this.onSignedOut = onSignedOut;
    this.form = $("join-form");
    this.input = $("join-code");
    this.submit = $("join-submit");
    this.result = $("join-result");
    this.busy = false;
    this.form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      this.join();
    });
    // Codes are often pasted or read out with spaces ("123 456"): keep the digits.
    this.input.addEventListener("input", () => {
      const digits = this.input.value.replace(/\D/g, "").slice(0, 6);
      if (digits !== this.input.value) this.input.value = digits;
      this.input.removeAttribute("aria-invalid");
    });
  }

  reset() {
    this.input.value = "";
    this.input.removeAttribute("aria-invalid");
    this.result.replaceChildren();
  }

  async join() {
    if (this.busy) return;
    const code = this.input.value.replace(/\D/g, "");
    if (!/^\d{6}$/.test(code)) {
      this.input.setAttribute("aria-invalid", "true");
      this.show("error", "Enter the 6 digits of the code.");
      this.input.focus();
      return;
    }
    this.busy = true;
    this.submit.disabled = true;
    this.submit.textContent = "Joining…";
    try {
      const { id, link } = await request("POST", "/api/v1/join", { code });
      openTab(link);
      this.input.value = "";
      this.showJoined(id, link);
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) {
        this.onSignedOut();
        return;
      }
      this.input.setAttribute("aria-invalid", "true");
      this.show("error", err.fromServer ? err.message : messages[err.status] || err.message);
      this.input.select();
    } finally {
      this.busy = false;
      this.submit.disabled = false;
      this.submit.textContent = "Join";
    }
  }

  show(kind, text) {
    const box = document.createElement("div");
    box.className = `alert alert-${kind}`;
    box.textContent = text;
    this.result.replaceChildren(box);
  }

  showJoined(id, link) {
    const box = document.createElement("div");
    box.className = "alert alert-success";
    const a = document.createElement("a");
    a.href = link;
    a.target = "_blank";
    a.rel = "noopener noreferrer";
    a.textContent = "Open it again";
    box.append(`Joined session ${id}. It opened in a new tab. `, a);
    this.result.replaceChildren(box);
  }
}
