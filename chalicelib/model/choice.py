"""Which model a send uses now: Gemini when a key is configured, else the offline model."""

from __future__ import annotations

from typing import Literal

from chalicelib.core.errors import ModelUnavailable
from chalicelib.core.settings import Settings, get_settings
from chalicelib.model.base import ChatModel
from chalicelib.model.gemini import GeminiModel, key_from_parameter, key_refused
from chalicelib.model.offline import OfflineModel
from chalicelib.model.stream import GeminiStreamingModel, OfflineStreamingModel, StreamingModel

ModelMode = Literal["gemini", "offline", "unavailable"]


def model_mode(settings: Settings) -> ModelMode:
    """Which model sends will use; does not fetch the key, so /health stays cheap."""
    if settings.gemini_api_key or settings.gemini_api_key_parameter:
        return "gemini"
    return "unavailable" if settings.is_production else "offline"


def model_health(settings: Settings) -> ModelMode | Literal["key_refused"]:
    """`model_mode`, or `key_refused` while Gemini refuses the key (seen by this process)."""
    mode = model_mode(settings)
    return "key_refused" if mode == "gemini" and key_refused() else mode


def get_model(settings: Settings | None = None) -> ChatModel:
    """The model to use now: Gemini when a key is configured, else the offline model.

    `GEMINI_API_KEY` wins over `GEMINI_API_KEY_PARAMETER`. The offline model is
    never used in production; there, no key is an error.
    """
    settings = settings or get_settings()
    key = _gemini_key(settings)
    return GeminiModel(key, settings.model_timeout_seconds) if key else OfflineModel()


def get_streaming_model(settings: Settings) -> StreamingModel:
    """The same choice as `get_model`, for replies streamed as they are written."""
    key = _gemini_key(settings)
    if key is None:
        return OfflineStreamingModel()
    return GeminiStreamingModel(key, settings.model_timeout_seconds)


def gemini_key(settings: Settings) -> str | None:
    """Gemini's key, or None for the offline model (for calls beside a send: caches)."""
    return _gemini_key(settings)


def _gemini_key(settings: Settings) -> str | None:
    """Gemini's key, or None for the offline model."""
    mode = model_mode(settings)
    if mode == "gemini":
        return settings.gemini_api_key or key_from_parameter(settings.gemini_api_key_parameter)
    if mode == "offline":
        return None
    raise ModelUnavailable("The model is not available: no Gemini API key is configured.")
