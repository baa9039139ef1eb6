"""Gemini's explicit context caches through google-genai: create, extend, delete.

A cache holds an agent's system prompt and knowledge; a request that names it
(`cached_content`) sends neither. Every failure is a ModelError: the caller then
sends the content inline.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from chalicelib.core.errors import ModelError
from chalicelib.model.base import FilePart
from chalicelib.model.gemini import _gemini_client
from chalicelib.model.parts import knowledge_contents

logger = logging.getLogger(__name__)

# Bounds every cache call: it runs before the model call, inside the same request.
CACHE_CALL_SECONDS = 10


@dataclass(frozen=True)
class CachedContent:
    name: str
    # Epoch milliseconds.
    expires_ms: int
    tokens: int


def _expires_ms(expire_time: datetime | None, ttl_seconds: int) -> int:
    if expire_time is None:
        return int((datetime.now(UTC).timestamp() + ttl_seconds) * 1000)
    return int(expire_time.timestamp() * 1000)


class GeminiCaches:
    def __init__(self, api_key: str) -> None:
        self._api_key = api_key

    def create(
        self, model: str, system_prompt: str, knowledge: tuple[FilePart, ...], ttl_seconds: int
    ) -> CachedContent:
        from google.genai import types

        config = types.CreateCachedContentConfig(
            system_instruction=system_prompt or None,
            contents=knowledge_contents(knowledge),
            ttl=f"{ttl_seconds}s",
            display_name="ai-maker agent context",
            http_options=types.HttpOptions(timeout=CACHE_CALL_SECONDS * 1000),
        )
        try:
            cache = _gemini_client(self._api_key).caches.create(model=model, config=config)
        except Exception as exc:  # noqa: BLE001 - any failure means: send inline
            logger.warning("could not create a context cache (%s)", type(exc).__name__)
            raise ModelError("The context cache could not be created.") from None
        if not cache.name:
            raise ModelError("The context cache has no name.")
        usage = cache.usage_metadata
        tokens = usage.total_token_count if usage and usage.total_token_count else 0
        return CachedContent(cache.name, _expires_ms(cache.expire_time, ttl_seconds), tokens)

    def extend(self, name: str, ttl_seconds: int) -> int:
        """Push the cache's expiry to `ttl_seconds` from now; the new expiry (epoch ms)."""
        from google.genai import types

        config = types.UpdateCachedContentConfig(
            ttl=f"{ttl_seconds}s", http_options=types.HttpOptions(timeout=CACHE_CALL_SECONDS * 1000)
        )
        try:
            cache = _gemini_client(self._api_key).caches.update(name=name, config=config)
        except Exception as exc:  # noqa: BLE001 - the cache still works until it expires
            logger.warning("could not extend a context cache (%s)", type(exc).__name__)
            raise ModelError("The context cache could not be extended.") from None
        return _expires_ms(cache.expire_time, ttl_seconds)

    def delete(self, name: str) -> None:
        """Best effort: a cache not deleted expires by itself."""
        from google.genai import types

        try:
            _gemini_client(self._api_key).caches.delete(
                name=name,
                config=types.DeleteCachedContentConfig(
                    http_options=types.HttpOptions(timeout=CACHE_CALL_SECONDS * 1000)
                ),
            )
        except Exception as exc:  # noqa: BLE001 - it expires on its own
            logger.warning("could not delete a context cache (%s)", type(exc).__name__)
