"""The exact request Gemini receives for an agent's Gemini settings, alone and combined,
whole (REST) and streamed (WebSocket): the same generationConfig, tools and safety."""

from __future__ import annotations

from typing import Any

import pytest

from tests.fake_gemini import FakeGemini, RecordedRequest, streamed
from tests.utils import ApiClient
from tests.ws_client import ws_connect

GEMINI_3 = "gemini-3-flash-preview"
# What every request carries from the default agent (tests/utils.DEFAULT_CONFIG).
BASE_CONFIG = {"temperature": 0.7, "maxOutputTokens": 2048}

CASES: list[tuple[str, dict[str, Any], dict[str, Any]]] = [
    ("defaults", {}, {"generationConfig": {}}),
    (
        "code execution and thoughts at a level",
        {
            "model": GEMINI_3,
            "tools": {"codeExecution": True},
            "thinking": {"level": "low", "showThoughts": True},
        },
        {
            "tools": [{"codeExecution": {}}],
            "generationConfig": {
                "thinkingConfig": {"thinking_level": "LOW", "include_thoughts": True}
            },
        },
    ),
    (
        "a budget, search and safety",
        {
            "tools": {"googleSearch": True, "urlContext": True},
            "thinking": {"budget": 0},
            "safety": {"hateSpeech": "BLOCK_ONLY_HIGH"},
        },
        {
            "tools": [{"googleSearch": {}}, {"urlContext": {}}],
            "generationConfig": {"thinkingConfig": {"thinking_budget": 0}},
            "safetySettings": [
                {"category": "HARM_CATEGORY_HATE_SPEECH", "threshold": "BLOCK_ONLY_HIGH"}
            ],
        },
    ),
    (
        "everything on Gemini 3",
        {
            "model": GEMINI_3,
            "topP": 0.5,
            "topK": 20,
            "stopSequences": ["END"],
            "tools": {"googleSearch": True, "urlContext": True, "codeExecution": True},
            "thinking": {"level": "high", "showThoughts": True},
            "safety": {"harassment": "BLOCK_LOW_AND_ABOVE", "dangerousContent": "BLOCK_NONE"},
            "mediaResolution": "medium",
        },
        {
            "tools": [{"googleSearch": {}}, {"urlContext": {}}, {"codeExecution": {}}],
            "generationConfig": {
                "topP": 0.5,
                "topK": 20.0,
                "stopSequences": ["END"],
                "thinkingConfig": {"thinking_level": "HIGH", "include_thoughts": True},
                "mediaResolution": "MEDIA_RESOLUTION_MEDIUM",
            },
            "safetySettings": [
                {"category": "HARM_CATEGORY_HARASSMENT", "threshold": "BLOCK_LOW_AND_ABOVE"},
                {"category": "HARM_CATEGORY_DANGEROUS_CONTENT", "threshold": "BLOCK_NONE"},
            ],
        },
    ),
]


@pytest.fixture(autouse=True)
def _models(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALLOWED_MODELS", f"gemini-2.5-flash,{GEMINI_3}")


def settings_sent(request: RecordedRequest) -> dict[str, Any]:
    """The parts of the request an agent's Gemini settings decide."""
    body = request.body
    sent: dict[str, Any] = {
        name: body[name] for name in ("tools", "safetySettings") if name in body
    }
    sent["generationConfig"] = {
        name: value
        for name, value in body["generationConfig"].items()
        if name not in BASE_CONFIG or value != BASE_CONFIG[name]
    }
    return sent


@pytest.mark.parametrize(
    ("agent", "expected"), [case[1:] for case in CASES], ids=[c[0] for c in CASES]
)
def test_the_request_whole_and_streamed(
    api: ApiClient,
    fake_gemini: FakeGemini,
    ws_url: str,
    agent: dict[str, Any],
    expected: dict[str, Any],
) -> None:
    session = api.new_session(**agent)
    assert api.send(session, "Hi").status == 200
    whole = fake_gemini.last_request
    assert ":generateContent" in whole.path
    assert settings_sent(whole) == expected
    fake_gemini.queue(streamed("Hello"))
    with ws_connect(ws_url) as ws:
        assert ws.send_message(session, "Hi again")[-1]["type"] == "done"
    streamed_request = fake_gemini.last_request
    assert ":streamGenerateContent" in streamed_request.path
    assert settings_sent(streamed_request) == expected
