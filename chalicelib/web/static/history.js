// Past chats: every session this browser started with an agent, kept in localStorage,
// and the sidebar that lists them (open, rename, delete).
import { ApiError, api, sentenceFor, showStatus } from "./api.js";
import { iconButton } from "./icons.js";

const LIST = "ai-maker:sessions:";
// The one session per agent that earlier versions kept: still read, so nobody loses it.
const OLD = "ai-maker:session:";

function read(key) {
  try {
    return JSON.parse(localStorage.getItem(key) || "null");
  } catch {
    return null;
  }
}

/** The chats kept for one agent, newest first. */
export function chatStore(configId) {
  const write = (chats) => localStorage.setItem(LIST + configId, JSON.stringify(chats));
  const all = () => {
    const chats = Array.isArray(read(LIST + configId)) ? read(LIST + configId) : [];
    const old = read(OLD + configId);
    if (old?.sessionId && old.sessionToken) {
      if (!chats.some((chat) => chat.sessionId === old.sessionId)) {
        chats.push({ sessionId: old.sessionId, sessionToken: old.sessionToken });
      }
      write(chats);
      localStorage.removeItem(OLD + configId);
    }
    return chats.sort((a, b) => (b.openedAt || "").localeCompare(a.openedAt || ""));
  };
  const change = (sessionId, fields) => {
    const chats = all();
    const chat = chats.find((each) => each.sessionId === sessionId);
    if (chat) Object.assign(chat, fields);
    write(chats);
  };
  return {
    all,
    latest: () => all()[0] || null,
    add(session) {
      const now = new Date().toISOString();
      write([{ ...session, createdAt: now, openedAt: now }, ...all()]);
    },
    change,
    opened: (sessionId) => change(sessionId, { openedAt: new Date().toISOString() }),
    forget(sessionId) {
      write(all().filter((chat) => chat.sessionId !== sessionId));
    },
  };
}

/** What a past chat is called: a name the visitor gave, else its first message. */
export function chatName(chat) {
  if (chat.renamed && chat.title) return chat.title;
  return chat.firstMessage || chat.title || "New chat";
}

function when(iso) {
  if (!iso) return "";
  const date = new Date(iso);
  return date.toDateString() === new Date().toDateString()
    ? date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" })
    : date.toLocaleDateString([], { dateStyle: "medium" });
}

/**
 * The sidebar. `open(chat)` shows a chat; `current()` is the session id shown;
 * `deleted(chat)` runs after the shown chat was deleted; `renamed(sessionId, settings)`
 * after a chat was renamed here, with its settings as the server now has them.
 */
export function pastChats(store, { open, current, deleted, renamed }) {
  const $ = (id) => document.getElementById(id);
  const list = $("past-chats");
  const status = $("past-status");

  function row(chat) {
    const item = document.createElement("li");
    item.dataset.sessionId = chat.sessionId;
    if (chat.sessionId === current()) item.setAttribute("aria-current", "true");
    const pick = document.createElement("button");
    pick.type = "button";
    pick.className = "past-open";
    const name = document.createElement("span");
    name.className = "past-name";
    name.textContent = chatName(chat);
    const time = document.createElement("time");
    time.className = "past-time";
    if (chat.updatedAt || chat.createdAt) time.dateTime = chat.updatedAt || chat.createdAt;
    time.textContent = when(chat.updatedAt || chat.createdAt);
    pick.append(name, time);
    pick.addEventListener("click", () => open(chat));
    const rename = iconButton("pencil", `Rename “${chatName(chat)}”`, "past-rename");
    rename.addEventListener("click", () => startRename(item, chat));
    const remove = iconButton("trash-2", `Delete “${chatName(chat)}”`, "past-delete");
    remove.addEventListener("click", () => confirmDelete(item, chat));
    item.append(pick, rename, remove);
    return item;
  }

  function render() {
    const chats = store.all();
    list.replaceChildren(...chats.map(row));
    $("past-empty").hidden = chats.length > 0;
  }

  function startRename(item, chat) {
    const form = document.createElement("form");
    form.className = "past-rename-form";
    const input = document.createElement("input");
    input.value = chatName(chat);
    input.maxLength = 100;
    input.required = true;
    input.setAttribute("aria-label", "New name for this chat");
    const save = document.createElement("button");
    save.type = "submit";
    save.textContent = "Save";
    form.append(input, save);
    item.replaceChildren(form);
    input.focus();
    input.select();
    input.addEventListener("keydown", (event) => {
      if (event.key === "Escape") {
        event.stopPropagation();
        render();
      }
    });
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const title = input.value.trim();
      if (!title) return;
      try {
        const body = { title };
        const token = chat.sessionToken;
        const settings = await api("PUT", `/session/${chat.sessionId}`, { body, token });
        store.change(chat.sessionId, { title, renamed: true });
        renamed(chat.sessionId, settings);
        showStatus(status, "Renamed.", "ok");
      } catch (error) {
        showStatus(status, sentenceFor(error), "error");
      }
      render();
      list.querySelector(`li[data-session-id="${chat.sessionId}"] .past-open`)?.focus();
    });
  }

  function confirmDelete(item, chat) {
    const ask = document.createElement("div");
    ask.className = "past-confirm";
    const question = document.createElement("span");
    question.textContent = `Delete “${chatName(chat)}” for good?`;
    const yes = document.createElement("button");
    yes.type = "button";
    yes.className = "danger";
    yes.textContent = "Delete";
    const no = document.createElement("button");
    no.type = "button";
    no.textContent = "Keep";
    ask.append(question, yes, no);
    item.replaceChildren(ask);
    no.focus();
    no.addEventListener("click", render);
    yes.addEventListener("click", async () => {
      try {
        await api("DELETE", `/session/${chat.sessionId}`, { token: chat.sessionToken });
      } catch (error) {
        // Already gone on the server: forgetting it here is all that is left to do.
        if (!(error instanceof ApiError && [401, 403, 404].includes(error.status))) {
          showStatus(status, sentenceFor(error), "error");
          render();
          return;
        }
      }
      store.forget(chat.sessionId);
      showStatus(status, "Chat deleted.", "ok");
      const wasShown = chat.sessionId === current();
      render();
      if (wasShown) deleted(chat);
    });
  }

  render();
  return { render };
}
