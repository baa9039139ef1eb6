"""The operator's day counters: what the whole server did on a UTC day.

The partition `OPERATOR` holds, beside the budget's shards (budget.py),
`DAY#{yyyy-mm-dd}#{n}` items, sharded wider than the agents' day counters: `agents`
(created, held under LIMIT_AGENTS_PER_DAY exactly, as shares per shard), `sessions`,
`messages` and `tokens` (settled exchanges and their cost, with `promptTokens`,
`replyTokens` and `cachedTokens`), the ratings of replies (`feedbackUp`,
`feedbackDown`) and the refusals (`refusedBudget`, `refusedQuota`,
`refusedRateLimited`); analytics.py reads a period of them in one Query. Each count rides in the
transaction that does the thing counted, so it costs a send no extra call; only a
refusal, which stores nothing else, is counted with a write of its own.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from chalicelib.core.dynamo import counter_update, query_items
from chalicelib.stores.controls import SHARDS, shares

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

PARTITION = "OPERATOR"
# Long enough to look back over 90 days in GET /operator/usage.
RETENTION = timedelta(days=92)
# Every send of the server counts here, so its counts spread wider than an agent's day
# counters; the agents' limit keeps to the first SHARDS, as shares of it.
USAGE_SHARDS = 4 * SHARDS
REFUSAL_COUNTERS = {
    "budget": "refusedBudget",
    "quota": "refusedQuota",
    "rateLimited": "refusedRateLimited",
}
COUNTERS = ("agents", "sessions", "messages", "tokens", *REFUSAL_COUNTERS.values())


def day_key(day: str, shard: int) -> dict[str, str]:
    return {"pk": PARTITION, "sk": f"DAY#{day}#{shard}"}


def _expires(day: str) -> int:
    return int((datetime.fromisoformat(day).replace(tzinfo=UTC) + RETENTION).timestamp())


@dataclass(frozen=True)
class OperatorDay:
    """One day's counts over every shard."""

    counts: dict[str, int]

    def __getitem__(self, counter: str) -> int:
        return self.counts.get(counter, 0)


class OperatorStore:
    def __init__(self, table: Table) -> None:
        self._table = table

    def count_item(self, day: str, counters: dict[str, int], shard: int | None = None) -> Any:
        """A transaction item adding `counters` on one shard (a random one by default)."""
        shard = random.randrange(USAGE_SHARDS) if shard is None else shard
        return counter_update(self._table.name, day_key(day, shard), counters, _expires(day))

    def agent_item(self, day: str, limit: int, shard: int) -> Any:
        """Count one new agent on a shard, unless that shard's share of the limit (0: none)
        is used up."""
        item = self.count_item(day, {"agents": 1}, shard)
        if not limit:
            return item
        update = item["Update"]
        update["ConditionExpression"] = "attribute_not_exists(#c0) OR #c0 < :limit"
        update["ExpressionAttributeValues"][":limit"] = shares(limit)[shard]
        return item

    def count_refusal(self, day: str, kind: str) -> None:
        """Count one refusal (`budget`, `quota` or `rateLimited`)."""
        update = self.count_item(day, {REFUSAL_COUNTERS[kind]: 1})["Update"]
        del update["TableName"]
        self._table.update_item(**update)

    def read(self, day: str) -> OperatorDay:
        items = query_items(
            self._table,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :prefix)",
            ExpressionAttributeValues={":pk": PARTITION, ":prefix": f"DAY#{day}#"},
            ConsistentRead=True,
        )
        counts = dict.fromkeys(COUNTERS, 0)
        for item in items:
            for counter in COUNTERS:
                counts[counter] += int(item.get(counter, 0))
        return OperatorDay(counts)
