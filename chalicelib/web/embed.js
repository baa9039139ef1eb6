// AI Maker's embed, the one line a creator pastes on their own site:
//   <script src="<API>/embed.js" data-agent="<chatConfigId>" async></script>
// It adds a launcher button in a corner that opens the agent's chat (GET /embed/{id}) in a
// frame. It adds one element and nothing else: no style sheet (each element is styled
// itself, so the host page's CSP needs no style-src), no cookies, no storage of the host's.
// The chat keeps its visitor's session in the frame's own storage, so it comes back after a
// reload. Optional attributes: data-position ("right" or "left"), data-color (any CSS
// colour, for the button), data-label (the button's text, "Chat" by default).
(() => {
  const script = document.currentScript;
  const agent = script?.dataset.agent || "";
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(agent)) {
    console.warn("AI Maker embed: data-agent must be an agent's id (its share link ends with it).");
    return;
  }
  const frameUrl = new URL(`embed/${agent}`, new URL(".", script.src)).href;
  const side = script.dataset.position === "left" ? "left" : "right";
  const wanted = script.dataset.color || "";
  const color = wanted && CSS.supports("color", wanted) ? wanted : "#1d4ed8";
  const label = (script.dataset.label || "").trim().slice(0, 40) || "Chat";
  const font = "600 15px/1.2 system-ui, -apple-system, 'Segoe UI', sans-serif";

  function mount() {
    if (document.querySelector(`[data-ai-maker-embed="${agent}"]`)) return; // loaded twice
    const root = document.createElement("div");
    root.dataset.aiMakerEmbed = agent;
    const panel = document.createElement("div");
    panel.id = `ai-maker-chat-${agent}`;
    Object.assign(panel.style, {
      position: "fixed", bottom: "84px", [side]: "16px", zIndex: "2147483000",
      width: "min(400px, calc(100vw - 32px))", height: "min(640px, calc(100vh - 104px))",
      borderRadius: "12px", overflow: "hidden", background: "#fff", display: "none",
      boxShadow: "0 12px 40px rgba(0, 0, 0, 0.25)",
    });
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = label;
    button.setAttribute("aria-expanded", "false");
    button.setAttribute("aria-controls", panel.id);
    Object.assign(button.style, {
      position: "fixed", bottom: "20px", [side]: "16px", zIndex: "2147483001",
      minHeight: "48px", minWidth: "48px", padding: "0 20px", border: "0",
      borderRadius: "24px", background: color, color: "#fff", font, cursor: "pointer",
      boxShadow: "0 4px 16px rgba(0, 0, 0, 0.2)",
    });
    button.addEventListener("click", () => {
      const open = panel.style.display === "none";
      if (open && !panel.firstChild) {
        // Loaded on the first open only: a page that never opens it never loads the chat.
        const frame = document.createElement("iframe");
        frame.src = frameUrl;
        frame.title = label;
        frame.allow = "clipboard-write";
        Object.assign(frame.style, { width: "100%", height: "100%", border: "0", display: "block" });
        panel.append(frame);
      }
      panel.style.display = open ? "block" : "none";
      button.setAttribute("aria-expanded", String(open));
      button.textContent = open ? "Close chat" : label;
      if (open) panel.firstChild.focus();
    });
    root.append(panel, button);
    document.body.append(root);
  }

  if (document.body) mount();
  else document.addEventListener("DOMContentLoaded", mount, { once: true });
})();
