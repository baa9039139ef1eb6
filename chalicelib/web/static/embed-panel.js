// An agent's embed on "My agents": switch it on, name the sites that may show it, see how
// its launcher will look, and copy the one line to paste on those sites.
import { BASE, api, sentenceFor, showStatus } from "./api.js";
import { copyText, labelledButton } from "./icons.js";

const MAX_ORIGINS = 10;

function field(labelText, control, hint = "") {
  const wrap = document.createElement("div");
  wrap.className = "field";
  const label = document.createElement("label");
  label.htmlFor = control.id;
  label.textContent = labelText;
  if (hint) {
    const small = document.createElement("span");
    small.className = "hint";
    small.textContent = ` ${hint}`;
    label.append(small);
  }
  wrap.append(label, control);
  return wrap;
}

function input(id, type, value) {
  const control = document.createElement(type === "textarea" ? "textarea" : "input");
  control.id = id;
  if (type !== "textarea") control.type = type;
  control.value = value;
  return control;
}

/** The line a creator pastes: only the options that differ from the defaults. */
export function embedSnippet(configId, options) {
  const attributes = [`src="${location.origin}${BASE}/embed.js"`, `data-agent="${configId}"`];
  const quoted = (text) => text.replaceAll("&", "&amp;").replaceAll('"', "&quot;");
  if (options.label && options.label !== "Chat") attributes.push(`data-label="${quoted(options.label)}"`);
  if (options.color) attributes.push(`data-color="${quoted(options.color)}"`);
  if (options.position === "left") attributes.push('data-position="left"');
  return `<script ${attributes.join(" ")} async></script>`;
}

/** What a refused save names: the line of each origin the server would not take. */
function refusal(error, origins) {
  const fields = error.details?.fields || [];
  const lines = fields
    .map((problem) => /^embed\.allowedOrigins\.(\d+)$/.exec(problem.field))
    .filter(Boolean)
    .map((match) => `“${origins[Number(match[1])]}” (line ${Number(match[1]) + 1})`);
  if (lines.length) return `Not an origin this can take: ${lines.join(", ")}. ${fields[0].message}.`;
  return sentenceFor(error);
}

/** A panel for one agent's embed, read and changed with its edit token. */
export function embedPanel(configId, editToken) {
  const path = `/chat-config/${encodeURIComponent(configId)}`;
  const panel = document.createElement("div");
  panel.className = "embed-panel";
  const intro = document.createElement("p");
  intro.className = "hint";
  intro.textContent =
    "Put this agent on your own site: a chat button in a corner opens it. Only the sites " +
    "named here may show it; everywhere else the browser refuses the frame.";
  const form = document.createElement("form");
  const switchLabel = document.createElement("label");
  switchLabel.className = "checkbox";
  const enabled = input(`embed-on-${configId}`, "checkbox", "");
  switchLabel.append(enabled, " Allow this agent on the sites below");
  const origins = input(`embed-origins-${configId}`, "textarea", "");
  origins.rows = 3;
  origins.placeholder = "https://www.example.com";
  const label = input(`embed-label-${configId}`, "text", "Chat");
  label.maxLength = 40;
  const color = input(`embed-color-${configId}`, "color", "#1d4ed8");
  const position = document.createElement("select");
  position.id = `embed-position-${configId}`;
  for (const [value, text] of [["right", "Bottom right"], ["left", "Bottom left"]]) {
    position.append(new Option(text, value));
  }
  const save = document.createElement("button");
  save.type = "submit";
  save.textContent = "Save embed";
  const looks = document.createElement("div");
  looks.className = "row three";
  looks.append(
    field("Button text", label),
    field("Button colour", color),
    field("Corner", position),
  );
  form.append(
    switchLabel,
    field("Sites allowed", origins, `(one origin per line, up to ${MAX_ORIGINS})`),
    looks,
    save,
  );

  const preview = document.createElement("div");
  preview.className = "embed-preview";
  const launcher = document.createElement("span");
  launcher.className = "embed-launcher";
  launcher.setAttribute("aria-hidden", "true");
  const tryIt = document.createElement("a");
  tryIt.href = `${BASE}/embed/${encodeURIComponent(configId)}`;
  tryIt.target = "_blank";
  tryIt.rel = "noopener";
  tryIt.textContent = "Try the embedded chat";
  preview.append(launcher, tryIt);
  const snippet = document.createElement("pre");
  snippet.className = "snippet";
  const copy = labelledButton("copy", "Copy snippet", () => copyText(snippet.textContent, copy));
  const snippetRow = document.createElement("div");
  snippetRow.className = "copy-row snippet";
  snippetRow.append(snippet, copy);
  const status = document.createElement("p");
  status.className = "status";
  status.setAttribute("role", "status");
  panel.append(intro, form, preview, snippetRow, status);

  const options = () => ({
    label: label.value.trim() || "Chat",
    color: color.value === "#1d4ed8" ? "" : color.value,
    position: position.value,
  });
  function redraw() {
    const chosen = options();
    launcher.textContent = chosen.label;
    launcher.style.background = chosen.color || "#1d4ed8";
    preview.dataset.corner = chosen.position;
    snippet.textContent = embedSnippet(configId, chosen);
  }
  for (const control of [label, color, position]) control.addEventListener("input", redraw);
  redraw();

  const lines = () => origins.value.split("\n").map((line) => line.trim()).filter(Boolean);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    save.disabled = true;
    const wanted = lines();
    try {
      const config = await api("GET", path, { token: editToken });
      const { title, model, systemPrompt, temperature } = config;
      const embed = { enabled: enabled.checked, allowedOrigins: wanted };
      const body = { title, model, systemPrompt, temperature, embed };
      const saved = await api("PUT", path, { body, token: editToken });
      origins.value = saved.embed.allowedOrigins.join("\n");
      const on = saved.embed.enabled && saved.embed.allowedOrigins.length;
      showStatus(status, on ? "Saved: those sites may show this agent." : "Saved: embedding is off.", "ok");
    } catch (error) {
      showStatus(status, refusal(error, wanted), "error");
    }
    save.disabled = false;
  });
  // Nothing to change until the embed as stored is shown: the load would undo it.
  for (const control of [enabled, origins, save]) control.disabled = true;
  api("GET", path, { token: editToken })
    .then((config) => {
      enabled.checked = Boolean(config.embed?.enabled);
      origins.value = (config.embed?.allowedOrigins || []).join("\n");
      for (const control of [enabled, origins, save]) control.disabled = false;
    })
    .catch((error) => showStatus(status, sentenceFor(error), "error"));
  return panel;
}
