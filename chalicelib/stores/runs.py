"""The running streams of a session, so a stop sent from another invocation reaches them.

A stream's item `LIVE#<requestId>` is written in the transaction that reserves its
quota (overwriting any earlier request's with the same id). A stop marks it, only if
it exists; the stream reads the mark at a bounded rate. Items expire through TTL, so
a stop after the end marks nothing anyone reads: a no-op.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from chalicelib.core.dynamo import conditional, get_item
from chalicelib.core.provisioning import TTL_ATTRIBUTE
from chalicelib.stores.records import partition_key

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

# Sorts below every message (`MSG#`), as idempotency records do, so a history read
# that meets one knows it has read every message.
RUN_PREFIX = "LIVE#"
# Longer than any stream may run.
RETENTION_SECONDS = 60 * 60


def _key(session_id: str, request_id: str) -> dict[str, str]:
    return {"pk": partition_key(session_id), "sk": RUN_PREFIX + request_id}


class RunStore:
    def __init__(self, table: Table) -> None:
        self._table = table

    def start(self, session_id: str, request_id: str) -> Any:
        """A transaction item recording a running stream, not stopped."""
        return {
            "Put": {
                "TableName": self._table.name,
                "Item": {
                    **_key(session_id, request_id),
                    "stopRequested": False,
                    TTL_ATTRIBUTE: int(time.time()) + RETENTION_SECONDS,
                },
            }
        }

    def request_stop(self, session_id: str, request_id: str) -> bool:
        """Mark a running stream as stopped; False when no such stream ever started."""
        answer = conditional(
            self._table,
            "update_item",
            Key=_key(session_id, request_id),
            UpdateExpression="SET #stop = :yes",
            ConditionExpression="attribute_exists(sk)",
            ExpressionAttributeNames={"#stop": "stopRequested"},
            ExpressionAttributeValues={":yes": True},
        )
        return answer is not None

    def stop_requested(self, session_id: str, request_id: str) -> bool:
        item = get_item(self._table, _key(session_id, request_id))
        return bool(item and item.get("stopRequested"))
