// An agent's API keys on "My agents": make one (shown once, with a copy button, a warning
// and a ready snippet for the openai SDK), list them, revoke one. All with the edit token.
import { BASE, api, sentenceFor, showStatus } from "./api.js";
import { confirmButton, copyText, labelledButton } from "./icons.js";

const when = (iso) => (iso ? new Date(iso).toLocaleString() : "never");

/** Five lines of Python that call the agent with this key, as the README shows them. */
export function pythonSnippet(configId, apiKey) {
  const baseUrl = `${location.origin}${BASE}/v1`;
  return [
    "from openai import OpenAI",
    `client = OpenAI(base_url="${baseUrl}", api_key="${apiKey}")`,
    `messages = [{"role": "user", "content": "Hello!"}]`,
    `reply = client.chat.completions.create(model="${configId}", messages=messages)`,
    "print(reply.choices[0].message.content)",
  ].join("\n");
}

function copyable(text, label, className) {
  const row = document.createElement("div");
  row.className = `copy-row ${className}`;
  const shown = document.createElement(className === "snippet" ? "pre" : "code");
  shown.textContent = text;
  const copy = labelledButton("copy", label, () => copyText(text, copy));
  row.append(shown, copy);
  return row;
}

/** The key just made: the only time anyone sees it. */
function newKeyNode(configId, made) {
  const node = document.createElement("div");
  node.className = "new-key";
  const warning = document.createElement("p");
  warning.className = "warning";
  warning.textContent =
    `“${made.name}” is shown only now: copy it somewhere safe. Anyone holding it can ` +
    "talk to this agent and spend its daily quotas; revoke it here if it leaks.";
  node.append(
    warning,
    copyable(made.apiKey, "Copy key", "key"),
    copyable(pythonSnippet(configId, made.apiKey), "Copy snippet", "snippet"),
  );
  return node;
}

/** A panel for one agent's API keys, read and changed with its edit token. */
export function apiKeysPanel(configId, editToken) {
  const path = `/chat-config/${encodeURIComponent(configId)}/api-keys`;
  const panel = document.createElement("div");
  panel.className = "api-keys";
  const intro = document.createElement("p");
  intro.className = "hint";
  intro.textContent =
    "A key lets any OpenAI client (the openai SDK, and tools built on it) talk to this " +
    "agent at /v1, with its prompt, settings and limits.";
  const form = document.createElement("form");
  form.className = "new-key-form";
  const label = document.createElement("label");
  label.textContent = "Name of a new key";
  const name = document.createElement("input");
  name.id = `key-name-${configId}`;
  name.required = true;
  name.maxLength = 100;
  name.placeholder = "e.g. my script";
  label.htmlFor = name.id;
  const make = document.createElement("button");
  make.type = "submit";
  make.textContent = "Make a key";
  form.append(label, name, make);
  const fresh = document.createElement("div");
  const list = document.createElement("ul");
  list.className = "key-list";
  const status = document.createElement("p");
  status.className = "status";
  status.setAttribute("role", "status");
  panel.append(intro, form, fresh, list, status);

  async function refresh() {
    const { keys } = await api("GET", path, { token: editToken });
    list.replaceChildren(
      ...keys.map((key) => {
        const item = document.createElement("li");
        const text = document.createElement("span");
        text.id = `key-${key.keyId}`;
        text.textContent = `${key.name} · made ${when(key.createdAt)} · last used ${when(key.lastUsedAt)}`;
        const revoke = confirmButton("trash-2", "Revoke", "Really revoke?", async () => {
          try {
            await api("DELETE", `${path}/${encodeURIComponent(key.keyId)}`, { token: editToken });
            showStatus(status, `Revoked “${key.name}”: it is refused from now on.`, "ok");
          } catch (error) {
            showStatus(status, sentenceFor(error), "error");
          }
          await refresh().catch(() => {});
        });
        revoke.setAttribute("aria-describedby", text.id);
        item.append(text, revoke);
        return item;
      }),
    );
    if (!keys.length) {
      const empty = document.createElement("li");
      empty.textContent = "No keys yet.";
      list.append(empty);
    }
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    make.disabled = true;
    try {
      const made = await api("POST", path, { token: editToken, body: { name: name.value.trim() } });
      fresh.replaceChildren(newKeyNode(configId, made));
      name.value = "";
      showStatus(status, `Made “${made.name}”.`, "ok");
    } catch (error) {
      showStatus(status, sentenceFor(error), "error");
    }
    make.disabled = false;
    await refresh().catch(() => {});
  });
  refresh().catch((error) => showStatus(status, sentenceFor(error), "error"));
  return panel;
}
