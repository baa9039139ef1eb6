"""The conversation service: history budget, the model call, storing the exchange.

A send is three separable steps, so a streaming transport can reuse them:
`prepare_exchange` (read and authorize), the model call, and
`store_exchange`. Nothing is stored unless the model answered.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from chalicelib.clock import utc_now_iso
from chalicelib.errors import Forbidden, SessionNotFound
from chalicelib.gemini import ModelReply, ModelRequest, Turn
from chalicelib.schemas import MessageReply, StoredMessage
from chalicelib.sessions import SessionRecord, SessionStore
from chalicelib.settings import Settings
from chalicelib.tokens import token_matches


@dataclass(frozen=True)
class PreparedExchange:
    session: SessionRecord
    user_message: StoredMessage
    request: ModelRequest


def authorize(session: SessionRecord | None, token: str) -> SessionRecord:
    """The session, if the token opens it."""
    if session is None:
        raise SessionNotFound()
    if not token_matches(token, session.token_hash):
        raise Forbidden("That token does not open this session.")
    return session


def select_history(
    newest_first: Sequence[StoredMessage], new_message: str, char_budget: int
) -> list[Turn]:
    """The newest messages whose text fits the budget, oldest first, then the new one.

    The new message is always sent, even when it alone exceeds the budget.
    The history starts on a user turn, so a reply is never sent without the
    message it answers.
    """
    remaining = char_budget - len(new_message)
    chosen: list[StoredMessage] = []
    for message in newest_first:
        if len(message.content) > remaining:
            break
        remaining -= len(message.content)
        chosen.append(message)
    chosen.reverse()
    while chosen and chosen[0].role != "user":
        chosen.pop(0)
    return [Turn(m.role, m.content) for m in chosen] + [Turn("user", new_message)]


def prepare_exchange(
    store: SessionStore, settings: Settings, session_id: str, token: str, text: str
) -> PreparedExchange:
    # Enough history to fill the budget, read with the session in one Query.
    loaded = store.load_recent(session_id, char_budget=settings.history_char_budget)
    session = authorize(loaded[0] if loaded else None, token)
    history = loaded[1] if loaded else []
    request = ModelRequest(
        model=session.model,
        system_prompt=session.prompt_text,
        temperature=session.temperature,
        max_output_tokens=settings.max_output_tokens,
        contents=select_history(history, text, settings.history_char_budget),
    )
    user_message = StoredMessage(id="", role="user", content=text, created_at=utc_now_iso())
    return PreparedExchange(session=session, user_message=user_message, request=request)


def store_exchange(
    store: SessionStore, prepared: PreparedExchange, reply: ModelReply
) -> MessageReply:
    reply_message = StoredMessage(id="", role="model", content=reply.text, created_at=utc_now_iso())
    stored_user, stored_reply = store.append_exchange(
        prepared.session.session_id, prepared.user_message, reply_message
    )
    return MessageReply(
        message=stored_reply.content,
        session_id=prepared.session.session_id,
        model=prepared.request.model,
        user_message=stored_user,
        reply=stored_reply,
    )
