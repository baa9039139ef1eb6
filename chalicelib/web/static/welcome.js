import { sentenceFor, showStatus } from "./api.js";

// What the chat area says besides the messages: the welcome before the first one, the
// pages of an agent that cannot be talked to (gone, paused, unreachable), and the tokens used.
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

function notAvailableTitle() {
  $("agent-title").textContent = "This agent is not available";
  document.title = "Agent not available · AI Maker";
}

/** A page that says the chat cannot go on, before anyone types. */
export function unavailable(title, text) {
  notAvailableTitle();
  $("unavailable-title").textContent = title;
  $("unavailable-text").textContent = text;
  $("unavailable").hidden = false;
  $("composer").hidden = true;
  $("welcome").hidden = true;
  // Nothing to start or set here; the visitor's past chats stay a tap away.
  $("new-chat").hidden = true;
  $("menu-button").hidden = true;
}

/** The page of a link whose agent is gone (`error`: the API's config_not_found). */
export function deadLink(error) {
  unavailable("This link no longer works", `${sentenceFor(error)} You can make an agent of your own.`);
}

/** The page of an agent its creator paused for new chats. */
export function paused() {
  const text = `${sentenceFor({ code: "sharing_disabled" })} Come back later, or make an agent of your own.`;
  unavailable("This agent is paused", text);
}

/** The embed page of an agent whose creator has not switched its embed on. */
export function embedOff() {
  unavailable(
    "Embedding is off",
    "The creator of this agent has not allowed it on other sites. Open the full page to chat.",
  );
}

/** The page when the agent could not even be asked for (`error`: why). */
export function notAvailable(error) {
  notAvailableTitle();
  showStatus($("state"), sentenceFor(error), "error");
  $("send").disabled = true;
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
