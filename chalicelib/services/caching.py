"""When a send uses the agent's context cache, and keeping the cache in step with the agent.

A session's context (model, system prompt, knowledge) goes into a cache when its
estimate reaches CONTEXT_CACHE_MIN_TOKENS and it is the agent's current context.
The first such send creates the cache; later ones name it (no knowledge is read
from S3 then), and one within REFRESH_WITHIN_SECONDS of its expiry extends it. An
edit of the agent, or of its knowledge, records the new context and deletes the old
cache; so does a deletion. Whatever fails, the content is sent inline.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import time

from chalicelib.core.aws import get_sessions_table
from chalicelib.core.errors import AppError, ModelError
from chalicelib.core.settings import Settings, get_settings
from chalicelib.model.base import FilePart, ModelRequest
from chalicelib.model.cache import GeminiCaches
from chalicelib.model.choice import gemini_key, model_mode
from chalicelib.schemas import Attachment
from chalicelib.services.file_context import load_parts, ready_files
from chalicelib.services.knowledge_search import store_lost
from chalicelib.stores.caches import CacheRegistry
from chalicelib.stores.files import Owner
from chalicelib.stores.records import SessionRecord

logger = logging.getLogger(__name__)

TTL_SECONDS = 3600
# A send this close to the cache's expiry extends it by TTL_SECONDS.
REFRESH_WITHIN_SECONDS = 1800
# A cache this close to its expiry is not used: the request might outlive it.
SAFETY_MS = 60_000
# How Gemini answers a request naming a cache it no longer has (deleted, expired early).
CACHE_LOST_STATUSES = (403, 404)


def registry() -> CacheRegistry:
    return CacheRegistry(get_sessions_table())


def fingerprint(model: str, system_prompt: str, knowledge: list[Attachment]) -> str:
    described = [model, system_prompt, [file.file_id for file in knowledge]]
    return hashlib.sha256(json.dumps(described).encode()).hexdigest()


def estimated_tokens(system_prompt: str, knowledge: list[Attachment]) -> int:
    """About 4 characters a token, with each file's estimate (see Attachment.estimated_chars)."""
    return (len(system_prompt) + sum(file.estimated_chars() for file in knowledge)) // 4


def _caches(settings: Settings) -> GeminiCaches | None:
    """Gemini's caches, or None where sends do not go to Gemini (the offline model)."""
    if model_mode(settings) != "gemini":
        return None
    key = gemini_key(settings)
    return GeminiCaches(key) if key else None


def _knowledge(session: SessionRecord) -> tuple[FilePart, ...]:
    if not session.knowledge:
        return ()
    owner = Owner("config", session.chat_config_id, session.chat_config_id)
    return load_parts(owner, session.knowledge)


def context_for(
    session: SessionRecord, settings: Settings, *, with_tools: bool = False
) -> tuple[tuple[FilePart, ...], str | None]:
    """The knowledge to send inline, and the cache to name instead (then no knowledge).

    A request with tools sends its context inline: Gemini refuses tools beside a cached
    content that was made without them.
    """
    prompt = session.prompt_text
    if (
        with_tools
        or estimated_tokens(prompt, session.knowledge) < settings.context_cache_min_tokens
    ):
        return _knowledge(session), None
    caches = _caches(settings)
    if caches is None:
        return _knowledge(session), None
    try:
        name = _cache_name(session, settings, caches)
    except AppError:
        logger.warning("the context cache is not available; sending the context inline")
        name = None
    return ((), name) if name else (_knowledge(session), None)


def _cache_name(session: SessionRecord, settings: Settings, caches: GeminiCaches) -> str | None:
    config_id = session.chat_config_id
    current = fingerprint(session.model, session.prompt_text, session.knowledge)
    record = registry().read(config_id)
    if record is None or record.fingerprint != current:
        return None  # not the agent's current context (an older session, or an override)
    now_ms = int(time.time() * 1000)
    if record.live(now_ms, SAFETY_MS) and record.name:
        if record.expires_ms - now_ms < REFRESH_WITHIN_SECONDS * 1000:
            try:
                registry().extended(config_id, record.name, caches.extend(record.name, TTL_SECONDS))
            except ModelError:
                pass  # still usable until it expires
        return record.name
    created = caches.create(session.model, session.prompt_text, _knowledge(session), TTL_SECONDS)
    if registry().attach(config_id, current, created.name, created.expires_ms, now_ms):
        logger.info("made the agent's context cache (%d tokens)", created.tokens)
        return created.name
    caches.delete(created.name)  # another send made one first, or the agent changed
    return None


def context_lost(request: ModelRequest, error: ModelError) -> bool:
    """Whether the model refused the request because its named cache or store is gone."""
    status = (error.details or {}).get("modelStatus") if isinstance(error.details, dict) else None
    named = request.cached_content is not None or request.file_search_store is not None
    return named and status in CACHE_LOST_STATUSES


def inline_instead(request: ModelRequest, session: SessionRecord) -> ModelRequest:
    """The request with its context inline, once Gemini lost the cache or File Search store
    it named; the record of either goes, so a later send makes a new one."""
    if request.file_search_store is not None:
        store_lost(session.chat_config_id, request.file_search_store)
        return dataclasses.replace(request, file_search_store=None, knowledge=_knowledge(session))
    assert request.cached_content is not None
    logger.warning("the context cache is gone at Gemini; sending the context inline")
    try:
        registry().lost(session.chat_config_id, request.cached_content)
    except AppError:
        logger.warning(
            "config %s: its lost context cache is still recorded", session.chat_config_id
        )
    return dataclasses.replace(request, cached_content=None, knowledge=_knowledge(session))


def _drop(old_name: str | None) -> None:
    caches = _caches(get_settings()) if old_name else None
    if caches and old_name:
        caches.delete(old_name)


def agent_changed(config_id: str, model: str, system_prompt: str) -> None:
    """Record the agent's new context and drop its old cache. Best effort: a failure
    costs only the cache (sessions send inline)."""
    try:
        knowledge = ready_files(Owner("config", config_id, config_id))
        _drop(registry().set_fingerprint(config_id, fingerprint(model, system_prompt, knowledge)))
    except AppError:
        logger.warning("config %s: its context cache was not brought up to date", config_id)


def agent_deleted(config_id: str) -> None:
    try:
        _drop(registry().forget(config_id))
    except AppError:
        logger.warning("config %s: its context cache was not dropped", config_id)
