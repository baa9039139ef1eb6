"""The operator's daily token budget (BUDGET_TOKENS_PER_DAY), in DynamoDB.

The partition `OPERATOR` holds `BUDGET#{yyyy-mm-dd}#{n}`: one share of that UTC
day's budget per shard (the shares add up to it exactly), with `tokens` (what
calls hold or used) and `reserved` (what calls in flight hold). Before a model
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

from chalicelib.core.dynamo import query_items
from chalicelib.core.provisioning import TTL_ATTRIBUTE

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

BUDGET_PARTITION = "OPERATOR"
BUDGET_SHARDS = 8
RETENTION = timedelta(days=2)

Pieces = tuple[tuple[int, int], ...]  # (shard, tokens)


def budget_shares(budget: int) -> list[int]:
    """The budget split over the shards: whole numbers that add up to it."""
    return [
        budget // BUDGET_SHARDS + (1 if shard < budget % BUDGET_SHARDS else 0)
        for shard in range(BUDGET_SHARDS)
    ]


def budget_key(day: str, shard: int) -> dict[str, str]:
    return {"pk": BUDGET_PARTITION, "sk": f"BUDGET#{day}#{shard}"}


@dataclass(frozen=True)
class BudgetDay:
    """One day's budget as stored: what calls used and what calls in flight hold."""

    budget: int
    tokens_by_shard: dict[int, int]
    reserved: int

    @property
    def held(self) -> int:
        return sum(self.tokens_by_shard.values())

    @property
    def remaining(self) -> int:
        return max(0, self.budget - self.held)

    def free_by_shard(self) -> dict[int, int]:
        shares = budget_shares(self.budget)
        return {s: max(0, shares[s] - self.tokens_by_shard.get(s, 0)) for s in range(len(shares))}


class BudgetStore:
    def __init__(self, table: Table) -> None:
        self._table = table

    def read(self, day: str, budget: int) -> BudgetDay:
        items = list(
            query_items(
                self._table,
                KeyConditionExpression="pk = :pk AND begins_with(sk, :prefix)",
                ExpressionAttributeValues={":pk": BUDGET_PARTITION, ":prefix": f"BUDGET#{day}#"},
                ConsistentRead=True,
            )
        )
        tokens = {int(str(i["sk"]).rsplit("#", 1)[1]): int(i.get("tokens", 0)) for i in items}
        reserved = sum(int(i.get("reserved", 0)) for i in items)
        return BudgetDay(budget, tokens, reserved)

    def guess_pieces(self, budget: int, bound: int) -> Pieces | None:
        """Pieces for a first try without reading: the whole bound on one random shard
        whose share can hold it; None when no single share can."""
        fitting = [s for s, share in enumerate(budget_shares(budget)) if share >= bound]
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

    def hold_items(self, day: datetime, budget: int, pieces: Pieces) -> list[Any]:
        """Transaction items that hold `pieces`, each refused if its shard lacks room."""
        shares = budget_shares(budget)
        expires = int((day + RETENTION).timestamp())
        return [
            {
                "Update": {
                    "TableName": self._table.name,
                    "Key": budget_key(day.date().isoformat(), shard),
                    "UpdateExpression": "ADD #tokens :n, #reserved :n SET #expires = :expires",
                    "ConditionExpression": "attribute_not_exists(#tokens) OR #tokens <= :room",
                    "ExpressionAttributeNames": {
                        "#tokens": "tokens",
                        "#reserved": "reserved",
                        "#expires": TTL_ATTRIBUTE,
                    },
                    "ExpressionAttributeValues": {
                        ":n": tokens,
                        ":room": shares[shard] - tokens,
                        ":expires": expires,
                    },
                }
            }
            for shard, tokens in pieces
        ]

    def settle_items(self, day: str, pieces: Pieces, cost: int | None) -> list[Any]:
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
                        "Key": budget_key(day, shard),
                        "UpdateExpression": "ADD #tokens :delta, #reserved :minus",
                        "ConditionExpression": "attribute_exists(#tokens)",
                        "ExpressionAttributeNames": {"#tokens": "tokens", "#reserved": "reserved"},
                        "ExpressionAttributeValues": {":delta": used - held, ":minus": -held},
                    }
                }
            )
        return items
