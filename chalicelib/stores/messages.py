"""The messages of a session: one item per message, in the session's partition.

Message ids sort by the time their exchange was stored, so a descending Query
returns the session item first, then the newest messages. A conversation
therefore has no length cap; tree.py reads its active path and branches.py writes
its messages, each a fixed number of items whatever its length.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.core.dynamo import query_items
from chalicelib.core.errors import StorageUnavailable
from chalicelib.core.tokens import is_valid_id
from chalicelib.schemas import StoredMessage, Usage
from chalicelib.schemas.replies import REPLY_PARTS
from chalicelib.stores.records import (
    MESSAGE_PREFIX,
    SESSION_SORT_KEY,
    message_from_item,
    new_exchange_ids,
    partition_key,
    session_key,
)

__all__ = ["MessageStore", "message_from_item", "new_exchange_ids"]

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table


class MessageStore:
    def __init__(self, table: Table) -> None:
        self._table = table

    @property
    def table(self) -> Table:
        return self._table

    def read_top(
        self, session_id: str, max_messages: int, first_page: int | None = None
    ) -> tuple[dict[str, Any], Iterator[dict[str, Any]]] | None:
        """The session item and the items below it, newest first (reservations, then
        messages), from one Query page sized for `max_messages` (or a first page of
        `first_page` items, for a caller that may need no message); None for a session
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
            page_sizes=(first_page or max_messages + 2, max_messages + 2),
        )
        first = next(items, None)
        if first is None or first.get("sk") != SESSION_SORT_KEY or "deletingAt" in first:
            return None
        return first, items

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
