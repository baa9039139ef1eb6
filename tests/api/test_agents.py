"""Agent settings: greeting, starters, generation settings and tools; their validation,
where they are stored and copied, the model/tool table, and what Gemini receives."""

from __future__ import annotations

from typing import Any

import pytest

from tests.fake_gemini import FakeGemini, streamed
from tests.utils import ApiClient, assert_error
from tests.ws_client import ws_connect

AGENT: dict[str, Any] = {
    "greeting": "Ahoy! Ask me anything about knots.",
    "starters": ["How do I tie a bowline?", "What is a reef knot?"],
    "topP": 0.8,
    "topK": 40,
    "maxOutputTokens": 512,
    "stopSequences": ["END", "###"],
    "tools": {"googleSearch": True, "urlContext": True, "codeExecution": True},
}
DEFAULTS: dict[str, Any] = {
    "greeting": "",
    "starters": [],
    "topP": None,
    "topK": None,
    "maxOutputTokens": None,
    "stopSequences": [],
    "tools": {"googleSearch": False, "urlContext": False, "codeExecution": False},
}


def agent_fields(body: dict[str, Any]) -> dict[str, Any]:
    return {name: body[name] for name in AGENT}


def fields_of(response: Any) -> list[str]:
    return [problem["field"] for problem in response.json["details"]["fields"]]


# --- validation --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value", "reported"),
    [
        ("greeting", "x" * 1001, "greeting"),
        ("greeting", 5, "greeting"),
        ("starters", ["a", "b", "c", "d", "e"], "starters"),
        ("starters", ["x" * 201], "starters.0"),
        ("starters", ["fine", "   "], "starters.1"),
        ("starters", [""], "starters.0"),
        ("starters", "not a list", "starters"),
        ("topP", 1.5, "topP"),
        ("topP", -0.1, "topP"),
        ("topP", "0.5", "topP"),
        ("topK", 0, "topK"),
        ("topK", 501, "topK"),
        ("topK", 2.5, "topK"),
        ("maxOutputTokens", 0, "maxOutputTokens"),
        ("maxOutputTokens", 2049, "maxOutputTokens"),
        ("stopSequences", ["a", "b", "c", "d", "e", "f"], "stopSequences"),
        ("stopSequences", ["x" * 51], "stopSequences.0"),
        ("stopSequences", [""], "stopSequences.0"),
        ("tools", {"googleSearch": "yes"}, "tools.googleSearch"),
        ("tools", {"imageGeneration": True}, "tools.imageGeneration"),
        ("tools", ["googleSearch"], "tools"),
    ],
)
def test_bad_agent_fields_are_a_validation_error(
    api: ApiClient, field: str, value: Any, reported: str
) -> None:
    from tests.utils import DEFAULT_CONFIG

    response = api.post("/create-chat", {**DEFAULT_CONFIG, field: value})
    assert_error(response, 400, "validation_error")
    assert reported in fields_of(response), response.json


def test_limits_at_their_edges_are_accepted(api: ApiClient) -> None:
    created = api.create_chat(
        greeting="g" * 1000,
        starters=["s" * 200] * 4,
        topP=1,
        topK=500,
        maxOutputTokens=2048.0,
        stopSequences=["x" * 50] * 5,
    )["config"]
    assert created["topP"] == 1 and created["topK"] == 500
    assert created["maxOutputTokens"] == 2048


def test_max_output_tokens_follows_the_server_ceiling(
    api: ApiClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MAX_OUTPUT_TOKENS", "100")
    response = api.post("/create-chat", {"maxOutputTokens": 101, **_base()})
    assert_error(response, 400, "validation_error")
    assert "MAX_OUTPUT_TOKENS" in response.json["details"]["fields"][0]["message"]


def _base() -> dict[str, Any]:
    from tests.utils import DEFAULT_CONFIG

    return dict(DEFAULT_CONFIG)


# --- stored, shown, copied, edited -------------------------------------------------


def test_fields_are_stored_shown_and_copied_into_sessions(api: ApiClient) -> None:
    created = api.create_chat(**AGENT)
    assert agent_fields(created["config"]) == AGENT
    shown = api.get(f"/chat-config/{created['chatConfigId']}").json
    assert agent_fields(shown) == AGENT
    session = api.start_session(created["chatConfigId"])
    assert agent_fields(session) == AGENT
    view = api.get(f"/session/{session['sessionId']}", token=session["sessionToken"]).json
    assert agent_fields(view) == AGENT
    exported = api.get(
        f"/session/{session['sessionId']}/export", token=session["sessionToken"]
    ).json
    assert agent_fields(exported) == AGENT


def test_omitted_fields_take_their_defaults(api: ApiClient) -> None:
    assert agent_fields(api.create_chat()["config"]) == DEFAULTS
    nulls = dict.fromkeys(AGENT)
    assert agent_fields(api.create_chat(**nulls)["config"]) == DEFAULTS


def test_an_edit_keeps_omitted_fields_and_resets_null_ones(api: ApiClient) -> None:
    created = api.create_chat(**AGENT)
    path, token = f"/chat-config/{created['chatConfigId']}", created["editToken"]
    body = {**_base(), "greeting": "Hello again", "topP": None, "starters": None}
    updated = api.put(path, body, token=token)
    assert updated.status == 200, updated.json
    expected = {**AGENT, "greeting": "Hello again", "topP": None, "starters": []}
    assert agent_fields(updated.json) == expected
    assert agent_fields(api.get(path).json) == expected


def test_a_session_may_override_generation_settings_where_allowed(
    api: ApiClient, fake_gemini: FakeGemini
) -> None:
    session = api.new_session(**AGENT)
    path, token = f"/session/{session['sessionId']}", session["sessionToken"]
    change = {"topP": 0.3, "topK": None, "maxOutputTokens": 64, "stopSequences": None}
    updated = api.put(path, change, token=token)
    assert updated.status == 200, updated.json
    assert {name: updated.json[name] for name in change} == {**change, "stopSequences": []}
    api.send(session, "Hi")
    config = fake_gemini.last_request.body["generationConfig"]
    assert config["topP"] == 0.3 and config["maxOutputTokens"] == 64
    assert "topK" not in config and "stopSequences" not in config
    # Greeting, starters and tools are the creator's alone.
    refused = api.put(path, {"greeting": "mine now"}, token=token)
    assert_error(refused, 400, "validation_error")

    locked = api.new_session(**AGENT, allowSessionOverrides=False)
    response = api.put(f"/session/{locked['sessionId']}", {"topK": 3}, token=locked["sessionToken"])
    assert_error(response, 403, "settings_locked")
    assert response.json["details"] == {"locked": ["topK"]}


@pytest.mark.parametrize("value", [1.5, 0, 2049])
def test_session_overrides_are_validated(api: ApiClient, value: float) -> None:
    session = api.new_session()
    field = "topP" if value == 1.5 else "maxOutputTokens"
    response = api.put(
        f"/session/{session['sessionId']}", {field: value}, token=session["sessionToken"]
    )
    assert_error(response, 400, "validation_error")
    assert fields_of(response) == [field]


# --- the model/tool table and ALLOWED_TOOLS ----------------------------------------


@pytest.mark.parametrize(
    ("model", "tools", "refused"),
    [
        ("gemini-2.0-flash-lite", {"googleSearch": True}, ["tools.googleSearch"]),
        ("gemini-2.0-flash-lite", {"codeExecution": True}, ["tools.codeExecution"]),
        ("gemini-2.0-flash", {"urlContext": True}, ["tools.urlContext"]),
        ("gemini-1.5-flash", {"googleSearch": True, "urlContext": True}, None),
    ],
)
def test_a_tool_its_model_lacks_is_refused(
    api: ApiClient,
    monkeypatch: pytest.MonkeyPatch,
    model: str,
    tools: dict[str, bool],
    refused: list[str] | None,
) -> None:
    monkeypatch.setenv("ALLOWED_MODELS", f"gemini-2.5-flash,{model}")
    response = api.post("/create-chat", {**_base(), "model": model, "tools": tools})
    assert_error(response, 400, "validation_error")
    assert fields_of(response) == (refused or ["tools.googleSearch", "tools.urlContext"])
    assert "does not support" in response.json["details"]["fields"][0]["message"]


def test_gemini_2_0_flash_may_search_and_run_code(
    api: ApiClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ALLOWED_MODELS", "gemini-2.0-flash")
    tools = {"googleSearch": True, "codeExecution": True}
    config = api.create_chat(model="gemini-2.0-flash", tools=tools)["config"]
    assert config["tools"] == {"googleSearch": True, "urlContext": False, "codeExecution": True}


def test_changing_to_a_model_without_the_tools_is_refused(
    api: ApiClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ALLOWED_MODELS", "gemini-2.5-flash,gemini-2.0-flash-lite")
    created = api.create_chat(tools={"googleSearch": True})
    path, token = f"/chat-config/{created['chatConfigId']}", created["editToken"]
    response = api.put(path, {**_base(), "model": "gemini-2.0-flash-lite"}, token=token)
    assert_error(response, 400, "validation_error")
    assert fields_of(response) == ["model"]
    assert api.get(path).json["model"] == "gemini-2.5-flash"
    # With the tool switched off in the same edit, the model may change.
    off = {**_base(), "model": "gemini-2.0-flash-lite", "tools": {"googleSearch": False}}
    assert api.put(path, off, token=token).status == 200

    session = api.start_session(api.create_chat(tools={"googleSearch": True})["chatConfigId"])
    response = api.put(
        f"/session/{session['sessionId']}",
        {"model": "gemini-2.0-flash-lite"},
        token=session["sessionToken"],
    )
    assert_error(response, 400, "validation_error")
    assert fields_of(response) == ["model"]


def test_allowed_tools_switches_tools_off_server_wide(
    api: ApiClient, fake_gemini: FakeGemini, monkeypatch: pytest.MonkeyPatch
) -> None:
    session = api.new_session(tools={"googleSearch": True, "urlContext": True})
    monkeypatch.setenv("ALLOWED_TOOLS", "urlContext")
    response = api.post("/create-chat", {**_base(), "tools": {"googleSearch": True}})
    assert_error(response, 400, "validation_error")
    assert "ALLOWED_TOOLS" in response.json["details"]["fields"][0]["message"]
    # An agent made before keeps its setting, but Gemini gets only the allowed tool.
    api.send(session, "Hi")
    assert fake_gemini.last_request.body["tools"] == [{"urlContext": {}}]
    monkeypatch.setenv("ALLOWED_TOOLS", "none")
    api.send(session, "Hi again")
    assert "tools" not in fake_gemini.last_request.body


# --- what Gemini receives ----------------------------------------------------------


def _assert_request_carries_the_agent(body: dict[str, Any]) -> None:
    config = body["generationConfig"]
    assert config["topP"] == 0.8
    assert config["topK"] == 40
    assert config["maxOutputTokens"] == 512
    assert config["stopSequences"] == ["END", "###"]
    assert body["tools"] == [{"googleSearch": {}}, {"urlContext": {}}, {"codeExecution": {}}]
    # The greeting is never sent to the model.
    assert AGENT["greeting"] not in str(body)


def test_settings_and_tools_reach_gemini(api: ApiClient, fake_gemini: FakeGemini) -> None:
    session = api.new_session(**AGENT)
    assert api.send(session, "Hello").status == 200
    _assert_request_carries_the_agent(fake_gemini.last_request.body)


def test_settings_and_tools_reach_the_streamed_call(
    api: ApiClient, fake_gemini: FakeGemini, ws_url: str
) -> None:
    session = api.new_session(**AGENT)
    fake_gemini.queue(streamed("a ", "reply"))
    with ws_connect(ws_url) as ws:
        frames = ws.send_message(session, "Hello")
    assert frames[-1]["type"] == "done", frames[-1]
    assert "streamGenerateContent" in fake_gemini.last_request.path
    _assert_request_carries_the_agent(fake_gemini.last_request.body)


def test_without_settings_gemini_gets_the_server_defaults(
    api: ApiClient, fake_gemini: FakeGemini, monkeypatch: pytest.MonkeyPatch
) -> None:
    session = api.new_session(maxOutputTokens=1000)
    monkeypatch.setenv("MAX_OUTPUT_TOKENS", "300")
    api.send(session, "Hi")
    body = fake_gemini.last_request.body
    # A ceiling lowered since the agent was made still holds.
    assert body["generationConfig"]["maxOutputTokens"] == 300
    assert "topP" not in body["generationConfig"] and "tools" not in body
