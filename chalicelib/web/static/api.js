// The REST API, as the pages call it, and what the browser keeps in localStorage.
// Tokens travel only in the Authorization header, never in a URL.

/** The path the API is served under ("" locally, "/<stage>" on API Gateway). */
export const BASE = document.body.dataset.base || "";

export class ApiError extends Error {
  constructor(status, body, retryAfter) {
    super(body?.error || `The server answered ${status}.`);
    this.status = status;
    this.code = body?.code || (status ? "http_error" : "network_error");
    this.details = body?.details ?? null;
    this.retryAfter = retryAfter === null || retryAfter === undefined ? null : Number(retryAfter);
  }
}

/** Call the API; resolves to the parsed JSON body (text for non-JSON), null for a 204. */
export async function api(method, path, { body, token, signal, headers = {} } = {}) {
  const init = { method, signal, headers: { ...headers } };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  if (token) init.headers.Authorization = `Bearer ${token}`;
  let response;
  try {
    response = await fetch(BASE + path, init);
  } catch (error) {
    if (error.name === "AbortError") throw error;
    throw new ApiError(0, null, null);
  }
  if (response.status === 204) return null;
  const text = await response.text();
  let data = text;
  if ((response.headers.get("Content-Type") || "").startsWith("application/json")) {
    try {
      data = JSON.parse(text);
    } catch {
      data = null;
    }
  }
  if (!response.ok) {
    throw new ApiError(response.status, data, response.headers.get("Retry-After"));
  }
  return data;
}

const plural = (n, word) => `${n} ${word}${n === 1 ? "" : "s"}`;
const LIMIT_NAMES = {
  messagesPerSession: (n) => `This chat has reached its limit of ${plural(n, "message")}.`,
  messagesPerDay: (n) => `This agent has reached its limit of ${plural(n, "message")} a day.`,
  sessionsPerDay: (n) => `This agent has reached its limit of ${plural(n, "new chat")} a day.`,
  filesPerConfig: (n) => `This agent already has its limit of ${plural(n, "knowledge file")}.`,
  filesPerSession: (n) => `This chat already has its limit of ${plural(n, "file")}.`,
  fileBytesPerDay: (n) => `This agent has reached its upload limit of ${(n / 1048576).toFixed(1)} MB a day.`,
  agentsPerDay: (n) => `This service has reached its limit of ${plural(n, "new agent")} a day.`,
};
// The per-client rate limits (rate_limited), by details.limit.
const RATE_NAMES = {
  messagesPerClientPerMinute: (n) => `You are sending faster than this service allows (${plural(n, "message")} a minute).`,
  sessionsPerClientPerHour: (n) => `You have started as many chats as this service allows in an hour (${n}).`,
  agentsPerClientPerDay: (n) => `You have created as many agents as this service allows in a day (${n}).`,
};

/** "in 3 h 5 min (at 01:00)" for a wait in seconds. */
export function whenAfter(seconds) {
  const minutes = Math.max(1, Math.ceil(seconds / 60));
  const span =
    minutes >= 60 ? `${Math.floor(minutes / 60)} h ${minutes % 60} min` : `${minutes} min`;
  const at = new Date(Date.now() + seconds * 1000);
  const clock = at.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  return `in ${span} (at ${clock})`;
}

const SENTENCES = {
  network_error: "The server could not be reached. Check your connection and try again.",
  auth_required: "This page lost its key to the chat. Start a new chat.",
  forbidden: "The key saved in this browser no longer opens this. Start a new chat.",
  session_not_found: "This chat no longer exists. Start a new chat.",
  config_not_found: "This agent does not exist, or its creator deleted it.",
  config_deleted: "The creator deleted this agent. You can still read this chat, not continue it.",
  sharing_disabled: "The creator has paused this agent for new chats.",
  creation_closed: "On this service, only its operator can create agents.",
  too_many_api_keys: "This agent has as many API keys as it may: revoke one to make another.",
  invalid_api_key: "That API key is not valid, or it was revoked.",
  model_not_found: "That API key's agent is not the one asked for.",
  response_not_found: "That response is not one of this agent's.",
  settings_locked: "The creator of this agent does not allow changing that setting.",
  content_blocked: "The model's safety filters blocked this message or its reply.",
  model_timeout: "The model took too long to answer. Try again.",
  model_error: "The model returned an error. Try again.",
  model_unavailable: "The model is not available right now. Try again later.",
  storage_unavailable: "The server's storage is not available right now; nothing was saved.",
  nothing_to_regenerate: "There is no reply to regenerate yet.",
  too_many_branches: "This message has as many versions as it may: send on, or start a new chat.",
  nothing_to_share: "There is nothing to share yet: send a message first.",
  too_many_shares: "This chat has as many shared links as it may: revoke one to share again.",
  share_not_found: "This shared chat does not exist or was revoked.",
  message_not_found: "That message is no longer in this chat.",
  payload_too_large: "That is too long to send.",
  file_too_large: "That file is larger than this agent allows.",
  file_rejected: "That file is not what its name says (or it changed on the way), so it was not kept.",
  upload_incomplete: "The file did not reach the server. Try uploading it again.",
  upload_expired: "The upload took too long. Try uploading the file again.",
  file_not_found: "That file is no longer here.",
  invalid_attachment: "An attached file is gone or not finished uploading. Remove it and attach it again.",
  unsupported_file: "Only PDF, PNG, JPEG, WebP, plain text, Markdown and CSV files can be uploaded.",
  conflict: "Someone changed this at the same moment. Reload and try again.",
  idempotency_in_progress: "That message is still being answered. Wait a moment.",
  idempotency_conflict: "That message was already sent differently. Reload the page.",
  invalid_json: "The page sent something the server could not read. Reload and try again.",
  unsupported_media_type: "The page sent something the server could not read. Reload and try again.",
  not_found: "That is not here. Reload the page.",
  method_not_allowed: "The page asked for something the server does not do. Reload the page.",
  internal_error: "Something went wrong on the server. Try again.",
  connection_lost: "The connection dropped. The reply may still be saved: reload to see it.",
};

/** A sentence a person understands, for an ApiError or a WebSocket error frame. */
export function sentenceFor(error) {
  const { code, details } = error;
  const retryAfter = error.retryAfter ?? null;
  if (code === "quota_exceeded") {
    const describe = LIMIT_NAMES[details?.limit];
    const first = describe ? describe(details.value) : "This agent has reached a usage limit.";
    return retryAfter === null
      ? `${first} Start a new chat to continue.`
      : `${first} It resets ${whenAfter(retryAfter)}.`;
  }
  if (code === "budget_exhausted") {
    const when = retryAfter === null ? "at midnight UTC" : `at midnight UTC, ${whenAfter(retryAfter)}`;
    const who = details?.scope === "agent" ? "This agent has" : "This service has";
    return `${who} used today's budget; it resets ${when}.`;
  }
  if (code === "rate_limited") {
    const describe = RATE_NAMES[details?.limit];
    const first = describe ? describe(details.value) : "This service is receiving too many requests.";
    return `${first} Try again ${retryAfter === null ? "shortly" : whenAfter(retryAfter)}.`;
  }
  if (code === "model_rate_limited") {
    const when = retryAfter === null ? "in a moment" : whenAfter(retryAfter);
    return `The model is busy right now. Try again ${when}.`;
  }
  if (code === "validation_error") {
    // Each refused field with the reason the server gave (a floor, a model's range...).
    const problems = (details?.fields || []).map(({ field, message }) => `${field}: ${message}`);
    return `Please check this: ${problems.length ? problems.join("; ") : error.message}`;
  }
  return SENTENCES[code] || error.message || "Something went wrong.";
}

// --- localStorage: the creator's edit tokens (the visitor's chats are history.js's) ---

const AGENT = "ai-maker:agent:";

function read(key) {
  try {
    return JSON.parse(localStorage.getItem(key) || "null");
  } catch {
    return null;
  }
}

export const saved = {
  agents() {
    const found = [];
    for (let index = 0; index < localStorage.length; index += 1) {
      const key = localStorage.key(index);
      if (key.startsWith(AGENT)) {
        const agent = read(key);
        if (agent) found.push({ ...agent, chatConfigId: key.slice(AGENT.length) });
      }
    }
    return found.sort((a, b) => (b.createdAt || "").localeCompare(a.createdAt || ""));
  },
  agent: (configId) => read(AGENT + configId),
  saveAgent(configId, agent) {
    localStorage.setItem(AGENT + configId, JSON.stringify(agent));
  },
  forgetAgent: (configId) => localStorage.removeItem(AGENT + configId),
};

/** Fill a <select> with the allowed models, selecting `chosen` or the default; resolves
 * to GET /models's list (each model's id, and what thinking it takes). */
export async function fillModels(select, chosen) {
  const { models } = await api("GET", "/models");
  select.replaceChildren(
    ...models.map(({ id, default: isDefault }) => {
      const option = new Option(id, id);
      option.selected = chosen ? id === chosen : isDefault;
      return option;
    }),
  );
  return models;
}

/** A short-lived status line: text and a state name for styling ("error", "ok"...). */
export function showStatus(node, text, state = "") {
  node.textContent = text;
  node.dataset.state = state;
}
