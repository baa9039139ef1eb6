// An agent's Insights panel on "My agents": its days over 7, 30 or 90 days (messages and
// sessions, tokens against its daily token limit, thumbs up and down), the latest
// comments, and how much of each daily limit in force is used today. Read with the
// agent's edit token; the charts are charts.js's, shared with the operator's page.
import { api, sentenceFor, showStatus } from "./api.js";
import { periodPicker, usageCharts, usedToday } from "./charts.js";
import { element, icon } from "./icons.js";

/** The comments, newest first: their words as text only, never markup. */
export function commentList(comments) {
  const section = element("section", "comments");
  section.append(element("h4", "", "Latest comments"));
  if (!comments.length) {
    section.append(element("p", "hint", "No comments in this period."));
    return section;
  }
  const list = element("ul", "comment-list");
  for (const each of comments) {
    const entry = element("li", `comment ${each.rating}`);
    const rating = element("span", "comment-rating");
    rating.append(icon(`thumbs-${each.rating}`), element("span", "visually-hidden", each.rating === "up" ? "Thumbs up" : "Thumbs down"));
    const words = element("q", "comment-text", each.comment);
    const when = element("time", "hint", new Date(each.createdAt).toLocaleString([], { dateStyle: "medium", timeStyle: "short" }));
    when.dateTime = each.createdAt;
    entry.append(rating, words, " ", when);
    list.append(entry);
  }
  section.append(list);
  return section;
}

/** Today's use of the agent's daily limits in force (today is the series' last day). */
function limitsInForce(configId, limits, today) {
  const section = element("section", "limits-today");
  section.append(element("h4", "", "Limits in force, used today (UTC)"));
  section.append(
    usedToday(`used-messages-${configId}`, "Messages per day", today.messages, limits.messagesPerDay),
    usedToday(`used-sessions-${configId}`, "Sessions per day", today.sessions, limits.sessionsPerDay),
    usedToday(`used-tokens-${configId}`, "Tokens per day", today.tokens.total, limits.tokensPerDay),
  );
  return section;
}

/** A panel for one agent's insight, read with its edit token. */
export function insightsPanel(configId, editToken) {
  const path = `/chat-config/${encodeURIComponent(configId)}`;
  const panel = element("div", "insights-panel");
  const intro = element(
    "p", "hint",
    "What visitors did with this agent, per UTC day, and what they thought of its replies. " +
      "Comments come without the conversation they are about.",
  );
  const body = element("div", "insights-body");
  const status = element("p", "status");
  status.setAttribute("role", "status");
  let period = 30;
  let config = null;

  async function load() {
    showStatus(status, "Loading…", "waiting");
    try {
      config ??= await api("GET", path, { token: editToken });
      const analytics = await api("GET", `${path}/analytics?days=${period}`, { token: editToken });
      const today = analytics.days[analytics.days.length - 1];
      body.replaceChildren(
        ...usageCharts(analytics.days, config.limits.tokensPerDay),
        commentList(analytics.comments),
        limitsInForce(configId, config.limits, today),
      );
      showStatus(status, "");
    } catch (error) {
      showStatus(status, sentenceFor(error), "error");
    }
  }
  const picker = periodPicker(`insights-days-${configId}`, period, (days) => {
    period = days;
    load();
  });
  panel.append(intro, picker, status, body);
  load();
  return panel;
}
