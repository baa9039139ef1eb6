"""The model wrapper: choosing a model, the offline model, and lazy imports."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from chalicelib.core.errors import ModelUnavailable
from chalicelib.core.settings import get_settings
from chalicelib.model.base import ModelRequest, Turn
from chalicelib.model.choice import get_model
from chalicelib.model.gemini import GeminiModel, _retry_after_seconds
from chalicelib.model.offline import OfflineModel

ROOT = Path(__file__).resolve().parents[2]


def request(*texts: str) -> ModelRequest:
    turns = [Turn("user" if i % 2 == 0 else "model", t) for i, t in enumerate(texts)]
    return ModelRequest(
        model="gemini-2.5-flash",
        system_prompt="p",
        temperature=0.5,
        max_output_tokens=100,
        contents=turns,
    )


def test_offline_model_is_deterministic_and_says_what_it_is() -> None:
    first = OfflineModel().generate(request("q1", "a1", "hello"))
    assert first == OfflineModel().generate(request("q1", "a1", "hello"))
    assert "offline model" in first.text
    assert '"hello"' in first.text
    assert "2 earlier" in first.text
    assert first.prompt_tokens > 0 and first.reply_tokens > 0


def test_model_choice(monkeypatch: pytest.MonkeyPatch) -> None:
    assert isinstance(get_model(), OfflineModel)
    monkeypatch.setenv("GEMINI_API_KEY", "k")
    assert isinstance(get_model(), GeminiModel)
    monkeypatch.setenv("STAGE", "prod")
    assert isinstance(get_model(), GeminiModel)
    monkeypatch.setenv("GEMINI_API_KEY", " ")
    with pytest.raises(ModelUnavailable):
        get_model(get_settings())


@pytest.mark.parametrize(
    "details, headers, expected",
    [
        ({"error": {"details": [{"retryDelay": "7s"}]}}, {}, 7),
        ({"error": {"details": [{"retryDelay": "0.2s"}]}}, {}, 1),
        ({}, {"retry-after": "12"}, 12),
        ({"error": {"details": ["odd"]}}, {}, None),
        ("not a dict", None, None),
    ],
)
def test_retry_after_parsing(details: object, headers: object, expected: int | None) -> None:
    assert _retry_after_seconds(details, headers) == expected


def test_importing_the_app_does_not_import_genai() -> None:
    code = (
        "import sys, app\n"
        "from chalice.test import Client\n"
        "with Client(app.app) as c:\n"
        "    assert c.http.get('/health').status_code == 200\n"
        "print('google.genai' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"
