"""Streaming a reply to a WebSocket client: the same send, edit and regenerate as REST, with
the model's reply sent in pieces as it is written.

Reserve the quota (as REST does) -> `start` -> coalesced `delta`s -> store -> `done`.
A stop travels through DynamoDB (`runs`), read at a bounded rate; a gone client stops
the sending, never the storing.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel

from chalicelib.core.clients import ANONYMOUS, Caller
from chalicelib.core.errors import ModelError, ModelTimeout
from chalicelib.core.settings import Settings
from chalicelib.model.base import ModelReply
from chalicelib.model.choice import get_streaming_model
from chalicelib.model.stream import ReplyStream, Thought
from chalicelib.schemas import MessageEdit, MessageReply, MessageSend, RegenerateRequest
from chalicelib.schemas.frames import (
    DeltaFrame,
    DoneFrame,
    EditFrame,
    RegenerateFrame,
    SendFrame,
    StartFrame,
    StopFrame,
    ThoughtFrame,
)
from chalicelib.services import conversation as message_service
from chalicelib.services.caching import context_lost, inline_instead
from chalicelib.services.exchange import PreparedExchange, authorize
from chalicelib.services.sessions import session_store
from chalicelib.stores.runs import RunStore

logger = logging.getLogger(__name__)

# At most about 20 delta frames a second: pieces arriving faster are joined.
FRAME_INTERVAL_SECONDS = 0.05
# API Gateway's frame quota (32 KB; a larger frame closes the connection), with a margin.
FRAME_LIMIT_BYTES = 32_000
# Far under it, even if every character needs escaping.
MAX_DELTA_CHARS = 4000
# How often a running stream reads its stop mark: a stop takes effect well within 1 s.
STOP_POLL_SECONDS = 0.25
# What the reading thread hands over: text, a thought, the error it ended with, or None at
# the end.
Piece = str | Thought | BaseException | None

# Sends one frame's JSON text; False once the client is gone.
Post = Callable[[str], bool]


class Channel:
    """The frames of one request, numbered from 0 and sent in order.

    Once the client is gone, frames are dropped; the work goes on.
    """

    def __init__(self, post: Post, request_id: str | None) -> None:
        self._post = post
        self.request_id = request_id
        self._seq = 0
        self.gone = False
        self.last_frame: BaseModel | None = None  # for the request's log line

    def next_seq(self) -> int:
        seq = self._seq
        self._seq += 1
        return seq

    @property
    def frames(self) -> int:
        return self._seq

    def send(self, frame: BaseModel) -> None:
        self.last_frame = frame
        if self.gone:
            return
        if not self._post(frame.model_dump_json(by_alias=True)):
            logger.info("the client went away; the reply is still stored")
            self.gone = True


def stream_send(frame: SendFrame, channel: Channel, who: Caller = ANONYMOUS) -> None:
    request = MessageSend(
        session_id=frame.session_id, message=frame.message, attachments=frame.attachments
    )
    streamer = _Streamer(channel, frame.session_id)
    result = message_service.send_message(
        frame.token, request, frame.idempotency_key, streamer.responder, who
    )
    streamer.finish(result)


def stream_edit(frame: EditFrame, channel: Channel, who: Caller = ANONYMOUS) -> None:
    request = MessageEdit(message=frame.message, attachments=frame.attachments)
    streamer = _Streamer(channel, frame.session_id)
    result = message_service.edit_message(
        frame.session_id,
        frame.message_id,
        frame.token,
        request,
        frame.idempotency_key,
        streamer.responder,
        who,
    )
    streamer.finish(result)


def stream_regeneration(frame: RegenerateFrame, channel: Channel, who: Caller = ANONYMOUS) -> None:
    streamer = _Streamer(channel, frame.session_id)
    request = RegenerateRequest(message_id=frame.message_id)
    streamer.finish(
        message_service.regenerate(frame.session_id, frame.token, request, streamer.responder, who)
    )


def stop(frame: StopFrame) -> None:
    """Ask a running request of this session to stop; a no-op if it is not running."""
    store = session_store()
    authorize(store.get(frame.session_id), frame.token)
    RunStore(store.table).request_stop(frame.session_id, frame.request_id)


class _Streamer:
    def __init__(self, channel: Channel, session_id: str) -> None:
        assert channel.request_id is not None
        self._channel = channel
        self._request_id = channel.request_id
        self._session_id = session_id
        self._runs = RunStore(session_store().table)
        self._started = False
        self._delta_sent = False

    def responder(self, settings: Settings) -> message_service.Responder:
        model = get_streaming_model(settings)

        def respond(prepared: PreparedExchange) -> ModelReply:
            request = prepared.request
            while True:
                # The model starts reading before `start` is posted: the two overlap.
                stream = model.open(request)
                pieces: queue.Queue[Piece] = queue.Queue()
                threading.Thread(target=_read, args=(stream, pieces), daemon=True).start()
                if not self._started:
                    self._send(StartFrame, context=prepared.context)
                    self._started = True
                try:
                    return self._pump(stream, pieces, settings)
                except ModelError as error:
                    # Once, before any piece: Gemini lost the cache or store the request named.
                    if self._delta_sent or not context_lost(request, error):
                        raise
                    request = inline_instead(request, prepared.session)

        start_run = self._runs.start(self._session_id, self._request_id)
        # The reply reaches the client over its socket, so no HTTP deadline bounds the lease:
        # the stream's own timeout and the time to store do.
        lease = settings.model_stream_timeout_seconds + message_service.STORE_SECONDS
        return message_service.Responder(respond, lease, reserve_also=(start_run,))

    def finish(self, result: MessageReply) -> None:
        if not self._started:
            # A replayed Idempotency-Key: the stored reply, in as few deltas as fit.
            self._send(StartFrame, context=result.context)
            self._send_deltas(result.reply.content)
        done = DoneFrame(
            request_id=self._request_id,
            seq=self._channel.next_seq(),
            result=result,
            stopped=bool(result.reply.stopped),
        )
        if len(done.model_dump_json(by_alias=True).encode()) > FRAME_LIMIT_BYTES:
            done = done.without_texts()
        self._channel.send(done)

    def _send(self, frame_type: type[BaseModel], **fields: Any) -> None:
        seq = self._channel.next_seq()
        self._channel.send(frame_type(request_id=self._request_id, seq=seq, **fields))

    def _send_deltas(self, text: str, frame_type: type[BaseModel] = DeltaFrame) -> None:
        self._delta_sent = self._delta_sent or bool(text)
        for offset in range(0, len(text), MAX_DELTA_CHARS):
            self._send(frame_type, text=text[offset : offset + MAX_DELTA_CHARS])

    def _pump(
        self,
        stream: ReplyStream,
        pieces: queue.Queue[Piece],
        settings: Settings,
    ) -> ModelReply:
        """Send the pieces as they come, joined at most every FRAME_INTERVAL_SECONDS, until
        the reply ends, a stop arrives, or a bound is passed."""
        started = time.monotonic()
        deadline = started + settings.model_stream_timeout_seconds
        first_deadline = started + settings.model_timeout_seconds
        kept: list[str] = []
        pending: list[str] = []
        # Thoughts count as the model's first answer, as a first piece of text does.
        thinking = False
        last_sent = 0.0
        next_check = started + STOP_POLL_SECONDS

        def flush() -> None:
            nonlocal last_sent
            text = "".join(pending)
            pending.clear()
            self._send_deltas(text)
            last_sent = time.monotonic()

        while True:
            now = time.monotonic()
            due = min(next_check, deadline if kept or thinking else first_deadline)
            if pending:
                due = min(due, last_sent + FRAME_INTERVAL_SECONDS)
            try:
                item = pieces.get(timeout=max(0.0, due - now))
            except queue.Empty:
                item = ""
            if isinstance(item, BaseException):
                raise item
            if isinstance(item, Thought):
                # Its own frames, at once: thoughts come before the reply's first delta.
                self._send_deltas(item.text, ThoughtFrame)
                thinking = True
                item = ""
            if item is None:
                flush()
                if not kept:
                    raise ModelError("The model returned an empty reply.")
                return stream.reply("".join(kept))
            if item:
                kept.append(item)
                pending.append(item)
            now = time.monotonic()
            if pending and now - last_sent >= FRAME_INTERVAL_SECONDS:
                flush()
            if now >= next_check:
                next_check = now + STOP_POLL_SECONDS
                if self._runs.stop_requested(self._session_id, self._request_id):
                    stream.cancel()
                    flush()
                    return stream.reply("".join(kept), stopped=True)
            if now >= (deadline if kept or thinking else first_deadline):
                stream.cancel()
                raise ModelTimeout()


def _read(stream: ReplyStream, pieces: queue.Queue[Piece]) -> None:
    """In its own thread, so a stop or a deadline never waits for the model's next piece."""
    try:
        for piece in stream:
            pieces.put(piece)
    except BaseException as exc:  # handed to the sending thread, which raises it
        pieces.put(exc)
    else:
        pieces.put(None)
