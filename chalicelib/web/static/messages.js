// The conversation's DOM: one <article> per message (never a list item, so a reply's own
// lists keep first-level bullets), replies rendered as safe Markdown, each with actions.
import { setSiblings, versionsNode } from "./branches.js";
import { copyText, iconButton } from "./icons.js";
import { renderMarkdown } from "./markdown.js";

const list = document.getElementById("messages");
const scroller = document.getElementById("scroller");
const LABELS = { user: "You said", model: "The agent said" };
let thumbnailOf = null; // fileId -> Promise of an image URL
let onRegenerate = () => {};
let onRetry = () => {};
let onShare = null; // (messageId, button) => share the chat up to that reply
let addRating = null; // (item, feedback) => thumbs on a stored reply
let onEdit = null; // (item) => edit that user message in place
let onFlip = null; // (item, index) => show the message's sibling at that index
const filesOf = new WeakMap(); // a user message's <article> -> its attachments
let jsonReplies = false; // the agent replies in JSON (responseFormat json_schema)

/** How images among the attachments get their thumbnails. */
export function setThumbnails(loader) {
  thumbnailOf = loader;
}

/** Whether replies are JSON: shown pretty-printed, as a code block with its copy button. */
export function setJsonReplies(on) {
  jsonReplies = on;
}

/** A JSON reply, indented; as it came while it does not parse yet (still streaming). */
function jsonNode(content) {
  const pre = document.createElement("pre");
  const code = document.createElement("code");
  code.dataset.language = "json";
  try {
    code.textContent = JSON.stringify(JSON.parse(content), null, 2);
  } catch {
    code.textContent = content;
  }
  pre.append(code);
  return pre;
}

/** What the per-message Regenerate, Retry and Share buttons do (no `share`: no button),
 * `rate`, which puts the thumbs on a stored reply (none: no thumbs), and `edit` and
 * `flip`, a user message's Edit and every message's "‹ 2/3 ›" (none: neither). */
export function setActions({ regenerate, retry, share = null, rate = null, edit = null, flip = null }) {
  onRegenerate = regenerate;
  onRetry = retry;
  onShare = share;
  addRating = rate;
  onEdit = edit;
  onFlip = flip;
}

/** The files a user message was sent with, as shown. */
export function attachmentsOf(item) {
  return filesOf.get(item) || [];
}

// `feedback` undefined: as shown for that reply id (a regenerated reply is a new one).
function showRating(item, feedback) {
  if (addRating && item.classList.contains("model") && item.dataset.id) addRating(item, feedback);
}

function attachmentsNode(attachments) {
  const files = document.createElement("ul");
  files.className = "files";
  for (const file of attachments) {
    const entry = document.createElement("li");
    if (file.contentType.startsWith("image/") && thumbnailOf) {
      const image = document.createElement("img");
      image.alt = file.filename;
      image.className = "thumbnail";
      thumbnailOf(file.fileId)
        .then((url) => {
          image.src = url;
        })
        .catch(() => image.remove());
      entry.append(image);
    }
    const name = document.createElement("span");
    name.textContent = `📎 ${file.filename}`;
    entry.append(name);
    files.append(entry);
  }
  return files;
}

function time(iso) {
  const node = document.createElement("time");
  if (iso) {
    const when = new Date(iso);
    node.dateTime = iso;
    const today = when.toDateString() === new Date().toDateString();
    node.textContent = today
      ? when.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" })
      : when.toLocaleString([], { dateStyle: "medium", timeStyle: "short" });
    node.title = when.toLocaleString();
  }
  return node;
}

function actionsNode(role) {
  const bar = document.createElement("div");
  bar.className = "message-actions";
  const copy = iconButton("copy", "Copy message", "copy");
  copy.addEventListener("click", () => {
    const item = copy.closest(".message");
    copyText(item.dataset.text ?? item.querySelector(".body").innerText, copy);
  });
  bar.append(copy);
  if (role === "model") {
    const again = iconButton("refresh-cw", "Regenerate reply", "regenerate");
    again.addEventListener("click", () => onRegenerate(again.closest(".message")));
    bar.append(again);
    if (onShare) {
      const share = iconButton("share-2", "Share the chat up to here", "share");
      share.addEventListener("click", () => onShare(share.closest(".message").dataset.id, share));
      bar.append(share);
    }
  } else {
    if (onEdit) {
      const edit = iconButton("pencil", "Edit message", "edit");
      edit.addEventListener("click", () => onEdit(edit.closest(".message")));
      bar.append(edit);
    }
    const retry = document.createElement("button");
    retry.type = "button";
    retry.className = "retry";
    retry.textContent = "Retry";
    retry.addEventListener("click", () => onRetry(retry.closest(".message")));
    bar.append(retry);
  }
  if (onFlip) bar.append(versionsNode(onFlip));
  const note = document.createElement("span");
  note.className = "note";
  bar.append(note, time(null));
  return bar;
}

/** A message's <article>; `content` is text, rendered as Markdown for the model's replies. */
export function messageNode(message) {
  const { id, role, content, createdAt, stopped, citations, attachments, parts, feedback } = message;
  const { thoughts } = message;
  const item = document.createElement("article");
  item.className = `message ${role}`;
  item.setAttribute("aria-label", LABELS[role] || role);
  if (id) item.dataset.id = id;
  const body = document.createElement("div");
  body.className = "body";
  item.append(body);
  if (attachments?.length) item.append(attachmentsNode(attachments));
  filesOf.set(item, attachments || []);
  item.append(actionsNode(role));
  item.querySelector("time").replaceWith(time(createdAt));
  setContent(item, content, parts);
  setThoughts(item, thoughts);
  setCitations(item, citations);
  setSiblings(item, message.siblings);
  if (stopped) setNote(item, "stopped");
  showRating(item, feedback ?? null);
  return item;
}

/** A web address that is safe to link to: http or https only, else null. */
function webAddress(uri) {
  try {
    const url = new URL(uri);
    return url.protocol === "http:" || url.protocol === "https:" ? url.href : null;
  } catch {
    return null;
  }
}

/** A grounded reply's sources, as numbered links under its text (built node by node); a
 * knowledge file (no address) as its name. */
export function setCitations(item, citations) {
  item.querySelector(".citations")?.remove();
  const links = (citations?.sources || [])
    .map((source) => ({ title: source.title, href: source.uri && webAddress(source.uri) }))
    .filter((source) => source.href || (source.href === "" && source.title));
  if (!links.length) return;
  const box = document.createElement("div");
  box.className = "citations";
  const heading = document.createElement("p");
  heading.textContent = "Sources";
  const sources = document.createElement("ol");
  for (const { title, href } of links) {
    const entry = document.createElement("li");
    if (href) {
      const link = document.createElement("a");
      link.href = href;
      link.textContent = title || href;
      link.rel = "noopener noreferrer";
      link.target = "_blank";
      entry.append(link);
    } else {
      entry.textContent = title;
    }
    sources.append(entry);
  }
  box.append(heading, sources);
  item.querySelector(".body").after(box);
}

/** Give each code block a head: its language, and a button that copies the code. */
function decorateCode(body) {
  for (const pre of body.querySelectorAll("pre")) {
    const code = pre.querySelector("code");
    const block = document.createElement("div");
    block.className = "code-block";
    const head = document.createElement("div");
    head.className = "code-head";
    const language = document.createElement("span");
    language.className = "language";
    language.textContent = code?.dataset.language || "text";
    const copy = iconButton("copy", "Copy code", "copy-code");
    copy.addEventListener("click", () => copyText(code?.textContent || "", copy));
    head.append(language, copy);
    pre.replaceWith(block);
    block.append(head, pre);
  }
}

/** A reply that ran code: its text as Markdown, its code and each result as code blocks. */
function partNodes(parts) {
  return parts.map((part) => {
    if (part.type === "text") return renderMarkdown(part.text);
    const pre = document.createElement("pre");
    const code = document.createElement("code");
    const failed = part.type === "codeResult" && part.outcome !== "OUTCOME_OK";
    const result = failed ? `output (${part.outcome})` : "output";
    code.dataset.language = part.type === "code" ? part.language.toLowerCase() : result;
    code.textContent = part.type === "code" ? part.code : part.output;
    pre.append(code);
    return pre;
  });
}

export function setContent(item, content, parts) {
  const body = item.querySelector(".body");
  item.dataset.text = content;
  if (item.classList.contains("model")) {
    const whole = jsonReplies ? jsonNode(content) : renderMarkdown(content);
    body.replaceChildren(...(parts?.length ? partNodes(parts) : [whole]));
    decorateCode(body);
  } else body.textContent = content;
}

/** A reply's thought summaries, folded above its text (closed until opened, and left as
 * the reader set it while they grow). Text only: the model's words never become HTML. */
export function setThoughts(item, thoughts) {
  let box = item.querySelector(".thoughts");
  if (!thoughts) {
    box?.remove();
    return;
  }
  if (!box) {
    box = document.createElement("details");
    box.className = "thoughts";
    const summary = document.createElement("summary");
    summary.textContent = "Thoughts";
    const text = document.createElement("div");
    text.className = "thoughts-text";
    box.append(summary, text);
    item.querySelector(".body").before(box);
  }
  box.querySelector(".thoughts-text").textContent = thoughts;
}

/** What a reply shows now (text, code blocks, thoughts); the function puts it back. */
export function keepShown(item) {
  const body = item.querySelector(".body");
  const nodes = [...body.childNodes];
  const { text } = item.dataset;
  const thoughts = item.querySelector(".thoughts");
  return () => {
    item.dataset.text = text;
    body.replaceChildren(...nodes);
    item.querySelector(".thoughts")?.remove();
    if (thoughts) body.before(thoughts);
  };
}

/** A small note among the actions: "waiting", "streaming", "stopped", "not sent"... */
export function setNote(item, text, state = text) {
  const note = item.querySelector(".note");
  note.textContent = text;
  item.dataset.state = state;
}

export function setStored(item, message) {
  item.dataset.id = message.id;
  item.querySelector("time").replaceWith(time(message.createdAt));
  setContent(item, message.content, message.parts);
  setThoughts(item, message.thoughts);
  setCitations(item, message.citations);
  setSiblings(item, message.siblings);
  showRating(item, message.feedback);
}

export function append(message) {
  const item = messageNode(message);
  list.append(item);
  return item;
}

/** Put older messages (oldest first) above the ones shown, keeping the reader's place. */
export function prepend(messages) {
  const before = scroller.scrollHeight;
  list.prepend(...messages.map(messageNode));
  scroller.scrollTop += scroller.scrollHeight - before;
}

/** Keep the newest text in view, unless the reader has scrolled up to read. */
export function followEnd(wasAtEnd) {
  if (wasAtEnd) scroller.scrollTop = scroller.scrollHeight;
}

export function isAtEnd() {
  return scroller.scrollHeight - (scroller.scrollTop + scroller.clientHeight) < 120;
}

export function clear() {
  list.replaceChildren();
}

export function lastReply() {
  const replies = list.querySelectorAll(".message.model");
  return replies.length ? replies[replies.length - 1] : null;
}

export function isEmpty() {
  return !list.querySelector(".message");
}

/** The first thing the visitor said, as shown: a past chat's name. */
export function firstUserText() {
  return list.querySelector(".message.user")?.dataset.text || "";
}
