"""Streamed answers of the /v1 endpoints as server-sent events, in one buffered body.

Chalice and a Python Lambda cannot stream an HTTP body, so the whole reply is made
first and its events are written one after another into the body: OpenAI's SDKs read
them as they read a live stream.
"""

from __future__ import annotations

import json
import re
from typing import Any

from chalicelib.schemas import openai as oa

EVENT_STREAM = "text/event-stream; charset=utf-8"
# A reply goes out in at most this many deltas.
MAX_DELTAS = 64


def _pieces(text: str) -> list[str]:
    """The text in pieces of whole words, which add up to it exactly."""
    words = re.findall(r"\s*\S+\s*", text) or [text]
    per_piece = -(-len(words) // MAX_DELTAS)
    return ["".join(words[i : i + per_piece]) for i in range(0, len(words), per_piece)]


def _data(payload: Any, event: str | None = None) -> str:
    text = payload if isinstance(payload, str) else json.dumps(payload, ensure_ascii=False)
    return (f"event: {event}\n" if event else "") + f"data: {text}\n\n"


def completion_events(completion: oa.ChatCompletion, include_usage: bool) -> str:
    """A chat.completion as its chat.completion.chunk events, then `data: [DONE]`."""
    choice = completion.choices[0]

    def chunk(delta: oa.ChunkDelta, finish: oa.FinishReason | None = None) -> str:
        event = oa.ChatCompletionChunk(
            id=completion.id,
            created=completion.created,
            model=completion.model,
            choices=[oa.ChunkChoice(delta=delta, finish_reason=finish)],
        )
        return _data(event.model_dump(mode="json"))

    events = [chunk(oa.ChunkDelta(role="assistant", content=""))]
    if choice.message.content:
        events += [chunk(oa.ChunkDelta(content=p)) for p in _pieces(choice.message.content)]
    events.append(chunk(oa.ChunkDelta(), choice.finish_reason))
    if include_usage:
        usage = oa.ChatCompletionChunk(
            id=completion.id,
            created=completion.created,
            model=completion.model,
            choices=[],
            usage=completion.usage,
        )
        events.append(_data(usage.model_dump(mode="json")))
    return "".join(events) + _data("[DONE]")


def response_events(response: oa.Response) -> str:
    """A response as the Responses API streams one: created, the text's deltas, completed."""
    message = response.output[0]
    text = message.content[0].text
    started = response.model_copy(update={"status": "in_progress", "output": [], "usage": None})
    item_started = message.model_copy(update={"status": "in_progress", "content": []})
    where = {"item_id": message.id, "output_index": 0, "content_index": 0}
    empty_part = oa.OutputText(text="").model_dump(mode="json")
    steps: list[tuple[str, dict[str, Any]]] = [
        ("response.created", {"response": started.model_dump(mode="json")}),
        ("response.in_progress", {"response": started.model_dump(mode="json")}),
        ("response.output_item.added", {"output_index": 0, "item": item_started.model_dump()}),
        ("response.content_part.added", {**where, "part": empty_part}),
        *(
            ("response.output_text.delta", {**where, "delta": piece, "logprobs": []})
            for piece in (_pieces(text) if text else [])
        ),
        ("response.output_text.done", {**where, "text": text, "logprobs": []}),
        ("response.content_part.done", {**where, "part": message.content[0].model_dump()}),
        ("response.output_item.done", {"output_index": 0, "item": message.model_dump()}),
        (
            "response.completed" if response.status == "completed" else "response.incomplete",
            {"response": response.model_dump(mode="json")},
        ),
    ]
    return "".join(
        _data({"type": kind, "sequence_number": number, **fields}, kind)
        for number, (kind, fields) in enumerate(steps)
    )
