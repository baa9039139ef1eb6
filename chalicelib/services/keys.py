"""An agent's API keys: the creator makes, lists and revokes them with the edit token, and
a call to the /v1 endpoints is let in by one.

lastUsedAt is written at most once an hour per key (LAST_USED_EVERY), conditional on the
value the call read, so a busy key costs no write per call and concurrent calls at the
turn of the hour write it once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from chalicelib.core.aws import get_sessions_table
from chalicelib.core.clock import utc_now_iso
from chalicelib.core.errors import ConfigNotFound, InvalidApiKey, NotFound, StorageUnavailable
from chalicelib.core.logs import note_ids
from chalicelib.core.tokens import API_KEY_PREFIX, hash_token, new_id, new_token
from chalicelib.schemas.keys import (
    MAX_API_KEYS,
    ApiKeyCreate,
    ApiKeyCreated,
    ApiKeyList,
    ApiKeyPublic,
)
from chalicelib.services.configs import load_as_creator, load_config
from chalicelib.stores.configs import StoredChatConfig
from chalicelib.stores.keys import ApiKeyRecord, ApiKeyStore, KeyInUse

logger = logging.getLogger(__name__)

LAST_USED_EVERY = timedelta(hours=1)


def key_store() -> ApiKeyStore:
    return ApiKeyStore(get_sessions_table())


def create_key(config_id: str, token: str, request: ApiKeyCreate) -> ApiKeyCreated:
    config, _ = load_as_creator(config_id, token)
    api_key = new_token(API_KEY_PREFIX)
    record = ApiKeyRecord(
        key_id=new_id(),
        config_id=config.chat_config_id,
        name=request.name,
        created_at=utc_now_iso(),
        key_hash=hash_token(api_key),
    )
    key_store().create(record, MAX_API_KEYS)
    return ApiKeyCreated(
        key_id=record.key_id, name=record.name, api_key=api_key, created_at=record.created_at
    )


def list_keys(config_id: str, token: str) -> ApiKeyList:
    config, _ = load_as_creator(config_id, token)
    return ApiKeyList(
        keys=[
            ApiKeyPublic(
                key_id=key.key_id,
                name=key.name,
                created_at=key.created_at,
                last_used_at=key.last_used_at,
            )
            for key in key_store().of_agent(config.chat_config_id)
        ]
    )


def revoke_key(config_id: str, token: str, key_id: str) -> None:
    config, _ = load_as_creator(config_id, token)
    if not key_store().revoke(config.chat_config_id, key_id):
        raise NotFound("This agent has no API key with that id.", details={"keyId": key_id})


@dataclass(frozen=True)
class Agent:
    """What a call with an API key reaches: the key (with its calls in flight) and its agent."""

    key: KeyInUse
    config: StoredChatConfig

    @property
    def config_id(self) -> str:
        return self.config.chat_config_id


def authenticate(api_key: str) -> Agent:
    """The key's agent, or InvalidApiKey: an unknown or revoked key, or a deleted agent."""
    if not api_key.startswith(API_KEY_PREFIX):
        raise InvalidApiKey()
    found = key_store().find(hash_token(api_key))
    if found is None:
        raise InvalidApiKey()
    try:
        config, _ = load_config(found.key.config_id)
    except ConfigNotFound:
        raise InvalidApiKey() from None
    note_ids(config_id=config.chat_config_id)
    _note_use(found.key)
    return Agent(found, config)


def _note_use(key: ApiKeyRecord) -> None:
    now = datetime.now(UTC)
    if key.last_used_at and datetime.fromisoformat(key.last_used_at) > now - LAST_USED_EVERY:
        return
    try:
        key_store().touch(key, utc_now_iso())
    except StorageUnavailable:
        logger.warning("could not note when API key %s was used", key.key_id)
