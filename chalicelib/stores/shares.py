"""Read-only snapshots of conversations (shares): the frozen body in S3, the share in DynamoDB.

A share's body, every message up to the shared point (a conversation has no length cap,
so it may be far larger than a DynamoDB item's 400 KB), is one JSON object at
`shares/{shareId}.json`, written once and never changed. The share itself is two items
of the sessions table, put in one transaction with the session's share counter: `SHARE`
in its own partition `SHARE#{shareId}`, which GET /shares/{id} reads first, and
`LINK#{shareId}` in the session's partition, to list and revoke it by (`LINK#` sorts
below every `MSG#`, so the session's reads never meet it). The session item's
`shareCount`, added to under a condition, caps the shares a session has at once
exactly, without a read.

The body is written before the items and deleted again when their transaction is
refused, so no half-stored share is ever visible: a share exists once its `SHARE` item
does, and a body left by a crash between the two writes is never served. Revoking
deletes the items first (the share is gone from that moment), then the body.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError
from pydantic import ValidationError

from chalicelib.core.dynamo import CONDITION_FAILED, get_item, query_items, transact
from chalicelib.core.errors import (
    SessionNotFound,
    ShareNotFound,
    StorageUnavailable,
    TooManyShares,
)
from chalicelib.core.s3 import unless_missing
from chalicelib.core.tokens import is_valid_id
from chalicelib.schemas.shares import SharedConversation
from chalicelib.stores.records import partition_key, session_key

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table
    from mypy_boto3_s3.client import S3Client

SHARE_SORT_KEY = "SHARE"
LINK_PREFIX = "LINK#"
BODY_PREFIX = "shares/"
COUNTER = "shareCount"


def share_partition(share_id: str) -> str:
    return f"SHARE#{share_id}"


def body_key(share_id: str) -> str:
    return f"{BODY_PREFIX}{share_id}.json"


@dataclass(frozen=True)
class ShareRecord:
    share_id: str
    session_id: str
    created_at: str
    message_count: int
    up_to_message_id: str


class ShareStore:
    def __init__(self, table: Table, s3_client: S3Client, bucket: str) -> None:
        self._table = table
        self._s3 = s3_client
        self._bucket = bucket

    def create(self, share: ShareRecord, body: SharedConversation, limit: int) -> None:
        """Store a share of a live session, counted against its `limit`, or store nothing."""
        self._put_body(share.share_id, body.model_dump_json(by_alias=True).encode("utf-8"))
        try:
            refused = transact(self._table, self._create_items(share, limit))
        except StorageUnavailable:
            self._delete_body(share.share_id)
            raise
        if refused is None:
            return
        self._delete_body(share.share_id)
        if refused[2] == CONDITION_FAILED:
            session = get_item(self._table, session_key(share.session_id))
            if not session or "deletingAt" in session:
                raise SessionNotFound()
            raise TooManyShares(details={"limit": limit})
        raise StorageUnavailable("A share with this id already exists; try again.")

    def _create_items(self, share: ShareRecord, limit: int) -> list[Any]:
        name = self._table.name
        fields = {
            "sessionId": share.session_id,
            "createdAt": share.created_at,
            "messageCount": share.message_count,
            "upToMessageId": share.up_to_message_id,
        }
        return [
            {
                "Put": {
                    "TableName": name,
                    "Item": {"pk": share_partition(share.share_id), "sk": SHARE_SORT_KEY, **fields},
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            },
            {
                "Put": {
                    "TableName": name,
                    "Item": {**self._link_key(share.session_id, share.share_id), **fields},
                    "ConditionExpression": "attribute_not_exists(sk)",
                }
            },
            {
                "Update": {
                    "TableName": name,
                    "Key": session_key(share.session_id),
                    "UpdateExpression": "ADD #count :one",
                    "ConditionExpression": "attribute_exists(pk) AND attribute_not_exists(#del) "
                    "AND (attribute_not_exists(#count) OR #count < :limit)",
                    "ExpressionAttributeNames": {"#count": COUNTER, "#del": "deletingAt"},
                    "ExpressionAttributeValues": {":one": 1, ":limit": limit},
                }
            },
        ]

    def get(self, share_id: str) -> SharedConversation | None:
        """The share's frozen body, or None when there is no such share (or it was revoked)."""
        if not is_valid_id(share_id):
            return None
        if get_item(self._table, {"pk": share_partition(share_id), "sk": SHARE_SORT_KEY}) is None:
            return None

        def read() -> bytes:
            return self._s3.get_object(Bucket=self._bucket, Key=body_key(share_id))["Body"].read()

        body = unless_missing(read)
        if body is None:
            return None  # revoked between the two reads
        try:
            return SharedConversation.model_validate_json(body)
        except ValidationError as exc:
            raise StorageUnavailable("A stored share could not be read.") from exc

    def list(self, session_id: str) -> list[ShareRecord]:
        """The session's shares, oldest first."""
        items = query_items(
            self._table,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :prefix)",
            ExpressionAttributeValues={":pk": partition_key(session_id), ":prefix": LINK_PREFIX},
            ConsistentRead=True,
        )
        shares = [
            ShareRecord(
                share_id=str(item["sk"])[len(LINK_PREFIX) :],
                session_id=session_id,
                created_at=str(item["createdAt"]),
                message_count=int(item["messageCount"]),
                up_to_message_id=str(item["upToMessageId"]),
            )
            for item in items
        ]
        return sorted(shares, key=lambda share: (share.created_at, share.share_id))

    def delete(self, session_id: str, share_id: str) -> None:
        """Revoke a share of this session (ShareNotFound if it has none with that id)."""
        if not is_valid_id(share_id):
            raise ShareNotFound()
        name = self._table.name
        refused = transact(
            self._table,
            [
                {
                    "Delete": {
                        "TableName": name,
                        "Key": self._link_key(session_id, share_id),
                        "ConditionExpression": "attribute_exists(sk)",
                    }
                },
                {
                    "Delete": {
                        "TableName": name,
                        "Key": {"pk": share_partition(share_id), "sk": SHARE_SORT_KEY},
                    }
                },
                {
                    "Update": {
                        "TableName": name,
                        "Key": session_key(session_id),
                        "UpdateExpression": "ADD #count :minus",
                        "ConditionExpression": "attribute_exists(pk)",
                        "ExpressionAttributeNames": {"#count": COUNTER},
                        "ExpressionAttributeValues": {":minus": -1},
                    }
                },
            ],
        )
        if refused is not None:
            raise ShareNotFound()
        self._delete_body(share_id)

    def delete_all(self, session_id: str) -> None:
        """Revoke every share of the session (which is being deleted)."""
        for share in self.list(session_id):
            try:
                self.delete(session_id, share.share_id)
            except ShareNotFound:
                continue  # revoked meanwhile

    @staticmethod
    def _link_key(session_id: str, share_id: str) -> dict[str, str]:
        return {"pk": partition_key(session_id), "sk": LINK_PREFIX + share_id}

    def _put_body(self, share_id: str, body: bytes) -> None:
        try:
            self._s3.put_object(
                Bucket=self._bucket,
                Key=body_key(share_id),
                Body=body,
                ContentType="application/json",
                IfNoneMatch="*",
            )
        except (ClientError, BotoCoreError) as exc:
            raise StorageUnavailable() from exc

    def _delete_body(self, share_id: str) -> None:
        try:
            self._s3.delete_object(Bucket=self._bucket, Key=body_key(share_id))
        except (ClientError, BotoCoreError) as exc:
            raise StorageUnavailable() from exc
