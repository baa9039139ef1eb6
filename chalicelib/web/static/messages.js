// The conversation's DOM: one <li> per message, replies rendered as safe Markdown.
import { renderMarkdown } from "./markdown.js";

const list = document.getElementById("messages");
const LABELS = { user: "You", model: "Agent" };
let thumbnailOf = null; // fileId -> Promise of an image URL

/** How images among the attachments get their thumbnails. */
export function setThumbnails(loader) {
  thumbnailOf = loader;
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
    node.dateTime = iso;
    node.textContent = new Date(iso).toLocaleString([], { dateStyle: "short", timeStyle: "short" });
  }
  return node;
}

/** A message's <li>; `content` is text, rendered as Markdown for the model's replies. */
export function messageNode({ id, role, content, createdAt, stopped, citations, attachments }) {
  const item = document.createElement("li");
  item.className = `message ${role}`;
  if (id) item.dataset.id = id;
  const header = document.createElement("div");
  header.className = "who";
  const name = document.createElement("span");
  name.textContent = LABELS[role] || role;
  const note = document.createElement("span");
  note.className = "note";
  header.append(name, time(createdAt), note);
  const body = document.createElement("div");
  body.className = "body";
  item.append(header, body);
  if (attachments?.length) item.append(attachmentsNode(attachments));
  setContent(item, content);
  setCitations(item, citations);
  if (stopped) setNote(item, "stopped");
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

/** A grounded reply's sources, as numbered links under its text (built node by node). */
export function setCitations(item, citations) {
  item.querySelector(".citations")?.remove();
  const links = (citations?.sources || [])
    .map((source) => ({ title: source.title, href: webAddress(source.uri) }))
    .filter((source) => source.href);
  if (!links.length) return;
  const box = document.createElement("div");
  box.className = "citations";
  const heading = document.createElement("p");
  heading.textContent = "Sources";
  const list = document.createElement("ol");
  for (const { title, href } of links) {
    const link = document.createElement("a");
    link.href = href;
    link.textContent = title || href;
    link.rel = "noopener noreferrer";
    link.target = "_blank";
    const entry = document.createElement("li");
    entry.append(link);
    list.append(entry);
  }
  box.append(heading, list);
  item.append(box);
}

export function setContent(item, content) {
  const body = item.querySelector(".body");
  if (item.classList.contains("model")) body.replaceChildren(renderMarkdown(content));
  else body.textContent = content;
}

/** A small note beside the author: "waiting", "streaming", "stopped", "not sent"... */
export function setNote(item, text, state = text) {
  const note = item.querySelector(".note");
  note.textContent = text;
  item.dataset.state = state;
}

export function setStored(item, message) {
  item.dataset.id = message.id;
  item.querySelector("time").replaceWith(time(message.createdAt));
  setContent(item, message.content);
  setCitations(item, message.citations);
}

export function append(message) {
  const item = messageNode(message);
  list.append(item);
  return item;
}

/** Put older messages (oldest first) above the ones shown, keeping the reader's place. */
export function prepend(messages) {
  const before = document.documentElement.scrollHeight;
  list.prepend(...messages.map(messageNode));
  window.scrollBy(0, document.documentElement.scrollHeight - before);
}

/** Keep the newest text in view, unless the reader has scrolled up to read. */
export function followEnd(wasAtEnd) {
  if (wasAtEnd) window.scrollTo(0, document.documentElement.scrollHeight);
}

export function isAtEnd() {
  const page = document.documentElement;
  return page.scrollHeight - (window.scrollY + window.innerHeight) < 120;
}

export function clear() {
  list.replaceChildren();
}

export function lastReply() {
  const replies = list.querySelectorAll("li.message.model");
  return replies.length ? replies[replies.length - 1] : null;
}

export function isEmpty() {
  return !list.querySelector("li.message");
}
