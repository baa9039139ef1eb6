"""One function per API operation, wiring settings, stores and the model.

Routes call exactly one of these. Missing items come back from the stores as
None; here they become the domain errors the API reports.
"""

from __future__ import annotations

from chalicelib import chat
from chalicelib.aws import get_s3_client, get_sessions_table
from chalicelib.clock import utc_now_iso
from chalicelib.configs import ConfigStore, StoredChatConfig
from chalicelib.errors import ConfigNotFound, Forbidden, SessionNotFound, SettingsLocked
from chalicelib.gemini import get_model, model_mode
from chalicelib.schemas import (
    ChatConfigCreate,
    ChatConfigCreated,
    ChatConfigPublic,
    ChatConfigUpdate,
    Health,
    MessageReply,
    MessageSend,
    SessionCreate,
    SessionCreated,
    SessionSettings,
    SessionUpdate,
    SessionView,
)
from chalicelib.sessions import SessionRecord, SessionStore
from chalicelib.settings import get_settings
from chalicelib.tokens import (
    EDIT_TOKEN_PREFIX,
    SESSION_TOKEN_PREFIX,
    hash_token,
    is_valid_id,
    new_id,
    new_token,
    token_matches,
)

# Messages GET /session returns: the latest ones, oldest first.
SESSION_VIEW_MESSAGES = 100


def config_store() -> ConfigStore:
    return ConfigStore(get_s3_client(), get_settings().config_bucket)


def session_store() -> SessionStore:
    return SessionStore(get_sessions_table())


def health() -> Health:
    return Health(status="ok", model=model_mode(get_settings()))


# --- chat configurations -------------------------------------------------------


def _load_config(config_id: str) -> tuple[StoredChatConfig, str]:
    found = config_store().get(config_id) if is_valid_id(config_id) else None
    if found is None:
        raise ConfigNotFound()
    return found


def create_chat_config(request: ChatConfigCreate) -> ChatConfigCreated:
    edit_token = new_token(EDIT_TOKEN_PREFIX)
    now = utc_now_iso()
    config = StoredChatConfig(
        **request.model_dump(),
        chat_config_id=new_id(),
        created_at=now,
        updated_at=now,
        edit_token_hash=hash_token(edit_token),
    )
    config_store().create(config)
    return ChatConfigCreated(
        chat_config_id=config.chat_config_id,
        shareable_url=f"{get_settings().frontend_base_url}/chat/{config.chat_config_id}",
        edit_token=edit_token,
        config=config.to_public(),
    )


def get_chat_config(config_id: str) -> ChatConfigPublic:
    config, _ = _load_config(config_id)
    return config.to_public()


def update_chat_config(config_id: str, token: str, request: ChatConfigUpdate) -> ChatConfigPublic:
    config, etag = _load_config(config_id)
    if not token_matches(token, config.edit_token_hash):
        raise Forbidden("That token is not this configuration's edit token.")
    changes = request.model_dump(exclude_none=True)
    updated = config.model_copy(update={**changes, "updated_at": utc_now_iso()})
    config_store().replace(updated, etag)
    return updated.to_public()


# --- sessions ------------------------------------------------------------------


def create_session(request: SessionCreate) -> SessionCreated:
    config, _ = _load_config(request.chat_config_id)
    token = new_token(SESSION_TOKEN_PREFIX)
    now = utc_now_iso()
    session = SessionRecord(
        **config.chat_settings(),
        session_id=new_id(),
        chat_config_id=config.chat_config_id,
        token_hash=hash_token(token),
        created_at=now,
        updated_at=now,
    )
    session_store().create(session)
    return SessionCreated(**session.public().model_dump(), session_token=token)


def get_session(session_id: str, token: str) -> SessionView:
    loaded = None
    if is_valid_id(session_id):
        loaded = session_store().load_recent(session_id, max_messages=SESSION_VIEW_MESSAGES)
    session = chat.authorize(loaded[0] if loaded else None, token)
    messages = list(reversed(loaded[1])) if loaded else []
    return SessionView(**session.public().model_dump(), messages=messages)


def update_session(session_id: str, token: str, request: SessionUpdate) -> SessionSettings:
    store = session_store()
    session = chat.authorize(store.get(session_id) if is_valid_id(session_id) else None, token)
    changes = request.changes()
    if not session.allow_session_overrides:
        # Sending a locked setting's current value changes nothing, so it is allowed.
        locked = sorted(
            name
            for name, value in changes.items()
            if name != "title" and value != getattr(session, name)
        )
        if locked:
            raise SettingsLocked(
                "This chat's creator allows changing only the title.",
                details={"locked": locked},
            )
    updated = store.update_settings(session_id, changes, utc_now_iso())
    if updated is None:
        raise SessionNotFound()
    return updated.public()


def send_message(token: str, request: MessageSend) -> MessageReply:
    settings = get_settings()
    store = session_store()
    prepared = chat.prepare_exchange(store, settings, request.session_id, token, request.message)
    reply = get_model(settings).generate(prepared.request)
    return chat.store_exchange(store, prepared, reply)
