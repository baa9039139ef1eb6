"""File records and their quotas in the sessions table, kept exact by conditional writes.

A file belongs to an owner's partition: a config's (`CONFIG#{id}`, knowledge) or a
session's (`SESSION#{id}`, attachments). There it has a record `FILE#{fileId}` and
counts on the owner's `FILES` item; its bytes count on the config's
`DAY#{yyyy-mm-dd}#files` item. Announcing an upload writes all three and checks the
config's controls mirror (and the session) in one transaction, so concurrent uploads
never overshoot a limit (as quotas.py does for messages). A pending upload holds its
share until it completes or until `completeBy`; after that, the owner's next upload
gives it back, so an upload never completed stops counting.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

from botocore.exceptions import BotoCoreError, ClientError
from pydantic import Field

from chalicelib.core.dynamo import (
    CONDITION_FAILED,
    conditional,
    get_item,
    give_back,
    query_items,
    transact,
)
from chalicelib.core.errors import StorageUnavailable
from chalicelib.core.provisioning import TTL_ATTRIBUTE
from chalicelib.schemas.files import Attachment, FilePublic
from chalicelib.stores.controls import config_partition, state_key
from chalicelib.stores.quotas import COUNTER_RETENTION
from chalicelib.stores.records import partition_key, session_key

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

logger = logging.getLogger(__name__)

FILE_PREFIX = "FILE#"
COUNTER_SORT_KEY = "FILES"


@dataclass(frozen=True)
class Owner:
    """Whose files: a config's knowledge, or a session's attachments."""

    kind: Literal["config", "session"]
    owner_id: str
    config_id: str

    @property
    def partition(self) -> str:
        if self.kind == "config":
            return config_partition(self.owner_id)
        return partition_key(self.owner_id)

    @property
    def path(self) -> str:
        """The owner's part of the file's S3 keys."""
        return f"{self.kind}/{self.owner_id}"


class FileRecord(FilePublic):
    """A file as stored: as listed, and what its upload and quota need."""

    # Epoch ms after which a pending upload can no longer be completed.
    complete_by: int
    # The UTC day its bytes count on.
    day: str
    config_id: str
    # A different value per announcement: giving back twice is impossible.
    nonce: str = Field(default="")

    def public(self) -> FilePublic:
        return FilePublic.model_validate(self.model_dump(include=set(FilePublic.model_fields)))

    def attachment(self) -> Attachment:
        return Attachment.model_validate(self.model_dump())


@dataclass(frozen=True)
class FileQuota:
    """The limits an announcement is checked against, as read from the controls mirror."""

    files: int
    bytes_per_day: int
    limits_version: int


class Refused(Exception):
    """An announcement was refused; `reason` says by which condition."""

    def __init__(self, reason: Literal["files", "bytes", "config", "session"]) -> None:
        self.reason = reason
        super().__init__(reason)


def _bytes_key(config_id: str, day: str) -> dict[str, str]:
    return {"pk": config_partition(config_id), "sk": f"DAY#{day}#files"}


class FileStore:
    def __init__(self, table: Table) -> None:
        self._table = table

    def _key(self, owner: Owner, file_id: str) -> dict[str, str]:
        return {"pk": owner.partition, "sk": FILE_PREFIX + file_id}

    def _counter(self, owner: Owner, change: int, condition: str, limit: int) -> Any:
        return {
            "Update": {
                "TableName": self._table.name,
                "Key": {"pk": owner.partition, "sk": COUNTER_SORT_KEY},
                "UpdateExpression": "ADD #files :change",
                "ConditionExpression": condition,
                "ExpressionAttributeNames": {"#files": "files"},
                "ExpressionAttributeValues": {":change": change, ":limit": limit},
            }
        }

    def _day_bytes(self, record: FileRecord, change: int, condition: str, bound: int) -> Any:
        day = datetime.fromisoformat(record.day)
        expires = int((day + timedelta(days=1) + COUNTER_RETENTION).timestamp())
        return {
            "Update": {
                "TableName": self._table.name,
                "Key": _bytes_key(record.config_id, record.day),
                "UpdateExpression": "ADD #bytes :change SET #expires = :expires",
                "ConditionExpression": condition,
                "ExpressionAttributeNames": {"#bytes": "bytes", "#expires": TTL_ATTRIBUTE},
                "ExpressionAttributeValues": {
                    ":change": change,
                    ":bound": bound,
                    ":expires": expires,
                },
            }
        }

    def announce(self, owner: Owner, record: FileRecord, quota: FileQuota) -> None:
        """Store a pending file, counted against the owner's files and the day's bytes."""
        room = quota.bytes_per_day - record.size
        if room < 0:
            raise Refused("bytes")
        item = {**self._key(owner, record.file_id), **record.model_dump(by_alias=True)}
        items: list[Any] = [
            {
                "Put": {
                    "TableName": self._table.name,
                    "Item": item,
                    "ConditionExpression": "attribute_not_exists(sk)",
                }
            },
            self._counter(owner, 1, "attribute_not_exists(#files) OR #files < :limit", quota.files),
            self._day_bytes(
                record, record.size, "attribute_not_exists(#bytes) OR #bytes <= :bound", room
            ),
            {
                "ConditionCheck": {
                    "TableName": self._table.name,
                    "Key": state_key(owner.config_id),
                    "ConditionExpression": "attribute_not_exists(#deleted) AND #version = :version",
                    "ExpressionAttributeNames": {
                        "#deleted": "deletedAt",
                        "#version": "limitsVersion",
                    },
                    "ExpressionAttributeValues": {":version": quota.limits_version},
                }
            },
        ]
        if owner.kind == "session":
            items.append(
                {
                    "ConditionCheck": {
                        "TableName": self._table.name,
                        "Key": session_key(owner.owner_id),
                        "ConditionExpression": (
                            "attribute_exists(pk) AND attribute_not_exists(#deleting)"
                        ),
                        "ExpressionAttributeNames": {"#deleting": "deletingAt"},
                    }
                }
            )
        refused = transact(self._table, items)
        if refused is None:
            return
        for index, reason in ((4, "session"), (3, "config"), (1, "files"), (2, "bytes")):
            if index < len(refused) and refused[index] == CONDITION_FAILED:
                raise Refused(reason)  # type: ignore[arg-type]
        raise StorageUnavailable("A file with this id already exists; try again.")

    def get(self, owner: Owner, file_id: str) -> FileRecord | None:
        item = get_item(self._table, self._key(owner, file_id))
        return FileRecord.model_validate(item) if item else None

    def list_files(self, owner: Owner) -> list[FileRecord]:
        """The owner's files, pending ones included, in id order."""
        items = query_items(
            self._table,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :prefix)",
            ExpressionAttributeValues={":pk": owner.partition, ":prefix": FILE_PREFIX},
            ConsistentRead=True,
        )
        return [FileRecord.model_validate(item) for item in items]

    def mark_ready(self, owner: Owner, record: FileRecord, now_ms: int) -> bool:
        """Complete a pending upload still within its time; False if it no longer can be."""
        answer = conditional(
            self._table,
            "update_item",
            Key=self._key(owner, record.file_id),
            UpdateExpression="SET #status = :ready",
            ConditionExpression="#status = :pending AND #nonce = :nonce AND #completeBy >= :now",
            ExpressionAttributeNames={
                "#status": "status",
                "#nonce": "nonce",
                "#completeBy": "completeBy",
            },
            ExpressionAttributeValues={
                ":ready": "ready",
                ":pending": "pending",
                ":nonce": record.nonce,
                ":now": now_ms,
            },
        )
        return answer is not None

    def release(
        self, owner: Owner, record: FileRecord, expired_before_ms: int | None = None
    ) -> bool:
        """Remove a file's record and its count, in one transaction; False if already gone.

        A pending file also gives its bytes back: they were never kept. With
        `expired_before_ms`, only a pending upload whose time is over is released.
        """
        condition = "attribute_exists(sk) AND #nonce = :nonce"
        names = {"#nonce": "nonce"}
        values: dict[str, Any] = {":nonce": record.nonce}
        if expired_before_ms is not None:
            condition += " AND #status = :pending AND #completeBy < :now"
            names.update({"#status": "status", "#completeBy": "completeBy"})
            values.update({":pending": "pending", ":now": expired_before_ms})
        items: list[Any] = [
            {
                "Delete": {
                    "TableName": self._table.name,
                    "Key": self._key(owner, record.file_id),
                    "ConditionExpression": condition,
                    "ExpressionAttributeNames": names,
                    "ExpressionAttributeValues": values,
                }
            },
            self._counter(owner, -1, "attribute_exists(pk) AND #files >= :limit", 1),
        ]
        if record.status == "pending":
            items.append(
                self._day_bytes(
                    record, -record.size, "attribute_exists(pk) AND #bytes >= :bound", record.size
                )
            )
        return give_back(self._table, items)

    def release_expired(self, owner: Owner, now_ms: int) -> list[FileRecord]:
        """Give back the uploads of this owner never completed in time; those released."""
        expired = [
            record
            for record in self.list_files(owner)
            if record.status == "pending" and record.complete_by < now_ms
        ]
        return [record for record in expired if self.release(owner, record, now_ms)]

    def forget_all(self, owner: Owner) -> None:
        """Delete every file record and the counter of an owner (its deletion)."""
        keys = query_items(
            self._table,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :prefix)",
            ExpressionAttributeValues={":pk": owner.partition, ":prefix": "FILE"},
            ProjectionExpression="pk, sk",
            ConsistentRead=True,
        )
        try:
            with self._table.batch_writer() as batch:
                for key in keys:
                    batch.delete_item(Key={"pk": key["pk"], "sk": key["sk"]})
        except (ClientError, BotoCoreError) as exc:
            raise StorageUnavailable() from exc
