"""JSON replies: an agent's `responseFormat` is validated (a JSON Schema, small, on a model
that writes JSON with the tools switched on), shown, copied and exported; Gemini is asked
for JSON following it (whole and streamed); and a reply that is not such JSON is a
model_error that stores nothing, the streamed one's deltas notwithstanding."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import pytest

from chalicelib.api import openapi
from chalicelib.core.settings import get_settings
from tests.api.test_api_keys import make_key
from tests.fake_gemini import FakeGemini, FakeReply, build_reply_body, json_reply, reply_text
from tests.utils import DEFAULT_CONFIG, ApiClient, assert_error
from tests.ws_client import joined_deltas, ws_connect

SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"city": {"type": "string"}, "population": {"type": "integer", "minimum": 0}},
    "required": ["city", "population"],
    # A fraction and a null: a stored session keeps both as they were.
    "x-weight": 0.5,
    "default": None,
}
FORMAT = {"type": "json_schema", "schema": SCHEMA}
PARIS = {"city": "Paris", "population": 2_100_000}
# 40 objects deep: checking a schema deeper than 32 could recurse past Python's limit.
DEEP = json.loads('{"items":' * 39 + "{}" + "}" * 39)


def json_schema(schema: Any) -> dict[str, Any]:
    return {"type": "json_schema", "schema": schema}


def fields_of(response: Any) -> list[str]:
    return [problem["field"] for problem in response.json["details"]["fields"]]


def messages(api: ApiClient, session: dict[str, Any]) -> list[dict[str, Any]]:
    path = f"/session/{session['sessionId']}/messages"
    return list(api.get(path, token=session["sessionToken"]).json["messages"])


@pytest.fixture(autouse=True)
def _models(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "ALLOWED_MODELS", "gemini-2.5-flash,gemini-3-flash-preview,gemini-2.0-flash,gemma-3-27b-it"
    )


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"responseFormat": {"type": "json_schema", "schema": "{}"}}, "responseFormat.schema"),
        ({"responseFormat": {"type": "json_schema", "schema": []}}, "responseFormat.schema"),
        ({"responseFormat": {"type": "json_schema"}}, "responseFormat.schema"),
        (
            {"responseFormat": {"type": "json_schema", "schema": {"type": "integr"}}},
            "responseFormat.schema",
        ),
        (
            {"responseFormat": {"type": "json_schema", "schema": {"enum": ["x" * 17_000]}}},
            "responseFormat.schema",
        ),
        (
            {"responseFormat": json_schema({"$ref": "https://example.com/s.json"})},
            "responseFormat.schema",
        ),
        ({"responseFormat": json_schema({"$ref": "#/$defs/city"})}, "responseFormat.schema"),
        ({"responseFormat": json_schema(DEEP)}, "responseFormat.schema"),
        ({"responseFormat": {"type": "text", "schema": {}}}, "responseFormat.schema"),
        ({"responseFormat": {"type": "xml"}}, "responseFormat"),
        # Only Gemini 3 writes JSON with built-in tools on; 2.0 takes no JSON Schema.
        ({"responseFormat": FORMAT, "tools": {"googleSearch": True}}, "responseFormat"),
        ({"responseFormat": FORMAT, "model": "gemini-2.0-flash"}, "responseFormat"),
        ({"responseFormat": FORMAT, "model": "gemma-3-27b-it"}, "responseFormat"),
    ],
)
def test_a_format_that_is_not_valid_here_is_refused(
    api: ApiClient, extra: dict[str, Any], field: str
) -> None:
    response = api.post("/create-chat", {**DEFAULT_CONFIG, **extra})
    assert_error(response, 400, "validation_error")
    assert fields_of(response) == [field]


def test_gemini_3_writes_json_with_tools(api: ApiClient) -> None:
    created = api.create_chat(
        model="gemini-3-flash-preview", tools={"codeExecution": True}, responseFormat=FORMAT
    )
    assert created["config"]["responseFormat"] == FORMAT


def test_the_document_says_which_model_writes_json_with_which_tools(api: ApiClient) -> None:
    """A body is valid by the OpenAPI document exactly when the API takes it."""
    document = openapi.build_document()
    root = {"$ref": "#/components/schemas/ChatConfigCreate", **document}
    validator = jsonschema.Draft202012Validator(root)
    for model in get_settings().allowed_models:
        for tools in ({}, {"codeExecution": True}):
            body = {**DEFAULT_CONFIG, "model": model, "tools": tools, "responseFormat": FORMAT}
            status = api.post("/create-chat", body).status
            assert status in (201, 400), (model, tools, status)
            assert validator.is_valid(body) == (status == 201), (model, tools)


def test_the_format_is_shown_copied_exported_and_the_creators_alone(api: ApiClient) -> None:
    created = api.create_chat(responseFormat=FORMAT)
    assert created["config"]["responseFormat"] == FORMAT
    public = api.get(f"/chat-config/{created['chatConfigId']}").json
    assert public["responseFormat"] == FORMAT
    session = api.start_session(created["chatConfigId"])
    assert session["responseFormat"] == FORMAT
    path, token = f"/session/{session['sessionId']}", session["sessionToken"]
    # Read back from DynamoDB as it was sent: the fraction, the null.
    assert api.get(path, token=token).json["responseFormat"] == FORMAT
    exported = api.get(f"{path}/export?format=json", token=token).json
    assert exported["responseFormat"] == FORMAT
    response = api.put(path, {"responseFormat": {"type": "text"}}, token=token)
    assert_error(response, 400, "validation_error")
    # A model override that writes no JSON is the model's fault.
    response = api.put(path, {"model": "gemini-2.0-flash"}, token=token)
    assert_error(response, 400, "validation_error")
    assert fields_of(response) == ["model"]
    assert api.create_chat()["config"]["responseFormat"] == {"type": "text"}


def test_an_edit_is_refused_naming_what_it_changed(api: ApiClient) -> None:
    created = api.create_chat(responseFormat=FORMAT)
    path, token = f"/chat-config/{created['chatConfigId']}", created["editToken"]
    body = {**DEFAULT_CONFIG}
    tools = api.put(path, {**body, "tools": {"urlContext": True}}, token=token)
    assert_error(tools, 400, "validation_error")
    assert fields_of(tools) == ["tools"]
    model = api.put(path, {**body, "model": "gemini-2.0-flash"}, token=token)
    assert fields_of(model) == ["model"]
    moved = api.put(
        path, {**body, "tools": {"urlContext": True}, "responseFormat": None}, token=token
    )
    assert moved.status == 200, moved.json
    assert moved.json["responseFormat"] == {"type": "text"}


def test_gemini_is_asked_for_json_following_the_schema_whole_and_streamed(
    api: ApiClient, fake_gemini: FakeGemini, ws_url: str
) -> None:
    session = api.new_session(responseFormat=FORMAT)
    fake_gemini.queue(json_reply(PARIS))
    sent = api.send(session, "The capital of France?")
    assert sent.status == 200, sent.json
    config = fake_gemini.last_request.body["generationConfig"]
    # As google-genai sends it: the schema exactly as the creator wrote it.
    assert config == {
        "temperature": DEFAULT_CONFIG["temperature"],
        "maxOutputTokens": config["maxOutputTokens"],
        "responseMimeType": "application/json",
        "responseJsonSchema": SCHEMA,
    }
    assert sent.json["reply"]["content"] == '{"city": "Paris", "population": 2100000}'
    fake_gemini.queue(json_reply(PARIS, chunks=4))
    with ws_connect(ws_url) as ws:
        frames = ws.send_message(session, "Again?")
    assert frames[-1]["type"] == "done"
    streamed = fake_gemini.last_request
    assert streamed.path.split("?")[0].endswith(":streamGenerateContent")
    assert streamed.body["generationConfig"] == config
    assert joined_deltas(frames) == frames[-1]["result"]["reply"]["content"]
    assert len(messages(api, session)) == 4
    path = f"/session/{session['sessionId']}/export?format=markdown"
    markdown = api.get(path, token=session["sessionToken"]).raw.decode()
    assert '\n```json\n{"city": "Paris", "population": 2100000}\n```\n' in markdown
    plain = api.new_session()
    api.send(plain, "Hi")
    config = fake_gemini.last_request.body["generationConfig"]
    assert "responseMimeType" not in config and "responseJsonSchema" not in config


@pytest.mark.parametrize(
    ("reply", "details"),
    [
        (reply_text("Paris, of course."), {"reason": "invalid_json"}),
        (json_reply({"city": "Paris"}), {"reason": "schema_mismatch", "path": "$"}),
        (
            json_reply({"city": "Paris", "population": -1}),
            {"reason": "schema_mismatch", "path": "$.population"},
        ),
        (reply_text("[" * 100 + "]" * 100), {"reason": "schema_mismatch", "path": "$"}),
    ],
)
def test_a_reply_that_is_not_such_json_is_a_model_error_storing_nothing(
    api: ApiClient, fake_gemini: FakeGemini, reply: Any, details: dict[str, str]
) -> None:
    session = api.new_session(responseFormat=FORMAT, limits={"messagesPerSession": 1})
    fake_gemini.queue(reply)
    response = api.send(session, "The capital of France?")
    assert_error(response, 502, "model_error")
    assert details.items() <= response.json["details"].items()
    assert messages(api, session) == []
    # The quota was given back: the one message this session may send still goes.
    fake_gemini.queue(json_reply(PARIS))
    assert api.send(session, "Again").status == 200


def test_json_cut_at_the_token_limit_says_so(api: ApiClient, fake_gemini: FakeGemini) -> None:
    session = api.new_session(responseFormat=FORMAT)
    body = build_reply_body("gemini-2.5-flash", {}, text='{"city": "Par')
    body["candidates"][0]["finishReason"] = "MAX_TOKENS"
    fake_gemini.queue(FakeReply(body=body))
    response = api.send(session, "The capital of France?")
    assert_error(response, 502, "model_error")
    assert response.json["details"]["reason"] == "invalid_json"
    assert "maxOutputTokens" in response.json["error"]


def test_a_regeneration_that_is_not_such_json_keeps_the_old_reply(
    api: ApiClient, fake_gemini: FakeGemini
) -> None:
    session = api.new_session(responseFormat=FORMAT)
    fake_gemini.queue(json_reply(PARIS))
    api.send(session, "The capital of France?")
    before = messages(api, session)
    fake_gemini.queue(json_reply(["Paris"]))
    path = f"/session/{session['sessionId']}/regenerate"
    response = api.post(path, token=session["sessionToken"])
    assert_error(response, 502, "model_error")
    assert response.json["details"]["reason"] == "schema_mismatch"
    assert messages(api, session) == before
    fake_gemini.queue(json_reply({"city": "Lyon", "population": 520_000}))
    regenerated = api.post(path, token=session["sessionToken"])
    assert regenerated.status == 200, regenerated.json
    assert '"Lyon"' in regenerated.json["reply"]["content"]


def test_a_streamed_reply_that_is_not_such_json_ends_in_an_error_frame(
    api: ApiClient, fake_gemini: FakeGemini, ws_url: str
) -> None:
    session = api.new_session(responseFormat=FORMAT, limits={"messagesPerSession": 1})
    fake_gemini.queue(json_reply({"city": 7, "population": 1}, chunks=3))
    with ws_connect(ws_url) as ws:
        frames = ws.send_message(session, "The capital of France?")
        # The deltas went out as they came; the error frame says they are not kept.
        assert joined_deltas(frames) == '{"city": 7, "population": 1}'
        assert (frames[-1]["type"], frames[-1]["code"]) == ("error", "model_error")
        assert frames[-1]["details"]["path"] == "$.city"
        assert "at $.city: 7 is not of type 'string'" in frames[-1]["error"]
        assert messages(api, session) == []
        fake_gemini.queue(json_reply(PARIS, chunks=2))
        assert ws.send_message(session, "Again", request_id="r2")[-1]["type"] == "done"


def test_the_offline_model_answers_json_made_from_the_schema(api: ApiClient, ws_url: str) -> None:
    session = api.new_session(responseFormat=FORMAT)
    sent = api.send(session, "The capital of France?")
    assert sent.status == 200, sent.json
    reply = json.loads(sent.json["reply"]["content"])
    assert reply["population"] == 0 and "offline model" in reply["city"]
    with ws_connect(ws_url) as ws:
        frames = ws.send_message(session, "Again?")
    assert json.loads(joined_deltas(frames)) == json.loads(frames[-1]["result"]["reply"]["content"])


# --- the /v1 endpoints ---------------------------------------------------------------


def v1(api: ApiClient, path: str, key: str, body: dict[str, Any]) -> Any:
    return api.post(f"/v1/{path}", body, token=key)


def test_v1_formats_ask_gemini_for_json_in_place_of_the_agents(
    api: ApiClient, fake_gemini: FakeGemini
) -> None:
    chat = api.create_chat()
    key = make_key(api, chat)["apiKey"]
    chat_format = {"type": "json_schema", "json_schema": {"name": "city", "schema": SCHEMA}}
    turns = [{"role": "user", "content": "The capital of France?"}]
    fake_gemini.queue(json_reply(PARIS))
    body = {"model": chat["chatConfigId"], "messages": turns, "response_format": chat_format}
    completion = v1(api, "chat/completions", key, body)
    assert completion.status == 200, completion.json
    asked = fake_gemini.last_request.body
    # The same request as an agent's own format makes for a visitor.
    visitor = api.new_session(responseFormat=FORMAT)
    fake_gemini.queue(json_reply(PARIS))
    assert api.send(visitor, "The capital of France?").status == 200
    assert fake_gemini.last_request.body == asked
    body["response_format"] = {"type": "json_object"}
    any_json = v1(api, "chat/completions", key, body)
    # The fake's own reply, asked for JSON, is its text as a JSON string.
    content = any_json.json["choices"][0]["message"]["content"]
    assert content == '"fake reply to: The capital of France?"'
    config = fake_gemini.last_request.body["generationConfig"]
    assert config["responseMimeType"] == "application/json"
    assert "responseJsonSchema" not in config
    text_format = {"format": {"type": "json_schema", "name": "city", "schema": SCHEMA}}
    fake_gemini.queue(json_reply(PARIS))
    response = v1(api, "responses", key, {"input": "The capital?", "text": text_format})
    assert response.status == 200, response.json
    assert fake_gemini.last_request.body["generationConfig"]["responseJsonSchema"] == SCHEMA
    # Text keeps the agent's own format: here, text.
    v1(api, "responses", key, {"input": "Hi", "text": {"format": {"type": "text"}}})
    assert "responseMimeType" not in fake_gemini.last_request.body["generationConfig"]


def test_v1_refusals_and_failures_are_in_openais_shape(
    api: ApiClient, fake_gemini: FakeGemini
) -> None:
    chat = api.create_chat(tools={"googleSearch": True}, limits={"sessionsPerDay": 1})
    key = make_key(api, chat)["apiKey"]
    json_object = {"format": {"type": "json_object"}}
    refused = v1(api, "responses", key, {"input": "Hi", "text": json_object})
    assert refused.status == 400
    assert refused.json["error"]["code"] == "validation_error"
    assert refused.json["error"]["param"] == "text.format"
    # Refused before its conversation was stored: the day's one session is still there.
    assert v1(api, "responses", key, {"input": "Hi"}).status == 200
    bad = {"format": {"type": "json_schema", "name": "x", "schema": {"type": 5}}}
    invalid = v1(api, "responses", key, {"input": "Hi", "text": bad})
    assert (invalid.status, invalid.json["error"]["param"]) == (400, "text.format.schema")
    plain = api.create_chat()
    plain_key = make_key(api, plain)["apiKey"]
    fake_gemini.queue(reply_text("not JSON"))
    failed = v1(api, "responses", plain_key, {"input": "Hi", "text": json_object})
    assert failed.status == 502
    assert failed.json["error"]["code"] == "model_error"
    assert "not JSON" in failed.json["error"]["message"]
