"""Thinking: each model takes only the setting it supports (Gemini 3 a level, 2.5 a budget),
the request Gemini gets carries it (whole and streamed), shown thoughts are stored with the
reply and streamed as `thought` frames first, and thinking tokens count in usage."""

from __future__ import annotations

from typing import Any

import pytest

from tests.fake_gemini import FakeGemini, thought_part, with_parts
from tests.utils import DEFAULT_CONFIG, ApiClient, assert_error
from tests.ws_client import ws_connect

THOUGHTS = "Count the letters. "
REPLY = (thought_part(THOUGHTS), thought_part("Three r's."), "There are three.")


def fields_of(response: Any) -> list[str]:
    return [problem["field"] for problem in response.json["details"]["fields"]]


def create(api: ApiClient, model: str, thinking: Any) -> Any:
    return api.post("/create-chat", {**DEFAULT_CONFIG, "model": model, "thinking": thinking})


@pytest.fixture(autouse=True)
def _models(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "ALLOWED_MODELS", "gemini-2.5-flash,gemini-2.5-pro,gemini-3-flash-preview,gemini-2.0-flash"
    )


@pytest.mark.parametrize(
    ("model", "thinking", "field"),
    [
        ("gemini-2.5-flash", {"level": "high"}, "thinking.level"),
        ("gemini-3-flash-preview", {"budget": 1024}, "thinking.budget"),
        ("gemini-2.5-flash", {"level": "low", "budget": 1024}, "thinking"),
        ("gemini-2.5-pro", {"budget": 0}, "thinking.budget"),
        ("gemini-2.5-flash", {"budget": 30000}, "thinking.budget"),
        ("gemini-2.0-flash", {"showThoughts": True}, "thinking.showThoughts"),
        ("gemini-2.5-flash", {"level": "extreme"}, "thinking.level"),
        ("gemini-2.5-flash", {"budget": -1}, "thinking.budget"),
    ],
)
def test_a_setting_the_model_does_not_take_is_refused(
    api: ApiClient, model: str, thinking: dict[str, Any], field: str
) -> None:
    response = create(api, model, thinking)
    assert_error(response, 400, "validation_error")
    assert fields_of(response) == [field]


def test_the_setting_is_shown_copied_and_the_creators_alone(api: ApiClient) -> None:
    created = api.create_chat(model="gemini-2.5-flash", thinking={"budget": 0})
    assert created["config"]["thinking"] == {"level": None, "budget": 0, "showThoughts": False}
    public = api.get(f"/chat-config/{created['chatConfigId']}").json
    assert public["thinking"]["budget"] == 0
    session = api.start_session(created["chatConfigId"])
    assert session["thinking"] == {"level": None, "budget": 0, "showThoughts": False}
    path, token = f"/session/{session['sessionId']}", session["sessionToken"]
    response = api.put(path, {"thinking": {"budget": 100}}, token=token)
    assert_error(response, 400, "validation_error")
    # A model override that does not take the session's setting is the model's fault.
    response = api.put(path, {"model": "gemini-3-flash-preview"}, token=token)
    assert_error(response, 400, "validation_error")
    assert fields_of(response) == ["model"]
    default = api.create_chat()["config"]["thinking"]
    assert default == {"level": None, "budget": None, "showThoughts": False}


def test_an_edit_moving_to_a_model_without_the_setting_is_refused(api: ApiClient) -> None:
    created = api.create_chat(model="gemini-3-flash-preview", thinking={"level": "minimal"})
    path, token = f"/chat-config/{created['chatConfigId']}", created["editToken"]
    body = {**DEFAULT_CONFIG, "model": "gemini-2.5-flash"}
    response = api.put(path, body, token=token)
    assert_error(response, 400, "validation_error")
    assert fields_of(response) == ["model"]
    moved = api.put(path, {**body, "thinking": {"budget": 512}}, token=token)
    assert moved.status == 200, moved.json
    assert moved.json["thinking"]["budget"] == 512


def test_gemini_gets_the_level_or_budget_whole_and_streamed(
    api: ApiClient, fake_gemini: FakeGemini, ws_url: str
) -> None:
    three = api.new_session(model="gemini-3-flash-preview", thinking={"level": "medium"})
    api.send(three, "Hi")
    # As google-genai sends it (Gemini reads either spelling of a field).
    assert fake_gemini.last_request.body["generationConfig"]["thinkingConfig"] == {
        "thinking_level": "MEDIUM"
    }
    flash = api.new_session(thinking={"budget": 2048, "showThoughts": True})
    with ws_connect(ws_url) as ws:
        ws.send_message(flash, "Hi")
    assert fake_gemini.last_request.body["generationConfig"]["thinkingConfig"] == {
        "thinking_budget": 2048,
        "include_thoughts": True,
    }
    plain = api.new_session()
    api.send(plain, "Hi")
    assert "thinkingConfig" not in fake_gemini.last_request.body["generationConfig"]


def test_shown_thoughts_are_stored_and_counted(api: ApiClient, fake_gemini: FakeGemini) -> None:
    session = api.new_session(thinking={"showThoughts": True})
    fake_gemini.queue(with_parts(*REPLY, thoughts_tokens=40))
    sent = api.send(session, "How many r's in strawberry?").json
    assert sent["reply"]["content"] == "There are three."
    assert sent["reply"]["thoughts"] == THOUGHTS + "Three r's."
    assert sent["usage"]["thinkingTokens"] == 40
    assert sent["usage"]["totalTokens"] >= 40 + sent["usage"]["replyTokens"]
    token = session["sessionToken"]
    history = api.get(f"/session/{session['sessionId']}", token=token).json["messages"]
    assert history[1]["thoughts"] == THOUGHTS + "Three r's."
    markdown = api.get(
        f"/session/{session['sessionId']}/export?format=markdown", token=token
    ).raw.decode()
    assert "> *Thoughts*\n>\n> Count the letters. Three r's.\n\nThere are three." in markdown


def test_thoughts_stream_as_their_own_frames_before_the_deltas(
    api: ApiClient, fake_gemini: FakeGemini, ws_url: str
) -> None:
    session = api.new_session(thinking={"showThoughts": True})
    fake_gemini.queue(with_parts(*REPLY, thoughts_tokens=40))
    with ws_connect(ws_url) as ws:
        frames = ws.send_message(session, "How many r's?")
    kinds = [frame["type"] for frame in frames]
    assert kinds[0] == "start" and kinds[-1] == "done"
    thoughts = [frame["text"] for frame in frames if frame["type"] == "thought"]
    assert "".join(thoughts) == THOUGHTS + "Three r's."
    assert kinds.index("delta") > max(i for i, kind in enumerate(kinds) if kind == "thought")
    deltas = "".join(frame["text"] for frame in frames if frame["type"] == "delta")
    assert deltas == "There are three."
    done = frames[-1]["result"]
    assert done["reply"]["thoughts"] == THOUGHTS + "Three r's."
    assert done["usage"]["thinkingTokens"] == 40
