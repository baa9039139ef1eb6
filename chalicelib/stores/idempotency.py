"""Safe retries of a send: the `Idempotency-Key` header.

A send with a key claims `IDEM#<key>` in its session's partition, in the same
transaction that reserves its quota, so of two racing requests only one calls
the model. The claim records a hash of the message and, once the exchange is
stored (in the exchange's own transaction), the whole reply; a retry within
24 hours gets that reply back without another model call.

A pending claim has the lease of its send's reservation: if the process
answering it dies, a retry after the lease takes the key over and runs afresh.
Only the request that holds a claim can complete or release it.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from chalicelib.core.dynamo import get_item
from chalicelib.core.errors import ValidationFailed
from chalicelib.core.provisioning import TTL_ATTRIBUTE
from chalicelib.schemas import MessageReply
from chalicelib.stores.sessions import partition_key

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

HEADER = "Idempotency-Key"
RETENTION_SECONDS = 24 * 60 * 60
KEY_PATTERN = re.compile(r"^[\x21-\x7e]{1,64}$")


def parse_key(value: str | None) -> str | None:
    """The key from the header, if one was sent: 1-64 visible ASCII characters."""
    if value is None:
        return None
    if not KEY_PATTERN.match(value):
        raise ValidationFailed(
            f"{HEADER} must be 1 to 64 visible ASCII characters.",
            details={"fields": [{"field": HEADER, "message": "1-64 visible ASCII characters"}]},
        )
    return value


@dataclass(frozen=True)
class Claim:
    session_id: str
    key: str
    message: str
    # Which request holds the claim.
    owner: str = field(default_factory=lambda: secrets.token_hex(8))

    @property
    def message_hash(self) -> str:
        return hashlib.sha256(self.message.encode("utf-8")).hexdigest()

    def item_key(self) -> dict[str, str]:
        return {"pk": partition_key(self.session_id), "sk": f"IDEM#{self.key}"}

    def put(self, table_name: str, lease_seconds: float) -> Any:
        """Claim the key, unless a claim younger than 24 hours holds it (a pending one
        only while its lease lasts)."""
        now = time.time()
        return {
            "Put": {
                "TableName": table_name,
                "Item": {
                    **self.item_key(),
                    "messageHash": self.message_hash,
                    "state": "pending",
                    "owner": self.owner,
                    "leaseUntil": int((now + lease_seconds) * 1000),
                    TTL_ATTRIBUTE: int(now) + RETENTION_SECONDS,
                },
                "ConditionExpression": (
                    "attribute_not_exists(sk) OR #expires < :now "
                    "OR (#state = :pending AND #lease < :nowMs)"
                ),
                "ExpressionAttributeNames": {
                    "#expires": TTL_ATTRIBUTE,
                    "#state": "state",
                    "#lease": "leaseUntil",
                },
                "ExpressionAttributeValues": {
                    ":now": int(now),
                    ":nowMs": int(now * 1000),
                    ":pending": "pending",
                },
            }
        }

    def complete(self, table_name: str, reply: MessageReply) -> Any:
        """Record the stored exchange, in the transaction that stores it."""
        return {
            "Update": {
                "TableName": table_name,
                "Key": self.item_key(),
                "UpdateExpression": "SET #state = :done, #result = :result",
                "ConditionExpression": "#owner = :owner",
                "ExpressionAttributeNames": {
                    "#state": "state",
                    "#result": "result",
                    "#owner": "owner",
                },
                "ExpressionAttributeValues": {
                    ":done": "done",
                    ":result": reply.model_dump_json(by_alias=True),
                    ":owner": self.owner,
                },
            }
        }

    def release(self, table_name: str) -> Any:
        """Drop a claim whose send failed, so a retry can try again."""
        return {
            "Delete": {
                "TableName": table_name,
                "Key": self.item_key(),
                "ConditionExpression": "#state = :pending AND #owner = :owner",
                "ExpressionAttributeNames": {"#state": "state", "#owner": "owner"},
                "ExpressionAttributeValues": {":pending": "pending", ":owner": self.owner},
            }
        }

    def read(self, table: Table) -> dict[str, Any] | None:
        return get_item(table, self.item_key())
