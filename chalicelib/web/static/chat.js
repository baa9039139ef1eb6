// GET /chat/{id}: the share link. A visitor's own sessions, their history, and the chat.
import { ApiError, BASE, api, sentenceFor, showStatus } from "./api.js";
import { attachmentTray } from "./attach.js";
import { branchActions } from "./chat-branches.js";
import { lock, locked, restoreLock, showControls, unlockChat } from "./controls.js";
import { fillSettings, wireMenu } from "./chat-menu.js";
import { exchange } from "./exchange.js";
import { ratings } from "./feedback.js";
import { fileLink } from "./files.js";
import { chatStore, pastChats } from "./history.js";
import * as view from "./messages.js";
import { wireShares } from "./share.js";
import { TOUCH, closeDrawerOnPhone, fitComposer, wireShell } from "./shell.js";
import { deadLink, embedOff, notAvailable, paused, usageLine, welcome } from "./welcome.js";

const PAGE_SIZE = 20;
const $ = (id) => document.getElementById(id);
const configId = decodeURIComponent(window.location.pathname.split("/").pop());
// GET /embed/{id} is this page in a frame on the creator's site (see embed.js).
const embedded = document.body.dataset.mode === "embed";
const page = {
  agent: null, settings: null, session: null, cursor: null, running: null, usage: null,
};
const setState = (text, kind = "") => showStatus($("state"), text, kind);
const store = chatStore(configId);
const unsent = new WeakMap(); // a failed message's <article> -> what to send again
let tray;
let sidebar;

function showTitle() {
  const title = page.agent?.title || page.settings?.title || "";
  $("agent-title").textContent = title;
  document.title = `${title} · AI Maker`;
}

function showSettings(settings) {
  page.settings = settings;
  view.setJsonReplies(settings.responseFormat?.type === "json_schema");
  showTitle();
  $("agent-model").textContent = `${settings.model} · temperature ${settings.temperature}`;
  fillSettings(settings);
}

function showWelcome() {
  const empty = view.isEmpty() && !page.cursor && $("unavailable").hidden;
  welcome(empty, page.agent || page.settings, send);
}

function showUsage(total, context) {
  page.usage = total;
  usageLine(total, context);
}

function addUsage(usage, context) {
  showUsage({ totalTokens: (page.usage?.totalTokens || 0) + usage.totalTokens }, context);
}

function setRunning(running) {
  page.running = running;
  showControls(running, Boolean(page.session));
}

function setCursor(cursor) {
  page.cursor = cursor;
  $("load-earlier").hidden = !cursor;
}

async function loadEarlier() {
  const { sessionId, sessionToken } = page.session;
  const query = new URLSearchParams({ limit: String(PAGE_SIZE) });
  if (page.cursor) query.set("before", page.cursor);
  const result = await api("GET", `/session/${sessionId}/messages?${query}`, {
    token: sessionToken,
  });
  setCursor(result.nextCursor);
  return result.messages;
}

function reset() {
  page.session = null;
  view.clear();
  setCursor(null);
  showUsage(null);
  tray?.clear();
  unlockChat();
  $("unavailable").hidden = true;
  $("composer").hidden = false;
  $("new-chat").hidden = false;
  $("menu-button").hidden = false;
  setState("");
}

/** Show one of this browser's chats; false if the server no longer has it. */
async function openChat(chat) {
  let session;
  try {
    session = await api("GET", `/session/${chat.sessionId}`, { token: chat.sessionToken });
  } catch (error) {
    if (error instanceof ApiError && [401, 403, 404].includes(error.status)) {
      store.forget(chat.sessionId);
      return false;
    }
    throw error;
  }
  reset();
  page.session = { sessionId: chat.sessionId, sessionToken: chat.sessionToken };
  restoreLock({ configId, sessionId: chat.sessionId }, () => setRunning(page.running));
  showSettings(session);
  showUsage(session.usage);
  for (const message of await loadEarlier()) view.append(message);
  const seen = { title: session.title, updatedAt: session.updatedAt };
  if (!page.cursor && view.firstUserText()) seen.firstMessage = view.firstUserText().slice(0, 80);
  store.change(chat.sessionId, seen);
  store.opened(chat.sessionId);
  showWelcome();
  view.followEnd(true);
  return true;
}

/** The agent as it is now; null, with the dead-link page up, once it is gone. */
async function loadAgent() {
  try {
    page.agent = await api("GET", `/chat-config/${configId}`);
    return page.agent;
  } catch (error) {
    if (error.code !== "config_not_found") throw error;
    deadLink(error);
    return null;
  }
}

/** A chat not started yet: the agent as it is now (it may be gone, or paused). */
async function startFresh() {
  reset();
  restoreLock({ configId }, () => setRunning(page.running));
  if (!(await loadAgent())) return;
  showSettings(page.agent);
  if (!page.agent.sharing) {
    paused();
    return;
  }
  showWelcome();
  setState("Say hello to start.");
}

async function ensureSession() {
  if (page.session) return page.session;
  const created = await api("POST", "/chat-session", { body: { chatConfigId: configId } });
  page.session = { sessionId: created.sessionId, sessionToken: created.sessionToken };
  store.add({ ...page.session, title: created.title });
  showSettings(created);
  sidebar.render();
  return page.session;
}

// One send at a time, from its Enter on: a second Enter while a new chat's session is
// still being made must start neither a second send nor a second session.
let sending = false;

/** Run `task` unless an exchange (or a switch) is under way; a later one waits its turn
 * by not starting. `sends`: it is refused while the chat is locked (a quota...). */
async function alone(task, sends = true) {
  if (page.running || sending || (sends && locked())) return;
  sending = true;
  try {
    await task();
  } finally {
    sending = false;
  }
}

async function send(text, again = null) {
  if (text.trim()) await alone(() => sendNow(text, again));
}

async function sendNow(text, again) {
  let session;
  try {
    session = await ensureSession();
  } catch (error) {
    setState(sentenceFor(error), "error");
    if (error.code === "sharing_disabled") await startFresh().catch(() => {});
    return;
  }
  if (!again && tray.busy()) {
    setState("Wait for the files to finish uploading.", "error");
    return;
  }
  const attachments = again ? again.attachments : tray.ready();
  if (!again) {
    tray.clear();
    $("message").value = "";
    fitComposer();
  }
  if (view.isEmpty()) store.change(session.sessionId, { firstMessage: text.slice(0, 80) });
  store.change(session.sessionId, { updatedAt: new Date().toISOString() });
  sidebar.render();
  let userItem = again?.item;
  if (userItem) {
    $("messages").append(userItem); // a retried message goes last, where its reply will be
    view.setNote(userItem, "", "sending");
  }
  else {
    const mine = { role: "user", content: text, createdAt: new Date().toISOString(), attachments };
    userItem = view.append(mine);
  }
  unsent.set(userItem, { text, attachments });
  showWelcome();
  const replyItem = view.append({ role: "model", content: "" });
  view.followEnd(true);
  const fields = { message: text };
  if (attachments.length) fields.attachments = attachments.map((file) => file.fileId);
  await run("send", session, fields, { userItem, replyItem, text });
  if (userItem.dataset.id) unsent.delete(userItem);
}

async function regenerate(replyItem = view.lastReply()) {
  if (!replyItem?.dataset.id || !page.session) return;
  // A new version of the reply: the old one stays, a "‹" away.
  const fields = { messageId: replyItem.dataset.id };
  await alone(() => run("regenerate", page.session, fields, { replyItem }));
}

async function retry(item) {
  const what = unsent.get(item);
  if (what) await send(what.text, { ...what, item });
}

async function run(kind, session, fields, items) {
  const where = { configId, sessionId: session.sessionId };
  const refused = (error) => lock(error, () => setRunning(page.running), where);
  const stored = await exchange(kind, session, fields, items, {
    setRunning, setState, addUsage, refused,
  });
  if (!TOUCH) $("message").focus();
  return stored;
}

/** A thumbnail's address: a short-lived link, for this chat's token holder only. */
async function thumbnail(fileId) {
  const { sessionId, sessionToken } = page.session;
  const { url } = await fileLink(`/session/${encodeURIComponent(sessionId)}`, sessionToken, fileId);
  return url;
}

async function newChat() {
  if (page.running) return;
  closeDrawerOnPhone();
  await startFresh().catch((error) => setState(sentenceFor(error), "error"));
  sidebar.render();
  setRunning(null);
  $("message").focus();
}

async function pick(chat) {
  if (page.running) return;
  closeDrawerOnPhone();
  try {
    if (!(await openChat(chat))) {
      setState("That chat no longer exists on the server.", "error");
      await startFresh();
    }
  } catch (error) {
    setState(sentenceFor(error), "error");
  }
  sidebar.render();
  setRunning(null);
}

function wire() {
  const input = $("message");
  wireShell();
  tray = attachmentTray({ session: ensureSession, setState });
  view.setThumbnails(thumbnail);
  const rate = ratings(() => page.session, setState);
  const share = wireShares(() => page.session).upTo;
  const { edit, flip } = branchActions({
    page, tray, run, loadEarlier, setCursor, setRunning, setState, alone,
  });
  view.setActions({ regenerate, retry, share, rate, edit, flip });
  sidebar = pastChats(store, {
    open: pick,
    current: () => page.session?.sessionId,
    deleted: () => newChat(),
    renamed: (sessionId, settings) => sessionId === page.session?.sessionId && showSettings(settings),
  });
  wireMenu({
    page: () => ({ ...page, agentTitle: page.agent?.title || page.settings?.title }),
    ensureSession,
    saved: (settings) => {
      const renamed = settings.title !== page.settings.title;
      showSettings(settings);
      store.change(page.session.sessionId, { title: settings.title, ...(renamed && { renamed }) });
      sidebar.render();
    },
    setState,
  });
  $("composer").addEventListener("submit", (event) => {
    event.preventDefault();
    send(input.value);
  });
  input.addEventListener("keydown", (event) => {
    if (TOUCH) return; // a phone's Enter adds a line; its send button sends
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      send(input.value);
    }
  });
  $("stop").addEventListener("click", () => page.running?.stop());
  $("load-earlier").addEventListener("click", async () => {
    try {
      view.prepend(await loadEarlier());
    } catch (error) {
      setState(sentenceFor(error), "error");
    }
  });
  $("new-chat").addEventListener("click", newChat);
  if (embedded) {
    $("full-page").href = `${BASE}/chat/${encodeURIComponent(configId)}`;
    $("full-page").hidden = false;
  }
}

async function main() {
  wire();
  try {
    // The agent decides the page: a deleted one's link is dead, whatever chats are kept
    // here (and none of them is asked for). Its title heads the page, not a chat's.
    const agent = await loadAgent();
    if (agent && embedded && !agent.embed?.enabled) embedOff();
    else if (agent) {
      let shown = false;
      for (let chat = store.latest(); chat && !shown; chat = store.latest()) {
        shown = await openChat(chat);
      }
      if (!shown) await startFresh();
    }
  } catch (error) {
    notAvailable(error);
    return;
  }
  sidebar.render();
  setRunning(null);
  if (!TOUCH && !$("composer").hidden) $("message").focus();
}

main();
