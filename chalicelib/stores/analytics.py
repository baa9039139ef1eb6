"""Analytics: an agent's and the server's counts per UTC day, each written in the
transaction that does the thing counted, and a period read back in one Query.

Keys. An agent's sessions are its day counters' (quotas.py), `CONFIG#{id}` /
`DAY#{yyyy-mm-dd}#{n}`; its other counts are on usage items beside them,
`DAY#{yyyy-mm-dd}#u{n}`, sharded alike (SHARDS) but apart, as every reservation
updates a day counter and an exchange's transaction would otherwise meet other sends'
reservations there. The server's are on the operator's day counters (operator.py),
`OPERATOR` / `DAY#{yyyy-mm-dd}#{n}`. All sort by day, then shard, so a period is one
sort key range, `DAY#{first}#` to `DAY#{last}#~`: one Query reads every item of every
day. A rated reply's comment is an attribute `note:{hash}` of one of its day's usage
items, so the comments come back in that same Query.

Writes. `sessions` comes with the session's Put (creations.py). A settled exchange's
`replies` and tokens go on a random usage item of its reservation's day, in the
exchange's own transaction (reservations.py settle), so a send makes no extra call. A
rating moves `feedbackUp`/`feedbackDown` of its reply's day (the day the reply was
written, which never moves) on a shard fixed by the message, in the transaction that
changes the message's feedback under a condition on the rating it replaces: each
change of rating counts exactly once. A refusal, which stores nothing else and calls no
model, is counted by one write of its own.
"""

from __future__ import annotations

import hashlib
import random
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from chalicelib.core.dynamo import counter_update, query_items, transact
from chalicelib.schemas import Usage
from chalicelib.schemas.insights import (
    Comment,
    DayUsage,
    Feedback,
    FeedbackCounts,
    Rating,
    RefusalCounts,
    TokenCounts,
    UsageTotals,
)
from chalicelib.stores.controls import SHARDS, config_partition
from chalicelib.stores.operator import (
    PARTITION as OPERATOR_PARTITION,
)
from chalicelib.stores.operator import (
    REFUSAL_COUNTERS,
    USAGE_SHARDS,
    OperatorStore,
)
from chalicelib.stores.quotas import DAY_RETENTION

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

NOTE_PREFIX = "note:"
MAX_COMMENTS = 50
FEEDBACK_COUNTERS: dict[str, str] = {"up": "feedbackUp", "down": "feedbackDown"}
TOKEN_COUNTERS = {
    "prompt": "promptTokens",
    "reply": "replyTokens",
    "total": "tokens",
    "cached": "cachedTokens",
}
# An agent's day counter has `messages` already: what its limit counts, sends in flight
# included. Its settled replies are apart; the operator's `messages` are settled ones.
AGENT_REPLIES = "replies"
OPERATOR_REPLIES = "messages"


def exchange_counts(usage: Usage) -> dict[str, int]:
    """What a settled exchange adds to its day, beside its reply."""
    return {
        "promptTokens": usage.prompt_tokens + usage.tool_use_prompt_tokens,
        "replyTokens": usage.reply_tokens + usage.thinking_tokens,
        "tokens": usage.total_tokens,
        "cachedTokens": usage.cached_tokens or 0,
    }


def day_expiry(day: str) -> int:
    return int((datetime.fromisoformat(day).replace(tzinfo=UTC) + DAY_RETENTION).timestamp())


def _digest(session_id: str, message_id: str) -> str:
    return hashlib.sha256(f"{session_id}/{message_id}".encode()).hexdigest()


def _message_shard(session_id: str, message_id: str, shards: int) -> int:
    return int(_digest(session_id, message_id)[:8], 16) % shards


def usage_key(config_id: str, day: str, shard: int) -> dict[str, str]:
    """An agent's usage item: beside its day counters (`DAY#{day}#{n}`, which every
    reservation updates), so an exchange's counts never meet a reservation on one item."""
    return {"pk": config_partition(config_id), "sk": f"DAY#{day}#u{shard}"}


def note_name(session_id: str, message_id: str) -> str:
    """The comment's attribute: a hash, so the item names no session and no message."""
    return NOTE_PREFIX + _digest(session_id, message_id)[:20]


@dataclass(frozen=True)
class Period:
    days: list[DayUsage]
    totals: UsageTotals
    comments: list[Comment]


class AnalyticsStore:
    def __init__(self, table: Table) -> None:
        self._table = table
        self._operator = OperatorStore(table)

    # --- writes ----------------------------------------------------------------------

    def exchange_item(self, config_id: str, day: str, usage: Usage) -> Any:
        """The agent's counts of a settled exchange, on one of its day's usage items."""
        counts = {AGENT_REPLIES: 1, **exchange_counts(usage)}
        key = usage_key(config_id, day, random.randrange(SHARDS))
        return counter_update(self._table.name, key, counts, day_expiry(day))

    def feedback_items(
        self,
        config_id: str,
        session_id: str,
        message_id: str,
        reply_day: str,
        old: Rating | None,
        new: Feedback | None,
    ) -> list[Any]:
        """Items moving a reply's rating from `old` to `new` in the agent's and the
        server's counts of the reply's day, and setting or removing its comment."""
        deltas = dict.fromkeys(FEEDBACK_COUNTERS.values(), 0)
        if old:
            deltas[FEEDBACK_COUNTERS[old]] -= 1
        if new:
            deltas[FEEDBACK_COUNTERS[new.rating]] += 1
        note = note_name(session_id, message_id)
        sets: dict[str, Any] = {}
        if new and new.comment:
            sets[note] = {"rating": new.rating, "comment": new.comment, "at": new.updated_at}
        shard = _message_shard(session_id, message_id, SHARDS)
        items = [
            counter_update(
                self._table.name,
                usage_key(config_id, reply_day, shard),
                deltas,
                day_expiry(reply_day),
                sets,
                () if sets else (note,),
            )
        ]
        if any(deltas.values()):
            server_shard = _message_shard(session_id, message_id, USAGE_SHARDS)
            items.append(self._operator.count_item(reply_day, deltas, server_shard))
        return items

    def count_refusal(self, day: str, kind: str, config_id: str | None) -> None:
        """Count one refusal for the server and, when known, the agent: one write."""
        counter = {REFUSAL_COUNTERS[kind]: 1}
        if config_id is None:
            self._operator.count_refusal(day, kind)
            return
        agent_key = usage_key(config_id, day, random.randrange(SHARDS))
        agent = counter_update(self._table.name, agent_key, counter, day_expiry(day))
        transact(self._table, [self._operator.count_item(day, counter), agent])

    # --- the read ----------------------------------------------------------------------

    def agent_period(self, config_id: str, last: date, days: int) -> Period:
        return self._period(config_partition(config_id), AGENT_REPLIES, last, days)

    def server_period(self, last: date, days: int) -> Period:
        return self._period(OPERATOR_PARTITION, OPERATOR_REPLIES, last, days)

    def _period(self, partition: str, replies: str, last: date, days: int) -> Period:
        """`days` UTC days ending on `last`, every shard of each, in one Query."""
        first = last - timedelta(days=days - 1)
        items = query_items(
            self._table,
            KeyConditionExpression="pk = :pk AND sk BETWEEN :first AND :last",
            ExpressionAttributeValues={
                ":pk": partition,
                ":first": f"DAY#{first.isoformat()}#",
                ":last": f"DAY#{last.isoformat()}#~",
            },
        )
        by_day: dict[str, Counter[str]] = {}
        comments: list[Comment] = []
        for item in items:
            counts = by_day.setdefault(str(item["sk"]).split("#")[1], Counter())
            for name, value in item.items():
                if name.startswith(NOTE_PREFIX):
                    comments.append(Comment(created_at=value["at"], **_note(value)))
                elif isinstance(value, int | Decimal):
                    counts[name] += int(value)
        series = [
            DayUsage(day=day, **_usage(by_day.get(day, Counter()), replies).model_dump())
            for day in (str(first + timedelta(days=n)) for n in range(days))
        ]
        total: Counter[str] = Counter()
        for counts in by_day.values():
            total.update(counts)
        comments.sort(key=lambda comment: comment.created_at, reverse=True)
        return Period(series, _usage(total, replies), comments[:MAX_COMMENTS])


def _note(value: dict[str, Any]) -> dict[str, str]:
    return {"rating": str(value["rating"]), "comment": str(value["comment"])}


def _usage(counts: Counter[str], replies: str) -> UsageTotals:
    return UsageTotals(
        sessions=counts["sessions"],
        messages=counts[replies],
        tokens=TokenCounts(**{key: counts[name] for key, name in TOKEN_COUNTERS.items()}),
        feedback=FeedbackCounts(**{key: counts[name] for key, name in FEEDBACK_COUNTERS.items()}),
        refused=RefusalCounts(
            quota=counts[REFUSAL_COUNTERS["quota"]],
            budget=counts[REFUSAL_COUNTERS["budget"]],
            rate_limited=counts[REFUSAL_COUNTERS["rateLimited"]],
        ),
    )
