// The create page's agent fields: greeting, starters, tools and generation settings.
const $ = (id) => document.getElementById(id);
const STARTERS = ["starter-1", "starter-2", "starter-3", "starter-4"];
const NUMBERS = [
  ["topP", "top-p"],
  ["topK", "top-k"],
  ["maxOutputTokens", "max-output-tokens"],
];

/** The fields as the API takes them; an empty one is null (the default). */
export function agentFromForm() {
  const fields = {
    greeting: $("greeting").value.trim() || null,
    starters: STARTERS.map((id) => $(id).value.trim()).filter(Boolean),
    stopSequences: $("stop-sequences")
      .value.split("\n")
      .filter((line) => line.trim()),
    tools: { googleSearch: $("tool-search").checked, urlContext: $("tool-url").checked },
  };
  for (const [name, id] of NUMBERS) {
    const value = $(id).value.trim();
    fields[name] = value ? Number(value) : null;
  }
  return fields;
}

/** Show a config's agent fields in the form, for an edit. */
export function fillAgentFields(config) {
  $("greeting").value = config.greeting || "";
  STARTERS.forEach((id, index) => {
    $(id).value = config.starters?.[index] || "";
  });
  $("stop-sequences").value = (config.stopSequences || []).join("\n");
  $("tool-search").checked = Boolean(config.tools?.googleSearch);
  $("tool-url").checked = Boolean(config.tools?.urlContext);
  for (const [name, id] of NUMBERS) $(id).value = config[name] ?? "";
}
