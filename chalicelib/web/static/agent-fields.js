// The generation settings fields, which the chat page's settings show (their ids there
// start "session-"); the create page's fields are studio-form.js's.
const $ = (id) => document.getElementById(id);
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
