// One send, edit or regenerate: streamed over the WebSocket API when the server offers
// one, else over REST (POST /session-message, POST /session/{id}/messages/{id}/edit,
// POST /session/{id}/regenerate).
import { api, sentenceFor } from "./api.js";
import * as view from "./messages.js";
import { StreamClient } from "./stream.js";

let streamClient; // a promise of a connected StreamClient, or of null for REST

function connectStream() {
  streamClient ??= api("GET", "/health")
    .then(async ({ websocketUrl }) => {
      if (!websocketUrl || !("WebSocket" in window)) return null;
      const client = new StreamClient(websocketUrl);
      return (await client.connect()) ? client : null;
    })
    .catch(() => null);
  return streamClient;
}

async function streamOrNull() {
  const client = await connectStream();
  if (client && !(await client.connect())) return null;
  return client;
}

function frameError(frame) {
  return {
    code: frame.code,
    message: frame.error,
    details: frame.details ?? null,
    retryAfter: frame.retryAfter ?? null,
  };
}

/** The REST request of an exchange: its path and body (an edit names its message in the
 * path; a send and an edit carry an Idempotency-Key, so a retried request stores once). */
function restRequest(kind, sessionId, fields) {
  const session = `/session/${encodeURIComponent(sessionId)}`;
  if (kind === "send") return { path: "/session-message", body: { sessionId, ...fields }, key: true };
  if (kind === "regenerate") return { path: `${session}/regenerate`, body: fields, key: false };
  const { messageId, ...edit } = fields;
  return { path: `${session}/messages/${encodeURIComponent(messageId)}/edit`, body: edit, key: true };
}

/**
 * Run one exchange. `items` holds the reply's <li> (and, for a send or an edit, the
 * user's); `controls` updates the page: setRunning(handle|null), setState(text, kind),
 * addUsage(), and refused(error) when the server refuses (a quota, a budget...).
 * Resolves to true once the exchange is stored, false when it is not (or not known).
 */
export async function exchange(kind, session, fields, items, controls) {
  const { replyItem, userItem } = items;
  const putBack = kind === "regenerate" ? view.keepShown(replyItem) : null;
  let text = "";
  let thoughts = "";
  // The animation frame that will draw what has streamed in, if one is asked for. The end
  // (done or error) cancels it: a frame drawn after would put the streamed text back over
  // the stored reply and its code blocks.
  let frame = 0;
  view.setContent(replyItem, "");
  view.setThoughts(replyItem, "");
  view.setNote(replyItem, "waiting…", "waiting");
  controls.setState("Waiting for the agent…", "waiting");

  const draw = () => {
    frame = 0;
    const atEnd = view.isAtEnd();
    view.setThoughts(replyItem, thoughts);
    view.setContent(replyItem, text);
    view.followEnd(atEnd);
  };
  const drawSoon = () => {
    frame ||= requestAnimationFrame(draw);
  };
  const stopDrawing = () => {
    cancelAnimationFrame(frame);
    frame = 0;
  };
  const writing = () => controls.setState("The agent is writing…", "streaming");
  const started = () => {
    view.setNote(replyItem, "streaming…", "streaming");
    writing();
  };
  let stored = false;
  const finish = (result, stopped) => {
    stored = true;
    stopDrawing();
    if (userItem) view.setStored(userItem, result.userMessage);
    const atEnd = view.isAtEnd();
    view.setStored(replyItem, result.reply);
    view.setNote(replyItem, stopped ? "stopped" : "", stopped ? "stopped" : "done");
    controls.addUsage(result.usage, result.context);
    view.followEnd(atEnd);
    controls.setState(stopped ? "Stopped. The partial reply is saved." : "", stopped ? "stopped" : "");
  };
  const fail = (error) => {
    stopDrawing();
    // A lasting refusal is said once, by the lock beside Send; any other, by the status.
    const held = controls.refused?.(error);
    controls.setState(held ? "" : sentenceFor(error), held ? "" : "error");
    if (putBack) {
      putBack();
      view.setNote(replyItem, "", "done");
      return;
    }
    replyItem.remove();
    // Nothing was stored: the one bubble of this message says so, with its Retry button.
    view.setNote(userItem, "not sent", "error");
  };

  // Stop is offered at once, before the page knows how it will send.
  const handle = {
    wanted: false,
    now: null,
    stop() {
      this.wanted = true;
      this.now?.();
    },
  };
  const stopWith = (now) => {
    handle.now = now;
    if (handle.wanted) now();
  };
  controls.setRunning(handle);
  const client = await streamOrNull();
  const { sessionId, sessionToken } = session;
  if (client) {
    await new Promise((resolve) => {
      const requestId = client.request(
        kind,
        { sessionId, token: sessionToken, ...fields },
        {
          start: started,
          thought(piece) {
            if (!thoughts) controls.setState("The agent is thinking…", "streaming");
            thoughts += piece;
            drawSoon();
          },
          delta(piece) {
            if (!text && thoughts) writing();
            text += piece;
            drawSoon();
          },
          done(result, stopped) {
            finish(result, stopped);
            resolve();
          },
          error(frame) {
            fail(frameError(frame));
            resolve();
          },
        },
      );
      stopWith(() => client.stop(requestId, sessionId, sessionToken));
    });
  } else {
    const abort = new AbortController();
    stopWith(() => abort.abort());
    const { path, body, key } = restRequest(kind, sessionId, fields);
    try {
      const result = await api("POST", path, {
        body: Object.keys(body).length ? body : undefined,
        token: sessionToken,
        signal: abort.signal,
        headers: key ? { "Idempotency-Key": crypto.randomUUID() } : {},
      });
      finish(result, false);
    } catch (error) {
      if (error.name !== "AbortError") fail(error);
      else {
        // Without a stream the server cannot be told to stop; it may still save the reply.
        view.setContent(replyItem, "");
        view.setNote(replyItem, "stopped", "stopped");
        controls.setState("Stopped waiting. The reply may still be saved: reload to see it.", "stopped");
      }
    }
  }
  controls.setRunning(null);
  return stored;
}
