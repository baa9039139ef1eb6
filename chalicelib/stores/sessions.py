"""The DynamoDB store of chat sessions.

One table, one partition per session. The partition holds the session item
(sort key `SESSION`), one item per message (`MSG#<id>`, see messages.py), the
records of its conversation's tree (`BRANCH#<run>`, see branches.py), and
idempotency records (`IDEM#<key>`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.core.dynamo import conditional, error_code, get_item, query_items
from chalicelib.core.errors import SessionNotFound, StorageUnavailable
from chalicelib.core.tokens import is_valid_id
from chalicelib.stores.branches import TreeStore
from chalicelib.stores.messages import new_exchange_ids
from chalicelib.stores.records import (
    FRACTION_SETTINGS,
    SESSION_SORT_KEY,
    SETTING_ATTRIBUTES,
    SessionRecord,
    decimal_of,
    partition_key,
    session_key,
)

__all__ = [
    "SESSION_SORT_KEY",
    "SessionRecord",
    "SessionStore",
    "new_exchange_ids",
    "partition_key",
    "session_key",
]


@contextmanager
def _written() -> Iterator[None]:
    """A write to a session: a failed condition means it is gone (SessionNotFound)."""
    try:
        yield
    except ClientError as exc:
        if error_code(exc) == "ConditionalCheckFailedException":
            raise SessionNotFound() from exc
        raise StorageUnavailable() from exc
    except BotoCoreError as exc:
        raise StorageUnavailable() from exc


class SessionStore(TreeStore):
    """Sessions and, through TreeStore and MessageStore, their messages."""

    def get(self, session_id: str, *, including_deleting: bool = False) -> SessionRecord | None:
        if not is_valid_id(session_id):
            return None
        item = get_item(self._table, session_key(session_id))
        if not item or ("deletingAt" in item and not including_deleting):
            return None
        return SessionRecord.from_item(item)

    def update_settings(
        self, session_id: str, changes: dict[str, Any], updated_at: str
    ) -> SessionRecord | None:
        """Apply setting changes; None when the session no longer exists."""
        names = {"#updatedAt": "updatedAt", "#deleting": "deletingAt"}
        values: dict[str, Any] = {":updatedAt": updated_at}
        assignments = ["#updatedAt = :updatedAt"]
        for field, value in changes.items():
            attribute = SETTING_ATTRIBUTES[field]
            names[f"#{attribute}"] = attribute
            values[f":{attribute}"] = decimal_of(value) if field in FRACTION_SETTINGS else value
            assignments.append(f"#{attribute} = :{attribute}")
        response = conditional(
            self._table,
            "update_item",
            Key=session_key(session_id),
            UpdateExpression="SET " + ", ".join(assignments),
            ConditionExpression="attribute_exists(pk) AND attribute_not_exists(#deleting)",
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
            ReturnValues="ALL_NEW",
        )
        return None if response is None else SessionRecord.from_item(response["Attributes"])

    def mark_deleting(self, session_id: str, deleting_at: str) -> None:
        """Mark the session as being deleted: it reads as missing and takes nothing new."""
        with _written():
            self._table.update_item(
                Key=session_key(session_id),
                UpdateExpression="SET #deleting = if_not_exists(#deleting, :now)",
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeNames={"#deleting": "deletingAt"},
                ExpressionAttributeValues={":now": deleting_at},
            )

    def delete(self, session_id: str, deleting_at: str) -> None:
        """Remove the session and every item of its partition, in batches.

        The session is first marked as being deleted, so it reads as missing
        and takes no new messages; a failed deletion can simply be repeated.
        """
        self.mark_deleting(session_id, deleting_at)
        with _written():
            keys = query_items(
                self._table,
                KeyConditionExpression="pk = :pk",
                ExpressionAttributeValues={":pk": partition_key(session_id)},
                ProjectionExpression="pk, sk",
                ConsistentRead=True,
            )
            with self._table.batch_writer() as batch:
                for key in keys:
                    if key["sk"] != SESSION_SORT_KEY:
                        batch.delete_item(Key={"pk": key["pk"], "sk": key["sk"]})
            # Last, so a retry can still find the session if anything above failed.
            self._table.delete_item(Key=session_key(session_id))
