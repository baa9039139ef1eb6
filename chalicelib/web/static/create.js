// GET /: the creator studio. Make an agent (with a live preview of its share link's
// first screen), see it ready to share, and manage the ones this browser made.
import { ApiError, api, fillModels, saved, sentenceFor, showStatus } from "./api.js";
import { copyText } from "./icons.js";
import { knowledgePanel } from "./knowledge.js";
import { renderAgents } from "./my-agents.js";
import { wirePreview } from "./preview.js";
import { fillForm, settingsFromForm, showServerLimits, wireSliders } from "./studio-form.js";
import { showThinkingRefusal, wireThinking } from "./thinking-fields.js";

const $ = (id) => document.getElementById(id);
const form = $("agent-form");
const formStatus = $("form-status");
const agentsStatus = $("agents-status");
let editing = null; // the config id being edited, or null when creating

function setEditing(configId, title) {
  editing = configId;
  $("form-heading").textContent = configId ? `Edit “${title}”` : "Make an agent";
  $("submit").textContent = configId ? "Save changes" : "Create agent";
  $("cancel-edit").hidden = !configId;
  $("files-note").hidden = Boolean(configId);
  $("edit-knowledge").replaceChildren(
    ...(configId ? [knowledgePanel(configId, saved.agent(configId).editToken)] : []),
  );
  if (!configId) form.reset();
}

/** Open the studio (closing the ready card). */
function openStudio() {
  $("created").hidden = true;
  $("studio").hidden = false;
}

/** The "ready to share" state: the form closes, the link and its copy button show, and
 * the page goes back to its top, header included, with focus on the news. */
function showCreated(heading, shareableUrl, editToken) {
  $("created-heading").lastChild.textContent = ` ${heading}`;
  $("share-link").value = shareableUrl;
  $("open-link").href = shareableUrl;
  $("edit-token").value = editToken;
  $("studio").hidden = true;
  $("created").hidden = false;
  $("form-heading").textContent = "Ready to share";
  window.scrollTo({ top: 0 });
  $("created").focus({ preventScroll: true });
}

async function submit(event) {
  event.preventDefault();
  const settings = settingsFromForm(editing);
  showStatus(formStatus, editing ? "Saving…" : "Creating…", "busy");
  $("submit").disabled = true;
  try {
    if (editing) {
      const agent = saved.agent(editing);
      await api("PUT", `/chat-config/${editing}`, { body: settings, token: agent.editToken });
      saved.saveAgent(editing, {
        ...agent,
        title: settings.title,
        limits: settings.limits,
        sharing: settings.sharing,
      });
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
        sharing: settings.sharing,
      });
      form.reset();
      showStatus(formStatus, "");
      showCreated(`“${created.config.title}” is ready to share`, created.shareableUrl, created.editToken);
      showStatus(agentsStatus, `Created “${created.config.title}”.`, "ok");
    }
    draw();
  } catch (error) {
    showStatus(formStatus, sentenceFor(error), "error");
    showThinkingRefusal(error);
  } finally {
    $("submit").disabled = false;
  }
}

async function loadConfig(configId) {
  const agent = saved.agent(configId);
  return api("GET", `/chat-config/${configId}`, { token: agent.editToken });
}

const actions = {
  async edit(configId) {
    const config = await loadConfig(configId);
    openStudio();
    fillForm(config);
    setEditing(configId, config.title);
    preview();
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
    showCreated(`A new edit token for “${agent.title}”`, agent.shareableUrl, editToken);
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

async function run(action, configId) {
  const busy = { edit: "Loading…", sharing: "Saving…", rotate: "Rotating…", delete: "Deleting…" };
  showStatus(agentsStatus, busy[action], "busy");
  try {
    showStatus(agentsStatus, await actions[action](configId), "ok");
  } catch (error) {
    const gone = error instanceof ApiError && error.status === 404;
    showStatus(agentsStatus, gone ? "That agent no longer exists." : sentenceFor(error), "error");
  }
  draw();
}

const draw = () => renderAgents(run);

form.addEventListener("submit", submit);
$("cancel-edit").addEventListener("click", () => {
  setEditing(null);
  showStatus(formStatus, "");
});
$("make-another").addEventListener("click", () => {
  setEditing(null);
  openStudio();
  $("title").focus();
});
$("copy-link").addEventListener("click", () =>
  copyText($("share-link").value, $("copy-link"), $("share-link")),
);
$("copy-token").addEventListener("click", () =>
  copyText($("edit-token").value, $("copy-token"), $("edit-token")),
);
wireSliders();
const preview = wirePreview(form);
draw();
fillModels($("model"))
  .then((models) => wireThinking(form, models))
  .catch((error) => showStatus(formStatus, sentenceFor(error), "error"));
showServerLimits().catch(() => {
  // The limits still work without the numbers; their hints stay general.
});
