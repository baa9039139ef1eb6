"""The conversation service: the history a message follows, within its budget, and the
model request it makes.

A send is three separable steps, so a streaming transport can reuse them:
`prepare_exchange` (read and authorize), the model call, and
`storing.store_exchange`. Nothing is stored unless the model answered.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from chalicelib.core.clock import utc_now_iso
from chalicelib.core.errors import (
    Forbidden,
    InvalidAttachment,
    MessageNotFound,
    ModelError,
    SessionNotFound,
    StorageUnavailable,
    TooManyBranches,
)
from chalicelib.core.safety import thresholds_in_force
from chalicelib.core.settings import Settings
from chalicelib.core.tokens import token_matches
from chalicelib.core.tools import tools_in_force
from chalicelib.model.base import FilePart, ModelReply, ModelRequest, Turn
from chalicelib.schemas import (
    Attachment,
    ContextInfo,
    StoredMessage,
    Usage,
)
from chalicelib.schemas.reply_format import reply_mismatch, schema_of
from chalicelib.services.caching import context_for
from chalicelib.services.file_context import load_parts, ready_files
from chalicelib.services.knowledge_search import mode_in_force, sent_beside_search, store_for
from chalicelib.stores.files import Owner
from chalicelib.stores.paths import PathState
from chalicelib.stores.records import Reservation
from chalicelib.stores.sessions import SessionRecord, SessionStore
from chalicelib.stores.tree import PathMessage, PathView

# Runs an active path may hold (each about 60 bytes of the session item, which every
# send reads): a fork that would pass it is refused before the model is asked.
MAX_PATH_RUNS = 500
# Versions one message may have (its parent lists them, about 30 bytes each, and the
# parent is read with a send's history): past it, an edit or a regeneration is refused.
MAX_VERSIONS = 1000


@dataclass(frozen=True)
class PreparedExchange:
    session: SessionRecord
    user_message: StoredMessage
    request: ModelRequest
    context: ContextInfo
    # For a regeneration: the reply it is a new sibling of (`user_message` is stored).
    replaces: StoredMessage | None = None
    # Quota held by this session's sends in flight, or left by sends that died.
    held: tuple[Reservation, ...] = ()
    # Where the new messages go in the tree: the path as read and their parent (None: a
    # first message; a regeneration's is its user message). No state: a new session's.
    state: PathState | None = None
    parent: PathMessage | None = None
    # A send (not an edit or a regeneration): one that loses a race goes after the
    # winner, as a conversation's next message, not beside it.
    follows_leaf: bool = False


def authorize(session: SessionRecord | None, token: str) -> SessionRecord:
    """The session, if the token opens it."""
    if session is None:
        raise SessionNotFound()
    if not token_matches(token, session.token_hash):
        raise Forbidden("That token does not open this session.")
    return session


def _no_files(_: StoredMessage) -> tuple[FilePart, ...]:
    return ()


def select_history(
    newest_first: Sequence[StoredMessage],
    new_message: str | StoredMessage,
    char_budget: int,
    max_messages: int,
    files_of: Callable[[StoredMessage], tuple[FilePart, ...]] = _no_files,
) -> list[Turn]:
    """The newest messages (at most `max_messages`) whose text and files fit the budget,
    oldest first, then the new one, each with its files (`files_of`).

    The new message is always sent, even when it alone exceeds the budget.
    The history starts on a user turn, so a reply is never sent without the
    message it answers.
    """
    if isinstance(new_message, str):
        new_message = StoredMessage(id="", role="user", content=new_message, created_at="")
    remaining = char_budget - new_message.context_chars()
    chosen: list[StoredMessage] = []
    for message in newest_first[:max_messages]:
        if message.context_chars() > remaining:
            break
        remaining -= message.context_chars()
        chosen.append(message)
    chosen.reverse()
    while chosen and chosen[0].role != "user":
        chosen.pop(0)
    return [Turn(m.role, m.content, files_of(m)) for m in [*chosen, new_message]]


@dataclass(frozen=True)
class History:
    """What a new message follows: the session, the path's messages before it (newest
    first), whether they reach the first message, and where the new ones go."""

    session: SessionRecord
    messages: Sequence[StoredMessage]
    complete: bool = True
    held: tuple[Reservation, ...] = ()
    state: PathState | None = None
    parent: PathMessage | None = None

    @classmethod
    def of_view(cls, view: PathView, skip: int = 0, parent_at: int | None = None) -> History:
        """The history under `view`'s newest messages but `skip` (an edit's message, a
        regeneration's exchange); the new message hangs from the one at `parent_at`
        (by default the newest kept: where the first skipped hung)."""
        at = skip if parent_at is None else parent_at
        messages = [m.message for m in view.messages[skip:]]
        parent = view.messages[at] if len(view.messages) > at else None
        if parent is None and at and not view.complete:
            raise StorageUnavailable("The message's history could not be read; try again.")
        return cls(view.session, messages, view.complete, view.reservations, view.state, parent)


def prepare_after(
    history: History,
    user_message: StoredMessage,
    settings: Settings,
    replaces: StoredMessage | None = None,
) -> PreparedExchange:
    """The model request for a message after `history` (a regeneration: its user message)."""
    _ensure_room(history)
    session = history.session
    owner = Owner("session", session.session_id, session.chat_config_id)

    def files_of(message: StoredMessage) -> tuple[FilePart, ...]:
        return load_parts(owner, message.attachments) if message.attachments else ()

    contents = select_history(
        history.messages,
        user_message,
        settings.history_char_budget,
        settings.history_max_messages,
        files_of,
    )
    # Exact when the whole path was read; otherwise the running count of the session's
    # messages (every branch's) bounds it.
    counted = session.stored_messages - (2 if replaces else 0)
    read = len(history.messages)
    earlier = read if history.complete else max(read, counted)
    total = earlier + 1
    # A tool the server no longer allows is left out, not refused.
    tools = tools_in_force(session.model, session.tools.enabled(), settings.allowed_tools)
    store = store_for(
        session.chat_config_id, mode_in_force(session), session.model, session.knowledge, settings
    )
    knowledge, cached_content = (
        (sent_beside_search(session.chat_config_id, session.knowledge), None)
        if store
        else context_for(session, settings, with_tools=bool(tools))
    )
    schema = schema_of(session.response_format)
    request = ModelRequest(
        model=session.model,
        system_prompt=session.prompt_text,
        temperature=session.temperature,
        # MAX_OUTPUT_TOKENS stays the ceiling, even if it was lowered since.
        max_output_tokens=min(
            session.max_output_tokens or settings.max_output_tokens, settings.max_output_tokens
        ),
        contents=contents,
        top_p=session.top_p,
        top_k=session.top_k,
        stop_sequences=tuple(session.stop_sequences),
        tools=tools,
        knowledge=knowledge,
        cached_content=cached_content,
        file_search_store=store,
        thinking_level=session.thinking.level,
        thinking_budget=session.thinking.budget,
        include_thoughts=session.thinking.show_thoughts,
        media_resolution=session.media_resolution,
        # A floor raised since the agent was made holds for its sessions too.
        safety=thresholds_in_force(session.safety.by_category(), settings.safety_minimum),
        reply_json=schema is not None,
        reply_schema=schema,
    )
    context = ContextInfo(
        messages_sent=len(contents), messages_total=total, truncated=len(contents) < total
    )
    return PreparedExchange(
        session,
        user_message,
        request,
        context,
        replaces,
        history.held,
        history.state,
        history.parent,
    )


def _ensure_room(history: History) -> None:
    """Refuse a new branch on a path that already holds MAX_PATH_RUNS runs."""
    state = history.state
    parent_id = history.parent.message.id if history.parent else None
    if state is None or state.extends(parent_id):
        return
    if len(state.cut(parent_id)) >= MAX_PATH_RUNS:
        raise TooManyBranches(details={"limit": MAX_PATH_RUNS})
    versions = (history.parent.kids or 1) if history.parent else state.roots()
    if versions >= MAX_VERSIONS:
        raise TooManyBranches(
            f"This message already has {MAX_VERSIONS:,} versions; edit another, or send on.",
            details={"limit": MAX_VERSIONS},
        )


def load_authorized(
    store: SessionStore,
    session_id: str,
    token: str,
    max_messages: int,
    char_budget: int | None = None,
    at: str | None = None,
) -> PathView:
    """The session and its active path's newest messages (from `at` down), if the token
    opens it."""
    # Never fewer than one: the newest is the new message's parent.
    try:
        view = store.load_view(
            session_id, max_messages=max(1, max_messages), char_budget=char_budget, at=at
        )
    except MessageNotFound:
        # Only to a holder of the session: whether it has the message.
        authorize(store.get(session_id), token)
        raise
    authorize(view.session if view else None, token)
    assert view is not None  # authorize refuses a missing session
    return view


def attachments_of(session: SessionRecord, file_ids: Sequence[str]) -> list[Attachment] | None:
    """The session's completed files with these ids, or InvalidAttachment."""
    if not file_ids:
        return None
    wanted = list(dict.fromkeys(file_ids))
    found = ready_files(Owner("session", session.session_id, session.chat_config_id), wanted)
    if len(found) != len(wanted):
        missing = sorted(set(wanted) - {file.file_id for file in found})
        raise InvalidAttachment(details={"fileIds": missing})
    return found


def prepare_exchange(
    store: SessionStore,
    settings: Settings,
    session_id: str,
    token: str,
    text: str,
    attachments: Sequence[str] = (),
) -> PreparedExchange:
    # The history that may be sent, read with the session in one Query page.
    view = load_authorized(
        store, session_id, token, settings.history_max_messages, settings.history_char_budget
    )
    prepared = prepare_after(
        History.of_view(view), new_user_message(view.session, text, attachments), settings
    )
    return replace(prepared, follows_leaf=True)


def new_user_message(
    session: SessionRecord, text: str, attachments: Sequence[str] = ()
) -> StoredMessage:
    return StoredMessage(
        id="",
        role="user",
        content=text,
        created_at=utc_now_iso(),
        attachments=attachments_of(session, attachments),
    )


def prepare_for_caller(
    session: SessionRecord,
    earlier: Sequence[StoredMessage],
    text: str,
    settings: Settings,
    held: tuple[Reservation, ...] = (),
    view: PathView | None = None,
) -> PreparedExchange:
    """An exchange whose history the caller holds (an API call's), newest first, after
    `view`'s path when it continues a stored session: the agent's settings, knowledge and
    tools as for a visitor's send."""
    user_message = StoredMessage(id="", role="user", content=text, created_at=utc_now_iso())
    history = History(session, list(earlier), True, held)
    if view is not None:
        history = replace(History.of_view(view), session=session, messages=list(earlier))
    return prepare_after(history, user_message, settings)


def load_conversation(store: SessionStore, settings: Settings, session_id: str) -> PathView:
    """A session's history as a send reads it, for a caller its holder has already checked."""
    view = store.load_view(
        session_id,
        max_messages=max(1, settings.history_max_messages),
        char_budget=settings.history_char_budget,
    )
    if view is None:
        raise SessionNotFound()
    return view


def ensure_reply_format(request: ModelRequest, reply: ModelReply) -> None:
    """A reply asked for as JSON that does not parse, or does not follow its schema, is the
    model's failure (model_error), so it is never stored. A stopped reply is what the client
    chose to keep, and an empty one a blocked reply (the /v1 endpoints' content_filter)."""
    if not request.reply_json or reply.stopped or not reply.text:
        return
    mismatch = reply_mismatch(reply.text, request.reply_schema)
    if mismatch is not None:
        if reply.cut_short:
            # The likeliest cause of JSON that stops midway, so the message says so.
            mismatch["message"] += " (the reply met its maxOutputTokens)"
        where = f" at {mismatch['path']}" if "path" in mismatch else ""
        raise ModelError(
            f"The model's reply is not JSON that follows the reply format{where}: "
            f"{mismatch['message']}",
            details=mismatch,
        )


def usage_of(reply: ModelReply) -> Usage:
    """The tokens of a model call, as stored and counted."""
    return Usage.of(
        reply.prompt_tokens,
        reply.reply_tokens,
        reply.tool_use_prompt_tokens,
        reply.thinking_tokens,
        reply.cached_tokens,
    )
