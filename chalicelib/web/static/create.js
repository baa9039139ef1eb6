// GET /: make an agent, and manage the ones this browser made ("My agents").
import { agentFromForm, fillAgentFields } from "./agent-fields.js";
import { ApiError, api, fillModels, saved, sentenceFor, showStatus } from "./api.js";
import { knowledgePanel } from "./knowledge.js";

const $ = (id) => document.getElementById(id);
const form = $("agent-form");
const formStatus = $("form-status");
const agentsStatus = $("agents-status");
const LIMITS = ["messagesPerSession", "messagesPerDay", "sessionsPerDay", "tokensPerDay"];
let editing = null; // the config id being edited, or null when creating

function settingsFromForm() {
  const data = new FormData(form);
  const limits = {};
  for (const name of LIMITS) {
    const value = String(data.get(name) || "").trim();
    // In an edit, an emptied limit goes back to the server's default (null).
    if (value) limits[name] = Number(value);
    else if (editing) limits[name] = null;
  }
  return {
    title: String(data.get("title")).trim(),
    model: String(data.get("model")),
    systemPrompt: String(data.get("systemPrompt")),
    temperature: Number(data.get("temperature")),
    promptVisibility: data.get("privatePrompt") ? "private" : "public",
    sharing: Boolean(data.get("sharing")),
    allowSessionOverrides: Boolean(data.get("allowSessionOverrides")),
    limits,
    ...agentFromForm(),
  };
}

function fillForm(config) {
  $("title").value = config.title;
  $("model").value = config.model;
  $("temperature").value = config.temperature;
  $("system-prompt").value = config.systemPrompt ?? "";
  $("private-prompt").checked = config.promptVisibility === "private";
  $("sharing").checked = config.sharing;
  $("overrides").checked = config.allowSessionOverrides;
  fillAgentFields(config);
  // Only a limit the creator lowered is shown; the rest stay at the default.
  const agent = saved.agent(config.chatConfigId);
  for (const [name, id] of [
    ["messagesPerSession", "limit-session"],
    ["messagesPerDay", "limit-day"],
    ["sessionsPerDay", "limit-sessions"],
    ["tokensPerDay", "limit-tokens"],
  ]) {
    $(id).value = agent?.limits?.[name] ?? "";
  }
}

function setEditing(configId, title) {
  editing = configId;
  $("form-heading").textContent = configId ? `Edit “${title}”` : "Make an agent";
  $("submit").textContent = configId ? "Save changes" : "Create agent";
  $("cancel-edit").hidden = !configId;
  if (!configId) form.reset();
}

function showCreated(title, shareableUrl, editToken) {
  $("created-heading").textContent = `“${title}” is ready to share`;
  $("share-link").value = shareableUrl;
  $("open-link").href = shareableUrl;
  $("edit-token").value = editToken;
  $("created").hidden = false;
  $("created").scrollIntoView({ block: "nearest" });
}

async function submit(event) {
  event.preventDefault();
  const settings = settingsFromForm();
  showStatus(formStatus, editing ? "Saving…" : "Creating…", "busy");
  $("submit").disabled = true;
  try {
    if (editing) {
      const agent = saved.agent(editing);
      await api("PUT", `/chat-config/${editing}`, { body: settings, token: agent.editToken });
      saved.saveAgent(editing, { ...agent, title: settings.title, limits: settings.limits });
      showStatus(formStatus, "Saved.", "ok");
      setEditing(null);
    } else {
      const created = await api("POST", "/create-chat", { body: settings });
      saved.saveAgent(created.chatConfigId, {
        title: created.config.title,
        editToken: created.editToken,
        shareableUrl: created.shareableUrl,
        createdAt: created.config.createdAt,
        limits: settings.limits,
      });
      showCreated(created.config.title, created.shareableUrl, created.editToken);
      showStatus(formStatus, "Created.", "ok");
      form.reset();
    }
    renderAgents();
  } catch (error) {
    showStatus(formStatus, sentenceFor(error), "error");
  } finally {
    $("submit").disabled = false;
  }
}

async function copyFrom(inputId, button) {
  const input = $(inputId);
  input.select();
  try {
    await navigator.clipboard.writeText(input.value);
    button.textContent = "Copied";
  } catch {
    // No clipboard permission: the text is selected, ready for Ctrl+C.
    button.textContent = "Press Ctrl+C";
  }
  setTimeout(() => {
    button.textContent = inputId === "share-link" ? "Copy link" : "Copy token";
  }, 2000);
}

async function loadConfig(configId) {
  const agent = saved.agent(configId);
  return api("GET", `/chat-config/${configId}`, { token: agent.editToken });
}

async function run(action, busyText) {
  showStatus(agentsStatus, busyText, "busy");
  try {
    const done = await action();
    showStatus(agentsStatus, done, "ok");
  } catch (error) {
    const gone = error instanceof ApiError && error.status === 404;
    showStatus(agentsStatus, gone ? "That agent no longer exists." : sentenceFor(error), "error");
  }
  renderAgents();
}

const actions = {
  async edit(configId) {
    const config = await loadConfig(configId);
    fillForm(config);
    setEditing(configId, config.title);
    $("form-heading").scrollIntoView();
    $("title").focus();
    return `Editing “${config.title}”.`;
  },
  async sharing(configId) {
    const config = await loadConfig(configId);
    const { title, model, systemPrompt, temperature } = config;
    const body = { title, model, systemPrompt, temperature, sharing: !config.sharing };
    await api("PUT", `/chat-config/${configId}`, { body, token: saved.agent(configId).editToken });
    saved.saveAgent(configId, { ...saved.agent(configId), sharing: body.sharing });
    return body.sharing ? "Sharing is on: the link starts new chats." : "Sharing is off: no new chats.";
  },
  async rotate(configId) {
    const agent = saved.agent(configId);
    const { editToken } = await api("POST", `/chat-config/${configId}/rotate-token`, {
      token: agent.editToken,
    });
    saved.saveAgent(configId, { ...agent, editToken });
    showCreated(agent.title, agent.shareableUrl, editToken);
    return "A new edit token is saved in this browser; the old one no longer works.";
  },
  async delete(configId) {
    const agent = saved.agent(configId);
    await api("DELETE", `/chat-config/${configId}`, { token: agent.editToken });
    saved.forgetAgent(configId);
    if (editing === configId) setEditing(null);
    return `Deleted “${agent.title}”.`;
  },
};

function button(text, onClick) {
  const node = document.createElement("button");
  node.type = "button";
  node.textContent = text;
  node.addEventListener("click", onClick);
  return node;
}

function renderAgents() {
  const list = $("my-agents");
  const agents = saved.agents();
  list.replaceChildren();
  if (!agents.length) {
    const empty = document.createElement("li");
    empty.className = "empty";
    empty.textContent = "None yet. Agents you create here are listed here.";
    list.append(empty);
  }
  for (const agent of agents) {
    const id = agent.chatConfigId;
    const item = document.createElement("li");
    item.dataset.configId = id;
    const link = document.createElement("a");
    link.href = agent.shareableUrl;
    link.textContent = agent.title;
    link.className = "agent-title";
    const remove = button("Delete", () => {
      // A second click confirms, so one slip deletes nothing.
      if (remove.dataset.armed) run(() => actions.delete(id), "Deleting…");
      else {
        remove.dataset.armed = "yes";
        remove.textContent = "Really delete?";
        remove.classList.add("danger");
      }
    });
    const tools = document.createElement("div");
    tools.className = "tools";
    const knowledge = button("Knowledge", () => {
      const open = item.querySelector(".knowledge");
      if (open) open.remove();
      else item.append(knowledgePanel(id, saved.agent(id).editToken));
      knowledge.setAttribute("aria-expanded", String(!open));
    });
    knowledge.setAttribute("aria-expanded", "false");
    tools.append(
      knowledge,
      button("Edit", () => run(() => actions.edit(id), "Loading…")),
      button(agent.sharing === false ? "Turn sharing on" : "Turn sharing off", () =>
        run(() => actions.sharing(id), "Saving…"),
      ),
      button("New edit token", () => run(() => actions.rotate(id), "Rotating…")),
      remove,
    );
    item.append(link, tools);
    list.append(item);
  }
}

form.addEventListener("submit", submit);
$("cancel-edit").addEventListener("click", () => {
  setEditing(null);
  showStatus(formStatus, "");
});
$("copy-link").addEventListener("click", (event) => copyFrom("share-link", event.target));
$("copy-token").addEventListener("click", (event) => copyFrom("edit-token", event.target));
renderAgents();
fillModels($("model")).catch((error) => showStatus(formStatus, sentenceFor(error), "error"));
