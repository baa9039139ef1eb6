"""Settings: defaults, overrides, and clear failures for bad values."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from chalicelib.core.errors import ConfigurationError
from chalicelib.core.settings import DEFAULT_ALLOWED_MODELS, get_settings

ROOT = Path(__file__).resolve().parent.parent.parent


def test_defaults() -> None:
    settings = get_settings()
    assert settings.allowed_models == DEFAULT_ALLOWED_MODELS
    assert settings.default_model == "gemini-2.5-flash"
    assert settings.model_timeout_seconds == 30
    assert settings.history_char_budget == 60000
    assert settings.history_max_messages == 50
    assert settings.max_output_tokens == 2048
    assert settings.cors_allow_origin == "*"
    assert settings.stage == "dev"
    assert settings.gemini_api_key == ""


def test_environment_overrides_are_read_when_used(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALLOWED_MODELS", " a , b,,")
    monkeypatch.setenv("MODEL_TIMEOUT_SECONDS", "2.5")
    monkeypatch.setenv("FRONTEND_BASE_URL", "https://x.example/")
    monkeypatch.setenv("STAGE", "prod")
    settings = get_settings()
    assert settings.allowed_models == ("a", "b")
    assert settings.model_timeout_seconds == 2.5
    assert settings.frontend_base_url == "https://x.example"
    assert settings.is_production


@pytest.mark.parametrize("value", ["soon", "-1", "nan"])
def test_bad_numbers_fail_clearly(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("HISTORY_CHAR_BUDGET", value)
    with pytest.raises(ConfigurationError, match="HISTORY_CHAR_BUDGET"):
        get_settings()


@pytest.mark.parametrize("name", ["HISTORY_CHAR_BUDGET", "LIMIT_MESSAGES_PER_DAY"])
def test_infinite_numbers_fail_clearly(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    monkeypatch.setenv(name, "inf")
    with pytest.raises(ConfigurationError, match=name):
        get_settings()


@pytest.mark.parametrize("value", ["1001", "-1", "many"])
def test_history_max_messages_stays_within_one_query_page(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("HISTORY_MAX_MESSAGES", value)
    with pytest.raises(ConfigurationError, match="HISTORY_MAX_MESSAGES"):
        get_settings()


@pytest.mark.parametrize("value", ["1e50", "1000000001"])
def test_limits_a_server_sets_are_numbers_dynamodb_stores(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("LIMIT_MESSAGES_PER_DAY", value)
    with pytest.raises(ConfigurationError, match="LIMIT_MESSAGES_PER_DAY must be at most"):
        get_settings()
    monkeypatch.setenv("LIMIT_MESSAGES_PER_DAY", "1e9")
    assert get_settings().limit_messages_per_day == 1_000_000_000


def test_allowed_tools_default_to_all_and_can_be_narrowed(monkeypatch: pytest.MonkeyPatch) -> None:
    assert get_settings().allowed_tools == ("googleSearch", "urlContext", "codeExecution")
    monkeypatch.setenv("ALLOWED_TOOLS", " urlContext, ,urlContext")
    assert get_settings().allowed_tools == ("urlContext",)
    monkeypatch.setenv("ALLOWED_TOOLS", "None")
    assert get_settings().allowed_tools == ()


def test_an_unknown_tool_fails_clearly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALLOWED_TOOLS", "googleSearch,imageGeneration")
    with pytest.raises(ConfigurationError, match="ALLOWED_TOOLS"):
        get_settings()


@pytest.mark.parametrize(
    "value",
    ["gemini 2.5 flash", "Gemini-2.5-Flash", "models/gemini-2.5-flash", "gemini-2.5-flash;", "-x"],
)
def test_a_model_name_not_shaped_like_a_gemini_id_fails_clearly(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("ALLOWED_MODELS", f"gemini-2.5-flash,{value}")
    with pytest.raises(ConfigurationError, match="ALLOWED_MODELS must list Gemini model ids"):
        get_settings()


def test_gemini_model_ids_are_allowed_once_each(monkeypatch: pytest.MonkeyPatch) -> None:
    ids = "gemini-2.5-flash, gemini-3-pro-preview,gemma-3-27b-it,gemini-2.5-flash"
    monkeypatch.setenv("ALLOWED_MODELS", ids)
    assert get_settings().allowed_models == (
        "gemini-2.5-flash",
        "gemini-3-pro-preview",
        "gemma-3-27b-it",
    )


def test_a_bad_model_list_stops_the_app_at_start() -> None:
    """As `chalice local` imports the app: the error names the setting, before any request."""
    result = subprocess.run(
        [sys.executable, "-c", "import app"],
        cwd=ROOT,
        env={**os.environ, "ALLOWED_MODELS": "gemini 2.5"},
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0
    assert "ConfigurationError: ALLOWED_MODELS must list Gemini model ids" in result.stderr
