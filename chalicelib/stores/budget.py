"""Daily token budgets in DynamoDB: the operator's (BUDGET_TOKENS_PER_DAY) and an agent's
(`limits.tokensPerDay`).

The operator's partition `OPERATOR` holds `BUDGET#{yyyy-mm-dd}#{n}`, and an agent's
partition `CONFIG#{id}` holds `TOKENS#{yyyy-mm-dd}#{n}`: one share of that UTC
day's budget per shard, as many shards as the day counters have (the shares add up
to it exactly; the operator's budget has four times as many, as every send of the
server meets it), with `tokens` (what calls hold or used) and `reserved` (what calls in
flight hold). Before a model
call, a send reserves an upper bound of its cost as pieces on one or more shards,
each Update conditioned on its shard's room, in the transaction that reserves its
messages; its exchange's transaction settles the pieces to the reported cost, and
a failed or dead send gives them back (reservations.py). The budget is never
overshot, as no shard ever holds more than its share.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from chalicelib.core.clock import seconds_until_midnight
from chalicelib.core.dynamo import CONDITION_FAILED, query_items
from chalicelib.core.errors import BudgetExhausted
from chalicelib.core.provisioning import TTL_ATTRIBUTE
from chalicelib.stores.controls import SHARDS, config_partition, shares

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

RETENTION = timedelta(days=2)

Pieces = tuple[tuple[int, int], ...]  # (shard, tokens)


@dataclass(frozen=True)
class BudgetScope:
    """Whose budget: the operator's, or one agent's."""

    name: str  # as refusals name it: "operator" or "agent"
    partition: str
    prefix: str
    shards: int = SHARDS

    def key(self, day: str, shard: int) -> dict[str, str]:
        return {"pk": self.partition, "sk": f"{self.prefix}#{day}#{shard}"}


# Every send of the server holds and settles the operator's budget: it spreads wider.
OPERATOR = BudgetScope("operator", "OPERATOR", "BUDGET", shards=4 * SHARDS)


def agent_scope(config_id: str) -> BudgetScope:
    # Apart from the day's message counters: a transaction may touch an item only once.
    return BudgetScope("agent", config_partition(config_id), "TOKENS")


@dataclass(frozen=True)
class BudgetDay:
    """One day's budget as stored: what calls used and what calls in flight hold."""

    budget: int
    tokens_by_shard: dict[int, int]
    reserved: int
    shards: int = SHARDS

    @property
    def held(self) -> int:
        return sum(self.tokens_by_shard.values())

    @property
    def remaining(self) -> int:
        return max(0, self.budget - self.held)

    def free_by_shard(self) -> dict[int, int]:
        share_of = shares(self.budget, self.shards)
        return {
            s: max(0, share - self.tokens_by_shard.get(s, 0)) for s, share in enumerate(share_of)
        }


class BudgetStore:
    def __init__(self, table: Table) -> None:
        self._table = table

    def read(self, scope: BudgetScope, day: str, budget: int) -> BudgetDay:
        items = list(
            query_items(
                self._table,
                KeyConditionExpression="pk = :pk AND begins_with(sk, :prefix)",
                ExpressionAttributeValues={
                    ":pk": scope.partition,
                    ":prefix": f"{scope.prefix}#{day}#",
                },
                ConsistentRead=True,
            )
        )
        tokens = {int(str(i["sk"]).rsplit("#", 1)[1]): int(i.get("tokens", 0)) for i in items}
        reserved = sum(int(i.get("reserved", 0)) for i in items)
        return BudgetDay(budget, tokens, reserved, scope.shards)

    def guess_pieces(self, scope: BudgetScope, budget: int, bound: int) -> Pieces | None:
        """Pieces for a first try without reading: the whole bound on one random shard
        whose share can hold it; None when no single share can."""
        fitting = [s for s, share in enumerate(shares(budget, scope.shards)) if share >= bound]
        return ((random.choice(fitting), bound),) if fitting else None

    @staticmethod
    def split(day: BudgetDay, bound: int) -> Pieces | None:
        """The bound spread over the shards with room, the roomiest first; None if it
        does not fit in what remains."""
        free = sorted(day.free_by_shard().items(), key=lambda kv: -kv[1])
        pieces: list[tuple[int, int]] = []
        left = bound
        for shard, room in free:
            if left == 0:
                break
            if room > 0:
                piece = min(room, left)
                pieces.append((shard, piece))
                left -= piece
        return tuple(pieces) if left == 0 else None

    def hold_items(
        self, scope: BudgetScope, day: datetime, budget: int, pieces: Pieces
    ) -> list[Any]:
        """Transaction items that hold `pieces`, each refused if its shard lacks room."""
        share_of = shares(budget, scope.shards)
        expires = int((day + RETENTION).timestamp())
        return [
            {
                "Update": {
                    "TableName": self._table.name,
                    "Key": scope.key(day.date().isoformat(), shard),
                    "UpdateExpression": "ADD #tokens :n, #reserved :n SET #expires = :expires",
                    "ConditionExpression": "attribute_not_exists(#tokens) OR #tokens <= :room",
                    "ExpressionAttributeNames": {
                        "#tokens": "tokens",
                        "#reserved": "reserved",
                        "#expires": TTL_ATTRIBUTE,
                    },
                    "ExpressionAttributeValues": {
                        ":n": tokens,
                        ":room": share_of[shard] - tokens,
                        ":expires": expires,
                    },
                }
            }
            for shard, tokens in pieces
        ]

    def settle_items(
        self, scope: BudgetScope, day: str, pieces: Pieces, cost: int | None
    ) -> list[Any]:
        """Items that settle held pieces: to `cost` in all (a call that answered), or to
        nothing (None: a call that failed or died)."""
        left = 0 if cost is None else cost
        items = []
        for index, (shard, held) in enumerate(pieces):
            # The cost fills the pieces in order; the last takes any excess over the bound.
            used = left if index == len(pieces) - 1 else min(left, held)
            left -= used
            items.append(
                {
                    "Update": {
                        "TableName": self._table.name,
                        "Key": scope.key(day, shard),
                        "UpdateExpression": "ADD #tokens :delta, #reserved :minus",
                        "ConditionExpression": "attribute_exists(#tokens)",
                        "ExpressionAttributeNames": {"#tokens": "tokens", "#reserved": "reserved"},
                        "ExpressionAttributeValues": {":delta": used - held, ":minus": -held},
                    }
                }
            )
        return items


class BudgetHolds:
    """What one send holds of each budget in force, while it tries its reservation.

    Each budget is first tried as a guess on one shard; a budget whose hold was refused
    is read and its bound spread over the shards with room, or BudgetExhausted.
    """

    def __init__(
        self, store: BudgetStore, bound: int, budgets: list[tuple[BudgetScope, int]]
    ) -> None:
        self._store, self._bound, self._budgets = store, bound, budgets
        self._pieces: dict[str, Pieces] = {}
        self._guessed: set[str] = set()
        self._ranges: list[tuple[str, int, int]] = []

    def items(self, now: datetime) -> list[Any]:
        """The transaction items that hold the bound in every budget in force."""
        items: list[Any] = []
        self._ranges = []
        for scope, budget in self._budgets:
            if scope.name not in self._pieces:
                self._pieces[scope.name] = self._place(scope, budget, now)
            held = self._store.hold_items(scope, now, budget, self._pieces[scope.name])
            self._ranges.append((scope.name, len(items), len(items) + len(held)))
            items += held
        return items

    def pieces(self, name: str) -> Pieces:
        return self._pieces.get(name, ())

    def refused(self, codes: list[str]) -> bool:
        """Whether a hold was refused (its shard lacked room); that budget is placed again."""
        again = False
        for name, start, end in self._ranges:
            if CONDITION_FAILED in codes[start:end]:
                del self._pieces[name]
                again = True
        return again

    def _place(self, scope: BudgetScope, budget: int, now: datetime) -> Pieces:
        if scope.name not in self._guessed:
            self._guessed.add(scope.name)
            guessed = self._store.guess_pieces(scope, budget, self._bound)
            if guessed:
                return guessed
        day = self._store.read(scope, now.date().isoformat(), budget)
        split = self._store.split(day, self._bound)
        if split is None:
            raise BudgetExhausted(
                "This agent has used today's token budget; it resets at midnight UTC."
                if scope.name == "agent"
                else None,
                details={
                    "scope": scope.name,
                    "limit": budget,
                    "remaining": day.remaining,
                    "needed": self._bound,
                },
                retry_after=seconds_until_midnight(now),
            )
        return split
