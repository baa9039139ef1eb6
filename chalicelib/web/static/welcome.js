// What the chat area says besides the messages: the welcome before the first one, the
// page of an agent that cannot be talked to, and the tokens used.
const $ = (id) => document.getElementById(id);

/** Before the first message: the agent's greeting (never sent, never stored) and its
 * starters, cards that send their text. `agent`: the chat's settings. */
export function welcome(empty, agent, send) {
  const starters = empty ? agent?.starters || [] : [];
  const greeting = agent?.greeting || "";
  $("welcome-title").textContent = agent?.title || "";
  $("greeting").textContent = greeting;
  $("greeting").hidden = !greeting;
  $("starters").replaceChildren(
    ...starters.map((text) => {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "starter";
      button.textContent = text;
      button.addEventListener("click", () => send(text));
      return button;
    }),
  );
  $("starters").hidden = !starters.length;
  $("welcome").hidden = !empty;
}

/** A page that says the chat cannot go on, before anyone types. */
export function unavailable(title, text) {
  $("agent-title").textContent = "This agent is not available";
  document.title = "Agent not available · AI Maker";
  $("unavailable-title").textContent = title;
  $("unavailable-text").textContent = text;
  $("unavailable").hidden = false;
  $("composer").hidden = true;
  $("welcome").hidden = true;
  // Nothing to start or set here; the visitor's past chats stay a tap away.
  $("new-chat").hidden = true;
  $("menu-button").hidden = true;
}

export function usageLine(total, context) {
  const parts = [];
  if (total) parts.push(`${total.totalTokens.toLocaleString()} tokens used in this chat`);
  if (context?.truncated) {
    parts.push(
      `the model saw only the latest ${context.messagesSent} of ${context.messagesTotal} messages`,
    );
  }
  $("usage").textContent = parts.join(" · ");
}
