"""Safety settings: per-category thresholds reach Gemini (whole and streamed), never looser
than the operator's SAFETY_MINIMUM, which also holds for agents made before it rose; a
blocked reply or message says which category blocked it."""

from __future__ import annotations

from typing import Any

import pytest

from tests.fake_gemini import FakeGemini, blocked_prompt, blocked_reply, streamed
from tests.utils import DEFAULT_CONFIG, ApiClient, assert_error
from tests.ws_client import ws_connect

SAFETY = {"harassment": "BLOCK_LOW_AND_ABOVE", "dangerousContent": "BLOCK_NONE"}


def sent_safety(fake_gemini: FakeGemini) -> Any:
    return fake_gemini.last_request.body.get("safetySettings")


def test_the_thresholds_reach_gemini_whole_and_streamed(
    api: ApiClient, fake_gemini: FakeGemini, ws_url: str
) -> None:
    created = api.create_chat(safety=SAFETY)
    assert created["config"]["safety"] == {
        "harassment": "BLOCK_LOW_AND_ABOVE",
        "hateSpeech": None,
        "sexuallyExplicit": None,
        "dangerousContent": "BLOCK_NONE",
    }
    session = api.start_session(created["chatConfigId"])
    assert session["safety"] == created["config"]["safety"]
    expected = [
        {"category": "HARM_CATEGORY_HARASSMENT", "threshold": "BLOCK_LOW_AND_ABOVE"},
        {"category": "HARM_CATEGORY_DANGEROUS_CONTENT", "threshold": "BLOCK_NONE"},
    ]
    api.send(session, "Hi")
    assert sent_safety(fake_gemini) == expected
    fake_gemini.queue(streamed("Hello", " there"))
    with ws_connect(ws_url) as ws:
        ws.send_message(session, "Hi again")
    assert sent_safety(fake_gemini) == expected
    api.send(api.new_session(), "Hi")
    assert sent_safety(fake_gemini) is None


def test_a_threshold_looser_than_the_floor_is_refused(
    api: ApiClient, fake_gemini: FakeGemini, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = api.new_session(safety={"harassment": "BLOCK_NONE"})
    monkeypatch.setenv("SAFETY_MINIMUM", "BLOCK_ONLY_HIGH")
    response = api.post("/create-chat", {**DEFAULT_CONFIG, "safety": {"harassment": "BLOCK_NONE"}})
    assert_error(response, 400, "validation_error")
    problem = response.json["details"]["fields"][0]
    assert problem["field"] == "safety.harassment"
    assert "SAFETY_MINIMUM" in problem["message"]
    # Stricter, or the floor itself, is fine.
    stricter = {"harassment": "BLOCK_MEDIUM_AND_ABOVE", "hateSpeech": "BLOCK_ONLY_HIGH"}
    assert api.post("/create-chat", {**DEFAULT_CONFIG, "safety": stricter}).status == 201
    # The agent made before the floor gets it too, and so does every unset category.
    api.send(before, "Hi")
    assert sent_safety(fake_gemini) == [
        {"category": category, "threshold": "BLOCK_ONLY_HIGH"}
        for category in (
            "HARM_CATEGORY_HARASSMENT",
            "HARM_CATEGORY_HATE_SPEECH",
            "HARM_CATEGORY_SEXUALLY_EXPLICIT",
            "HARM_CATEGORY_DANGEROUS_CONTENT",
        )
    ]


def test_a_floor_per_category(api: ApiClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SAFETY_MINIMUM", "hateSpeech=BLOCK_LOW_AND_ABOVE")
    created = api.create_chat(safety={"harassment": "BLOCK_NONE"})
    path, token = f"/chat-config/{created['chatConfigId']}", created["editToken"]
    body = {**DEFAULT_CONFIG, "safety": {"hateSpeech": "BLOCK_MEDIUM_AND_ABOVE"}}
    response = api.put(path, body, token=token)
    assert_error(response, 400, "validation_error")
    assert response.json["details"]["fields"][0]["field"] == "safety.hateSpeech"


def test_bad_values_and_session_overrides_are_refused(api: ApiClient) -> None:
    for safety in ({"harassment": "BLOCK_SOME"}, {"violence": "BLOCK_NONE"}):
        response = api.post("/create-chat", {**DEFAULT_CONFIG, "safety": safety})
        assert_error(response, 400, "validation_error")
    session = api.new_session()
    response = api.put(
        f"/session/{session['sessionId']}",
        {"safety": SAFETY},
        token=session["sessionToken"],
    )
    assert_error(response, 400, "validation_error")


def test_a_block_names_its_category(api: ApiClient, fake_gemini: FakeGemini, ws_url: str) -> None:
    session = api.new_session(safety=SAFETY)
    fake_gemini.queue(blocked_reply("HARM_CATEGORY_DANGEROUS_CONTENT"))
    response = api.send(session, "Something risky")
    assert_error(response, 422, "content_blocked")
    details = response.json["details"]
    assert (details["blocked"], details["category"]) == ("reply", "dangerousContent")
    fake_gemini.queue(blocked_prompt(category="HARM_CATEGORY_HATE_SPEECH"))
    response = api.send(session, "Something hateful")
    assert_error(response, 422, "content_blocked")
    details = response.json["details"]
    assert (details["blocked"], details["category"]) == ("prompt", "hateSpeech")
    fake_gemini.queue(blocked_reply("HARM_CATEGORY_SEXUALLY_EXPLICIT"))
    with ws_connect(ws_url) as ws:
        frames = ws.send_message(session, "Again")
    assert frames[-1]["code"] == "content_blocked"
    assert frames[-1]["details"]["category"] == "sexuallyExplicit"
    # Nothing was stored.
    history = api.get(f"/session/{session['sessionId']}", token=session["sessionToken"])
    assert history.json["messages"] == []
