// A conversation is a tree: each message's "‹ 2/3 ›" between its versions (its siblings),
// and the in-place editor of a user message, whose resend makes a new version.
import { TOUCH } from "./shell.js";

function button(text, className, label = "", type = "button") {
  const made = document.createElement("button");
  made.type = type;
  made.className = className;
  made.textContent = text;
  if (label) {
    made.setAttribute("aria-label", label);
    made.title = label;
  }
  return made;
}

/** The "‹ 2/3 ›" of a message, hidden until it has siblings; `flip(item, index)` shows
 * the version at that index. */
export function versionsNode(flip) {
  const box = document.createElement("span");
  box.className = "versions";
  box.hidden = true;
  const step = (label, by) => {
    const made = button(by < 0 ? "‹" : "›", by < 0 ? "previous-version" : "next-version", label);
    made.addEventListener("click", () => {
      const item = box.closest(".message");
      flip(item, Number(item.dataset.siblingIndex) + by);
    });
    return made;
  };
  const where = document.createElement("span");
  where.className = "version";
  box.append(step("Previous version", -1), where, step("Next version", 1));
  return box;
}

/** Show a message's place among its siblings ({index, count}; none: no versions). */
export function setSiblings(item, siblings) {
  const box = item.querySelector(".versions");
  if (!box) return;
  box.hidden = !siblings;
  if (!siblings) {
    delete item.dataset.siblingIndex;
    return;
  }
  const { index, count } = siblings;
  item.dataset.siblingIndex = String(index);
  box.querySelector(".version").textContent = `${index + 1}/${count}`;
  box.setAttribute("aria-label", `Version ${index + 1} of ${count}`);
  // An end's button stays off, whatever else turns the others on and off.
  box.querySelector(".previous-version").dataset.end = String(index === 0);
  box.querySelector(".next-version").dataset.end = String(index === count - 1);
  for (const each of box.querySelectorAll("button")) each.disabled = each.dataset.end === "true";
}

/**
 * Edit a user message where it is: its text in a box, its files (each removable), Send
 * and Cancel. Enter sends (Shift+Enter: a new line), Esc cancels. `send(text, files)`
 * gets the new text and the files kept; the editor is gone by then.
 */
export function openEditor(item, { text, attachments, send }) {
  if (item.querySelector(".edit-form")) return;
  const form = document.createElement("form");
  form.className = "edit-form";
  const box = document.createElement("textarea");
  box.className = "edit-text";
  box.value = text;
  box.rows = 1;
  box.setAttribute("aria-label", "Edit your message");
  const kept = [...attachments];
  const files = document.createElement("ul");
  files.className = "edit-files";
  for (const file of attachments) {
    const entry = document.createElement("li");
    const name = document.createElement("span");
    name.textContent = `📎 ${file.filename}`;
    const drop = button("Remove", "edit-remove", `Remove ${file.filename}`);
    drop.addEventListener("click", () => {
      kept.splice(kept.indexOf(file), 1);
      entry.remove();
    });
    entry.append(name, drop);
    files.append(entry);
  }
  const row = document.createElement("div");
  row.className = "edit-buttons";
  const cancel = button("Cancel", "edit-cancel");
  const resend = button("Send", "edit-send primary", "", "submit");
  row.append(cancel, resend);
  form.append(box, files, row);

  const fit = () => {
    box.style.height = "auto";
    // The content's height, and the border's, which scrollHeight leaves out.
    box.style.height = `${box.scrollHeight + box.offsetHeight - box.clientHeight}px`;
  };
  const close = () => {
    form.remove();
    item.classList.remove("editing");
  };
  const submit = () => {
    if (!box.value.trim()) return;
    close();
    send(box.value, kept);
  };
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    submit();
  });
  cancel.addEventListener("click", close);
  box.addEventListener("input", fit);
  box.addEventListener("keydown", (event) => {
    if (event.key === "Escape") {
      event.preventDefault();
      close();
    } else if (event.key === "Enter" && !event.shiftKey && !event.isComposing && !TOUCH) {
      event.preventDefault();
      submit();
    }
  });
  item.classList.add("editing");
  item.querySelector(".body").after(form);
  fit();
  box.focus();
  box.setSelectionRange(box.value.length, box.value.length);
}
