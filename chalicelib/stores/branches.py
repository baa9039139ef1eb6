"""Writing a conversation's tree: messages under a parent, and switching the active path.

A send whose leaf is the session's newest message extends the top run (the same
three-item transaction as before trees); anything else starts a run, in one
transaction of a fixed number of items. A switch reads a run record per run below
the message it names. See docs/storage.md.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.core.dynamo import (
    CONDITION_FAILED,
    TRANSACTION_ATTEMPTS,
    get_item,
    query_items,
    transact,
)
from chalicelib.core.errors import (
    ConcurrentUpdate,
    MessageNotFound,
    ReplyTooLate,
    SessionNotFound,
    StorageUnavailable,
)
from chalicelib.schemas import StoredMessage, Usage
from chalicelib.stores.paths import FIRST_RUN, PathState, Run
from chalicelib.stores.records import MESSAGE_PREFIX, message_from_item, partition_key, session_key
from chalicelib.stores.tree import FORK_PREFIX, KIDS_LIST, PathMessage, PathReader, run_key

# BatchGetItem takes at most this many keys a call.
_BATCH_KEYS = 100


class TreeStore(PathReader):
    """A session's messages as a tree: adding under a parent, switching, the whole tree."""

    def add_messages(
        self,
        session_id: str,
        state: PathState,
        parent: PathMessage | None,
        messages: Sequence[StoredMessage],
        usage: Usage,
        also: tuple[Any, ...] = (),
        also_for: Callable[[list[PathMessage]], Sequence[Any]] | None = None,
    ) -> tuple[PathState, list[PathMessage]]:
        """Store a chain of messages (ids from `new_exchange_ids`) under `parent`, a message
        of the active path (None: a new first message), and make the last the active leaf.

        `also` joins the transaction, and so do the items `also_for` makes of the messages
        as they will read (newest first), such as a record of the reply.

        Refused with ConcurrentUpdate if the path or the newest message changed since
        `state` was read.
        """
        parent_id = parent.message.id if parent else None
        last = messages[-1].id
        if state.top is not None and messages[0].id <= state.top:
            raise ValueError("new messages must sort after the newest (new_exchange_ids(after=))")
        extend = state.extends(parent_id)
        if extend:
            run, sib = state.top_run, 0
            kept = state.runs[-1] if state.runs else Run(FIRST_RUN, last)
            runs = (*state.runs[:-1], Run(kept.first, last, kept.count))
        else:
            run, sib = messages[0].id, _children(state, parent)
            runs = (*state.cut(parent_id), Run(run, last, sib + 1))
        new_state = PathState(last, runs, last, run, stored=True)
        puts, stored = [], []
        for index, message in enumerate(messages):
            above = parent_id if index == 0 else messages[index - 1].id
            place = sib if index == 0 else 0
            puts.append(self._put_tree_message(session_id, message, above, run, place))
            # A fork's first message has its run's siblings; any other, none.
            count = runs[-1].count if index == 0 and not extend else 1
            siblings = (place, count) if count > 1 else None
            stored.append(PathMessage(message, above, siblings, run, None))
        forks = [] if extend else self._fork_items(session_id, state, parent, run)
        session_update = self._path_update(session_id, state, new_state, len(messages), usage)
        added = list(reversed(stored))
        also = (*also, *(also_for(added) if also_for else ()))
        refused = transact(self._table, [*puts, session_update, *forks, *also])
        if refused is None:
            return new_state, added
        if refused[len(puts)] == CONDITION_FAILED:
            raise self._why_refused(session_id)
        if CONDITION_FAILED in refused[len(puts) + 1 + len(forks) :]:
            raise ReplyTooLate()
        raise StorageUnavailable("Two messages got the same id; nothing was stored. Try again.")

    def switch(self, session_id: str, state: PathState, message_id: str) -> PathState:
        """Make the deepest path through a message active (the newest child at each step)."""
        item = self.get_message(session_id, message_id)
        if item is None:
            raise MessageNotFound()
        first = str(item.get("run", FIRST_RUN))
        record = get_item(self._table, run_key(session_id, first))
        if first != FIRST_RUN and record is None:
            raise StorageUnavailable()
        above = [Run.from_item(run) for run in (record or {}).get("path", [])]
        runs, count = self._recounted(session_id, state, above)
        position = message_id
        while True:
            forks = sorted(
                name[len(FORK_PREFIX) :]
                for name in (record or {})
                if name.startswith(FORK_PREFIX) and name[len(FORK_PREFIX) :] >= position
            )
            if not forks:
                break
            fork = (record or {})[FORK_PREFIX + forks[0]]
            runs.append(Run(first, forks[0], count))
            first, count, position = str(fork["run"]), int(fork["kids"]), str(fork["run"])
            record = get_item(self._table, run_key(session_id, first))
        end = (record or {}).get("end") or (state.top if first == state.top_run else None)
        if end is None:
            raise StorageUnavailable()
        runs.append(Run(first, str(end), count))
        new_state = PathState(str(end), tuple(runs), state.top, state.top_run, stored=True)
        refused = transact(self._table, [self._path_update(session_id, state, new_state)])
        if refused:
            raise self._why_refused(session_id)
        return new_state

    def load_tree(self, session_id: str) -> list[tuple[StoredMessage, str | None]]:
        """Every message, oldest first, with its parent's id (an old message's is the one
        before it: old sessions are one straight run)."""
        items = query_items(
            self._table,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :prefix)",
            ExpressionAttributeValues={":pk": partition_key(session_id), ":prefix": MESSAGE_PREFIX},
            ConsistentRead=True,
        )
        tree: list[tuple[StoredMessage, str | None]] = []
        for item in items:
            parent = item.get("parentId", tree[-1][0].id if tree else None)
            tree.append((message_from_item(item), None if parent is None else str(parent)))
        return tree

    def _recounted(
        self, session_id: str, state: PathState, above: list[Run]
    ) -> tuple[list[Run], int]:
        """The runs above a message, with their first messages' sibling counts as they are
        now (a run record's copy is as it was when the run started), and its own run's."""
        cuts = [run.last for run in above]
        kids = self._kids(session_id, cuts)
        counts = [state.roots(), *(kids.get(cut, 1) for cut in cuts)]
        runs = [Run(run.first, run.last, counts[index]) for index, run in enumerate(above)]
        return runs, counts[-1]

    def _kids(self, session_id: str, message_ids: list[str]) -> dict[str, int]:
        """The children count of each of these messages (at most one where not given)."""
        found: dict[str, int] = {}
        pk = partition_key(session_id)
        for start in range(0, len(message_ids), _BATCH_KEYS):
            chunk = message_ids[start : start + _BATCH_KEYS]
            request: dict[str, Any] = {
                self._table.name: {
                    "Keys": [{"pk": pk, "sk": MESSAGE_PREFIX + i} for i in chunk],
                    "ConsistentRead": True,
                    "ProjectionExpression": "#sk, #kids",
                    "ExpressionAttributeNames": {"#sk": "sk", "#kids": "kids"},
                }
            }
            try:
                for attempt in range(TRANSACTION_ATTEMPTS):
                    if not request:
                        break
                    # Keys left unread (throttling) are asked again, after a growing pause.
                    time.sleep(0 if attempt == 0 else random.uniform(0, 0.02 * 2**attempt))
                    response = self._table.meta.client.batch_get_item(RequestItems=request)
                    # The table's client hands back plain values, as the table does.
                    items: list[Any] = response.get("Responses", {}).get(self._table.name, [])
                    for item in items:
                        if "kids" in item:
                            found[str(item["sk"])[len(MESSAGE_PREFIX) :]] = int(item["kids"])
                    request = response.get("UnprocessedKeys") or {}
            except (ClientError, BotoCoreError) as exc:
                raise StorageUnavailable() from exc
            if request:
                raise StorageUnavailable()
        return found

    def _why_refused(self, session_id: str) -> Exception:
        item = get_item(self._table, session_key(session_id))
        if item is None or "deletingAt" in item:
            return SessionNotFound()
        return ConcurrentUpdate("The conversation changed meanwhile; read it again and retry.")

    def _put_tree_message(
        self, session_id: str, message: StoredMessage, parent_id: str | None, run: str, sib: int
    ) -> Any:
        item = {**self.message_item(session_id, message), "parentId": parent_id, "run": run}
        if sib:
            item["sib"] = sib
        return {
            "Put": {
                "TableName": self._table.name,
                "Item": item,
                "ConditionExpression": "attribute_not_exists(sk)",
            }
        }

    def _fork_items(
        self, session_id: str, state: PathState, parent: PathMessage | None, run: str
    ) -> list[Any]:
        """A new run's record, the end of the run that was on top, the fork on its parent."""
        name = self._table.name
        ancestry = [r.to_item() for r in state.cut(parent.message.id if parent else None)]
        record: dict[str, Any] = {
            **run_key(session_id, run),
            "parentId": parent.message.id if parent else None,
            "path": ancestry,
        }
        items: list[Any] = [
            {
                "Put": {
                    "TableName": name,
                    "Item": record,
                    "ConditionExpression": "attribute_not_exists(sk)",
                }
            }
        ]
        updates: dict[str, dict[str, Any]] = {}
        # Each fork's first message joins its parent's list of forked children (the root's
        # on the first run's record), so a sibling is found by its index (child_at).
        appended: dict[str, dict[str, Any]] = {}
        if state.top is not None:
            updates.setdefault(state.top_run, {})["end"] = state.top
        if parent is None:
            appended[FIRST_RUN] = {KIDS_LIST: run}
        else:
            kids = _children(state, parent) + 1
            fork = {"run": run, "kids": kids}
            updates.setdefault(state.run_of(parent.message.id), {})[
                FORK_PREFIX + parent.message.id
            ] = fork
            items.append(
                _set(
                    name,
                    {"pk": partition_key(session_id), "sk": MESSAGE_PREFIX + parent.message.id},
                    {"kids": kids} if kids > 1 else {},
                    "attribute_exists(sk)",
                    {KIDS_LIST: run},
                )
            )
        for owner in {**updates, **appended}:
            key = run_key(session_id, owner)
            items.append(_set(name, key, updates.get(owner, {}), None, appended.get(owner, {})))
        return items

    def _path_update(
        self,
        session_id: str,
        old: PathState,
        new: PathState,
        messages: int = 0,
        usage: Usage | None = None,
    ) -> Any:
        """The session's Update: the new path (and running totals), if the old one holds."""
        update = self._add_to_totals(session_id, messages, usage or Usage())["Update"]
        names = update["ExpressionAttributeNames"]
        values = update["ExpressionAttributeValues"]
        names.update({"#leaf": "leaf", "#path": "path", "#top": "top", "#topRun": "topRun"})
        values.update(
            {
                ":leaf": new.leaf,
                ":path": [run.to_item() for run in new.runs],
                ":top": new.top,
                ":topRun": new.top_run,
            }
        )
        sets = "SET #leaf = :leaf, #path = :path, #top = :top, #topRun = :topRun "
        update["UpdateExpression"] = sets + update["UpdateExpression"]
        if old.stored:
            values.update({":oldLeaf": old.leaf, ":oldTop": old.top})
            held = "#leaf = :oldLeaf AND #top = :oldTop"
        else:
            held = "attribute_not_exists(#leaf)"
        update["ConditionExpression"] += f" AND {held}"
        return {"Update": update}


def _children(state: PathState, parent: PathMessage | None) -> int:
    """How many children a message of the path (or the root, for None) has now."""
    if parent is None:
        return state.roots()
    if parent.message.id == state.leaf:
        return 0
    return parent.kids or 1


def _set(
    table_name: str,
    key: dict[str, str],
    values: dict[str, Any],
    condition: str | None = None,
    appends: dict[str, str] | None = None,
) -> Any:
    """An Update setting `values`, and adding each of `appends`' ids to the end of its list."""
    appends = appends or {}
    names = {f"#a{index}": name for index, name in enumerate([*values, *appends])}
    sets = [f"#a{i} = :a{i}" for i in range(len(values))]
    sets += [
        f"#a{i} = list_append(if_not_exists(#a{i}, :none), :a{i})"
        for i in range(len(values), len(names))
    ]
    given = {f":a{i}": value for i, value in enumerate(values.values())}
    given.update({f":a{len(values) + i}": [value] for i, value in enumerate(appends.values())})
    if appends:
        given[":none"] = []
    update: dict[str, Any] = {
        "TableName": table_name,
        "Key": key,
        "UpdateExpression": "SET " + ", ".join(sets),
        "ExpressionAttributeNames": names,
        "ExpressionAttributeValues": given,
    }
    if condition:
        update["ConditionExpression"] = condition
    return {"Update": update}
