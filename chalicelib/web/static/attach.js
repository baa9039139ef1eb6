// The chat's attachments tray: files picked with the Attach button or dropped on the
// message box, uploaded at once with their progress, sent with the next message.
import { sentenceFor } from "./api.js";
import { ACCEPT, sizeText, uploadFile } from "./files.js";

const MAX_ATTACHMENTS = 5;

/**
 * Wire the tray. `session()` resolves to the chat's session (starting one if needed);
 * `setState(text, kind)` reports errors.
 */
export function attachmentTray({ session, setState }) {
  const $ = (id) => document.getElementById(id);
  const tray = $("attachments");
  const input = $("attach-input");
  const pending = []; // {file, item, done: file as kept | null, failed}
  input.accept = ACCEPT;

  function render(entry, fraction) {
    const label = entry.item.querySelector(".name");
    label.textContent = `${entry.file.name} (${sizeText(entry.file.size)})`;
    const bar = entry.item.querySelector("progress");
    bar.value = fraction;
    bar.hidden = Boolean(entry.done) || entry.failed;
    entry.item.dataset.state = entry.failed ? "error" : entry.done ? "ready" : "uploading";
  }

  function remove(entry) {
    pending.splice(pending.indexOf(entry), 1);
    entry.item.remove();
  }

  async function add(file) {
    if (pending.length >= MAX_ATTACHMENTS) {
      setState(`A message carries at most ${MAX_ATTACHMENTS} files.`, "error");
      return;
    }
    const item = document.createElement("li");
    const name = document.createElement("span");
    name.className = "name";
    const bar = document.createElement("progress");
    bar.max = 1;
    bar.setAttribute("aria-label", `Uploading ${file.name}`);
    const drop = document.createElement("button");
    drop.type = "button";
    drop.textContent = "Remove";
    drop.setAttribute("aria-label", `Remove ${file.name}`);
    item.append(name, bar, drop);
    tray.append(item);
    const entry = { file, item, done: null, failed: false };
    drop.addEventListener("click", () => remove(entry));
    pending.push(entry);
    render(entry, 0);
    try {
      const { sessionId, sessionToken } = await session();
      const base = `/session/${encodeURIComponent(sessionId)}`;
      entry.done = await uploadFile(base, sessionToken, file, (part) => render(entry, part));
      render(entry, 1);
    } catch (error) {
      entry.failed = true;
      render(entry, 0);
      setState(`${file.name}: ${sentenceFor(error)}`, "error");
    }
  }

  const addAll = (files) => [...files].forEach(add);
  $("attach").addEventListener("click", () => input.click());
  input.addEventListener("change", () => {
    addAll(input.files);
    input.value = "";
  });
  const box = $("composer");
  box.addEventListener("dragover", (event) => {
    event.preventDefault();
    box.dataset.dragging = "yes";
  });
  box.addEventListener("dragleave", () => delete box.dataset.dragging);
  box.addEventListener("drop", (event) => {
    event.preventDefault();
    delete box.dataset.dragging;
    addAll(event.dataTransfer.files);
  });

  return {
    /** Whether a file is still on its way. */
    busy: () => pending.some((entry) => !entry.done && !entry.failed),
    /** The files ready to go with the next message. */
    ready: () => pending.filter((entry) => entry.done).map((entry) => entry.done),
    clear() {
      pending.splice(0).forEach((entry) => entry.item.remove());
    },
  };
}
