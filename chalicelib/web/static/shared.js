// A shared chat's read-only page: the snapshot's messages (copy is their only action), and
// Continue this chat, which starts a session of the agent with that history and opens it.
import { api, BASE, sentenceFor, showStatus } from "./api.js";
import { chatStore } from "./history.js";
import * as view from "./messages.js";

const shareId = decodeURIComponent(window.location.pathname.split("/").pop());
const state = document.getElementById("state");
const button = document.getElementById("continue-chat");

function readOnly(message) {
  const attachments = message.attachments?.map((file) => ({ ...file, contentType: "" }));
  const item = view.messageNode({ ...message, attachments });
  for (const action of item.querySelectorAll(".regenerate, .retry")) action.remove();
  return item;
}

async function continueChat(shared) {
  button.disabled = true;
  showStatus(state, "Starting your copy of this chat…");
  try {
    const configId = shared.agent.chatConfigId;
    const created = await api("POST", "/chat-session", {
      body: { chatConfigId: configId, fromShare: shareId },
    });
    const first = shared.messages.find((message) => message.role === "user");
    chatStore(configId).add({
      sessionId: created.sessionId,
      sessionToken: created.sessionToken,
      title: created.title,
      firstMessage: first?.content.slice(0, 80),
    });
    window.location.assign(`${BASE}/chat/${encodeURIComponent(configId)}`);
  } catch (error) {
    button.disabled = false;
    showStatus(state, sentenceFor(error), "error");
  }
}

async function load() {
  try {
    const shared = await api("GET", `/shares/${encodeURIComponent(shareId)}`);
    document.getElementById("shared-agent").textContent =
      `${shared.agent.title} · ${shared.agent.model}`;
    const list = document.getElementById("messages");
    for (const message of shared.messages) list.append(readOnly(message));
    button.hidden = false;
    button.addEventListener("click", () => continueChat(shared));
  } catch (error) {
    showStatus(state, sentenceFor(error), "error");
  }
}

load();
