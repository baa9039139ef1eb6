"""Text beyond ASCII: UTF-8 responses, lengths in code points, a body limit that fits any text."""

from __future__ import annotations

import json

import pytest

from chalicelib.api.http import MAX_BODY_BYTES, MAX_JSON_BYTES_PER_CHAR
from chalicelib.schemas import MAX_MESSAGE_CHARS, MAX_SYSTEM_PROMPT_CHARS, MAX_TITLE_CHARS
from tests.fake_gemini import FakeGemini, reply_text
from tests.utils import DEFAULT_CONFIG, ApiClient, assert_error

EMOJI = "\U0001f600"  # 4 bytes in UTF-8, \ud83d\ude00 (12 bytes) as JSON escapes


def history(api: ApiClient, session: dict) -> list[dict]:
    view = api.get(f"/session/{session['sessionId']}", token=session["sessionToken"])
    return list(view.json["messages"])


def message_body(session: dict, message: str, *, escaped: bool) -> bytes:
    body = {"sessionId": session["sessionId"], "message": message}
    return json.dumps(body, ensure_ascii=escaped).encode("utf-8")


def assert_utf8_json(raw: bytes, *texts: str) -> None:
    """The body holds each text as UTF-8, with no \\u escape anywhere."""
    assert b"\\u" not in raw
    for text in texts:
        assert text.encode("utf-8") in raw


def test_json_responses_are_utf8_not_escapes(api: ApiClient) -> None:
    title = "Café ☕ 東京 " + EMOJI
    response = api.post("/create-chat", {**DEFAULT_CONFIG, "title": title})
    assert response.status == 201
    assert response.headers["Content-Type"] == "application/json; charset=utf-8"
    assert_utf8_json(response.raw, title)
    assert response.json["config"]["title"] == title


def test_error_responses_are_utf8_too(api: ApiClient) -> None:
    response = api.post("/create-chat", {**DEFAULT_CONFIG, "titré": "x"})
    assert_error(response, 400, "validation_error")
    assert response.headers["Content-Type"] == "application/json; charset=utf-8"
    assert_utf8_json(response.raw, "titré")


@pytest.mark.parametrize("escaped", [False, True], ids=["raw utf-8", "escaped json"])
def test_a_32000_emoji_message_is_accepted_however_it_is_written(
    api: ApiClient, fake_gemini: FakeGemini, escaped: bool
) -> None:
    session = api.new_session()
    message = EMOJI * MAX_MESSAGE_CHARS
    body = message_body(session, message, escaped=escaped)
    # 128,000 bytes as UTF-8; 384,000 as escapes, more than a limit of 256 KiB would allow.
    assert len(body) > (384_000 if escaped else 128_000)
    fake_gemini.queue(reply_text("Ça va " + EMOJI))

    response = api.post(
        "/session-message",
        raw=body,
        token=session["sessionToken"],
        headers={"Idempotency-Key": "emoji"},
    )

    assert response.status == 200, response.json
    assert_utf8_json(response.raw, message, "Ça va " + EMOJI)
    assert fake_gemini.last_request.body["contents"][-1]["parts"][0]["text"] == message
    assert [m["content"] for m in history(api, session)] == [message, "Ça va " + EMOJI]


@pytest.mark.parametrize("escaped", [False, True], ids=["raw utf-8", "escaped json"])
def test_message_length_counts_code_points(api: ApiClient, escaped: bool) -> None:
    session = api.new_session()
    too_long = message_body(session, EMOJI * (MAX_MESSAGE_CHARS + 1), escaped=escaped)
    response = api.post("/session-message", raw=too_long, token=session["sessionToken"])
    assert_error(response, 400, "validation_error")
    assert response.json["details"]["fields"][0]["field"] == "message"
    assert history(api, session) == []


def test_the_largest_config_fits_the_body_limit_when_escaped(api: ApiClient) -> None:
    config = {
        **DEFAULT_CONFIG,
        "title": EMOJI * MAX_TITLE_CHARS,
        "systemPrompt": EMOJI * MAX_SYSTEM_PROMPT_CHARS,
    }
    response = api.post("/create-chat", raw=json.dumps(config, ensure_ascii=True))
    assert response.status == 201, response.json
    assert response.json["config"]["systemPrompt"] == EMOJI * MAX_SYSTEM_PROMPT_CHARS


def test_the_body_limit_holds_the_longest_message_in_its_longest_spelling() -> None:
    envelope = len(json.dumps({"sessionId": "0" * 32, "message": ""}))
    assert MAX_MESSAGE_CHARS * MAX_JSON_BYTES_PER_CHAR + envelope < MAX_BODY_BYTES
    assert len(json.dumps(EMOJI)) - 2 == MAX_JSON_BYTES_PER_CHAR


@pytest.mark.parametrize(
    "body",
    [
        '{"sessionId": "SESSION", "message": "half \\ud83d of a character"}',
        '{"sessionId": "SESSION", "message": "the other half \\ude00"}',
        '{"sessionId": "SESSION", "message": "hi", "\\udfff": 1}',
    ],
)
def test_a_lone_surrogate_escape_is_refused(api: ApiClient, body: str) -> None:
    session = api.new_session()
    raw = body.replace("SESSION", session["sessionId"])
    response = api.post(
        "/session-message", raw=raw, token=session["sessionToken"], headers={"Idempotency-Key": "k"}
    )
    assert_error(response, 400, "invalid_json")
    assert history(api, session) == []
