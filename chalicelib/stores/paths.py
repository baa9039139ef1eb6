"""A session's active path as the session item keeps it: a short list of runs.

A run is a set of messages contiguous in sort order that form one chain; `""` names
the session's first run, which starts at the bottom of the message keys (and is the
whole of a session stored before conversations were trees). See docs/storage.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# The first run, which every session has: it needs no id of its own.
FIRST_RUN = ""


@dataclass(frozen=True)
class Run:
    """A run on a path: its first message's id, the last id on the path, and how many
    siblings its first message has (itself included)."""

    first: str
    last: str
    # The first run's count is the session's number of first messages (root forks are
    # only made on the active path, and a switch carries it over).
    count: int = 1

    def holds(self, message_id: str) -> bool:
        return self.first <= message_id <= self.last

    def to_item(self) -> list[Any]:
        return [self.first, self.last, self.count]

    @classmethod
    def from_item(cls, value: Any) -> Run:
        first, last, *rest = value
        return cls(str(first), str(last), int(rest[0]) if rest else 1)


@dataclass(frozen=True)
class PathState:
    """The active leaf, the runs from the first message to it, and the newest message."""

    leaf: str | None
    runs: tuple[Run, ...]
    # The session's newest message and its run: a send whose leaf is `top` extends that run.
    top: str | None
    top_run: str
    # Whether the session item holds it (else it was read from an old session's messages).
    stored: bool = False

    @classmethod
    def from_item(cls, item: dict[str, Any], newest_id: str | None) -> PathState:
        """The session item's path; an old session's (no `leaf`) is one run to its newest."""
        if "leaf" not in item:
            runs = (Run(FIRST_RUN, newest_id),) if newest_id else ()
            return cls(newest_id, runs, newest_id, FIRST_RUN)
        return cls(
            leaf=str(item["leaf"]),
            runs=tuple(Run.from_item(run) for run in item.get("path", [])),
            top=str(item["top"]),
            top_run=str(item.get("topRun", FIRST_RUN)),
            stored=True,
        )

    def run_index(self, message_id: str) -> int | None:
        """Which run of the path holds this id, if the path reaches it."""
        for index, run in enumerate(self.runs):
            if run.holds(message_id):
                return index
        return None

    def cut(self, message_id: str | None) -> tuple[Run, ...]:
        """The path from the first message to `message_id` (which it must hold)."""
        if message_id is None:
            return ()
        index = self.run_index(message_id)
        if index is None:
            raise ValueError(f"{message_id} is not on the path")
        return (*self.runs[:index], Run(self.runs[index].first, message_id, self.runs[index].count))

    def run_of(self, message_id: str) -> str:
        """The run id of a message on the path."""
        index = self.run_index(message_id)
        if index is None:
            raise ValueError(f"{message_id} is not on the path")
        return self.runs[index].first

    def extends(self, parent_id: str | None) -> bool:
        """Whether messages under this parent join the top run (a send on the newest leaf)."""
        return parent_id == self.leaf and self.leaf == self.top

    def roots(self) -> int:
        """How many first messages the session has."""
        return self.runs[0].count if self.runs else 0
