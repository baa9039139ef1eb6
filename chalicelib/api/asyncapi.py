"""The WebSocket API's AsyncAPI 3.0 document, generated from the frame models.

`GET /asyncapi.json` serves it; `python -m chalicelib.api.asyncapi asyncapi.json`
(`make openapi` runs it too) rewrites the committed copy.
"""

from __future__ import annotations

import sys
from functools import cache
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from chalicelib.api.openapi import ResponseSchemaGenerator, canonical_json, write_document
from chalicelib.api.operations import API_VERSION, JsonSchema
from chalicelib.schemas.frames import (
    DeltaFrame,
    DoneFrame,
    EditFrame,
    ErrorFrame,
    RegenerateFrame,
    SendFrame,
    StartFrame,
    StopFrame,
    ThoughtFrame,
)

REF_TEMPLATE = "#/components/schemas/{model}"
CLIENT_FRAMES: tuple[type[BaseModel], ...] = (SendFrame, EditFrame, RegenerateFrame, StopFrame)
SERVER_FRAMES: tuple[type[BaseModel], ...] = (
    StartFrame,
    ThoughtFrame,
    DeltaFrame,
    DoneFrame,
    ErrorFrame,
)

DESCRIPTION = """\
Streamed replies. Connect to the URL `GET /health` gives as `websocketUrl`, then send
JSON text frames; the token goes in the frame, never in the URL.

A send, edit or regenerate answers with `start` (quota reserved), `delta`s (the reply's pieces:
joined, they are `result.reply.content`), then `done` (the exchange is stored; `result` is
the REST API's body for it) or `error` (nothing stored). Every server frame carries the
request's `requestId` and `seq`, counting from 0 per request. A `stop` ends a running
request: its last frame is `done` with `stopped: true`. A frame that cannot be read gets
`error` with `invalid_json` or `validation_error` (`requestId` null when none could be
read); no error closes the connection. Error codes are the REST API's.
"""


def _message(model: type[BaseModel]) -> JsonSchema:
    name = model.__name__
    doc = (model.__doc__ or "").strip()
    return {
        "name": name,
        "title": name.removesuffix("Frame"),
        "summary": doc.splitlines()[0] if doc else name,
        "contentType": "application/json",
        "payload": {"$ref": REF_TEMPLATE.format(model=name)},
    }


def build_document() -> JsonSchema:
    """The AsyncAPI document, as a fresh dict the caller may change."""
    wanted: list[tuple[type[BaseModel], Any]] = [(m, "validation") for m in CLIENT_FRAMES]
    wanted += [(m, "serialization") for m in SERVER_FRAMES]
    _, definitions = models_json_schema(
        wanted, ref_template=REF_TEMPLATE, schema_generator=ResponseSchemaGenerator
    )
    messages = {m.__name__: _message(m) for m in (*CLIENT_FRAMES, *SERVER_FRAMES)}

    def refs(models: tuple[type[BaseModel], ...], where: str) -> list[JsonSchema]:
        return [{"$ref": f"#/{where}/{m.__name__}"} for m in models]

    return {
        "asyncapi": "3.0.0",
        "info": {"title": "AI Maker streaming", "version": API_VERSION, "description": DESCRIPTION},
        "defaultContentType": "application/json",
        "servers": {
            "aws": {
                "host": "{apiId}.execute-api.{region}.amazonaws.com",
                "pathname": "/api",
                "protocol": "wss",
                "description": "A deployed stack; GET /health gives the URL as websocketUrl.",
                "variables": {
                    "apiId": {"description": "The stack's WebSocket API id."},
                    "region": {"description": "The stack's AWS region."},
                },
            },
            "local": {
                "host": "127.0.0.1:8001",
                "protocol": "ws",
                "description": "`make run`: PORT + 1, or WS_PORT.",
            },
        },
        "channels": {
            "conversation": {
                "address": "/",
                "description": (
                    "One connection; requests told apart by their requestId. A browser may "
                    "connect only from this API's own pages (API_ORIGIN), the frontend's "
                    "(FRONTEND_BASE_URL) or a named CORS_ALLOW_ORIGIN: any other Origin is "
                    "refused (403) at the handshake. No Origin (not a browser) is admitted."
                ),
                "messages": {
                    m.__name__: {"$ref": f"#/components/messages/{m.__name__}"}
                    for m in (*CLIENT_FRAMES, *SERVER_FRAMES)
                },
            }
        },
        "operations": {
            "sendRequest": {
                "action": "receive",
                "summary": "The server receives a send, edit, regenerate or stop frame.",
                "channel": {"$ref": "#/channels/conversation"},
                "messages": refs(CLIENT_FRAMES, "channels/conversation/messages"),
            },
            "streamReply": {
                "action": "send",
                "summary": "The server answers with the request's frames.",
                "channel": {"$ref": "#/channels/conversation"},
                "messages": refs(SERVER_FRAMES, "channels/conversation/messages"),
            },
        },
        "components": {"messages": messages, "schemas": definitions.get("$defs", {})},
    }


@cache
def render() -> str:
    return canonical_json(build_document())


def main(argv: list[str]) -> int:
    return write_document(render(), argv)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
