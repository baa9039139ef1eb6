"""Branches of a conversation: an edit of an earlier user message and a regeneration of
a reply, each prepared as a send is (exchange.py), with the history their message had;
and the whole tree as an export shows it.

Both add a sibling (under the edited message's parent, under the reply's user message)
and make it the active leaf; the old answer stays, one sibling step away.
"""

from __future__ import annotations

from collections.abc import Sequence

from chalicelib.core.errors import NothingToRegenerate, ValidationFailed
from chalicelib.core.settings import Settings
from chalicelib.schemas import Siblings, StoredMessage
from chalicelib.services.exchange import (
    History,
    PreparedExchange,
    load_authorized,
    new_user_message,
    prepare_after,
)
from chalicelib.stores.sessions import SessionStore


def _not_a(role: str) -> ValidationFailed:
    return ValidationFailed(
        "Invalid fields: messageId.",
        details={"fields": [{"field": "messageId", "message": f"not a {role} message"}]},
    )


def prepare_edit(
    store: SessionStore,
    settings: Settings,
    session_id: str,
    token: str,
    message_id: str,
    text: str,
    attachments: Sequence[str] = (),
) -> PreparedExchange:
    """A new version of a user message of the active path, with the history it had."""
    # The edited message, then its history: one more than a send reads.
    view = load_authorized(
        store, session_id, token, settings.history_max_messages + 1, at=message_id
    )
    if view.messages[0].message.role != "user":
        raise _not_a("user")
    user_message = new_user_message(view.session, text, attachments)
    return prepare_after(History.of_view(view, skip=1), user_message, settings)


def prepare_regeneration(
    store: SessionStore,
    settings: Settings,
    session_id: str,
    token: str,
    message_id: str | None = None,
) -> PreparedExchange:
    """Ask again for the user message before a reply of the active path (by default the
    last one), with the history it had."""
    view = load_authorized(
        store, session_id, token, settings.history_max_messages + 2, at=message_id
    )
    newest = view.messages[:2]
    if [m.message.role for m in newest] != ["model", "user"]:
        if message_id is not None and newest and newest[0].message.role != "model":
            raise _not_a("model")
        raise NothingToRegenerate()
    reply, user = newest
    history = History.of_view(view, skip=2, parent_at=1)
    return prepare_after(history, user.message, settings, replaces=reply.message)


def tree_messages(tree: Sequence[tuple[StoredMessage, str | None]]) -> list[StoredMessage]:
    """Every message of a session (oldest first, with its parent's id), each with its
    parent and, where it has siblings, its place among them (creation order)."""
    children: dict[str | None, int] = {}
    place: dict[str, int] = {}
    for message, parent_id in tree:
        place[message.id] = children.get(parent_id, 0)
        children[parent_id] = place[message.id] + 1
    shown = []
    for message, parent_id in tree:
        count = children[parent_id]
        siblings = Siblings(index=place[message.id], count=count) if count > 1 else None
        shown.append(message.model_copy(update={"parent_id": parent_id, "siblings": siblings}))
    return shown


def path_to(messages: Sequence[StoredMessage], leaf_id: str | None) -> list[StoredMessage]:
    """The path from the first message to `leaf_id`, oldest first, of messages that carry
    their parents' ids."""
    by_id = {message.id: message for message in messages}
    path = []
    current = by_id.get(leaf_id) if leaf_id else None
    while current is not None:
        path.append(current)
        current = by_id.get(current.parent_id) if current.parent_id else None
    return list(reversed(path))


def other_branches(messages: Sequence[StoredMessage]) -> int:
    """How many leaves a tree has besides the active path's."""
    parents = {message.parent_id for message in messages}
    return max(0, sum(1 for message in messages if message.id not in parents) - 1)
