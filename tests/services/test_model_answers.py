"""Answers the model client cannot read, and replies too slow for the whole-call deadline.

Either way the send fails with the app's own error, stores nothing, gives its
quota back, and logs nothing of what the model said.
"""

from __future__ import annotations

import json
import logging

import pytest

from tests.fake_gemini import DEFAULT_REPLY_PREFIX, FakeGemini, FakeReply, raw_body, trickled
from tests.utils import ApiClient, assert_error

# In every unreadable answer below, so the log can be searched for it.
MARKER = "UNREADABLE-ANSWER-TEXT"


def history(api: ApiClient, session: dict) -> list[dict]:
    view = api.get(f"/session/{session['sessionId']}", token=session["sessionToken"])
    return list(view.json["messages"])


def candidate(**fields: object) -> str:
    return json.dumps({"candidates": [fields], "modelVersion": MARKER})


UNREADABLE = {
    "broken json": raw_body('{"candidates": [{"content": "' + MARKER),
    "html page": raw_body(f"<html><body>{MARKER}</body></html>", "text/html"),
    "candidates not a list": raw_body(json.dumps({"candidates": 5, "modelVersion": MARKER})),
    "parts not a list": raw_body(candidate(content={"role": "model", "parts": MARKER})),
    "text not a string": raw_body(
        candidate(content={"role": "model", "parts": [{"text": 42, "thought": MARKER}]})
    ),
    "part not an object": raw_body(candidate(content={"role": "model", "parts": [MARKER]})),
    "token count a string": raw_body(
        json.dumps(
            {
                "candidates": [{"content": {"role": "model", "parts": [{"text": "hi"}]}}],
                "usageMetadata": {"promptTokenCount": MARKER},
            }
        )
    ),
    "a json list": raw_body(json.dumps([MARKER])),
    "a json string": raw_body(json.dumps(MARKER)),
    "empty body": raw_body(b""),
    "not utf-8": raw_body(b'{"candidates": "\xff\xfe' + MARKER.encode() + b'"}'),
    "error status, html": raw_body(f"<html>{MARKER}</html>", "text/html", status=400),
    "error status, json list": raw_body(json.dumps([MARKER]), status=400),
}


@pytest.mark.parametrize("answer", UNREADABLE.values(), ids=UNREADABLE.keys())
def test_an_unreadable_answer_is_a_502_that_stores_nothing_and_logs_none_of_it(
    api: ApiClient, fake_gemini: FakeGemini, caplog: pytest.LogCaptureFixture, answer: FakeReply
) -> None:
    caplog.set_level(logging.DEBUG)
    session = api.new_session(limits={"messagesPerSession": 1})
    fake_gemini.queue(answer)

    response = api.send(session, "hello")

    assert_error(response, 502, "model_error")
    assert MARKER not in response.raw.decode()
    assert MARKER not in caplog.text
    assert history(api, session) == []
    # The quota of one message was given back: the next send may use it.
    retry = api.send(session, "hello")
    assert retry.status == 200, retry.json
    assert retry.json["message"] == DEFAULT_REPLY_PREFIX + "hello"


def test_token_counts_dynamodb_cannot_store_are_a_502(
    api: ApiClient, fake_gemini: FakeGemini
) -> None:
    session = api.new_session(limits={"messagesPerSession": 1})
    fake_gemini.queue(
        raw_body(
            json.dumps(
                {
                    "candidates": [{"content": {"role": "model", "parts": [{"text": "hi"}]}}],
                    "usageMetadata": {"promptTokenCount": 10**40, "candidatesTokenCount": -1},
                }
            )
        )
    )
    assert_error(api.send(session, "hello"), 502, "model_error")
    assert history(api, session) == []
    assert api.send(session, "hello").status == 200


def test_the_timeout_bounds_the_whole_call_not_each_read(
    api: ApiClient, fake_gemini: FakeGemini, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Every read of the trickled reply is quick; the reply as a whole takes 6 s.
    monkeypatch.setenv("MODEL_TIMEOUT_SECONDS", "1")
    session = api.new_session(limits={"messagesPerSession": 1})
    fake_gemini.queue(trickled(6, text="too late"))

    response = api.send(session, "hello")

    assert_error(response, 504, "model_timeout")
    # The app answered while the model was still sending (a 5 s margin, not a timing claim).
    assert fake_gemini.answered_count == 0
    # Once the late reply has fully arrived, it still is not stored anywhere.
    assert fake_gemini.wait_until_answered(1)
    assert history(api, session) == []
    retry = api.send(session, "hello")
    assert retry.status == 200, retry.json
    assert [m["content"] for m in history(api, session)] == [
        "hello",
        DEFAULT_REPLY_PREFIX + "hello",
    ]


def test_a_trickled_reply_within_the_timeout_is_answered(
    api: ApiClient, fake_gemini: FakeGemini, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MODEL_TIMEOUT_SECONDS", "20")
    session = api.new_session()
    fake_gemini.queue(trickled(0.4, text="slowly but surely"))
    response = api.send(session, "hello")
    assert response.status == 200, response.json
    assert response.json["message"] == "slowly but surely"
