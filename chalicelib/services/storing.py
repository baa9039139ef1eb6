"""Storing an exchange in the conversation's tree: under the parent its history ended at,
made the active leaf, in one transaction with its reservation's settling (and the record
an Idempotency-Key replays); stored as a sibling when another write won the race.
"""

from __future__ import annotations

import random
import time
from collections.abc import Sequence
from typing import Any

from chalicelib.core.clock import utc_now_iso
from chalicelib.core.errors import ConcurrentUpdate, MessageNotFound, SessionNotFound
from chalicelib.model.base import ModelReply
from chalicelib.schemas import MessageReply, StoredMessage, Usage
from chalicelib.services.exchange import PreparedExchange, usage_of
from chalicelib.stores.idempotency import Claim
from chalicelib.stores.paths import FIRST_RUN, PathState
from chalicelib.stores.sessions import SessionStore, new_exchange_ids
from chalicelib.stores.tree import PathMessage

# A new session's path: no messages yet.
EMPTY_PATH = PathState(None, (), None, FIRST_RUN)
# Tries at storing an exchange whose path changed meanwhile (see store_exchange): each
# lost race is another's write, so this many sends at once from one leaf all store.
STORE_ATTEMPTS = 8


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
    """Store the exchange under its parent (a regeneration: the reply alone, a new sibling
    of the one it regenerates) and make its reply the active leaf; `settle` (transaction
    items) uses up its reservation.

    Two writes from one path race: if this one loses (the path changed since it was
    read), a send is stored after the winner, as the conversation's next exchange (two
    tabs' messages both show), and an edit or a regeneration as a sibling under the same
    parent, which is what its model call saw; each with fresh ids. Refused
    (ConcurrentUpdate) when the parent left the active path (a switch, an edit above).
    """
    session_id = prepared.session.session_id
    state, parent = prepared.state or EMPTY_PATH, prepared.parent
    for attempt in range(STORE_ATTEMPTS):
        try:
            return _store_under(store, prepared, state, parent, reply, claim, settle)
        except ConcurrentUpdate:
            if attempt + 1 == STORE_ATTEMPTS:
                raise
            # A growing, random pause, so the racers do not meet again at once.
            time.sleep(random.uniform(0, 0.01 * 2**attempt))
            state, parent = _path_again(store, session_id, parent, prepared.follows_leaf)
    raise AssertionError("unreachable")


def _store_under(
    store: SessionStore,
    prepared: PreparedExchange,
    state: PathState,
    parent: PathMessage | None,
    reply: ModelReply,
    claim: Claim | None,
    settle: Sequence[Any],
) -> MessageReply:
    """One try at storing the exchange under `parent`, on the path `state`."""
    usage = usage_of(reply)
    user_id, reply_id = new_exchange_ids(after=state.top)
    new_reply = _reply_message(reply_id, reply)
    messages = [prepared.user_message.model_copy(update={"id": user_id}), new_reply]
    if prepared.replaces is not None:
        messages = [new_reply]
    results: list[MessageReply] = []

    def recorded(added: list[PathMessage]) -> list[Any]:
        # What the client gets, and a retry with its key: the messages as they will read.
        shown = [message.public() for message in reversed(added)]
        user = parent.public() if prepared.replaces is not None and parent else shown[0]
        results.append(_message_reply(prepared, user, shown[-1], usage))
        return [claim.complete(store.table.name, results[-1])] if claim else []

    store.add_messages(
        prepared.session.session_id, state, parent, messages, usage, tuple(settle), recorded
    )
    return results[-1]


def _path_again(
    store: SessionStore, session_id: str, parent: PathMessage | None, to_leaf: bool = False
) -> tuple[PathState, PathMessage | None]:
    """The path as it is now, and the parent as it now reads (its children counted), or
    with `to_leaf` the path's leaf; ConcurrentUpdate when the parent left the path."""
    gone = ConcurrentUpdate(
        "The conversation changed meanwhile: this message's place is no longer on "
        "its active path. Nothing was stored; read it again and retry."
    )
    if to_leaf:
        # One read of the path: its leaf, and whether the parent is still on it.
        view = store.load_view(session_id, max_messages=1)
        if view is None:
            raise SessionNotFound()
        if parent is not None and view.state.run_index(parent.message.id) is None:
            raise gone
        return view.state, view.messages[0] if view.messages else None
    try:
        view = store.load_view(session_id, max_messages=1, at=parent.message.id if parent else None)
    except MessageNotFound:
        raise gone from None
    if view is None:
        raise SessionNotFound()
    return view.state, view.messages[0] if parent else None
