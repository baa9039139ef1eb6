// "My agents": a card per agent this browser made, with its share link and a copy
// button, its everyday actions, and the ones that cannot be undone set apart, each
// asking once more before it acts.
import { saved } from "./api.js";
import { apiKeysPanel } from "./api-keys.js";
import { embedPanel } from "./embed-panel.js";
import { confirmButton, copyText, labelledButton } from "./icons.js";
import { insightsPanel } from "./insights.js";
import { knowledgePanel } from "./knowledge.js";

const $ = (id) => document.getElementById(id);

function card(agent, run) {
  const id = agent.chatConfigId;
  const item = document.createElement("li");
  item.className = "agent-card";
  item.dataset.configId = id;
  const heading = document.createElement("h3");
  const link = document.createElement("a");
  link.href = agent.shareableUrl;
  link.textContent = agent.title;
  link.className = "agent-title";
  link.id = `agent-title-${id}`;
  link.target = "_blank";
  link.rel = "noopener noreferrer";
  heading.append(link);
  const state = document.createElement("p");
  state.className = "hint agent-state";
  state.textContent = agent.sharing === false ? "Paused: no new chats" : "Sharing on";
  const url = document.createElement("code");
  url.className = "share-url";
  url.textContent = agent.shareableUrl;
  const copy = labelledButton("copy", "Copy link", () => copyText(agent.shareableUrl, copy));
  copy.classList.add("copy-share");
  copy.setAttribute("aria-describedby", link.id);
  const share = document.createElement("div");
  share.className = "share-row";
  share.append(url, copy);

  const tools = document.createElement("div");
  tools.className = "button-row tools";
  // Knowledge, embed, API keys and insights each open a panel of their own above the destructive actions.
  const panelButton = (icon, text, className, makePanel) => {
    const button = labelledButton(icon, text, () => {
      const open = item.querySelector(`.${className}`);
      if (open) open.remove();
      else item.insertBefore(makePanel(id, saved.agent(id).editToken), danger);
      button.setAttribute("aria-expanded", String(!open));
    });
    button.setAttribute("aria-expanded", "false");
    return button;
  };
  tools.append(
    labelledButton("pencil", "Edit", () => run("edit", id)),
    panelButton("paperclip", "Knowledge", "knowledge", knowledgePanel),
    panelButton("code", "Embed", "embed-panel", embedPanel),
    panelButton("key-round", "API keys", "api-keys", apiKeysPanel),
    panelButton("chart-column", "Insights", "insights-panel", insightsPanel),
  );

  const danger = document.createElement("details");
  danger.className = "danger-zone";
  const summary = document.createElement("summary");
  summary.textContent = "Pause, new token, delete";
  const dangerRow = document.createElement("div");
  dangerRow.className = "button-row";
  const paused = agent.sharing === false;
  dangerRow.append(
    paused
      ? labelledButton("play", "Turn sharing on", () => run("sharing", id))
      : confirmButton("pause", "Turn sharing off", "Really stop new chats?", () =>
          run("sharing", id),
        ),
    confirmButton("key-round", "New edit token", "Really replace the token?", () =>
      run("rotate", id),
    ),
    confirmButton("trash-2", "Delete", "Really delete?", () => run("delete", id)),
  );
  danger.append(summary, dangerRow);
  item.append(heading, state, share, tools, danger);
  return item;
}

/** Draw the cards; `run(action, configId)` does what a button asks. */
export function renderAgents(run) {
  const list = $("my-agents");
  const agents = saved.agents();
  list.replaceChildren(...agents.map((agent) => card(agent, run)));
  if (!agents.length) {
    const empty = document.createElement("li");
    empty.className = "empty";
    empty.textContent = "None yet. Agents you create here are listed here.";
    list.append(empty);
  }
}
