"""Media resolution: a Gemini 3 agent's tokens per attachment reach Gemini (whole and
streamed); other models refuse it, naming the field or the model moved to."""

from __future__ import annotations

from typing import Any

import pytest

from tests.fake_gemini import FakeGemini, streamed
from tests.utils import DEFAULT_CONFIG, ApiClient, assert_error
from tests.ws_client import ws_connect

GEMINI_3 = "gemini-3-flash-preview"


@pytest.fixture(autouse=True)
def _models(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALLOWED_MODELS", f"gemini-2.5-flash,{GEMINI_3}")


def sent_resolution(fake_gemini: FakeGemini) -> Any:
    return fake_gemini.last_request.body["generationConfig"].get("mediaResolution")


def fields_of(response: Any) -> list[str]:
    return [problem["field"] for problem in response.json["details"]["fields"]]


def test_the_resolution_reaches_gemini_whole_and_streamed(
    api: ApiClient, fake_gemini: FakeGemini, ws_url: str
) -> None:
    created = api.create_chat(model=GEMINI_3, mediaResolution="low")
    assert created["config"]["mediaResolution"] == "low"
    assert api.get(f"/chat-config/{created['chatConfigId']}").json["mediaResolution"] == "low"
    session = api.start_session(created["chatConfigId"])
    assert session["mediaResolution"] == "low"
    api.send(session, "Hi")
    assert sent_resolution(fake_gemini) == "MEDIA_RESOLUTION_LOW"
    fake_gemini.queue(streamed("Hello"))
    with ws_connect(ws_url) as ws:
        ws.send_message(session, "Hi again")
    assert sent_resolution(fake_gemini) == "MEDIA_RESOLUTION_LOW"
    exported = api.get(f"/session/{session['sessionId']}/export", token=session["sessionToken"])
    assert exported.json["mediaResolution"] == "low"
    api.send(api.new_session(model=GEMINI_3), "Hi")
    assert sent_resolution(fake_gemini) is None


def test_other_models_and_values_are_refused(api: ApiClient) -> None:
    body: dict[str, Any]
    for body, field in (
        ({"model": "gemini-2.5-flash", "mediaResolution": "high"}, "mediaResolution"),
        ({"model": GEMINI_3, "mediaResolution": "ultra"}, "mediaResolution"),
    ):
        response = api.post("/create-chat", {**DEFAULT_CONFIG, **body})
        assert_error(response, 400, "validation_error")
        assert fields_of(response) == [field]
    created = api.create_chat(model=GEMINI_3, mediaResolution="high")
    path, token = f"/chat-config/{created['chatConfigId']}", created["editToken"]
    response = api.put(path, {**DEFAULT_CONFIG, "model": "gemini-2.5-flash"}, token=token)
    assert_error(response, 400, "validation_error")
    assert fields_of(response) == ["model"]
    # Reset with null, the move is fine.
    body = {**DEFAULT_CONFIG, "model": "gemini-2.5-flash", "mediaResolution": None}
    moved = api.put(path, body, token=token)
    assert moved.status == 200, moved.json
    assert moved.json["mediaResolution"] is None


def test_a_session_may_not_set_it_nor_move_to_a_model_without_it(api: ApiClient) -> None:
    session = api.new_session(model=GEMINI_3, mediaResolution="medium")
    path, token = f"/session/{session['sessionId']}", session["sessionToken"]
    response = api.put(path, {"mediaResolution": "low"}, token=token)
    assert_error(response, 400, "validation_error")
    response = api.put(path, {"model": "gemini-2.5-flash"}, token=token)
    assert_error(response, 400, "validation_error")
    assert fields_of(response) == ["model"]
