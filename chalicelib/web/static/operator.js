// GET /operator: the whole server's days, read with the operator's token. The token is
// kept in sessionStorage (this tab, until it closes), never in localStorage.
import { api, sentenceFor, showStatus } from "./api.js";
import { periodPicker, usageCharts, usedToday } from "./charts.js";

const KEY = "ai-maker:operator-token";
const $ = (id) => document.getElementById(id);
const NUMBER = new Intl.NumberFormat();
let period = 30;

function stored() {
  try {
    return sessionStorage.getItem(KEY);
  } catch {
    return null;
  }
}

function forget() {
  sessionStorage.removeItem(KEY);
  $("operator-forget").hidden = true;
  $("operator-usage").hidden = true;
  $("operator-token").value = "";
}

/** What a refusal means here: the token, or a server that has none. */
function sentence(error) {
  if (error.code === "forbidden") return "That is not this server's operator token. Check it and paste it again.";
  if (error.code === "auth_required") return "Paste the operator token first.";
  if (error.code === "not_found") return "This server has no operator token set (OPERATOR_TOKEN), so it has no operator page.";
  return sentenceFor(error);
}

function figure(label, value) {
  const entry = document.createElement("li");
  const number = document.createElement("strong");
  number.textContent = NUMBER.format(value);
  entry.append(number, label);
  return entry;
}

function show(usage) {
  const today = usage.days[usage.days.length - 1];
  const budget = usage.tokens.budget || null;
  $("operator-figures").replaceChildren(
    figure("messages today", usage.messages),
    figure("sessions today", usage.sessionsCreated),
    figure("agents created today", usage.agentsCreated),
    figure(`refusals in ${usage.days.length} days`, usage.totals.refused.quota + usage.totals.refused.budget + usage.totals.refused.rateLimited),
  );
  const used = usedToday("operator-tokens-today", "Server's tokens today (settled and in flight)", usage.tokens.used + usage.tokens.reserved, budget);
  $("operator-charts").replaceChildren(used, ...usageCharts(usage.days, budget));
  $("usage-heading").textContent = `Usage, ${usage.days.length} days to ${today.day} (UTC)`;
  $("operator-usage").hidden = false;
}

async function load(token) {
  showStatus($("operator-status"), "Loading…", "waiting");
  try {
    show(await api("GET", `/operator/usage?days=${period}`, { token }));
    sessionStorage.setItem(KEY, token);
    $("operator-forget").hidden = false;
    showStatus($("operator-status"), "");
  } catch (error) {
    if (["forbidden", "auth_required", "not_found"].includes(error.code)) forget();
    showStatus($("operator-status"), sentence(error), "error");
  }
}

$("operator-period").append(
  periodPicker("operator-days", period, (days) => {
    period = days;
    const token = stored();
    if (token) load(token);
  }),
);
$("operator-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const token = $("operator-token").value.trim();
  $("operator-token").value = "";
  if (token) load(token);
});
$("operator-forget").addEventListener("click", () => {
  forget();
  showStatus($("operator-status"), "Forgotten: paste the token again to read the usage.");
});
if (stored()) load(stored());
