"""The messages of a session: one item per message, in the session's partition.

Message ids sort by the time their exchange was stored, so a descending Query
returns the session item first, then the newest messages. A conversation
therefore has no length cap, and a send writes only its two messages and the
session's running totals.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.core.dynamo import CONDITION_FAILED, query_items, transact
from chalicelib.core.errors import ReplyTooLate, SessionNotFound, StorageUnavailable
from chalicelib.core.tokens import is_valid_id
from chalicelib.schemas import StoredMessage, Usage
from chalicelib.schemas.replies import REPLY_PARTS
from chalicelib.stores.records import (
    MESSAGE_PREFIX,
    RESERVATION_PREFIX,
    SESSION_SORT_KEY,
    Reservation,
    SessionRecord,
    is_message,
    message_from_item,
    new_exchange_ids,
    partition_key,
    session_key,
)

__all__ = ["Conversation", "MessageStore", "message_from_item", "new_exchange_ids"]

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

# Sorts after every message id (digits, letters and dashes).
_AFTER_ALL_MESSAGES = MESSAGE_PREFIX + "~"


@dataclass(frozen=True)
class Conversation:
    session: SessionRecord
    # Newest first.
    messages: list[StoredMessage]
    # Whether `messages` reaches back to the start of the conversation.
    complete: bool
    # Quota held by sends in flight, or left by sends that died.
    reservations: tuple[Reservation, ...] = ()


# What a regenerated reply sets, or removes when the new one has none.
_OPTIONAL_REPLY_FIELDS = ("stopped", "citations", "parts", "thoughts")


class MessageStore:
    def __init__(self, table: Table) -> None:
        self._table = table

    @property
    def table(self) -> Table:
        return self._table

    def read_top(
        self, session_id: str, max_messages: int
    ) -> tuple[dict[str, Any], Iterator[dict[str, Any]]] | None:
        """The session item and the items below it, newest first (reservations, then
        messages), from one Query page sized for `max_messages`; None for a session
        that is missing or being deleted."""
        if not is_valid_id(session_id):
            return None
        items = query_items(
            self._table,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": partition_key(session_id)},
            ScanIndexForward=False,
            ConsistentRead=True,
            # The session item, the messages, and one more: whether older ones exist.
            page_sizes=(max_messages + 2,),
        )
        first = next(items, None)
        if first is None or first.get("sk") != SESSION_SORT_KEY or "deletingAt" in first:
            return None
        return first, items

    def load_recent(
        self, session_id: str, *, max_messages: int, char_budget: int | None = None
    ) -> Conversation | None:
        """The session and its newest messages, in one Query page.

        At most `max_messages`, which sizes the page before anything is read: the
        session item, whose counters could otherwise size it, comes in that same
        page. Stops early once the messages hold more than `char_budget`
        characters, so the caller can see what did not fit.
        """
        top = self.read_top(session_id, max_messages)
        if top is None:
            return None
        first, items = top
        session = SessionRecord.from_item(first)
        reservations: list[Reservation] = []
        messages: list[StoredMessage] = []
        chars = 0
        complete = True
        for item in items:
            if str(item["sk"]).startswith(RESERVATION_PREFIX):
                # Sends in flight sort between the session and its messages (rarely any).
                reservations.append(Reservation.from_item(item))
                continue
            if not is_message(item):
                break  # Idempotency records sort below every message.
            if len(messages) == max_messages:
                complete = False
                break
            messages.append(message_from_item(item))
            chars += messages[-1].context_chars()
            if char_budget is not None and chars > char_budget:
                complete = False
                break
        return Conversation(session, messages, complete, tuple(reservations))

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
            page.append(message_from_item(item))
        return list(reversed(page)), None

    def load_all(self, session_id: str) -> list[StoredMessage]:
        """Every message, oldest first (for exports)."""
        items = query_items(
            self._table,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :prefix)",
            ExpressionAttributeValues={":pk": partition_key(session_id), ":prefix": MESSAGE_PREFIX},
            ConsistentRead=True,
        )
        return [message_from_item(item) for item in items]

    def put_history(self, session_id: str, messages: list[StoredMessage]) -> None:
        """Store a new session's earlier messages (before its session item: until that
        is stored, no read sees them)."""
        self._write_history(session_id, messages, put=True)

    def remove_history(self, session_id: str, messages: list[StoredMessage]) -> None:
        """Take back what put_history stored, for a session that was then refused."""
        self._write_history(session_id, messages, put=False)

    def _write_history(self, session_id: str, messages: list[StoredMessage], put: bool) -> None:
        try:
            with self._table.batch_writer() as batch:
                for message in messages:
                    item = self.message_item(session_id, message)
                    if put:
                        batch.put_item(Item=item)
                    else:
                        batch.delete_item(Key={"pk": item["pk"], "sk": item["sk"]})
        except (ClientError, BotoCoreError) as exc:
            raise StorageUnavailable() from exc

    def _add_to_totals(self, session_id: str, messages: int, usage: Usage) -> Any:
        """A transaction item adding to the session's running totals."""
        return {
            "Update": {
                "TableName": self._table.name,
                "Key": session_key(session_id),
                "UpdateExpression": "ADD #stored :stored, #prompt :prompt, #reply :reply, "
                "#tool :tool, #thinking :thinking",
                "ConditionExpression": "attribute_exists(pk) AND attribute_not_exists(#deleting)",
                "ExpressionAttributeNames": {
                    "#stored": "storedMessages",
                    "#prompt": "promptTokens",
                    "#reply": "replyTokens",
                    "#tool": "toolUsePromptTokens",
                    "#thinking": "thinkingTokens",
                    "#deleting": "deletingAt",
                },
                "ExpressionAttributeValues": {
                    ":stored": messages,
                    ":prompt": usage.prompt_tokens,
                    ":reply": usage.reply_tokens,
                    ":tool": usage.tool_use_prompt_tokens,
                    ":thinking": usage.thinking_tokens,
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
        if CONDITION_FAILED in refused[3:]:
            raise ReplyTooLate()
        raise StorageUnavailable("Two messages got the same id; nothing was stored. Try again.")

    def replace_reply(
        self, session_id: str, reply: StoredMessage, usage: Usage, also: tuple[Any, ...] = ()
    ) -> None:
        """Put a regenerated reply in place of the old one, keeping its id."""
        item = self.message_item(session_id, reply)
        values: dict[str, Any] = {":content": reply.content, ":created": reply.created_at}
        expression = "SET #content = :content, #created = :created"
        removed = []
        for name in _OPTIONAL_REPLY_FIELDS:
            if name in item:
                expression += f", #{name} = :{name}"
                values[f":{name}"] = item[name]
            else:
                removed.append(f"#{name}")
        if removed:
            expression += " REMOVE " + ", ".join(removed)
        update = {
            "Update": {
                "TableName": self._table.name,
                "Key": {"pk": partition_key(session_id), "sk": MESSAGE_PREFIX + reply.id},
                "UpdateExpression": expression,
                "ConditionExpression": "attribute_exists(sk)",
                "ExpressionAttributeNames": {
                    "#content": "content",
                    "#created": "createdAt",
                    **{f"#{name}": name for name in _OPTIONAL_REPLY_FIELDS},
                },
                "ExpressionAttributeValues": values,
            }
        }
        refused = transact(self._table, [update, self._add_to_totals(session_id, 0, usage), *also])
        if refused and CONDITION_FAILED in refused[2:]:
            raise ReplyTooLate()
        if refused:
            raise SessionNotFound("The session or its reply is gone.")

    @staticmethod
    def message_item(session_id: str, message: StoredMessage) -> dict[str, Any]:
        item: dict[str, Any] = {
            "pk": partition_key(session_id),
            "sk": MESSAGE_PREFIX + message.id,
            "role": message.role,
            "content": message.content,
            "createdAt": message.created_at,
        }
        if message.stopped:
            item["stopped"] = True
        if message.citations:
            item["citations"] = message.citations.model_dump(by_alias=True)
        if message.parts:
            item["parts"] = REPLY_PARTS.dump_python(message.parts, by_alias=True)
        if message.thoughts:
            item["thoughts"] = message.thoughts
        if message.attachments:
            item["attachments"] = [file.model_dump(by_alias=True) for file in message.attachments]
        return item

    def _put_message(self, session_id: str, message: StoredMessage) -> Any:
        return {
            "Put": {
                "TableName": self._table.name,
                "Item": self.message_item(session_id, message),
                "ConditionExpression": "attribute_not_exists(sk)",
            }
        }
