// The studio's safety thresholds and attachment detail, as the API takes them and back:
// an empty choice is null (the model's default).
const $ = (id) => document.getElementById(id);
const CATEGORIES = [
  ["harassment", "safety-harassment"],
  ["hateSpeech", "safety-hate-speech"],
  ["sexuallyExplicit", "safety-sexually-explicit"],
  ["dangerousContent", "safety-dangerous-content"],
];

/** `safety` and `mediaResolution` from the form. */
export function safetyFromForm() {
  const safety = {};
  for (const [name, id] of CATEGORIES) safety[name] = $(id).value || null;
  return { safety, mediaResolution: $("media-resolution").value || null };
}

/** Show an agent's safety and attachment detail in the form. */
export function fillSafety(config) {
  for (const [name, id] of CATEGORIES) $(id).value = config.safety?.[name] ?? "";
  $("media-resolution").value = config.mediaResolution ?? "";
}
