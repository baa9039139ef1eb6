// The WebSocket API (see the README's "Streaming"): one connection per page, JSON frames.
// A request is `{action, requestId, sessionId, token, ...}`; its answers are frames with
// the same requestId: `start`, `delta`s, then `done` or `error`. Tokens go in frames,
// never in the URL.

const CONNECT_TIMEOUT_MS = 5000;

export class StreamClient {
  constructor(url) {
    this.url = url;
    this.socket = null;
    this.requests = new Map(); // requestId -> handlers
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
    const handlers = this.requests.get(frame.requestId);
    if (!handlers) return;
    if (frame.type === "start") handlers.start?.(frame);
    else if (frame.type === "delta") handlers.delta?.(frame.text);
    else if (frame.type === "done" || frame.type === "error") {
      this.requests.delete(frame.requestId);
      if (frame.type === "done") handlers.done(frame.result, Boolean(frame.stopped));
      else handlers.error(frame);
    }
  }

  failAll() {
    const pending = [...this.requests.values()];
    this.requests.clear();
    for (const handlers of pending) {
      handlers.error({
        code: "connection_lost",
        error: "The connection dropped. The reply may still be saved: reload to see it.",
      });
    }
  }

  /**
   * Send `send` or `regenerate`; handlers get start(frame), delta(text), done(result,
   * stopped) and error(frame). Returns the request id, for `stop`.
   */
  request(action, fields, handlers) {
    const requestId = crypto.randomUUID();
    this.requests.set(requestId, handlers);
    this.socket.send(JSON.stringify({ action, requestId, ...fields }));
    return requestId;
  }

  stop(requestId, sessionId, token) {
    if (this.socket?.readyState === WebSocket.OPEN) {
      this.socket.send(JSON.stringify({ action: "stop", requestId, sessionId, token }));
    }
  }
}
