"""The creator's operations on chat configurations, one function per route.

A config lives in S3; its controls (limits, sharing, deletion) are mirrored
into DynamoDB so that sends can enforce them without reading S3. The store
written first is the one whose lone change does no harm (a new config's
mirror; a deletion mark; an edit in S3, conditional on the version read), and
when the second write fails the first is undone, so a failure leaves the data
as it was. An edit of the controls is written to S3 marked `mirrorPending`
until the mirror has it: if the mirror and then the undo both fail, the mark
stays, and the next read of the config mirrors it, so the two converge.
"""

from __future__ import annotations

import logging
from typing import Any

from chalicelib.core.aws import get_s3_client, get_sessions_table
from chalicelib.core.clients import ANONYMOUS, Caller
from chalicelib.core.clock import utc_now_iso
from chalicelib.core.errors import (
    AppError,
    ConcurrentUpdate,
    ConfigNotFound,
    Forbidden,
    StorageUnavailable,
)
from chalicelib.core.logs import note_ids
from chalicelib.core.settings import get_settings
from chalicelib.core.tokens import (
    EDIT_TOKEN_PREFIX,
    hash_token,
    new_id,
    new_token,
    token_matches,
)
from chalicelib.schemas import (
    AGENT_FIELDS,
    ChatConfigCreate,
    ChatConfigCreated,
    ChatConfigPublic,
    ChatConfigUpdate,
    CreatorLimits,
    EditTokenRotated,
    ensure_knowledge_mode_usable,
    ensure_media_resolution_usable,
    ensure_thinking_usable,
    ensure_tools_usable,
)
from chalicelib.schemas.reply_format import ensure_reply_format_usable
from chalicelib.schemas.safety import ensure_safety_allowed
from chalicelib.services.access import agent_count, ensure_may_create
from chalicelib.services.caching import agent_changed, agent_deleted
from chalicelib.services.file_removal import delete_all_files
from chalicelib.services.knowledge_search import drop_store, knowledge_changed, mode_in_force
from chalicelib.stores.configs import ConfigStore, StoredChatConfig
from chalicelib.stores.controls import ControlsStore
from chalicelib.stores.creations import CreationStore
from chalicelib.stores.files import Owner
from chalicelib.stores.quotas import QuotaStore
from chalicelib.stores.reservations import ReservationStore

logger = logging.getLogger(__name__)


def config_store() -> ConfigStore:
    return ConfigStore(get_s3_client(), get_settings().config_bucket)


def creation_store() -> CreationStore:
    return CreationStore(get_sessions_table())


def quota_store() -> QuotaStore:
    return QuotaStore(get_sessions_table())


def reservation_store() -> ReservationStore:
    return ReservationStore(get_sessions_table())


def controls_store() -> ControlsStore:
    return ControlsStore(get_sessions_table())


def load_config(config_id: str) -> tuple[StoredChatConfig, str]:
    """The config and its ETag, or ConfigNotFound; a pending mirror is brought in step."""
    found = config_store().get(config_id)
    if found is None:
        raise ConfigNotFound()
    note_ids(config_id=config_id)
    return _finish_mirroring(*found) if found[0].mirror_pending else found


def _finish_mirroring(config: StoredChatConfig, etag: str) -> tuple[StoredChatConfig, str]:
    """Mirror an edit whose mirroring failed, and clear its mark; best effort."""
    mirrored = config.model_copy(update={"mirror_pending": False})
    try:
        _mirror(config)
        return mirrored, config_store().replace(mirrored, etag)
    except (StorageUnavailable, ConcurrentUpdate):
        logger.warning("config %s: its controls are still to be mirrored", config.chat_config_id)
        return config, etag


def load_as_creator(config_id: str, token: str) -> tuple[StoredChatConfig, str]:
    config, etag = load_config(config_id)
    if not token_matches(token, config.edit_token_hash):
        raise Forbidden("That token is not this configuration's edit token.")
    return config, etag


def _mirror(config: StoredChatConfig) -> None:
    controls_store().put_controls(
        config.chat_config_id, config.limits, config.limits_version, config.sharing
    )


def create_chat_config(
    request: ChatConfigCreate, own_base_url: str, who: Caller = ANONYMOUS
) -> ChatConfigCreated:
    """A new config. Its share link is under FRONTEND_BASE_URL, else under `own_base_url`:
    the origin (and stage) the request came through, where this app serves the chat page.
    It counts against the server's and the client's agents per day (services/access.py).
    """
    settings = get_settings()
    ensure_may_create(who, settings)
    edit_token = new_token(EDIT_TOKEN_PREFIX)
    now = utc_now_iso()
    # An agent setting left out or null takes its default.
    fields = request.model_dump(exclude={"limits"}, exclude_none=True)
    config = StoredChatConfig(
        **fields,
        limits=CreatorLimits().merged(request.limits) if request.limits else CreatorLimits(),
        chat_config_id=new_id(),
        created_at=now,
        updated_at=now,
        edit_token_hash=hash_token(edit_token),
    )
    ensure_tools_usable(config.model, config.tools)
    ensure_thinking_usable(config.model, config.thinking)
    ensure_media_resolution_usable(config.model, config.media_resolution)
    ensure_safety_allowed(config.safety)
    ensure_knowledge_mode_usable(config.model, config.knowledge_mode, config.tools)
    ensure_reply_format_usable(config.model, config.response_format, config.tools.enabled())
    note_ids(config_id=config.chat_config_id)
    base_url = settings.frontend_base_url or own_base_url
    # The mirror first: without the S3 object, a lone mirror item is never used.
    creation_store().create_agent(
        config.chat_config_id,
        (config.limits, config.limits_version, config.sharing),
        settings.limit_agents_per_day,
        agent_count(who, settings),
    )
    config_store().create(config)
    agent_changed(config.chat_config_id, config.model, config.prompt_text)
    return ChatConfigCreated(
        chat_config_id=config.chat_config_id,
        shareable_url=f"{base_url}/chat/{config.chat_config_id}",
        edit_token=edit_token,
        config=config.to_public(reveal_prompt=True),
    )


def get_chat_config(config_id: str, token: str | None) -> ChatConfigPublic:
    """Anyone may read a config; only its creator sees a private prompt."""
    if token is None:
        config, _ = load_config(config_id)
        return config.to_public()
    config, _ = load_as_creator(config_id, token)
    return config.to_public(reveal_prompt=True)


def embed_origins(config_id: str) -> tuple[str, ...]:
    """The sites that may frame the agent's embed page: none while its embed is off, or
    while the agent is unknown or cannot be read (the page then says why, itself)."""
    try:
        config, _ = load_config(config_id)
    except AppError:
        return ()
    return config.embed.frame_ancestors()


def _replace(old: StoredChatConfig, new: StoredChatConfig, etag: str) -> None:
    store = config_store()
    if not old.mirror_pending and (old.limits, old.sharing) == (new.limits, new.sharing):
        store.replace(new, etag)
        return
    pending_etag = store.replace(new.model_copy(update={"mirror_pending": True}), etag)
    try:
        _mirror(new)
    except StorageUnavailable:
        logger.warning("undoing a config edit whose controls could not be mirrored")
        try:
            store.replace(old, pending_etag)
        except (StorageUnavailable, ConcurrentUpdate):
            # Both stores failed in turn; the mark stays, and the next read mirrors the edit.
            logger.error("config %s: controls not mirrored and edit not undone", new.chat_config_id)
        raise
    try:
        store.replace(new.model_copy(update={"mirror_pending": False}), pending_etag)
    except (StorageUnavailable, ConcurrentUpdate):
        logger.warning(
            "config %s: mirrored, but its mark stays until the next read", new.chat_config_id
        )


def update_chat_config(config_id: str, token: str, request: ChatConfigUpdate) -> ChatConfigPublic:
    config, etag = load_as_creator(config_id, token)
    changes = request.model_dump(exclude_none=True, exclude={"limits", "embed", *AGENT_FIELDS})
    changes.update(_agent_changes(request))
    if request.embed is not None:
        changes["embed"] = request.embed
    limits = config.limits.merged(request.limits) if request.limits else config.limits
    if limits != config.limits:
        changes.update(limits=limits, limits_version=config.limits_version + 1)
    updated = config.model_copy(update={**changes, "updated_at": utc_now_iso()})
    if updated.tools != config.tools or updated.model != config.model:
        # A model without the tools already on is refused as the model's fault.
        field = "tools" if "tools" in changes else "model"
        ensure_tools_usable(updated.model, updated.tools, field)
    if updated.thinking != config.thinking or updated.model != config.model:
        field = "thinking" if "thinking" in changes else "model"
        ensure_thinking_usable(updated.model, updated.thinking, field)
    if updated.media_resolution != config.media_resolution or updated.model != config.model:
        field = "mediaResolution" if "media_resolution" in changes else "model"
        ensure_media_resolution_usable(updated.model, updated.media_resolution, field)
    if "safety" in changes:
        ensure_safety_allowed(updated.safety)
    if (updated.knowledge_mode, updated.model, updated.tools) != (
        config.knowledge_mode,
        config.model,
        config.tools,
    ):
        # The field named is the one whose value changed.
        field = next(
            (
                name
                for name, moved in (
                    ("knowledgeMode", updated.knowledge_mode != config.knowledge_mode),
                    ("tools", updated.tools != config.tools),
                )
                if moved
            ),
            "model",
        )
        ensure_knowledge_mode_usable(updated.model, updated.knowledge_mode, updated.tools, field)
    if (updated.response_format, updated.tools, updated.model) != (
        config.response_format,
        config.tools,
        config.model,
    ):
        # Named by what the creator sent: the format, else the tools, else the model.
        field = next((alias for name, alias in _FORMAT_FIELDS if name in changes), "model")
        ensure_reply_format_usable(
            updated.model, updated.response_format, updated.tools.enabled(), field
        )
    _replace(config, updated, etag)
    agent_changed(config_id, updated.model, updated.prompt_text)
    knowledge_changed(config_id, mode_in_force(updated), updated.model)
    return updated.to_public(reveal_prompt=True)


_FORMAT_FIELDS = (("response_format", "responseFormat"), ("tools", "tools"))


def _agent_changes(request: ChatConfigUpdate) -> dict[str, Any]:
    """The agent settings sent: omitted ones are kept, and null resets one to its default."""
    changes = {}
    for name in AGENT_FIELDS:
        if name in request.model_fields_set:
            value = getattr(request, name)
            default = StoredChatConfig.model_fields[name].get_default(call_default_factory=True)
            changes[name] = default if value is None else value
    return changes


def rotate_edit_token(config_id: str, token: str) -> EditTokenRotated:
    config, etag = load_as_creator(config_id, token)
    new_token_value = new_token(EDIT_TOKEN_PREFIX)
    updated = config.model_copy(
        update={"edit_token_hash": hash_token(new_token_value), "updated_at": utc_now_iso()}
    )
    # Conditional on the version read, so a concurrent rotation cannot be lost.
    config_store().replace(updated, etag)
    return EditTokenRotated(edit_token=new_token_value)


def delete_chat_config(config_id: str, token: str) -> None:
    """Delete a config. Its sessions keep their history but can no longer send."""
    config, _ = load_as_creator(config_id, token)
    controls = controls_store()
    # Mark it deleted first, so no send slips through once the object is gone.
    controls.set_deleted(config.chat_config_id, True)
    try:
        # Its knowledge goes with it; a failure here leaves the config, to delete again.
        delete_all_files(Owner("config", config.chat_config_id, config.chat_config_id))
        config_store().delete(config.chat_config_id)
    except StorageUnavailable:
        controls.set_deleted(config.chat_config_id, False)
        raise
    agent_deleted(config.chat_config_id)
    drop_store(config.chat_config_id)
