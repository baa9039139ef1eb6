"""Conversations as trees: reading the active path, adding messages under a parent.

Message items keep their keys (`MSG#{id}`, ids ordered by time); each gains
`parentId`, `run` and `sib`, and the session item keeps the active path as a list of
runs (paths.py). Reading a path costs a Query per run it reaches, usually one; a
write is one transaction of a fixed number of items. See docs/storage.md.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from chalicelib.core.dynamo import get_item, query_items
from chalicelib.core.errors import MessageNotFound
from chalicelib.core.tokens import is_valid_id
from chalicelib.schemas import Siblings, StoredMessage
from chalicelib.stores.messages import MessageStore
from chalicelib.stores.paths import FIRST_RUN, PathState
from chalicelib.stores.records import (
    MESSAGE_PREFIX,
    RESERVATION_PREFIX,
    Reservation,
    SessionRecord,
    is_message,
    message_from_item,
    partition_key,
)

RUN_PREFIX = "BRANCH#"
# A fork record's attribute on its parent's run: `f:{messageId}`.
FORK_PREFIX = "f:"
# A message's forked children, oldest first (the root's: on the first run's record). A
# child that continues its parent's run is not listed: it is the first child, and the
# message after its parent in sort order.
KIDS_LIST = "forks"


# Above every message id (ids are letters and digits).
_HIGHEST = "~"


def run_key(session_id: str, run: str) -> dict[str, str]:
    return {"pk": partition_key(session_id), "sk": RUN_PREFIX + (run or "-")}


def _id(item: dict[str, Any]) -> str:
    return str(item["sk"])[len(MESSAGE_PREFIX) :]


@dataclass(frozen=True)
class PathMessage:
    message: StoredMessage
    parent_id: str | None
    # (index, count) among its parent's children, when it has siblings.
    siblings: tuple[int, int] | None
    run: str
    # Its children, as its item counts them: None means at most one.
    kids: int | None

    def public(self) -> StoredMessage:
        """The message as the API shows it: with its parent and its place among siblings."""
        siblings = None
        if self.siblings:
            siblings = Siblings(index=self.siblings[0], count=self.siblings[1])
        return self.message.model_copy(update={"parent_id": self.parent_id, "siblings": siblings})


@dataclass(frozen=True)
class PathView:
    session: SessionRecord
    state: PathState
    # Newest first.
    messages: list[PathMessage]
    # Whether `messages` reaches back to the first message.
    complete: bool
    reservations: tuple[Reservation, ...] = ()


@dataclass(frozen=True)
class _Walked:
    item: dict[str, Any]
    run: int  # index of its run on the path


def _path_messages(walked: list[_Walked], want: int, state: PathState) -> list[PathMessage]:
    """The first `want` walked items as messages; each one's parent is the next older one
    read, or, for a run's first message (nothing older read), the run's own count."""
    messages = []
    for index, step in enumerate(walked[:want]):
        older = walked[index + 1] if index + 1 < len(walked) else None
        run = state.runs[step.run]
        if older is not None:
            count = int(older.item.get("kids", 1))
            parent_id: str | None = _id(older.item)
        else:
            count = run.count
            parent_id = None
        stored_parent = step.item.get("parentId", parent_id)
        sib = int(step.item.get("sib", 0))
        messages.append(
            PathMessage(
                message=message_from_item(step.item),
                parent_id=None if stored_parent is None else str(stored_parent),
                siblings=(sib, count) if count > 1 else None,
                run=str(step.item.get("run", FIRST_RUN)),
                kids=int(step.item["kids"]) if "kids" in step.item else None,
            )
        )
    return messages


class PathReader(MessageStore):
    """Reads a session's active path (branches.py writes the tree)."""

    def _run_items(self, session_id: str, first: str, high: str, limit: int) -> Iterator[Any]:
        return query_items(
            self._table,
            KeyConditionExpression="pk = :pk AND sk BETWEEN :low AND :high",
            ExpressionAttributeValues={
                ":pk": partition_key(session_id),
                ":low": MESSAGE_PREFIX + first,
                ":high": MESSAGE_PREFIX + high,
            },
            ScanIndexForward=False,
            ConsistentRead=True,
            Limit=limit,
        )

    def _walk(
        self,
        session_id: str,
        state: PathState,
        upper: str,
        want: int,
        *,
        exclusive: bool = False,
        head: Iterator[dict[str, Any]] | None = None,
    ) -> tuple[list[_Walked], bool]:
        """Up to `want` + 1 items of the path from `upper` down, newest first, and whether
        the first message was reached. `head` (items newest first, from the top of the
        partition, starting at `upper`) stands in for the Query of `upper`'s run.

        The extra item is the parent of the oldest one; a walk that ends a run with
        `want` items stops there (the run keeps its first message's count), so it never
        opens another run's Query for one item.
        """
        start = state.run_index(upper)
        if start is None:
            return [], True
        walked: list[_Walked] = []
        for index in range(start, -1, -1):
            run = state.runs[index]
            if len(walked) == want:
                return walked, False
            high = upper if index == start else run.last
            remaining = want + 1 - len(walked) + (1 if exclusive and index == start else 0)
            source = head if head is not None and index == start else None
            items = source or self._run_items(session_id, run.first, high, remaining)
            for item in items:
                if not is_message(item) or _id(item) < run.first:
                    break
                if exclusive and _id(item) == upper:
                    continue
                walked.append(_Walked(item, index))
                if len(walked) > want:
                    return walked, False
        return walked, True

    def load_view(
        self,
        session_id: str,
        *,
        max_messages: int,
        char_budget: int | None = None,
        at: str | None = None,
    ) -> PathView | None:
        """The session and its active path's newest messages: one Query when the leaf is
        the session's newest message and its run holds them; else a Query per run more.

        `at` (a message of the active path) reads the path from that message down
        instead: an edit's or a regeneration's message first, then the history it had
        (MessageNotFound when the path does not hold it). Stops early once the messages
        hold more than `char_budget` characters.
        """
        # Read from `at` down, the top's messages are no use unless `at` is the leaf: the
        # first page holds the session, and the newest item for the path's state.
        top = self.read_top(session_id, max_messages, first_page=3 if at else None)
        if top is None:
            return None
        first, items = top
        reservations: list[Reservation] = []
        newest = next(items, None)
        while newest is not None and str(newest["sk"]).startswith(RESERVATION_PREFIX):
            reservations.append(Reservation.from_item(newest))
            newest = next(items, None)
        newest_id = _id(newest) if newest is not None and is_message(newest) else None
        state = PathState.from_item(first, newest_id)
        session = SessionRecord.from_item(first)
        if state.leaf is None:
            return PathView(session, state, [], True, tuple(reservations))
        upper = at or state.leaf
        head = None
        if newest is not None and newest_id == state.leaf == upper:
            head = _chain(newest, items)
        walked, complete = self._walk(session_id, state, upper, max_messages, head=head)
        if at is not None and (not walked or _id(walked[0].item) != at):
            raise MessageNotFound("The active path of this session has no message with that id.")
        messages = _path_messages(walked, max_messages, state)
        if char_budget is not None:
            chars = 0
            for count, message in enumerate(messages):
                chars += message.message.context_chars()
                if chars > char_budget:
                    messages, complete = messages[: count + 1], False
                    break
        return PathView(session, state, messages, complete, tuple(reservations))

    def load_path_page(
        self, session_id: str, state: PathState, limit: int, before_id: str | None
    ) -> tuple[list[PathMessage], str | None]:
        """Up to `limit` messages of the path older than `before_id`, oldest first, and
        the next cursor id. A cursor off the path reads as the path's start."""
        if state.leaf is None:
            return [], None
        upper = before_id or state.leaf
        walked, complete = self._walk(
            session_id, state, upper, limit, exclusive=before_id is not None
        )
        page = _path_messages(walked, limit, state)
        next_id = None if complete else page[-1].message.id
        return list(reversed(page)), next_id

    def child_at(self, session_id: str, message_id: str, index: int) -> str | None:
        """The id of a message's sibling at `index` (creation order, from 0; the message
        itself among them), or None when it has no such sibling: two or three reads,
        whatever the tree (the message, its parent's list, the run's next message)."""
        item = self.get_message(session_id, message_id)
        if item is None:
            raise MessageNotFound()
        parent_id = item["parentId"] if "parentId" in item else self._before(session_id, item)
        if parent_id is None:
            listed = get_item(self._table, run_key(session_id, FIRST_RUN)) or {}
            in_run = True  # the first message is the root's first child
        else:
            listed = self.get_message(session_id, str(parent_id)) or {}
            in_run = len(listed.get(KIDS_LIST, [])) < int(listed.get("kids", 1))
        forks = [str(child) for child in listed.get(KIDS_LIST, [])]
        if index < 0 or index >= len(forks) + in_run:
            return None
        if not in_run or index > 0:
            return forks[index - in_run]
        return self._first_child(session_id, None if parent_id is None else str(parent_id))

    def _adjacent(self, session_id: str, low: str, high: str, newest: bool) -> list[Any]:
        """Up to two messages with ids from `low` to `high`, oldest or newest first."""
        items = query_items(
            self._table,
            KeyConditionExpression="pk = :pk AND sk BETWEEN :low AND :high",
            ExpressionAttributeValues={
                ":pk": partition_key(session_id),
                ":low": MESSAGE_PREFIX + low,
                ":high": MESSAGE_PREFIX + high,
            },
            ScanIndexForward=not newest,
            ConsistentRead=True,
            Limit=2,
        )
        return list(itertools.islice(items, 2))

    def _before(self, session_id: str, item: dict[str, Any]) -> str | None:
        """The parent of a message stored before trees: the message before it."""
        older = [
            i for i in self._adjacent(session_id, "", _id(item), True) if i["sk"] != item["sk"]
        ]
        return _id(older[0]) if older else None

    def _first_child(self, session_id: str, parent_id: str | None) -> str | None:
        """The child that continues its parent's run: the message after it in sort order
        (the session's first message for the root)."""
        after = self._adjacent(session_id, parent_id or "", _HIGHEST, False)
        after = [i for i in after if _id(i) != parent_id and is_message(i)]
        return _id(after[0]) if after else None

    def get_message(self, session_id: str, message_id: str) -> dict[str, Any] | None:
        """A message's item, or None."""
        if not is_valid_id(session_id):
            return None
        return get_item(
            self._table, {"pk": partition_key(session_id), "sk": MESSAGE_PREFIX + message_id}
        )


def _chain(first: dict[str, Any], rest: Iterator[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    yield first
    yield from rest
