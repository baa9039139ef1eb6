// A visitor's rating of a reply: thumbs up and down on every stored reply, the stored one
// pressed; pressing it again takes the rating back. After a thumbs down, an optional
// comment for the agent's creator. REST, with the open chat's session token.
import { api, sentenceFor } from "./api.js";
import { iconButton } from "./icons.js";

const MAX_COMMENT_CHARS = 500;
const LABELS = { up: "Good reply", down: "Bad reply" };

function commentForm(item, send, close) {
  const form = document.createElement("form");
  form.className = "feedback-comment";
  const id = `feedback-comment-${item.dataset.id}`;
  const label = document.createElement("label");
  label.htmlFor = id;
  label.textContent = "What was wrong with it? (optional, the agent's creator reads it)";
  const input = document.createElement("input");
  input.id = id;
  input.type = "text";
  input.maxLength = MAX_COMMENT_CHARS;
  input.autocomplete = "off";
  const submit = document.createElement("button");
  submit.type = "submit";
  submit.textContent = "Send";
  const dismiss = iconButton("x", "Close without a comment", "close-comment");
  dismiss.addEventListener("click", close);
  const row = document.createElement("div");
  row.className = "comment-row";
  row.append(input, submit, dismiss);
  form.append(label, row);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    send(input.value.trim());
  });
  form.addEventListener("keydown", (event) => {
    if (event.key === "Escape") {
      event.preventDefault();
      close();
    }
  });
  return form;
}

/**
 * The rating action messages.js puts on stored replies: `(item, feedback)` draws the
 * thumbs, `feedback` the reply's as stored (or null; undefined: the rating shown for the
 * same reply id before; a regenerated reply has a new id). `session()` is the open chat's
 * {sessionId, sessionToken}; `setState` the page's status line, where errors are said.
 */
export function ratings(session, setState) {
  return (item, feedback) => {
    const before = item.querySelector(".rating")?.dataset;
    const shown = before?.reply === item.dataset.id ? before.rating || null : null;
    item.querySelector(".rating")?.remove();
    item.querySelector(".feedback-comment")?.remove();
    const group = document.createElement("div");
    group.className = "rating";
    group.setAttribute("role", "group");
    group.setAttribute("aria-label", "Rate this reply");
    group.dataset.reply = item.dataset.id;
    const buttons = {
      up: iconButton("thumbs-up", LABELS.up, "rate-up"),
      down: iconButton("thumbs-down", LABELS.down, "rate-down"),
    };
    for (const [rating, button] of Object.entries(buttons)) {
      button.addEventListener("click", () => rate(rating));
      group.append(button);
    }
    const show = (rating) => {
      group.dataset.rating = rating || "";
      for (const [name, button] of Object.entries(buttons)) {
        button.setAttribute("aria-pressed", String(name === rating));
      }
    };
    show(feedback === undefined ? shown : feedback?.rating || null);
    item.querySelector(".message-actions .note").before(group);

    const path = (chat) =>
      `/session/${encodeURIComponent(chat.sessionId)}/messages/${encodeURIComponent(item.dataset.id)}/feedback`;
    const closeComment = (focus = false) => {
      item.querySelector(".feedback-comment")?.remove();
      if (focus) buttons.down.focus();
    };
    const openComment = () => {
      closeComment();
      const form = commentForm(item, sendComment, () => closeComment(true));
      item.querySelector(".message-actions").after(form);
      form.querySelector("input").focus();
    };

    async function call(method, body) {
      const chat = session();
      if (!chat) return undefined;
      return api(method, path(chat), { body, token: chat.sessionToken });
    }

    async function rate(rating) {
      const pressed = group.dataset.rating === rating;
      for (const button of Object.values(buttons)) button.disabled = true;
      try {
        if (pressed) {
          await call("DELETE");
          show(null);
          closeComment();
        } else {
          const stored = await call("PUT", { rating });
          show(stored?.rating || null);
          if (rating === "down") openComment();
          else closeComment();
        }
      } catch (error) {
        setState(sentenceFor(error), "error");
      }
      for (const button of Object.values(buttons)) button.disabled = false;
    }

    async function sendComment(comment) {
      if (!comment) {
        closeComment(true);
        return;
      }
      try {
        const stored = await call("PUT", { rating: "down", comment });
        show(stored?.rating || null);
        closeComment(true);
        setState("Thank you: your comment was sent to the agent's creator.", "ok");
      } catch (error) {
        setState(sentenceFor(error), "error");
      }
    }
  };
}
