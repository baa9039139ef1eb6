"""Operations on chat sessions, one function per route.

Missing items come back from the stores as None; here they become the domain
errors the API reports.
"""

from __future__ import annotations

from pydantic.alias_generators import to_camel

from chalicelib import chat
from chalicelib.aws import get_sessions_table
from chalicelib.clock import utc_now_iso
from chalicelib.config_service import load_config, quota_store
from chalicelib.errors import AppError, SessionNotFound, SettingsLocked, SharingDisabled
from chalicelib.gemini import get_model, model_mode
from chalicelib.logs import note_ids
from chalicelib.schemas import (
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
from chalicelib.tokens import SESSION_TOKEN_PREFIX, hash_token, is_valid_id, new_id, new_token

# Messages GET /session returns: the latest ones, oldest first.
SESSION_VIEW_MESSAGES = 100


def session_store() -> SessionStore:
    return SessionStore(get_sessions_table())


def health() -> Health:
    return Health(status="ok", model=model_mode(get_settings()))


def create_session(request: SessionCreate) -> SessionCreated:
    config, _ = load_config(request.chat_config_id)
    if not config.sharing:
        raise SharingDisabled()
    token = new_token(SESSION_TOKEN_PREFIX)
    now = utc_now_iso()
    session = SessionRecord(
        **config.chat_settings(),
        session_id=new_id(),
        chat_config_id=config.chat_config_id,
        token_hash=hash_token(token),
        limits_version=config.limits_version,
        session_message_limit=config.limits.messages_per_session,
        daily_message_limit=config.limits.messages_per_day,
        created_at=now,
        updated_at=now,
    )
    note_ids(session_id=session.session_id)
    quota_store().create_session(session, config.limits.in_force().sessions_per_day)
    return SessionCreated(**session.public().model_dump(), session_token=token)


def _authorized(session_id: str, token: str) -> SessionRecord:
    session = session_store().get(session_id) if is_valid_id(session_id) else None
    note_ids(session_id=session_id if session else None)
    return chat.authorize(session, token)


def get_session(session_id: str, token: str) -> SessionView:
    loaded = None
    if is_valid_id(session_id):
        loaded = session_store().load_recent(session_id, max_messages=SESSION_VIEW_MESSAGES)
    session = chat.authorize(loaded[0] if loaded else None, token)
    note_ids(config_id=session.chat_config_id, session_id=session.session_id)
    messages = list(reversed(loaded[1])) if loaded else []
    return SessionView(**session.public().model_dump(), messages=messages)


def _locked_changes(session: SessionRecord, request: SessionUpdate) -> list[str]:
    changes = request.changes()
    locked = set()
    if session.prompt_visibility == "private" and "system_prompt" in changes:
        # Any value is refused: comparing it would let a caller guess the prompt.
        locked.add("system_prompt")
    if not session.allow_session_overrides:
        # Sending a locked setting's current value changes nothing, so it is allowed.
        locked.update(
            name
            for name, value in changes.items()
            if name != "title" and value != getattr(session, name)
        )
    return sorted(to_camel(name) for name in locked)


def update_session(session_id: str, token: str, request: SessionUpdate) -> SessionSettings:
    session = _authorized(session_id, token)
    locked = _locked_changes(session, request)
    if locked:
        raise SettingsLocked(
            "This chat's creator does not allow changing these settings.",
            details={"locked": locked},
        )
    updated = session_store().update_settings(session_id, request.changes(), utc_now_iso())
    if updated is None:
        raise SessionNotFound()
    return updated.public()


def send_message(token: str, request: MessageSend) -> MessageReply:
    settings = get_settings()
    store = session_store()
    note_ids(session_id=request.session_id)
    prepared = chat.prepare_exchange(store, settings, request.session_id, token, request.message)
    note_ids(config_id=prepared.session.chat_config_id)
    model = get_model(settings)
    quotas = quota_store()
    reservation = quotas.reserve_message(prepared.session, settings)
    try:
        reply = model.generate(prepared.request)
        return chat.store_exchange(store, prepared, reply)
    except AppError:
        quotas.release_message(reservation)
        raise
