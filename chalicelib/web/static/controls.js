// The composer's and the messages' buttons as the chat's state allows: Stop while a
// reply runs, and Send, Regenerate and Retry off while a quota or a budget is spent.
import { sentenceFor } from "./api.js";
import { lastReply } from "./messages.js";

const $ = (id) => document.getElementById(id);
// The refusals that last: a quota, a budget, a rate limit (until their Retry-After).
const LOCKING = new Set(["quota_exceeded", "budget_exhausted", "rate_limited"]);
let held = null; // {reason, until: ms, or null for "until another chat"}

export const locked = () => Boolean(held) && (!held.until || Date.now() < held.until);

// A lock outlives a reload in this browser's storage, where its refusal's scope is: one
// chat's limits, this browser's rate limits, or else the agent's (or operator's) quotas.
const KEY = "ai-maker:lock:";
const CHAT_LIMITS = new Set(["messagesPerSession", "filesPerSession"]);

function scopeOf(error, { configId, sessionId }) {
  if (CHAT_LIMITS.has(error.details?.limit)) return `session:${sessionId}`;
  return error.code === "rate_limited" ? "client" : `agent:${configId}`;
}

function hold(refusal, until, changed) {
  const retryAfter = until ? Math.max(0, (until - Date.now()) / 1000) : null;
  held = { reason: sentenceFor({ ...refusal, retryAfter }), until };
  if (until) setTimeout(changed, until - Date.now() + 50);
  changed();
}

/** Hold Send off after a lasting refusal (true if it is one); `changed()` runs when it passes. */
export function lock(error, changed, where) {
  if (!LOCKING.has(error.code)) return false;
  const until = error.retryAfter === null ? null : Date.now() + error.retryAfter * 1000;
  const refusal = { code: error.code, details: error.details };
  if (where) localStorage.setItem(KEY + scopeOf(error, where), JSON.stringify({ refusal, until }));
  hold(refusal, until, changed);
  return true;
}

/** Hold Send off again for a refusal kept from before a reload; forget passed ones. */
export function restoreLock({ configId, sessionId }, changed) {
  const scopes = ["client", `agent:${configId}`, ...(sessionId ? [`session:${sessionId}`] : [])];
  for (const scope of scopes) {
    let kept = null;
    try {
      kept = JSON.parse(localStorage.getItem(KEY + scope) || "null");
    } catch {
      kept = null;
    }
    if (kept && (!kept.until || Date.now() < kept.until)) {
      hold(kept.refusal, kept.until, changed);
      return;
    }
    localStorage.removeItem(KEY + scope);
  }
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
  for (const button of document.querySelectorAll(
    "#messages .regenerate, #messages .retry, #messages .edit, #messages .edit-send",
  )) {
    button.disabled = off;
  }
  // Showing another version sends nothing: only a running exchange holds it back.
  for (const button of document.querySelectorAll("#messages .versions button")) {
    button.disabled = Boolean(running) || button.dataset.end === "true";
  }
  $("new-chat").disabled = Boolean(running);
  $("export-md").disabled = !hasSession;
  $("export-json").disabled = !hasSession;
}
