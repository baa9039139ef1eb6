"""Per-client rate limits: counts per client address and time window, in DynamoDB.

A client's partition `CLIENT#{key}` (the keyed hash of its address, never the
address: core/clients.py) holds one item per limit and window, such as
`MESSAGES#2026-12-07T10:41`, whose count is conditioned on the limit in the
transaction that does what is counted. An item expires through TTL soon after
its window. One client's requests meet on one item, which only slows that client.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from chalicelib.core.errors import RateLimited
from chalicelib.core.provisioning import TTL_ATTRIBUTE

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table


@dataclass(frozen=True)
class Window:
    """One per-client limit: what it counts and over how long."""

    name: str  # as a refusal's details.limit names it
    prefix: str
    length: timedelta
    stamp_format: str  # the window's start, as its sort key shows it

    def start(self, now: datetime) -> datetime:
        return datetime.strptime(now.strftime(self.stamp_format), self.stamp_format).replace(
            tzinfo=now.tzinfo
        )

    def key(self, client_key: str, now: datetime) -> dict[str, str]:
        stamp = now.strftime(self.stamp_format)
        return {"pk": f"CLIENT#{client_key}", "sk": f"{self.prefix}#{stamp}"}

    def seconds_left(self, now: datetime) -> int:
        end = self.start(now) + self.length
        return max(1, int((end - now).total_seconds() + 0.999))


AGENTS_PER_DAY = Window("agentsPerClientPerDay", "AGENTS", timedelta(days=1), "%Y-%m-%d")
SESSIONS_PER_HOUR = Window(
    "sessionsPerClientPerHour", "SESSIONS", timedelta(hours=1), "%Y-%m-%dT%H"
)
MESSAGES_PER_MINUTE = Window(
    "messagesPerClientPerMinute", "MESSAGES", timedelta(minutes=1), "%Y-%m-%dT%H:%M"
)


@dataclass(frozen=True)
class ClientCount:
    """One request's count against one per-client limit, ready for its transaction."""

    window: Window
    limit: int
    client_key: str
    now: datetime

    def item(self, table: Table) -> Any:
        expires = self.window.start(self.now) + self.window.length + timedelta(minutes=5)
        return {
            "Update": {
                "TableName": table.name,
                "Key": self.window.key(self.client_key, self.now),
                "UpdateExpression": "ADD #count :one SET #expires = :expires",
                "ConditionExpression": "attribute_not_exists(#count) OR #count < :limit",
                "ExpressionAttributeNames": {"#count": "count", "#expires": TTL_ATTRIBUTE},
                "ExpressionAttributeValues": {
                    ":one": 1,
                    ":limit": self.limit,
                    ":expires": int(expires.timestamp()),
                },
            }
        }

    def refusal(self) -> RateLimited:
        return RateLimited(
            details={"limit": self.window.name, "value": self.limit},
            retry_after=self.window.seconds_left(self.now),
        )


def client_count(
    window: Window, limit: int, client_key: str | None, now: datetime
) -> ClientCount | None:
    """The count to make, or None when the limit is off (0) or the client unknown."""
    if not limit or client_key is None:
        return None
    return ClientCount(window, limit, client_key, now)
