// GET /chat/{id}: the share link. A visitor's own session, its history, and the chat.
import { fillGenerationFields, generationFromForm } from "./agent-fields.js";
import { ApiError, api, fillModels, saved, sentenceFor, showStatus } from "./api.js";
import { attachmentTray } from "./attach.js";
import { exchange } from "./exchange.js";
import { fileLink } from "./files.js";
import * as view from "./messages.js";

const PAGE_SIZE = 20;
const $ = (id) => document.getElementById(id);
const configId = decodeURIComponent(window.location.pathname.split("/").pop());
const page = { settings: null, session: null, cursor: null, running: null, usage: null };
const setState = (text, kind = "") => showStatus($("state"), text, kind);
let tray;

function showSettings(settings) {
  page.settings = settings;
  $("agent-title").textContent = settings.title;
  document.title = `${settings.title} · AI Maker`;
  $("agent-model").textContent = `Model: ${settings.model} · temperature ${settings.temperature}`;
  const prompt = settings.systemPromptHidden ? null : settings.systemPrompt;
  $("agent-prompt-box").hidden = !prompt;
  $("agent-prompt").textContent = prompt || "";
  $("settings-box").hidden = !settings.allowSessionOverrides;
  $("session-title").value = settings.title;
  $("session-temperature").value = settings.temperature;
  $("session-prompt").value = settings.systemPrompt || "";
  $("session-prompt-field").hidden = Boolean(settings.systemPromptHidden);
  fillGenerationFields(settings, "session-");
  fillModels($("session-model"), settings.model).catch(() => {});
}

/** Before the first message: the agent's greeting (never sent, never stored) and its
 * starters, buttons that send their text. */
function showWelcome() {
  const empty = view.isEmpty() && !page.cursor;
  const greeting = empty ? page.settings?.greeting || "" : "";
  const starters = empty ? page.settings?.starters || [] : [];
  $("greeting").textContent = greeting;
  $("greeting").hidden = !greeting;
  $("starters").replaceChildren(
    ...starters.map((text) => {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "starter";
      button.textContent = text;
      button.addEventListener("click", () => send(text));
      return button;
    }),
  );
  $("starters").hidden = !starters.length;
  $("welcome").hidden = !greeting && !starters.length;
}

function showUsage(total, context) {
  page.usage = total;
  const parts = [];
  if (total) parts.push(`${total.totalTokens.toLocaleString()} tokens used in this chat`);
  if (context?.truncated) {
    parts.push(
      `the model saw only the latest ${context.messagesSent} of ${context.messagesTotal} messages`,
    );
  }
  $("usage").textContent = parts.join(" · ");
}

function addUsage(usage, context) {
  showUsage({ totalTokens: (page.usage?.totalTokens || 0) + usage.totalTokens }, context);
}

function setRunning(running) {
  page.running = running;
  $("stop").hidden = !running;
  $("send").disabled = Boolean(running);
  $("regenerate").hidden = Boolean(running) || !view.lastReply();
  const hasSession = Boolean(page.session);
  $("export-md").disabled = !hasSession;
  $("export-json").disabled = !hasSession;
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

/** Return to the session this browser keeps for this agent, if it still exists. */
async function resume() {
  const stored = saved.session(configId);
  if (!stored) return false;
  let session;
  try {
    session = await api("GET", `/session/${stored.sessionId}`, { token: stored.sessionToken });
  } catch (error) {
    if (error instanceof ApiError && [401, 403, 404].includes(error.status)) {
      saved.forgetSession(configId);
      return false;
    }
    throw error;
  }
  page.session = stored;
  showSettings(session);
  showUsage(session.usage);
  view.clear();
  for (const message of await loadEarlier()) view.append(message);
  view.followEnd(true);
  return true;
}

async function startFresh() {
  page.session = null;
  view.clear();
  setCursor(null);
  page.usage = null;
  showUsage(null);
  showSettings(await api("GET", `/chat-config/${configId}`));
}

async function ensureSession() {
  if (page.session) return page.session;
  const created = await api("POST", "/chat-session", { body: { chatConfigId: configId } });
  page.session = { sessionId: created.sessionId, sessionToken: created.sessionToken };
  saved.saveSession(configId, page.session);
  showSettings(created);
  return page.session;
}

async function send(text) {
  if (page.running || !text.trim()) return;
  let session;
  try {
    session = await ensureSession();
  } catch (error) {
    setState(sentenceFor(error), "error");
    return;
  }
  if (tray.busy()) {
    setState("Wait for the files to finish uploading.", "error");
    return;
  }
  const attachments = tray.ready();
  tray.clear();
  $("message").value = "";
  const mine = { role: "user", content: text, createdAt: new Date().toISOString(), attachments };
  const userItem = view.append(mine);
  showWelcome();
  const replyItem = view.append({ role: "model", content: "" });
  view.followEnd(true);
  const fields = { message: text };
  if (attachments.length) fields.attachments = attachments.map((file) => file.fileId);
  await run("send", session, fields, { userItem, replyItem, text });
}

async function regenerate() {
  const replyItem = view.lastReply();
  if (page.running || !replyItem || !page.session) return;
  await run("regenerate", page.session, {}, { replyItem });
}

async function run(kind, session, fields, items) {
  const controls = { setRunning, setState, addUsage };
  await exchange(kind, session, fields, items, controls);
  $("message").focus();
}

async function download(format) {
  const { sessionId, sessionToken } = page.session;
  try {
    const body = await api("GET", `/session/${sessionId}/export?format=${format}`, {
      token: sessionToken,
    });
    const markdown = format === "markdown";
    const blob = new Blob([markdown ? body : JSON.stringify(body, null, 2)], {
      type: markdown ? "text/markdown" : "application/json",
    });
    const link = document.createElement("a");
    link.href = URL.createObjectURL(blob);
    const name = (page.settings?.title || "chat").replace(/[^\w-]+/g, "-").slice(0, 60);
    link.download = `${name}.${markdown ? "md" : "json"}`;
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(link.href), 10000);
    setState(`Exported as ${markdown ? "Markdown" : "JSON"}.`, "ok");
  } catch (error) {
    setState(sentenceFor(error), "error");
  }
}

async function saveSettings(event) {
  event.preventDefault();
  const status = $("settings-status");
  const wanted = {
    title: $("session-title").value.trim(),
    model: $("session-model").value,
    temperature: Number($("session-temperature").value),
    ...generationFromForm("session-"),
  };
  if (!page.settings.systemPromptHidden) wanted.systemPrompt = $("session-prompt").value;
  // Only what changed, so a setting the agent locks is never sent unchanged.
  const same = (name, value) => JSON.stringify(value) === JSON.stringify(page.settings[name] ?? null);
  const body = Object.fromEntries(Object.entries(wanted).filter(([name, value]) => !same(name, value)));
  if (!Object.keys(body).length) {
    showStatus(status, "Nothing changed.", "ok");
    return;
  }
  try {
    const { sessionId, sessionToken } = await ensureSession();
    showSettings(await api("PUT", `/session/${sessionId}`, { body, token: sessionToken }));
    showStatus(status, "Saved. The next message uses these settings.", "ok");
  } catch (error) {
    showStatus(status, sentenceFor(error), "error");
  }
}

/** A thumbnail's address: a short-lived link, for this chat's token holder only. */
async function thumbnail(fileId) {
  const { sessionId, sessionToken } = page.session;
  const { url } = await fileLink(`/session/${encodeURIComponent(sessionId)}`, sessionToken, fileId);
  return url;
}

function wire() {
  const input = $("message");
  tray = attachmentTray({ session: ensureSession, setState });
  view.setThumbnails(thumbnail);
  $("composer").addEventListener("submit", (event) => {
    event.preventDefault();
    send(input.value);
  });
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      send(input.value);
    }
  });
  $("stop").addEventListener("click", () => page.running?.stop());
  $("regenerate").addEventListener("click", regenerate);
  $("load-earlier").addEventListener("click", async () => {
    try {
      view.prepend(await loadEarlier());
    } catch (error) {
      setState(sentenceFor(error), "error");
    }
  });
  $("new-chat").addEventListener("click", async () => {
    if (page.running) return;
    saved.forgetSession(configId);
    setState("");
    await startFresh().catch((error) => setState(sentenceFor(error), "error"));
    showWelcome();
    setRunning(null);
    input.focus();
  });
  $("export-md").addEventListener("click", () => download("markdown"));
  $("export-json").addEventListener("click", () => download("json"));
  $("settings-form").addEventListener("submit", saveSettings);
}

async function main() {
  wire();
  try {
    if (!(await resume())) await startFresh();
    showWelcome();
    setState(view.isEmpty() ? "Say hello to start." : "");
  } catch (error) {
    $("agent-title").textContent = "This agent is not available";
    document.title = "Agent not available · AI Maker";
    setState(sentenceFor(error), "error");
    $("send").disabled = true;
    return;
  }
  setRunning(null);
  $("message").focus();
}

main();
