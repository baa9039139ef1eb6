// The studio's form as the API takes it and back: its sliders (each optional one off
// until switched on, then its value shown), its toggles, and the limits, whose hints
// give this server's own numbers.
import { api, saved } from "./api.js";
import { fillSafety, safetyFromForm } from "./safety-fields.js";
import { fillThinking, thinkingFromForm } from "./thinking-fields.js";

const $ = (id) => document.getElementById(id);
const form = $("agent-form");
const STARTERS = ["starter-1", "starter-2", "starter-3", "starter-4"];
// Each limit: its name in the API, the id of its field, and the bytes of its unit (the
// file sizes are asked in MB).
const MB = 1048576;
const LIMITS = [
  ["messagesPerSession", "limit-session", 1],
  ["messagesPerDay", "limit-day", 1],
  ["sessionsPerDay", "limit-sessions", 1],
  ["tokensPerDay", "limit-tokens", 1],
  ["filesPerConfig", "limit-files", 1],
  ["filesPerSession", "limit-attachments", 1],
  ["fileMaxBytes", "limit-file-size", MB],
  ["fileBytesPerDay", "limit-upload-day", MB],
];
// The optional sliders: the API's name, the id, and what "off" means.
const OPTIONAL = [
  ["topP", "top-p", "model's default"],
  ["topK", "top-k", "model's default"],
  ["maxOutputTokens", "max-output-tokens", "server's ceiling"],
];

function showValue(id) {
  const slider = $(id);
  const off = OPTIONAL.find(([, each]) => each === id);
  $(`${id}-value`).textContent = slider.disabled && off ? off[2] : slider.value;
}

function setOptional(id, value) {
  const on = value !== null && value !== undefined;
  $(`${id}-on`).checked = on;
  $(id).disabled = !on;
  if (on) $(id).value = value;
  showValue(id);
}

// The schema's field shows only for JSON replies.
const showReplySchema = () => {
  $("reply-schema-field").hidden = $("reply-format").value !== "json_schema";
};

/** The reply format as the API takes it: a schema that is not JSON is sent as it is, for
 * the API's refusal to name the field. */
function replyFormat() {
  if ($("reply-format").value !== "json_schema") return { type: "text" };
  const text = $("reply-schema").value;
  try {
    return { type: "json_schema", schema: JSON.parse(text) };
  } catch {
    return { type: "json_schema", schema: text };
  }
}

/** Wire the sliders and their switches, and the reply format; call once. */
export function wireSliders() {
  $("temperature").addEventListener("input", () => showValue("temperature"));
  $("reply-format").addEventListener("change", showReplySchema);
  for (const [, id] of OPTIONAL) {
    $(id).addEventListener("input", () => showValue(id));
    $(`${id}-on`).addEventListener("change", () => {
      $(id).disabled = !$(`${id}-on`).checked;
      showValue(id);
    });
  }
  form.addEventListener("reset", () => {
    // After the browser has reset the fields: the sliders' shown values follow them.
    setTimeout(() => {
      showValue("temperature");
      for (const [, id] of OPTIONAL) setOptional(id, null);
      showReplySchema();
    });
  });
}

/** The settings as the API takes them; in an edit, an emptied limit is null (the default). */
export function settingsFromForm(editing) {
  const data = new FormData(form);
  const limits = {};
  for (const [name, id, unit] of LIMITS) {
    const value = $(id).value.trim();
    if (value) limits[name] = Math.round(Number(value) * unit);
    else if (editing) limits[name] = null;
  }
  const generation = {};
  for (const [name, id] of OPTIONAL) generation[name] = $(id).disabled ? null : Number($(id).value);
  return {
    title: String(data.get("title")).trim(),
    model: String(data.get("model")),
    systemPrompt: String(data.get("systemPrompt")),
    temperature: Number($("temperature").value),
    promptVisibility: $("private-prompt").checked ? "private" : "public",
    sharing: $("sharing").checked,
    allowSessionOverrides: $("overrides").checked,
    limits,
    greeting: $("greeting").value.trim() || null,
    starters: STARTERS.map((id) => $(id).value.trim()).filter(Boolean),
    tools: {
      googleSearch: $("tool-search").checked,
      urlContext: $("tool-url").checked,
      codeExecution: $("tool-code").checked,
    },
    knowledgeMode: $("knowledge-mode").value,
    stopSequences: $("stop-sequences")
      .value.split("\n")
      .filter((line) => line.trim()),
    responseFormat: replyFormat(),
    ...generation,
    ...safetyFromForm(),
    thinking: thinkingFromForm(),
  };
}

/** Show a config in the form, for an edit. Only a limit the creator lowered is filled. */
export function fillForm(config) {
  $("title").value = config.title;
  $("model").value = config.model;
  fillThinking(config.thinking);
  $("temperature").value = config.temperature;
  showValue("temperature");
  $("system-prompt").value = config.systemPrompt ?? "";
  $("private-prompt").checked = config.promptVisibility === "private";
  $("sharing").checked = config.sharing;
  $("overrides").checked = config.allowSessionOverrides;
  $("greeting").value = config.greeting || "";
  STARTERS.forEach((id, index) => {
    $(id).value = config.starters?.[index] || "";
  });
  $("tool-search").checked = Boolean(config.tools?.googleSearch);
  $("tool-url").checked = Boolean(config.tools?.urlContext);
  $("tool-code").checked = Boolean(config.tools?.codeExecution);
  $("knowledge-mode").value = config.knowledgeMode || "auto";
  $("stop-sequences").value = (config.stopSequences || []).join("\n");
  const schema = config.responseFormat?.schema;
  $("reply-format").value = schema ? "json_schema" : "text";
  $("reply-schema").value = schema ? JSON.stringify(schema, null, 2) : "";
  showReplySchema();
  for (const [name, id] of OPTIONAL) setOptional(id, config[name]);
  fillSafety(config);
  const agent = saved.agent(config.chatConfigId);
  for (const [name, id, unit] of LIMITS) {
    const value = agent?.limits?.[name];
    $(id).value = value === null || value === undefined ? "" : value / unit;
  }
}

const number = (n) => n.toLocaleString("en", { maximumFractionDigits: 1 });

/** This server's ceilings, from the maxima of its OpenAPI document (they are its defaults
 * too): shown by each limit, and the longest reply's slider goes up to its own. */
export async function showServerLimits() {
  const document_ = await api("GET", "/openapi.json");
  const schemas = document_.components.schemas;
  const maximum = (property) => property?.anyOf?.find((b) => b.type === "integer")?.maximum;
  for (const [name, id, unit] of LIMITS) {
    const ceiling = maximum(schemas.LimitsUpdate.properties[name]);
    const hint = $(`${id}-server`);
    if (ceiling === undefined) {
      hint.textContent = "No limit unless you set one.";
    } else {
      const shown = number(ceiling / unit) + (unit === MB ? " MB" : "");
      hint.textContent = `Up to ${shown}; empty: ${shown}.`;
      $(id).max = ceiling / unit;
      $(id).placeholder = number(ceiling / unit);
    }
  }
  const replyCeiling = maximum(schemas.ChatConfigCreate.properties.maxOutputTokens);
  if (replyCeiling) {
    $("max-output-tokens").max = replyCeiling;
    const label = $("max-output-tokens-on").nextElementSibling.querySelector(".hint");
    label.textContent = `(else the server's ceiling, ${number(replyCeiling)} tokens)`;
  }
}
