"""The DynamoDB store of chat sessions and their messages.

One table, one partition per session. The partition holds the session item
(sort key `SESSION`) and one item per message (sort key `MSG#<id>`). Message
ids sort by the time their exchange was stored, so a descending Query returns
the session item first, then the newest messages. A conversation therefore has
no length cap, and a send touches only the items it adds.
"""

from __future__ import annotations

import logging
import random
import secrets
import time
from collections.abc import Iterator
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.errors import ConcurrentUpdate, StorageUnavailable
from chalicelib.schemas import SessionSettings, StoredMessage

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

logger = logging.getLogger(__name__)

SESSION_SORT_KEY = "SESSION"
MESSAGE_PREFIX = "MSG#"
QUERY_PAGE_SIZE = 200
TRANSACTION_ATTEMPTS = 6

# The session fields a client may change, by their attribute names.
SETTING_ATTRIBUTES = {
    "title": "title",
    "model": "model",
    "system_prompt": "systemPrompt",
    "temperature": "temperature",
}


class SessionRecord(SessionSettings):
    """A session as stored: its settings, the token's hash, and its copy of the
    config's message limits (refreshed when the config's limits change)."""

    token_hash: str
    limits_version: int = 1
    session_message_limit: int | None = None
    daily_message_limit: int | None = None

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> SessionRecord:
        return cls.model_validate(item)

    def to_item(self) -> dict[str, Any]:
        return {
            **self.model_dump(by_alias=True, exclude_none=True),
            "pk": partition_key(self.session_id),
            "sk": SESSION_SORT_KEY,
            "temperature": _decimal(self.temperature),
        }

    def public(self) -> SessionSettings:
        """The settings a session's holder sees; a private prompt stays hidden."""
        return SessionSettings.model_validate(self.with_prompt_hidden())


def partition_key(session_id: str) -> str:
    return f"SESSION#{session_id}"


def _decimal(value: float) -> Decimal:
    return Decimal(str(value))


def _message_from_item(item: dict[str, Any]) -> StoredMessage:
    return StoredMessage(
        id=str(item["sk"])[len(MESSAGE_PREFIX) :],
        role=item["role"],
        content=str(item["content"]),
        created_at=str(item["createdAt"]),
    )


def new_exchange_ids() -> tuple[str, str]:
    """Ids for a user message and its reply: time-ordered, unique, adjacent."""
    stem = f"{time.time_ns() // 1_000_000:013d}-{secrets.token_hex(5)}"
    return f"{stem}-0", f"{stem}-1"


def _error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _is_transaction_conflict(exc: ClientError) -> bool:
    if _error_code(exc) == "TransactionConflictException":
        return True
    reasons = exc.response.get("CancellationReasons", [])
    return any(reason.get("Code") == "TransactionConflict" for reason in reasons)


class SessionStore:
    def __init__(self, table: Table) -> None:
        self._table = table

    def create(self, session: SessionRecord) -> None:
        try:
            self._table.put_item(
                Item=session.to_item(),
                ConditionExpression="attribute_not_exists(pk)",
            )
        except ClientError as exc:
            if _error_code(exc) == "ConditionalCheckFailedException":
                raise ConcurrentUpdate("A session with this id already exists.") from exc
            raise StorageUnavailable() from exc
        except BotoCoreError as exc:
            raise StorageUnavailable() from exc

    def get(self, session_id: str) -> SessionRecord | None:
        try:
            response = self._table.get_item(
                Key={"pk": partition_key(session_id), "sk": SESSION_SORT_KEY},
                ConsistentRead=True,
            )
        except (ClientError, BotoCoreError) as exc:
            raise StorageUnavailable() from exc
        item = response.get("Item")
        return SessionRecord.from_item(item) if item else None

    def _newest_first(self, session_id: str, page_size: int) -> Iterator[dict[str, Any]]:
        """The session item, then its messages newest first, a page per Query."""
        kwargs: dict[str, Any] = {
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": {":pk": partition_key(session_id)},
            "ScanIndexForward": False,
            "ConsistentRead": True,
            "Limit": page_size,
        }
        while True:
            try:
                response = self._table.query(**kwargs)
            except (ClientError, BotoCoreError) as exc:
                raise StorageUnavailable() from exc
            yield from response.get("Items", [])
            last_key = response.get("LastEvaluatedKey")
            if not last_key:
                return
            kwargs["ExclusiveStartKey"] = last_key

    def load_recent(
        self, session_id: str, *, max_messages: int | None = None, char_budget: int | None = None
    ) -> tuple[SessionRecord, list[StoredMessage]] | None:
        """The session and its newest messages, newest first, in as few Queries as possible.

        Stops after `max_messages`, or once the messages read hold more than
        `char_budget` characters (so the caller can see what did not fit).
        """
        page_size = QUERY_PAGE_SIZE if max_messages is None else max_messages + 1
        items = self._newest_first(session_id, page_size)
        first = next(items, None)
        if first is None or first.get("sk") != SESSION_SORT_KEY:
            return None
        session = SessionRecord.from_item(first)
        messages: list[StoredMessage] = []
        chars = 0
        for item in items:
            message = _message_from_item(item)
            messages.append(message)
            chars += len(message.content)
            if max_messages is not None and len(messages) >= max_messages:
                break
            if char_budget is not None and chars > char_budget:
                break
        return session, messages

    def update_settings(
        self, session_id: str, changes: dict[str, Any], updated_at: str
    ) -> SessionRecord | None:
        """Apply setting changes; None when the session no longer exists."""
        names = {"#updatedAt": "updatedAt"}
        values: dict[str, Any] = {":updatedAt": updated_at}
        assignments = ["#updatedAt = :updatedAt"]
        for field, value in changes.items():
            attribute = SETTING_ATTRIBUTES[field]
            names[f"#{attribute}"] = attribute
            values[f":{attribute}"] = _decimal(value) if field == "temperature" else value
            assignments.append(f"#{attribute} = :{attribute}")
        try:
            response = self._table.update_item(
                Key={"pk": partition_key(session_id), "sk": SESSION_SORT_KEY},
                UpdateExpression="SET " + ", ".join(assignments),
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
                ReturnValues="ALL_NEW",
            )
        except ClientError as exc:
            if _error_code(exc) == "ConditionalCheckFailedException":
                return None
            raise StorageUnavailable() from exc
        except BotoCoreError as exc:
            raise StorageUnavailable() from exc
        return SessionRecord.from_item(response["Attributes"])

    def append_exchange(
        self,
        session_id: str,
        user_message: StoredMessage,
        reply: StoredMessage,
    ) -> tuple[StoredMessage, StoredMessage]:
        """Store a user message and its reply atomically, as an adjacent pair.

        Each attempt uses fresh ids, and every Put is conditional on its key
        being new, so concurrent sends can never overwrite each other. No
        shared item is touched, which keeps DynamoDB's transaction conflicts
        rare; those that still happen are retried.
        """
        for attempt in range(TRANSACTION_ATTEMPTS):
            user_id, reply_id = new_exchange_ids()
            stored_user = user_message.model_copy(update={"id": user_id})
            stored_reply = reply.model_copy(update={"id": reply_id})
            try:
                self._table.meta.client.transact_write_items(
                    TransactItems=[
                        self._put_message(session_id, stored_user),
                        self._put_message(session_id, stored_reply),
                    ]
                )
                return stored_user, stored_reply
            except ClientError as exc:
                retryable = _is_transaction_conflict(exc) or _error_code(exc) in {
                    "TransactionCanceledException",
                    "TransactionInProgressException",
                }
                if not retryable or attempt == TRANSACTION_ATTEMPTS - 1:
                    raise StorageUnavailable() from exc
                logger.info("retrying a cancelled message transaction (%s)", _error_code(exc))
                time.sleep(random.uniform(0, 0.02 * 2**attempt))
            except BotoCoreError as exc:
                raise StorageUnavailable() from exc
        raise StorageUnavailable()

    @staticmethod
    def message_item(session_id: str, message: StoredMessage) -> dict[str, Any]:
        return {
            "pk": partition_key(session_id),
            "sk": MESSAGE_PREFIX + message.id,
            "role": message.role,
            "content": message.content,
            "createdAt": message.created_at,
        }

    def _put_message(self, session_id: str, message: StoredMessage) -> Any:
        return {
            "Put": {
                "TableName": self._table.name,
                "Item": self.message_item(session_id, message),
                "ConditionExpression": "attribute_not_exists(sk)",
            }
        }
