"""Replies as the model writes them: Gemini's streamGenerateContent, or the offline model
word by word (so a person running locally sees streaming too).

A `ReplyStream` yields the pieces of the reply (and its thought summaries, as `Thought`s,
when asked for); `reply()` is the reply so far, with the latest token counts, so a stopped
stream can still be stored and counted.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from typing import Any

from chalicelib.core.errors import ContentBlocked, ModelError, ModelTimeout, ModelUnavailable
from chalicelib.model.base import ModelReply, ModelRequest
from chalicelib.model.gemini import (
    _BLOCKING_FINISH_REASONS,
    _gemini_client,
    _model_error_from_api,
    key_accepted,
    raise_if_prompt_blocked,
)
from chalicelib.model.offline import OfflineModel
from chalicelib.model.wire import (
    block_details,
    citations_of,
    reply_parts_of,
    request_parts,
    thoughts_of,
    token_counts,
)
from chalicelib.schemas import Citations
from chalicelib.schemas.replies import ReplyPart, bounded_parts, bounded_thoughts

# Pause between the offline model's words: slow enough to see, fast enough to read.
OFFLINE_WORD_SECONDS = 0.04


@dataclass(frozen=True)
class Chunk:
    text: str
    # Token counts so far: prompt, reply, tool-use prompt, thinking, cached (0 where not
    # given; the cached ones are part of the prompt's).
    counts: tuple[int, int, int, int, int] = (0, 0, 0, 0, 0)
    # Gemini sends grounding metadata with the last pieces; it covers the whole reply.
    citations: Citations | None = None
    # The piece's text, code and code results, in order.
    parts: tuple[ReplyPart, ...] = ()
    # Its thought summaries (Gemini sends them before the reply's text).
    thought: str = ""


@dataclass(frozen=True)
class Thought:
    """A piece of the model's thought summaries, not of the reply."""

    text: str


class ReplyStream:
    """The pieces of one reply, in order; iterate once, in one thread."""

    def __init__(self, chunks: Generator[Chunk]) -> None:
        self._chunks = chunks
        self._cancelled = threading.Event()
        self._counts = (0, 0, 0, 0, 0)
        self._citations: Citations | None = None
        self._parts: list[ReplyPart] = []
        self._thoughts: list[str] = []

    def __iter__(self) -> Iterator[str | Thought]:
        try:
            for chunk in self._chunks:
                if self._cancelled.is_set():
                    return
                # A count a chunk leaves out (0) keeps its latest value.
                self._counts = tuple(  # type: ignore[assignment]
                    new or old for new, old in zip(chunk.counts, self._counts, strict=True)
                )
                self._citations = chunk.citations or self._citations
                self._parts.extend(chunk.parts)
                if chunk.thought:
                    self._thoughts.append(chunk.thought)
                    yield Thought(chunk.thought)
                if chunk.text:
                    yield chunk.text
        finally:
            # Closes the model's connection too, so a stopped reply is not read to its end.
            self._chunks.close()

    def reply(self, text: str, *, stopped: bool = False) -> ModelReply:
        """`text` as the reply (what the consumer kept), with the latest token counts,
        citations and the parts so far."""
        prompt, reply, tool_use_prompt, thinking, cached = self._counts
        return ModelReply(
            text=text,
            prompt_tokens=prompt,
            # A stopped Gemini stream may end before its counts catch up with its text.
            reply_tokens=reply or (max(1, len(text) // 4) if text else 0),
            cached_tokens=cached,
            stopped=stopped,
            tool_use_prompt_tokens=tool_use_prompt,
            thinking_tokens=thinking,
            citations=self._citations,
            parts=bounded_parts(self._parts),
            thoughts=bounded_thoughts("".join(self._thoughts)),
        )

    def cancel(self) -> None:
        """From any thread: the iteration ends at the next piece, and the connection closes."""
        self._cancelled.set()


class StreamingModel:
    """Opens reply streams; `open` fails before any piece (bad key, quota, 5xx...)."""

    def open(self, request: ModelRequest) -> ReplyStream:
        raise NotImplementedError


class OfflineStreamingModel(StreamingModel):
    def __init__(self, word_seconds: float = OFFLINE_WORD_SECONDS) -> None:
        self._word_seconds = word_seconds

    def open(self, request: ModelRequest) -> ReplyStream:
        reply = OfflineModel().generate(request)
        words = re.findall(r"\s*\S+", reply.text)

        def chunks() -> Generator[Chunk]:
            for index, word in enumerate(words, start=1):
                tokens = max(1, index * reply.reply_tokens // len(words))
                last = index == len(words)
                citations = reply.citations if last else None
                yield Chunk(word, (reply.prompt_tokens, tokens, 0, 0, 0), citations)
                time.sleep(self._word_seconds)

        return ReplyStream(chunks())


class GeminiStreamingModel(StreamingModel):
    """Gemini's streamGenerateContent. No read waits longer than `first_chunk_seconds`;
    the caller bounds the first chunk and the whole stream."""

    def __init__(self, api_key: str, first_chunk_seconds: float) -> None:
        self._api_key = api_key
        self._first_chunk_seconds = first_chunk_seconds

    def open(self, request: ModelRequest) -> ReplyStream:
        import httpx2
        from google.genai import errors as genai_errors

        # No wait for a chunk outlasts the first's bound.
        contents, config = request_parts(request, self._first_chunk_seconds)
        responses = _gemini_client(self._api_key).models.generate_content_stream(
            model=request.model, contents=contents, config=config
        )

        def chunks() -> Generator[Chunk]:
            try:
                for response in responses:
                    key_accepted()
                    yield _chunk_of(response)
            except genai_errors.APIError as exc:
                raise _model_error_from_api(exc) from exc
            except httpx2.TimeoutException as exc:
                raise ModelTimeout() from exc
            except httpx2.TransportError as exc:
                raise ModelUnavailable() from exc
            except genai_errors.UnknownApiResponseError as exc:
                raise ModelError("The model's answer could not be read.") from exc
            finally:
                # A generator: closing it lets go of the HTTP response of a stopped reply.
                close = getattr(responses, "close", None)
                if close is not None:
                    close()

        return ReplyStream(chunks())


def _chunk_of(response: Any) -> Chunk:
    """One streamed response: its text, or a safety block as an error."""
    raise_if_prompt_blocked(response)
    candidate = (response.candidates or [None])[0]
    finish_reason = candidate.finish_reason.value if candidate and candidate.finish_reason else ""
    if finish_reason in _BLOCKING_FINISH_REASONS:
        raise ContentBlocked(
            "The model's safety filters blocked the reply.",
            details=block_details(finish_reason, "reply", candidate.safety_ratings),
        )
    parts = (
        candidate.content.parts
        if candidate and candidate.content and candidate.content.parts
        else []
    )
    return Chunk(
        text="".join(part.text for part in parts if part.text and not part.thought),
        counts=token_counts(response.usage_metadata),
        citations=citations_of(candidate),
        parts=tuple(reply_parts_of(parts)),
        thought=thoughts_of(parts),
    )
