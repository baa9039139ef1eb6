// Sharing a chat as a read-only snapshot: the whole chat (from the chat menu) or up to a
// reply (its Share button), the link to copy, and the earlier shares, each revocable.
import { api, sentenceFor, showStatus } from "./api.js";
import { copyText, element, iconButton, labelledButton } from "./icons.js";

/** Wire the share panel into the chat menu; `session()` is the open chat's {sessionId,
 * sessionToken}, or null before its first message. Returns the reply action. */
export function wireShares(session) {
  const box = element("details", "shares-box");
  box.id = "shares-box";
  const status = element("p", "status");
  status.setAttribute("role", "status");
  const link = element("input", "share-link");
  link.id = "share-link";
  link.readOnly = true;
  link.hidden = true;
  link.setAttribute("aria-label", "Link to the shared chat");
  const list = element("ul", "share-list");
  list.id = "share-list";
  const whole = labelledButton("share-2", "Share whole chat", () => share(null, whole));
  whole.id = "share-chat";
  box.append(element("summary", "", "Share"), whole, link, status, list);
  document.getElementById("chat-menu").append(box);

  const path = (chat) => `/session/${encodeURIComponent(chat.sessionId)}/shares`;

  async function refresh() {
    const chat = session();
    list.replaceChildren();
    if (!chat) return;
    try {
      const { shares } = await api("GET", path(chat), { token: chat.sessionToken });
      for (const each of shares.reverse()) list.append(entry(chat, each));
    } catch (error) {
      showStatus(status, sentenceFor(error), "error");
    }
  }

  function entry(chat, each) {
    const item = element("li", "share");
    const anchor = element("a", "", `${each.messageCount} messages`);
    anchor.href = each.url;
    anchor.target = "_blank";
    anchor.rel = "noopener";
    const copy = iconButton("copy", "Copy link");
    copy.addEventListener("click", () => copyText(each.url, copy));
    const revoke = iconButton("trash-2", "Revoke this link", "revoke");
    revoke.addEventListener("click", async () => {
      try {
        await api("DELETE", `${path(chat)}/${encodeURIComponent(each.shareId)}`, {
          token: chat.sessionToken,
        });
        item.remove();
        showStatus(status, "Link revoked: it no longer opens the chat.", "ok");
      } catch (error) {
        showStatus(status, sentenceFor(error), "error");
      }
    });
    item.append(anchor, " ", copy, revoke);
    return item;
  }

  async function share(upToMessageId, button) {
    const chat = session();
    if (!chat) {
      showStatus(status, "Send a message first: there is nothing to share yet.", "error");
      box.open = true;
      return;
    }
    const body = upToMessageId ? { upToMessageId } : {};
    try {
      const created = await api("POST", path(chat), { body, token: chat.sessionToken });
      link.value = created.url;
      link.hidden = false;
      showStatus(status, `Anyone with this link can read ${created.messageCount} messages.`, "ok");
      await copyText(created.url, button, link);
      await refresh();
    } catch (error) {
      showStatus(status, sentenceFor(error), "error");
    }
    box.open = true;
    // From a reply's button, the menu is closed: open it, so the link and its note show.
    if (document.getElementById("chat-menu").hidden) document.getElementById("menu-button").click();
  }

  box.addEventListener("toggle", () => box.open && refresh());
  return { upTo: (messageId, button) => share(messageId, button) };
}
