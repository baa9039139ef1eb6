"""The conversation service: history budget, the model call, storing the exchange.

A send is three separable steps, so a streaming transport can reuse them:
`prepare_exchange` (read and authorize), the model call, and
`store_exchange`. Nothing is stored unless the model answered.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from chalicelib.core.clock import utc_now_iso
from chalicelib.core.errors import (
    Forbidden,
    InvalidAttachment,
    ModelError,
    NothingToRegenerate,
    SessionNotFound,
)
from chalicelib.core.safety import thresholds_in_force
from chalicelib.core.settings import Settings
from chalicelib.core.tokens import token_matches
from chalicelib.core.tools import tools_in_force
from chalicelib.model.base import FilePart, ModelReply, ModelRequest, Turn
from chalicelib.schemas import (
    MAX_MESSAGE_CHARS,
    Attachment,
    ContextInfo,
    MessageReply,
    StoredMessage,
    Usage,
)
from chalicelib.schemas.reply_format import reply_mismatch, schema_of
from chalicelib.services.caching import context_for
from chalicelib.services.file_context import load_parts, ready_files
from chalicelib.services.knowledge_search import mode_in_force, sent_beside_search, store_for
from chalicelib.stores.files import Owner
from chalicelib.stores.idempotency import Claim
from chalicelib.stores.records import Reservation
from chalicelib.stores.sessions import Conversation, SessionRecord, SessionStore, new_exchange_ids


@dataclass(frozen=True)
class PreparedExchange:
    session: SessionRecord
    user_message: StoredMessage
    request: ModelRequest
    context: ContextInfo
    # For a regeneration: the reply being replaced.
    replaces: StoredMessage | None = None
    # Quota held by this session's sends in flight, or left by sends that died.
    held: tuple[Reservation, ...] = ()


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


def _prepare(
    conversation: Conversation,
    history: Sequence[StoredMessage],
    user_message: StoredMessage,
    settings: Settings,
    replaces: StoredMessage | None = None,
) -> PreparedExchange:
    session = conversation.session
    owner = Owner("session", session.session_id, session.chat_config_id)

    def files_of(message: StoredMessage) -> tuple[FilePart, ...]:
        return load_parts(owner, message.attachments) if message.attachments else ()

    contents = select_history(
        history,
        user_message,
        settings.history_char_budget,
        settings.history_max_messages,
        files_of,
    )
    # Exact when the whole conversation was read; otherwise from the running count
    # (less the exchange being regenerated).
    counted = session.stored_messages - (2 if replaces else 0)
    earlier = len(history) if conversation.complete else max(len(history), counted)
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
        session, user_message, request, context, replaces, conversation.reservations
    )


def _load_authorized(
    store: SessionStore, session_id: str, token: str, max_messages: int, char_budget: int
) -> Conversation:
    conversation = store.load_recent(session_id, max_messages=max_messages, char_budget=char_budget)
    authorize(conversation.session if conversation else None, token)
    assert conversation is not None  # authorize refuses a missing session
    return conversation


def _attachments(session: SessionRecord, file_ids: Sequence[str]) -> list[Attachment] | None:
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
    conversation = _load_authorized(
        store, session_id, token, settings.history_max_messages, settings.history_char_budget
    )
    user_message = StoredMessage(
        id="",
        role="user",
        content=text,
        created_at=utc_now_iso(),
        attachments=_attachments(conversation.session, attachments),
    )
    return _prepare(conversation, conversation.messages, user_message, settings)


def prepare_for_caller(
    session: SessionRecord,
    earlier: Sequence[StoredMessage],
    text: str,
    settings: Settings,
    held: tuple[Reservation, ...] = (),
) -> PreparedExchange:
    """An exchange whose history the caller holds (an API call's), newest first: the
    agent's settings, knowledge and tools as for a visitor's send."""
    user_message = StoredMessage(id="", role="user", content=text, created_at=utc_now_iso())
    conversation = Conversation(session, list(earlier), True, held)
    return _prepare(conversation, earlier, user_message, settings)


def load_conversation(store: SessionStore, settings: Settings, session_id: str) -> Conversation:
    """A session's history as a send reads it, for a caller its holder has already checked."""
    conversation = store.load_recent(
        session_id,
        max_messages=settings.history_max_messages,
        char_budget=settings.history_char_budget,
    )
    if conversation is None:
        raise SessionNotFound()
    return conversation


def prepare_regeneration(
    store: SessionStore, settings: Settings, session_id: str, token: str
) -> PreparedExchange:
    """Ask again for the last user message, with the history it had."""
    # The last exchange is read on top of the history budget.
    extra = MAX_MESSAGE_CHARS + 8 * settings.max_output_tokens
    conversation = _load_authorized(
        store,
        session_id,
        token,
        settings.history_max_messages + 2,
        settings.history_char_budget + extra,
    )
    newest = conversation.messages[:2]
    if [m.role for m in newest] != ["model", "user"]:
        raise NothingToRegenerate()
    reply, user_message = newest
    return _prepare(conversation, conversation.messages[2:], user_message, settings, reply)


def _reply_message(message_id: str, reply: ModelReply) -> StoredMessage:
    return StoredMessage(
        id=message_id,
        role="model",
        content=reply.text,
        created_at=utc_now_iso(),
        stopped=True if reply.stopped else None,
        citations=reply.citations,
        parts=reply.parts,
        thoughts=reply.thoughts,
    )


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


def _message_reply(
    prepared: PreparedExchange, user: StoredMessage, reply: StoredMessage, usage: Usage
) -> MessageReply:
    return MessageReply(
        message=reply.content,
        session_id=prepared.session.session_id,
        model=prepared.request.model,
        user_message=user,
        reply=reply,
        usage=usage,
        context=prepared.context,
    )


def store_exchange(
    store: SessionStore,
    prepared: PreparedExchange,
    reply: ModelReply,
    claim: Claim | None = None,
    settle: Sequence[Any] = (),
) -> MessageReply:
    """Store the exchange; `settle` (transaction items) uses up its reservation."""
    user_id, reply_id = new_exchange_ids()
    user = prepared.user_message.model_copy(update={"id": user_id})
    usage = usage_of(reply)
    result = _message_reply(prepared, user, _reply_message(reply_id, reply), usage)
    also = (claim.complete(store.table.name, result),) if claim else ()
    also += tuple(settle)
    store.append_exchange(prepared.session.session_id, user, result.reply, usage, also)
    return result


def store_regeneration(
    store: SessionStore,
    prepared: PreparedExchange,
    reply: ModelReply,
    settle: Sequence[Any] = (),
) -> MessageReply:
    assert prepared.replaces is not None
    usage = usage_of(reply)
    new_reply = _reply_message(prepared.replaces.id, reply)
    store.replace_reply(prepared.session.session_id, new_reply, usage, tuple(settle))
    return _message_reply(prepared, prepared.user_message, new_reply, usage)
