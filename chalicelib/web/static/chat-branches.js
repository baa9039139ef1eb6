// The chat page's versions of a conversation: a user message's Edit (resent as a new
// version, streamed like a send) and "‹ 2/3 ›" (PUT /session/{id}/active with `sibling`).
import { api, sentenceFor } from "./api.js";
import { openEditor } from "./branches.js";
import * as view from "./messages.js";

/**
 * The page's Edit and flip actions. `chat` holds the page's state and doings: `page`
 * (its session), `tray` (the message box's files), `run(kind, session, fields, items)`
 * (one exchange, true once stored), `loadEarlier()`, `setCursor`, `setRunning`,
 * `setState`, and `alone(task, sends)`, which runs a task unless another is under way.
 */
export function branchActions(chat) {
  const { page, tray } = chat;

  /** The active path's last page in place of what is shown, keeping the message `keep`
   * (an id) in view when it is there. */
  function showPath({ messages, nextCursor }, keep = null) {
    view.clear();
    for (const message of messages) view.append(message);
    chat.setCursor(nextCursor);
    chat.setRunning(page.running);
    const items = [...document.querySelectorAll("#messages .message")];
    const kept = keep && items.find((item) => item.dataset.id === keep);
    if (kept) kept.scrollIntoView({ block: "nearest" });
    else view.followEnd(true);
  }

  /** The conversation as the server has it (after an edit that was not stored). */
  async function reloadPath() {
    chat.setCursor(null);
    const messages = await chat.loadEarlier();
    showPath({ messages, nextCursor: page.cursor });
  }

  /** "‹ 2/3 ›": show the message's version at `index`, and the newest path below it. */
  function flip(item, index) {
    if (!page.session || !item.dataset.id) return;
    const { sessionId, sessionToken } = page.session;
    return chat.alone(async () => {
      try {
        const shown = await api("PUT", `/session/${encodeURIComponent(sessionId)}/active`, {
          body: { messageId: item.dataset.id, sibling: index },
          token: sessionToken,
        });
        const version = shown.messages.find((message) => message.siblings?.index === index);
        showPath(shown, version?.id);
        chat.setState("");
      } catch (error) {
        chat.setState(sentenceFor(error), "error");
      }
    }, false);
  }

  async function resend(item, text, kept) {
    if (tray.busy()) {
      chat.setState("Wait for the files to finish uploading.", "error");
      return;
    }
    // The files kept, and any attached meanwhile from the message box, as a send takes them.
    const attachments = [...kept, ...tray.ready()];
    tray.clear();
    // What followed the old version stays on its branch, a "‹" away.
    while (item.nextElementSibling) item.nextElementSibling.remove();
    const mine = { role: "user", content: text, createdAt: new Date().toISOString(), attachments };
    const userItem = view.messageNode(mine);
    item.replaceWith(userItem);
    const replyItem = view.append({ role: "model", content: "" });
    view.followEnd(true);
    const fields = { messageId: item.dataset.id, message: text };
    if (attachments.length) fields.attachments = attachments.map((file) => file.fileId);
    const stored = await chat.run("edit", page.session, fields, { userItem, replyItem });
    // Nothing was stored: the old version is still the one on the path; show it again.
    if (!stored) await reloadPath().catch(() => {});
  }

  /** Edit a user message in place; its resend is a new version, with a new answer. */
  function edit(item) {
    if (!item.dataset.id || !page.session) return;
    openEditor(item, {
      text: item.dataset.text,
      attachments: view.attachmentsOf(item),
      send: (text, kept) => chat.alone(() => resend(item, text, kept)),
    });
  }

  return { edit, flip };
}
