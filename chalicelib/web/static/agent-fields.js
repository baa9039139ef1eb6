// The agent fields: greeting, starters and tools on the create page, and the generation
// settings, which the chat page's settings show too (their ids there start "session-").
const $ = (id) => document.getElementById(id);
const STARTERS = ["starter-1", "starter-2", "starter-3", "starter-4"];
const NUMBERS = [
  ["topP", "top-p"],
  ["topK", "top-k"],
  ["maxOutputTokens", "max-output-tokens"],
];

/** The generation settings as the API takes them; an empty number is null (the model's). */
export function generationFromForm(prefix = "") {
  const fields = {
    stopSequences: $(`${prefix}stop-sequences`)
      .value.split("\n")
      .filter((line) => line.trim()),
  };
  for (const [name, id] of NUMBERS) {
    const value = $(prefix + id).value.trim();
    fields[name] = value ? Number(value) : null;
  }
  return fields;
}

/** Show a config's or a session's generation settings in the form. */
export function fillGenerationFields(settings, prefix = "") {
  $(`${prefix}stop-sequences`).value = (settings.stopSequences || []).join("\n");
  for (const [name, id] of NUMBERS) $(prefix + id).value = settings[name] ?? "";
}

/** The fields as the API takes them; an empty one is null (the default). */
export function agentFromForm() {
  return {
    greeting: $("greeting").value.trim() || null,
    starters: STARTERS.map((id) => $(id).value.trim()).filter(Boolean),
    tools: { googleSearch: $("tool-search").checked, urlContext: $("tool-url").checked },
    ...generationFromForm(),
  };
}

/** Show a config's agent fields in the form, for an edit. */
export function fillAgentFields(config) {
  $("greeting").value = config.greeting || "";
  STARTERS.forEach((id, index) => {
    $(id).value = config.starters?.[index] || "";
  });
  $("tool-search").checked = Boolean(config.tools?.googleSearch);
  $("tool-url").checked = Boolean(config.tools?.urlContext);
  fillGenerationFields(config);
}
