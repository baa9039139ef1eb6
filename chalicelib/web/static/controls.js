// The composer's and the messages' buttons as the chat's state allows: Stop while a
// reply runs, and Send, Regenerate and Retry off while a quota or a budget is spent.
import { sentenceFor } from "./api.js";
import { lastReply } from "./messages.js";

const $ = (id) => document.getElementById(id);
// The refusals that last: a quota, a budget, a rate limit (until their Retry-After).
const LOCKING = new Set(["quota_exceeded", "budget_exhausted", "rate_limited"]);
let held = null; // {reason, until: ms, or null for "until another chat"}

export const locked = () => Boolean(held) && (!held.until || Date.now() < held.until);

/** Hold Send off after a lasting refusal; `changed()` runs again when it passes. */
export function lock(error, changed) {
  if (!LOCKING.has(error.code)) return;
  const until = error.retryAfter === null ? null : Date.now() + error.retryAfter * 1000;
  held = { reason: sentenceFor(error), until };
  if (until) setTimeout(changed, until - Date.now() + 50);
  changed();
}

/** A limit of one chat (no Retry-After) ends with that chat. */
export function unlockChat() {
  if (held && !held.until) held = null;
}

export function showControls(running, hasSession) {
  if (held && !locked()) held = null;
  const off = Boolean(running) || locked();
  $("stop").hidden = !running;
  $("send").hidden = Boolean(running);
  $("send").disabled = off;
  $("lock").hidden = !locked();
  $("lock").textContent = locked() ? held.reason : "";
  if (locked()) $("send").setAttribute("aria-describedby", "lock");
  else $("send").removeAttribute("aria-describedby");
  const last = lastReply();
  for (const reply of document.querySelectorAll("#messages .message.model")) {
    reply.classList.toggle("last-reply", reply === last);
  }
  for (const button of document.querySelectorAll("#messages .regenerate, #messages .retry")) {
    button.disabled = off;
  }
  $("new-chat").disabled = Boolean(running);
  $("export-md").disabled = !hasSession;
  $("export-json").disabled = !hasSession;
}
