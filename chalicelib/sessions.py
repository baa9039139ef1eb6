"""The DynamoDB store of chat sessions and their messages.

One table, one partition per session. The partition holds the session item
(sort key `SESSION`), one item per message (`MSG#<id>`), and idempotency
records (`IDEM#<key>`). Message ids sort by the time their exchange was
stored, so a descending Query returns the session item first, then the newest
messages. A conversation therefore has no length cap, and a send writes only
its two messages and the session's running totals.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.dynamo import CONDITION_FAILED, error_code, query_items, transact
from chalicelib.errors import ConcurrentUpdate, SessionNotFound, StorageUnavailable
from chalicelib.schemas import SessionSettings, StoredMessage, Usage

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

SESSION_SORT_KEY = "SESSION"
MESSAGE_PREFIX = "MSG#"
# Sorts after every message id (digits, letters and dashes).
_AFTER_ALL_MESSAGES = MESSAGE_PREFIX + "~"
# A history read's first page holds a budget's worth of messages of this size,
# so a send usually reads once and not much more than it needs (every item read
# costs read capacity and time); later pages grow, for short messages.
TYPICAL_MESSAGE_CHARS = 800
MAX_PAGE_ITEMS = 1000


def history_page_sizes(char_budget: int | None) -> tuple[int, ...]:
    if char_budget is None:
        return (MAX_PAGE_ITEMS,)
    # The session item, and one message past the budget, come on top.
    first = min(MAX_PAGE_ITEMS, char_budget // TYPICAL_MESSAGE_CHARS + 2)
    return (first, min(MAX_PAGE_ITEMS, first * 4), MAX_PAGE_ITEMS)


# The session fields a client may change, by their attribute names.
SETTING_ATTRIBUTES = {
    "title": "title",
    "model": "model",
    "system_prompt": "systemPrompt",
    "temperature": "temperature",
}


class SessionRecord(SessionSettings):
    """A session as stored: its settings, the token's hash, its running totals, and
    its copy of the config's message limits (refreshed when those change)."""

    token_hash: str
    limits_version: int = 1
    session_message_limit: int | None = None
    daily_message_limit: int | None = None
    stored_messages: int = 0
    prompt_tokens: int = 0
    reply_tokens: int = 0
    deleting_at: str | None = None

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

    @property
    def usage(self) -> Usage:
        return Usage.of(self.prompt_tokens, self.reply_tokens)


@dataclass(frozen=True)
class Conversation:
    session: SessionRecord
    # Newest first.
    messages: list[StoredMessage]
    # Whether `messages` reaches back to the start of the conversation.
    complete: bool


def partition_key(session_id: str) -> str:
    return f"SESSION#{session_id}"


def session_key(session_id: str) -> dict[str, str]:
    return {"pk": partition_key(session_id), "sk": SESSION_SORT_KEY}


def _decimal(value: float) -> Decimal:
    return Decimal(str(value))


def _message_from_item(item: dict[str, Any]) -> StoredMessage:
    return StoredMessage(
        id=str(item["sk"])[len(MESSAGE_PREFIX) :],
        role=item["role"],
        content=str(item["content"]),
        created_at=str(item["createdAt"]),
    )


def _is_message(item: dict[str, Any]) -> bool:
    return str(item.get("sk", "")).startswith(MESSAGE_PREFIX)


def new_exchange_ids() -> tuple[str, str]:
    """Ids for a user message and its reply: time-ordered, unique, adjacent."""
    stem = f"{time.time_ns() // 1_000_000:013d}-{secrets.token_hex(5)}"
    return f"{stem}-0", f"{stem}-1"


class SessionStore:
    def __init__(self, table: Table) -> None:
        self._table = table

    @property
    def table(self) -> Table:
        return self._table

    def create(self, session: SessionRecord) -> None:
        try:
            self._table.put_item(
                Item=session.to_item(), ConditionExpression="attribute_not_exists(pk)"
            )
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                raise ConcurrentUpdate("A session with this id already exists.") from exc
            raise StorageUnavailable() from exc
        except BotoCoreError as exc:
            raise StorageUnavailable() from exc

    def get(self, session_id: str, *, including_deleting: bool = False) -> SessionRecord | None:
        try:
            item = self._table.get_item(Key=session_key(session_id), ConsistentRead=True).get(
                "Item"
            )
        except (ClientError, BotoCoreError) as exc:
            raise StorageUnavailable() from exc
        if not item or ("deletingAt" in item and not including_deleting):
            return None
        return SessionRecord.from_item(item)

    def load_recent(
        self, session_id: str, *, max_messages: int | None = None, char_budget: int | None = None
    ) -> Conversation | None:
        """The session and its newest messages, usually in one Query.

        Stops after `max_messages`, or once the messages read hold more than
        `char_budget` characters (so the caller can see what did not fit).
        """
        items = query_items(
            self._table,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": partition_key(session_id)},
            ScanIndexForward=False,
            ConsistentRead=True,
            page_sizes=(
                history_page_sizes(char_budget) if max_messages is None else (max_messages + 1,)
            ),
        )
        first = next(items, None)
        if first is None or first.get("sk") != SESSION_SORT_KEY or "deletingAt" in first:
            return None
        messages: list[StoredMessage] = []
        chars = 0
        for item in items:
            if not _is_message(item):
                # Idempotency records sort below every message.
                return Conversation(SessionRecord.from_item(first), messages, complete=True)
            messages.append(_message_from_item(item))
            chars += len(messages[-1].content)
            if max_messages is not None and len(messages) >= max_messages:
                break
            if char_budget is not None and chars > char_budget:
                break
        else:
            return Conversation(SessionRecord.from_item(first), messages, complete=True)
        return Conversation(SessionRecord.from_item(first), messages, complete=False)

    def load_page(
        self, session_id: str, limit: int, before_id: str | None
    ) -> tuple[list[StoredMessage], str | None]:
        """Up to `limit` messages older than `before_id`, oldest first, and the next cursor id."""
        upper = MESSAGE_PREFIX + before_id if before_id else _AFTER_ALL_MESSAGES
        items = query_items(
            self._table,
            KeyConditionExpression="pk = :pk AND sk BETWEEN :lower AND :upper",
            ExpressionAttributeValues={
                ":pk": partition_key(session_id),
                ":lower": MESSAGE_PREFIX,
                ":upper": upper,
            },
            ScanIndexForward=False,
            ConsistentRead=True,
            # One more than asked shows whether older ones exist; BETWEEN also
            # includes the cursor's own message.
            Limit=limit + 2,
        )
        page: list[StoredMessage] = []
        for item in items:
            if item["sk"] == upper:
                continue
            if len(page) == limit:
                return list(reversed(page)), page[-1].id
            page.append(_message_from_item(item))
        return list(reversed(page)), None

    def load_all(self, session_id: str) -> list[StoredMessage]:
        """Every message, oldest first (for exports)."""
        items = query_items(
            self._table,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :prefix)",
            ExpressionAttributeValues={":pk": partition_key(session_id), ":prefix": MESSAGE_PREFIX},
            ConsistentRead=True,
        )
        return [_message_from_item(item) for item in items]

    def get_message(self, session_id: str, message_id: str) -> StoredMessage | None:
        key = {"pk": partition_key(session_id), "sk": MESSAGE_PREFIX + message_id}
        try:
            item = self._table.get_item(Key=key, ConsistentRead=True).get("Item")
        except (ClientError, BotoCoreError) as exc:
            raise StorageUnavailable() from exc
        return _message_from_item(item) if item else None

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
            values[f":{attribute}"] = _decimal(value) if field == "temperature" else value
            assignments.append(f"#{attribute} = :{attribute}")
        try:
            response = self._table.update_item(
                Key=session_key(session_id),
                UpdateExpression="SET " + ", ".join(assignments),
                ConditionExpression="attribute_exists(pk) AND attribute_not_exists(#deleting)",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
                ReturnValues="ALL_NEW",
            )
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                return None
            raise StorageUnavailable() from exc
        except BotoCoreError as exc:
            raise StorageUnavailable() from exc
        return SessionRecord.from_item(response["Attributes"])

    def _add_to_totals(self, session_id: str, messages: int, usage: Usage) -> Any:
        """A transaction item adding to the session's running totals."""
        return {
            "Update": {
                "TableName": self._table.name,
                "Key": session_key(session_id),
                "UpdateExpression": "ADD #stored :stored, #prompt :prompt, #reply :reply",
                "ConditionExpression": "attribute_exists(pk) AND attribute_not_exists(#deleting)",
                "ExpressionAttributeNames": {
                    "#stored": "storedMessages",
                    "#prompt": "promptTokens",
                    "#reply": "replyTokens",
                    "#deleting": "deletingAt",
                },
                "ExpressionAttributeValues": {
                    ":stored": messages,
                    ":prompt": usage.prompt_tokens,
                    ":reply": usage.reply_tokens,
                },
            }
        }

    def append_exchange(
        self,
        session_id: str,
        user_message: StoredMessage,
        reply: StoredMessage,
        usage: Usage,
        also: tuple[Any, ...] = (),
    ) -> tuple[StoredMessage, StoredMessage]:
        """Store a user message and its reply (ids from `new_exchange_ids`) atomically.

        Each Put is conditional on its key being new, so concurrent sends can
        never overwrite each other. `also` adds items to the same transaction.
        """
        refused = transact(
            self._table,
            [
                self._put_message(session_id, user_message),
                self._put_message(session_id, reply),
                self._add_to_totals(session_id, 2, usage),
                *also,
            ],
        )
        if refused is None:
            return user_message, reply
        if refused[2] == CONDITION_FAILED:
            raise SessionNotFound()
        raise StorageUnavailable("Two messages got the same id; nothing was stored. Try again.")

    def replace_reply(self, session_id: str, reply: StoredMessage, usage: Usage) -> None:
        """Put a regenerated reply in place of the old one, keeping its id."""
        update = {
            "Update": {
                "TableName": self._table.name,
                "Key": {"pk": partition_key(session_id), "sk": MESSAGE_PREFIX + reply.id},
                "UpdateExpression": "SET #content = :content, #created = :created",
                "ConditionExpression": "attribute_exists(sk)",
                "ExpressionAttributeNames": {"#content": "content", "#created": "createdAt"},
                "ExpressionAttributeValues": {
                    ":content": reply.content,
                    ":created": reply.created_at,
                },
            }
        }
        if transact(self._table, [update, self._add_to_totals(session_id, 0, usage)]):
            raise SessionNotFound("The session or its reply is gone.")

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

    def delete(self, session_id: str, deleting_at: str) -> None:
        """Remove the session and every item of its partition, in batches.

        The session is first marked as being deleted, so it reads as missing
        and takes no new messages; a failed deletion can simply be repeated.
        """
        try:
            self._table.update_item(
                Key=session_key(session_id),
                UpdateExpression="SET #deleting = if_not_exists(#deleting, :now)",
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeNames={"#deleting": "deletingAt"},
                ExpressionAttributeValues={":now": deleting_at},
            )
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
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                raise SessionNotFound() from exc
            raise StorageUnavailable() from exc
        except BotoCoreError as exc:
            raise StorageUnavailable() from exc
