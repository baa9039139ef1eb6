"""(g) Analytics: what reading an agent's 90 days costs, in DynamoDB calls and read units.

The agent's day items are seeded as sends, sessions, ratings and refusals leave them
(every day counter and usage item of every day, all counters set), once without
comments and once with a busy agent's (COMMENTS_PER_DAY of COMMENT_CHARS each). The
read is the app's own (AnalyticsStore.agent_period, which GET /chat-config/{id}/analytics
calls). moto reports no real consumed capacity, so the read units are computed by
DynamoDB's rules (capacity.py), halved for the eventually consistent Query the read is.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from bench import capacity
from bench.counting import CallCounter
from bench.stack import local_stack
from chalicelib.core import clock
from chalicelib.stores.analytics import AnalyticsStore, day_expiry
from chalicelib.stores.controls import SHARDS, config_partition

DAYS = 90
COMMENTS_PER_DAY = 20
COMMENT_CHARS = 200
COUNTS = {
    "messages": 40,
    "sessions": 9,
    "replies": 40,
    "promptTokens": 123_456,
    "replyTokens": 23_456,
    "tokens": 146_912,
    "cachedTokens": 12_345,
    "feedbackUp": 3,
    "feedbackDown": 1,
    "refusedQuota": 2,
    "refusedBudget": 1,
    "refusedRateLimited": 1,
}


@dataclass(frozen=True)
class ReadCost:
    calls: int
    operations: tuple[str, ...]
    items: int
    response_bytes: int
    read_units: float  # eventually consistent


@dataclass(frozen=True)
class InsightResult:
    quiet: ReadCost
    busy: ReadCost

    def lines(self) -> list[str]:
        def line(name: str, cost: ReadCost) -> str:
            return (
                f"  {name}: {cost.calls} call ({', '.join(cost.operations)}), {cost.items} items, "
                f"{cost.response_bytes:,} bytes, {cost.read_units:g} RCU"
            )

        met = self.quiet.calls == 1 and self.busy.calls == 1
        return [
            f"(g) analytics: an agent's {DAYS} days ({2 * SHARDS} items a day), one Query",
            line("counters only", self.quiet),
            line(f"with {COMMENTS_PER_DAY} comments a day of {COMMENT_CHARS} chars", self.busy),
            f"  target: the {DAYS}-day read is one DynamoDB call: {'met' if met else 'MISSED'}",
        ]


def _seed(table: object, config_id: str, comments_per_day: int) -> None:
    today = clock.utc_now().date()
    limits = ("messages", "sessions")
    with table.batch_writer() as batch:  # type: ignore[attr-defined]
        for back in range(DAYS):
            day = str(today - timedelta(days=back))
            for shard in range(SHARDS):
                # The day counter the limits keep, and the usage item beside it.
                counters, usage = (
                    {
                        "pk": config_partition(config_id),
                        "sk": f"DAY#{day}#{suffix}{shard}",
                        "expiresAt": day_expiry(day),
                        **{
                            name: count // SHARDS + 1
                            for name, count in COUNTS.items()
                            if (name in limits) == (suffix == "")
                        },
                    }
                    for suffix in ("", "u")
                )
                for n in range(shard, comments_per_day, SHARDS):
                    usage[f"note:{back:03d}{n:017d}"] = {
                        "rating": "down",
                        "comment": "x" * COMMENT_CHARS,
                        "at": f"{day}T12:00:{n % 60:02d}.000Z",
                    }
                batch.put_item(Item=counters)
                batch.put_item(Item=usage)


def _measure(counter: CallCounter, stack_table: object, config_id: str) -> ReadCost:
    store = AnalyticsStore(stack_table)  # type: ignore[arg-type]
    with counter.measure() as measured:
        store.agent_period(config_id, clock.utc_now().date(), DAYS)
    dynamodb = measured.by_service["dynamodb"]
    units = capacity.of_calls(dynamodb.bodies, lambda _table, _key: 0)
    return ReadCost(
        dynamodb.calls,
        tuple(dynamodb.operations),
        units.items_read,
        dynamodb.response_bytes,
        units.read_units / 2,
    )


def run(counter: CallCounter) -> InsightResult:
    with local_stack() as stack:
        costs = []
        for comments in (0, COMMENTS_PER_DAY):
            config_id = f"bench-analytics-{comments}"
            _seed(stack.table, config_id, comments)
            costs.append(_measure(counter, stack.table, config_id))
    return InsightResult(*costs)
