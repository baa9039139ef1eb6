"""The WebSocket API's AsyncAPI document: generated from the frame models, current, served,
and describing the frames the server really sends."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from referencing import Registry, Resource

from chalicelib.api import asyncapi
from chalicelib.api.http import JSON_CONTENT_TYPE
from tests.fake_gemini import FakeGemini, streamed
from tests.utils import ApiClient
from tests.ws_client import ws_connect

COMMITTED = Path(__file__).resolve().parents[2] / "asyncapi.json"


def test_the_committed_copy_is_current() -> None:
    assert COMMITTED.read_text(encoding="utf-8") == asyncapi.render(), (
        "asyncapi.json is out of date: run `make openapi` and commit the result"
    )


def test_the_app_serves_the_document(api: ApiClient) -> None:
    response = api.get("/asyncapi.json")
    assert response.status == 200
    assert response.headers["Content-Type"] == JSON_CONTENT_TYPE
    assert response.json == asyncapi.build_document()


def _resolve(document: dict[str, Any], ref: str) -> Any:
    node: Any = document
    for part in ref.removeprefix("#/").split("/"):
        node = node[part]
    return node


def test_every_reference_resolves_and_every_frame_is_a_message() -> None:
    document = asyncapi.build_document()
    assert document["asyncapi"] == "3.0.0"
    text = json.dumps(document)
    refs = {part.split('"')[0] for part in text.split('"$ref": "')[1:]}
    for ref in refs:
        assert _resolve(document, ref) is not None, ref
    sent = {m["$ref"].rsplit("/", 1)[1] for m in document["operations"]["streamReply"]["messages"]}
    received = {
        m["$ref"].rsplit("/", 1)[1] for m in document["operations"]["sendRequest"]["messages"]
    }
    assert sent == {"StartFrame", "ThoughtFrame", "DeltaFrame", "DoneFrame", "ErrorFrame"}
    assert received == {"SendFrame", "EditFrame", "RegenerateFrame", "StopFrame"}


def _validator(document: dict[str, Any], name: str) -> Draft202012Validator:
    """Validates against one of the document's schemas, its own $refs resolved in it."""
    resource = Resource.from_contents(
        {**document, "$schema": "https://json-schema.org/draft/2020-12/schema"}
    )
    registry: Registry[Any] = Registry().with_resource("urn:asyncapi", resource)
    schema = {"$ref": f"urn:asyncapi#/components/schemas/{name}"}
    return Draft202012Validator(schema, registry=registry)


def test_the_frames_the_server_sends_match_the_document(
    api: ApiClient, fake_gemini: FakeGemini, ws_url: str
) -> None:
    fake_gemini.queue(streamed("one ", "two"))
    session = api.new_session()
    with ws_connect(ws_url) as ws:
        frames = ws.send_message(session, "Hello")
        ws.send("not json")
        frames.append(ws.receive())
    document = asyncapi.build_document()
    for frame in frames:
        name = frame["type"].capitalize() + "Frame"
        errors = list(_validator(document, name).iter_errors(frame))
        assert errors == [], (frame, errors)
    assert [f["type"] for f in frames] == ["start", "delta", "delta", "done", "error"]
