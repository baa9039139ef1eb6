"""Operations on chat sessions, one function per route.

Missing items come back from the stores as None; here they become the domain
errors the API reports.
"""

from __future__ import annotations

from typing import Any

from pydantic.alias_generators import to_camel

from chalicelib.core.aws import get_s3_client, get_sessions_table
from chalicelib.core.clients import ANONYMOUS, Caller
from chalicelib.core.clock import utc_now_iso
from chalicelib.core.errors import (
    AppError,
    ConfigDeleted,
    ConfigNotFound,
    MessageNotFound,
    SessionNotFound,
    SettingsLocked,
    ShareNotFound,
    SharingDisabled,
    ValidationFailed,
)
from chalicelib.core.logs import note_ids
from chalicelib.core.settings import get_settings
from chalicelib.core.tokens import SESSION_TOKEN_PREFIX, hash_token, new_id, new_token
from chalicelib.model.choice import model_health
from chalicelib.schemas import (
    ActiveSet,
    ExportQuery,
    Health,
    MessagePage,
    MessagePageQuery,
    ModelInfo,
    ModelList,
    SessionCreate,
    SessionCreated,
    SessionExport,
    SessionSettings,
    SessionUpdate,
    SessionView,
    StoredMessage,
    TextBody,
    ensure_media_resolution_usable,
    ensure_thinking_usable,
    ensure_tools_usable,
)
from chalicelib.schemas.reply_format import ensure_reply_format_usable
from chalicelib.services import branching, exchange
from chalicelib.services.access import session_count
from chalicelib.services.configs import creation_store, load_config
from chalicelib.services.file_context import ready_files
from chalicelib.services.file_removal import delete_all_files
from chalicelib.services.markdown import to_markdown
from chalicelib.stores.configs import StoredChatConfig
from chalicelib.stores.files import Owner
from chalicelib.stores.sessions import SessionRecord, SessionStore
from chalicelib.stores.shares import ShareStore
from chalicelib.stores.tree import PathView

# Messages GET /session returns: the latest ones, oldest first.
SESSION_VIEW_MESSAGES = 100
# Messages a switch answers with: the new path's last page, as GET .../messages's default.
ACTIVE_PAGE_MESSAGES = MessagePageQuery.model_fields["limit"].default


def session_store() -> SessionStore:
    return SessionStore(get_sessions_table())


def health() -> Health:
    settings = get_settings()
    return Health(status="ok", model=model_health(settings), websocket_url=settings.websocket_url)


def list_models() -> ModelList:
    settings = get_settings()
    return ModelList(
        models=[
            ModelInfo.of(name, default=name == settings.default_model)
            for name in settings.allowed_models
        ]
    )


def share_store() -> ShareStore:
    return ShareStore(get_sessions_table(), get_s3_client(), get_settings().config_bucket)


def create_session(request: SessionCreate, who: Caller = ANONYMOUS) -> SessionCreated:
    """A new session; `fromShare` starts its history as that snapshot's messages."""
    history = _shared_history(request) if request.from_share else []
    try:
        config, _ = load_config(request.chat_config_id)
    except ConfigNotFound as exc:
        if request.from_share:
            message = "The agent of this shared chat was deleted; it can only be read."
            raise ConfigDeleted(message) from exc
        raise
    token = new_token(SESSION_TOKEN_PREFIX)
    session = start_session(config, hash_token(token), who, history=history)
    return SessionCreated(**session.public().model_dump(), session_token=token)


def _shared_history(request: SessionCreate) -> list[StoredMessage]:
    """The snapshot's messages as a new session's own (without the files, which stay the
    shared session's: a continued chat keeps their names in the shared page only)."""
    shared = share_store().get(request.from_share or "")
    if shared is None:
        raise ShareNotFound()
    if shared.agent.chat_config_id != request.chat_config_id:
        raise ValidationFailed(
            "Invalid fields: chatConfigId.",
            details={
                "fields": [{"field": "chatConfigId", "message": "not the shared chat's agent"}]
            },
        )
    return [
        StoredMessage(
            id=message.id,
            role=message.role,
            content=message.content,
            created_at=message.created_at,
            stopped=message.stopped,
            citations=message.citations,
            parts=message.parts,
            thoughts=message.thoughts,
        )
        for message in shared.messages
    ]


def session_record(config: StoredChatConfig, token_hash: str, **extra: Any) -> SessionRecord:
    """A new session of the config: its settings, limits and knowledge as they are now."""
    now = utc_now_iso()
    return SessionRecord(
        **config.chat_settings(),
        session_id=new_id(),
        chat_config_id=config.chat_config_id,
        token_hash=token_hash,
        limits_version=config.limits_version,
        session_message_limit=config.limits.messages_per_session,
        daily_message_limit=config.limits.messages_per_day,
        daily_token_limit=config.limits.tokens_per_day,
        created_at=now,
        updated_at=now,
        knowledge=ready_files(Owner("config", config.chat_config_id, config.chat_config_id)),
        **extra,
    )


def start_session(
    config: StoredChatConfig,
    token_hash: str,
    who: Caller = ANONYMOUS,
    history: list[StoredMessage] | None = None,
    **extra: Any,
) -> SessionRecord:
    """Store a new session of a shared config, counted against its sessions per day.

    `history`: messages it starts with, stored (not sent: no message limit counts them).
    They go in first and are taken back if the session is refused: until its session
    item is stored, no read sees them."""
    if not config.sharing:
        raise SharingDisabled()
    history = history or []
    session = session_record(config, token_hash, stored_messages=len(history), **extra)
    note_ids(config_id=config.chat_config_id, session_id=session.session_id)
    if history:
        session_store().put_history(session.session_id, history)
    try:
        creation_store().create_session(
            session,
            config.limits.in_force().sessions_per_day,
            session_count(who, get_settings()),
        )
    except AppError:
        if history:
            session_store().remove_history(session.session_id, history)
        raise
    return session


def _authorized(session_id: str, token: str, *, including_deleting: bool = False) -> SessionRecord:
    session = session_store().get(session_id, including_deleting=including_deleting)
    if session:
        note_ids(config_id=session.chat_config_id, session_id=session_id)
    return exchange.authorize(session, token)


def _authorized_view(session_id: str, token: str, max_messages: int) -> PathView:
    """The session and its active path's newest messages, if the token opens it."""
    view = session_store().load_view(session_id, max_messages=max_messages)
    session = exchange.authorize(view.session if view else None, token)
    note_ids(config_id=session.chat_config_id, session_id=session.session_id)
    assert view is not None  # authorize refuses a missing session
    return view


def get_session(session_id: str, token: str) -> SessionView:
    view = _authorized_view(session_id, token, SESSION_VIEW_MESSAGES)
    session = view.session
    messages = [message.public() for message in reversed(view.messages)]
    return SessionView(**session.public().model_dump(), usage=session.usage, messages=messages)


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
    if "model" in request.model_fields_set and request.model != session.model:
        # The session's tools stay on: a model without them is refused.
        ensure_tools_usable(request.model, session.tools, "model")
        ensure_thinking_usable(request.model, session.thinking, "model")
        ensure_media_resolution_usable(request.model, session.media_resolution, "model")
        ensure_reply_format_usable(
            request.model, session.response_format, session.tools.enabled(), "model"
        )
    updated = session_store().update_settings(session_id, request.changes(), utc_now_iso())
    if updated is None:
        raise SessionNotFound()
    return updated.public()


def list_messages(session_id: str, token: str, query: MessagePageQuery) -> MessagePage:
    """A page of the active path's newest messages older than the cursor, oldest first."""
    if query.before is None:
        # The last page: read with the session, in one Query while the last run holds it.
        return _last_page(_authorized_view(session_id, token, query.limit))
    state = _authorized_view(session_id, token, 1).state
    # The cursor is a message id: the page holds the messages before it.
    page, next_id = session_store().load_path_page(session_id, state, query.limit, query.before)
    return MessagePage(messages=[m.public() for m in page], next_cursor=next_id)


def _last_page(view: PathView) -> MessagePage:
    page = [message.public() for message in reversed(view.messages)]
    return MessagePage(messages=page, next_cursor=None if view.complete else page[0].id)


def set_active(session_id: str, token: str, request: ActiveSet) -> MessagePage:
    """Show another branch: the deepest path through a message becomes the active one."""
    state = _authorized_view(session_id, token, 1).state
    store = session_store()
    target = request.message_id
    if request.sibling is not None:
        found = store.child_at(session_id, target, request.sibling)
        if found is None:
            raise MessageNotFound("That message has no sibling at that index.")
        target = found
    new_state = store.switch(session_id, state, target)
    page, next_id = store.load_path_page(session_id, new_state, ACTIVE_PAGE_MESSAGES, None)
    return MessagePage(messages=[m.public() for m in page], next_cursor=next_id)


def delete_session(session_id: str, token: str) -> None:
    """Delete a session; repeating it finishes a deletion that failed half way."""
    session = _authorized(session_id, token, including_deleting=True)
    # Its files first: the session is still there to delete again if this fails.
    delete_all_files(Owner("session", session.session_id, session.chat_config_id))
    # Marked first, so no share is made while its shares are revoked.
    now = utc_now_iso()
    session_store().mark_deleting(session.session_id, now)
    share_store().delete_all(session.session_id)
    session_store().delete(session.session_id, now)


def export_session(session_id: str, token: str, query: ExportQuery) -> SessionExport | TextBody:
    """The whole tree (JSON) or the active path (Markdown, which counts the other branches)."""
    view = _authorized_view(session_id, token, 1)
    session = view.session
    messages = branching.tree_messages(session_store().load_tree(session.session_id))
    export = SessionExport(
        **session.public().model_dump(),
        usage=session.usage,
        exported_at=utc_now_iso(),
        messages=messages,
        active_leaf_id=view.state.leaf,
    )
    if query.format == "markdown":
        path = branching.path_to(messages, view.state.leaf)
        text = to_markdown(export, path, branching.other_branches(messages))
        return TextBody(text, "text/markdown; charset=utf-8")
    return export
