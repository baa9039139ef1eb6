"""The seed's storage design, kept only to measure against: one item per session.

The session item holds the whole conversation in a `messages` list, and every
send reads the item and writes it back with two more messages. The request
grows with the conversation, and the item hits DynamoDB's 400 KB limit.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from chalicelib.core.clock import utc_now_iso

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import DynamoDBServiceResource, Table

# DynamoDB's documented maximum item size, 400 KB, where a KB is 1,024 bytes.
ITEM_LIMIT_BYTES = 400 * 1024
KEY = "session_id"


def _number_size(value: int | float | Decimal) -> int:
    """About 1 byte per two significant digits, plus 1 (DynamoDB's sizing rule)."""
    digits = str(Decimal(str(value))).lstrip("-").replace(".", "").lstrip("0").rstrip("0")
    return (max(len(digits), 1) + 1) // 2 + 1


def value_size(value: Any) -> int:
    """An attribute value's size by DynamoDB's rules ("Item sizes and formats")."""
    if isinstance(value, str):
        return len(value.encode("utf-8"))
    if isinstance(value, bool) or value is None:
        return 1
    if isinstance(value, int | float | Decimal):
        return _number_size(value)
    if isinstance(value, bytes):
        return len(value)
    # A list or map costs 3 bytes, plus 1 byte per element.
    if isinstance(value, list | tuple):
        return 3 + sum(1 + value_size(element) for element in value)
    if isinstance(value, dict):
        return 3 + sum(1 + len(k.encode("utf-8")) + value_size(v) for k, v in value.items())
    raise TypeError(f"no DynamoDB size rule for {type(value).__name__}")


def item_size(item: dict[str, Any]) -> int:
    """Attribute names plus values, as DynamoDB counts an item against 400 KB."""
    return sum(len(name.encode("utf-8")) + value_size(value) for name, value in item.items())


def create_table(dynamodb: DynamoDBServiceResource, name: str) -> Table:
    client = dynamodb.meta.client
    client.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": KEY, "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": KEY, "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    return dynamodb.Table(name)


def message(index: int, role: str, content: str) -> dict[str, Any]:
    return {"id": f"m{index:06d}", "role": role, "content": content, "createdAt": utc_now_iso()}


@dataclass(frozen=True)
class SessionSettings:
    title: str = "Pirate tutor"
    model: str = "gemini-2.5-flash"
    system_prompt: str = "Answer like a pirate."
    temperature: Decimal = Decimal("0.7")


class SeedStyleStore:
    """One DynamoDB item per session; a send rewrites its `messages` list."""

    def __init__(self, table: Table) -> None:
        self._table = table

    def new_item(
        self, session_id: str, messages: list[dict[str, Any]], settings: SessionSettings
    ) -> dict[str, Any]:
        now = utc_now_iso()
        return {
            KEY: session_id,
            "title": settings.title,
            "model": settings.model,
            "systemPrompt": settings.system_prompt,
            "temperature": settings.temperature,
            "tokenHash": "0" * 64,
            "createdAt": now,
            "updatedAt": now,
            "messages": messages,
        }

    def put(self, item: dict[str, Any]) -> None:
        self._table.put_item(Item=item)

    def send(self, session_id: str, user_text: str, reply_text: str) -> dict[str, Any]:
        """Store one exchange the seed's way: read the item, append, write it all back."""
        item = self._table.get_item(Key={KEY: session_id}, ConsistentRead=True)["Item"]
        messages = list(item["messages"])  # type: ignore[arg-type]
        count = len(messages)
        messages += [message(count, "user", user_text), message(count + 1, "model", reply_text)]
        item = {**item, "messages": messages, "updatedAt": utc_now_iso()}
        self._table.put_item(Item=item)
        return item
