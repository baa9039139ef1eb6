// The chat header's menu: the agent's prompt, the chat's own settings, and the export.
import { fillGenerationFields, generationFromForm } from "./agent-fields.js";
import { api, fillModels, sentenceFor, showStatus } from "./api.js";
import { closeMenu } from "./shell.js";

const $ = (id) => document.getElementById(id);

/** Show a chat's settings (the agent's, or a session's) in the menu's form. */
export function fillSettings(settings) {
  const prompt = settings.systemPromptHidden ? null : settings.systemPrompt;
  $("agent-prompt-box").hidden = !prompt;
  $("agent-prompt").textContent = prompt || "";
  $("settings-box").hidden = !settings.allowSessionOverrides;
  $("no-settings").hidden = Boolean(settings.allowSessionOverrides);
  $("session-title").value = settings.title;
  $("session-temperature").value = settings.temperature;
  $("session-prompt").value = settings.systemPrompt || "";
  $("session-prompt-field").hidden = Boolean(settings.systemPromptHidden);
  fillGenerationFields(settings, "session-");
  fillModels($("session-model"), settings.model).catch(() => {});
}

/**
 * Wire the menu's form and export buttons. `page()` gives {settings, session};
 * `ensureSession()` starts the chat if needed; `saved(settings)` shows what was saved.
 */
export function wireMenu({ page, ensureSession, saved, setState }) {
  $("settings-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const status = $("settings-status");
    const { settings } = page();
    const wanted = {
      title: $("session-title").value.trim(),
      model: $("session-model").value,
      temperature: Number($("session-temperature").value),
      ...generationFromForm("session-"),
    };
    if (!settings.systemPromptHidden) wanted.systemPrompt = $("session-prompt").value;
    // Only what changed, so a setting the agent locks is never sent unchanged.
    const same = (name, value) => JSON.stringify(value) === JSON.stringify(settings[name] ?? null);
    const body = Object.fromEntries(Object.entries(wanted).filter(([name, value]) => !same(name, value)));
    if (!Object.keys(body).length) {
      showStatus(status, "Nothing changed.", "ok");
      return;
    }
    try {
      const { sessionId, sessionToken } = await ensureSession();
      saved(await api("PUT", `/session/${sessionId}`, { body, token: sessionToken }));
      showStatus(status, "Saved. The next message uses these settings.", "ok");
    } catch (error) {
      showStatus(status, sentenceFor(error), "error");
    }
  });

  async function download(format) {
    closeMenu();
    const { sessionId, sessionToken } = page().session;
    try {
      const body = await api("GET", `/session/${sessionId}/export?format=${format}`, {
        token: sessionToken,
      });
      const markdown = format === "markdown";
      const blob = new Blob([markdown ? body : JSON.stringify(body, null, 2)], {
        type: markdown ? "text/markdown" : "application/json",
      });
      const link = document.createElement("a");
      link.href = URL.createObjectURL(blob);
      const name = (page().agentTitle || "chat").replace(/[^\w-]+/g, "-").slice(0, 60);
      link.download = `${name}.${markdown ? "md" : "json"}`;
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(link.href), 10000);
      setState(`Exported as ${markdown ? "Markdown" : "JSON"}.`, "ok");
    } catch (error) {
      setState(sentenceFor(error), "error");
    }
  }
  $("export-md").addEventListener("click", () => download("markdown"));
  $("export-json").addEventListener("click", () => download("json"));
}
