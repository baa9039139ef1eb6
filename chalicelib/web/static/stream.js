// The WebSocket API (see the README's "Streaming"): one connection per page, JSON frames.
// A request is `{action, requestId, sessionId, token, ...}`; its answers are frames with
// the same requestId: `start`, `thought`s (an agent that shows them), `delta`s, then
// `done` or `error`. Tokens go in frames,
// never in the URL.

const CONNECT_TIMEOUT_MS = 5000;

export class StreamClient {
  constructor(url) {
    this.url = url;
    this.socket = null;
    this.requests = new Map(); // requestId -> {handlers, message sent, reply and thoughts so far}
  }

  /** Open the connection if it is not open; resolves to true when usable. */
  async connect() {
    if (this.socket?.readyState === WebSocket.OPEN) return true;
    return new Promise((resolve) => {
      let socket;
      try {
        socket = new WebSocket(this.url);
      } catch {
        resolve(false);
        return;
      }
      const timer = setTimeout(() => {
        socket.close();
        resolve(false);
      }, CONNECT_TIMEOUT_MS);
      socket.addEventListener("open", () => {
        clearTimeout(timer);
        this.socket = socket;
        resolve(true);
      });
      socket.addEventListener("message", (event) => this.receive(event.data));
      socket.addEventListener("close", () => {
        clearTimeout(timer);
        if (this.socket === socket) this.socket = null;
        resolve(false);
        this.failAll();
      });
    });
  }

  receive(data) {
    let frame;
    try {
      frame = JSON.parse(data);
    } catch {
      return;
    }
    const request = this.requests.get(frame.requestId);
    if (!request) return;
    const { handlers } = request;
    if (frame.type === "start") handlers.start?.(frame);
    else if (frame.type === "thought") {
      request.thoughts += frame.text;
      handlers.thought?.(frame.text);
    } else if (frame.type === "delta") {
      request.reply += frame.text;
      handlers.delta?.(frame.text);
    } else if (frame.type === "done" || frame.type === "error") {
      this.requests.delete(frame.requestId);
      if (frame.type === "done") handlers.done(withTexts(frame, request), Boolean(frame.stopped));
      else handlers.error(frame);
    }
  }

  failAll() {
    const pending = [...this.requests.values()];
    this.requests.clear();
    for (const { handlers } of pending) {
      handlers.error({
        code: "connection_lost",
        error: "The connection dropped. The reply may still be saved: reload to see it.",
      });
    }
  }

  /**
   * Send `send` or `regenerate`; handlers get start(frame), thought(text), delta(text),
   * done(result, stopped) and error(frame). Returns the request id, for `stop`.
   */
  request(action, fields, handlers) {
    const requestId = crypto.randomUUID();
    this.requests.set(requestId, { handlers, message: fields.message ?? "", reply: "", thoughts: "" });
    this.socket.send(JSON.stringify({ action, requestId, ...fields }));
    return requestId;
  }

  stop(requestId, sessionId, token) {
    if (this.socket?.readyState === WebSocket.OPEN) {
      this.socket.send(JSON.stringify({ action: "stop", requestId, sessionId, token }));
    }
  }
}

/**
 * A `done` result too big for one frame comes without its texts (`textsOmitted`): they
 * are the message sent, the deltas joined and the thoughts joined, so put them back.
 */
function withTexts(frame, request) {
  const { result } = frame;
  if (!frame.textsOmitted) return result;
  return {
    ...result,
    message: request.reply,
    userMessage: { ...result.userMessage, content: request.message },
    reply: { ...result.reply, content: request.reply, thoughts: request.thoughts || undefined },
  };
}
