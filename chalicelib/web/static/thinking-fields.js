// The studio's thinking settings: a level (Gemini 3) or a budget (2.5), whichever the
// chosen model takes as GET /models says, and the switch that shows thought summaries;
// a refusal of one shows at its field. Also Gemini 3's advice on sampling.
const $ = (id) => document.getElementById(id);
const NONE = { levels: [], budget: null };
const LEVEL_NAMES = { minimal: "Minimal", low: "Low", medium: "Medium", high: "High" };
// Each field the server may name, and the control that shows its refusal.
const CONTROLS = {
  thinking: "thinking-level",
  "thinking.level": "thinking-level",
  "thinking.budget": "thinking-budget",
  "thinking.showThoughts": "thinking-show",
};
let thinkingOf = new Map(); // model id -> what thinking it takes

const takes = () => thinkingOf.get($("model").value) ?? NONE;
const number = (n) => n.toLocaleString("en");

function budgetRange({ minimum, maximum, mayStop }) {
  if (!mayStop) return `${number(minimum)}–${number(maximum)} tokens.`;
  if (minimum <= 1) return `0 (no thinking) to ${number(maximum)} tokens.`;
  return `0 (no thinking), or ${number(minimum)}–${number(maximum)} tokens.`;
}

/** Show the controls the chosen model takes; a level it does not take goes back to the
 * model's default. */
function showForModel() {
  const { levels, budget } = takes();
  const chosen = $("thinking-level").value;
  $("thinking-level").replaceChildren(
    new Option("The model's default", ""),
    ...levels.map((level) => new Option(LEVEL_NAMES[level] || level, level)),
  );
  $("thinking-level").value = levels.includes(chosen) ? chosen : "";
  $("thinking-level-field").hidden = !levels.length;
  $("thinking-budget-field").hidden = !budget;
  if (budget) {
    $("thinking-budget").min = budget.mayStop ? 0 : budget.minimum;
    $("thinking-budget").max = budget.maximum;
    $("thinking-budget-range").textContent = budgetRange(budget);
  }
  const thinks = Boolean(levels.length || budget);
  $("thinking-show-field").hidden = !thinks;
  $("thinking-none").hidden = thinks || !thinkingOf.size;
  // The model family's own advice; the API takes other values all the same.
  $("sampling-advice").hidden = !$("model").value.startsWith("gemini-3");
}

export function clearThinkingRefusal() {
  $("thinking-problem").hidden = true;
  $("thinking-problem").textContent = "";
  for (const id of new Set(Object.values(CONTROLS))) {
    $(id).removeAttribute("aria-invalid");
    $(id).removeAttribute("aria-errormessage");
  }
}

/** Put a refusal naming a thinking field at that field; true if it named one. */
export function showThinkingRefusal(error) {
  const named = (error.details?.fields || []).filter((problem) => CONTROLS[problem.field]);
  if (!named.length) return false;
  $("thinking-problem").textContent = named
    .map((problem) => `${problem.message[0].toUpperCase()}${problem.message.slice(1)}.`)
    .join(" ");
  $("thinking-problem").hidden = false;
  for (const problem of named) {
    const control = $(CONTROLS[problem.field]);
    control.setAttribute("aria-invalid", "true");
    control.setAttribute("aria-errormessage", "thinking-problem");
  }
  const first = $(CONTROLS[named[0].field]);
  first.closest(".field, .toggle").after($("thinking-problem"));
  first.closest("details").open = true;
  first.focus();
  return true;
}

/** Wire the controls to the model select; `models` is GET /models's list. */
export function wireThinking(form, models) {
  thinkingOf = new Map(models.map(({ id, thinking }) => [id, thinking ?? NONE]));
  $("model").addEventListener("change", () => {
    clearThinkingRefusal();
    showForModel();
  });
  for (const id of ["thinking-level", "thinking-budget", "thinking-show"]) {
    $(id).addEventListener("change", clearThinkingRefusal);
  }
  form.addEventListener("submit", clearThinkingRefusal);
  // After the browser has reset the fields (the model back to its default).
  form.addEventListener("reset", () => setTimeout(() => fillThinking(null)));
  showForModel();
}

/** The setting as the API takes it: only what the chosen model takes. */
export function thinkingFromForm() {
  const { levels, budget } = takes();
  const tokens = $("thinking-budget").value.trim();
  return {
    level: levels.length ? $("thinking-level").value || null : null,
    budget: budget && tokens ? Number(tokens) : null,
    showThoughts: Boolean(levels.length || budget) && $("thinking-show").checked,
  };
}

/** Show an agent's thinking setting (null: the defaults), for the model now chosen. */
export function fillThinking(thinking) {
  clearThinkingRefusal();
  showForModel();
  $("thinking-level").value = thinking?.level ?? "";
  // A level this model does not take (the agent's model changed under it): the default.
  if ($("thinking-level").selectedIndex < 0) $("thinking-level").value = "";
  $("thinking-budget").value = thinking?.budget ?? "";
  $("thinking-show").checked = Boolean(thinking?.showThoughts);
}
