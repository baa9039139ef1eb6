"""The capacity units DynamoDB would bill for a send, from the sizes of the items it touches.

moto reports no real consumed capacity, so it is computed here by DynamoDB's
published rules: a write costs 1 WCU per started 1 KB of each item written
(twice that inside a transaction, where every Put, Update, Delete and
ConditionCheck counts as a write of its item); a strongly consistent read
costs 1 RCU per started 4 KB, summed over all the items one Query reads, or of
the one item a GetItem reads. An Update is billed on the larger of the item's
sizes before and after; after a send, the item as stored stands for both.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from boto3.dynamodb.types import TypeDeserializer

from bench.baseline import item_size
from bench.counting import Call

WRITE_UNIT_BYTES = 1024
READ_UNIT_BYTES = 4096
TRANSACTION_FACTOR = 2

# The size of the item stored at (table name, typed key), read after the send.
StoredSize = Callable[[str, dict[str, Any]], int]

_deserializer = TypeDeserializer()


def typed_item_size(item: dict[str, Any]) -> int:
    """The size of an item in DynamoDB's JSON form ({"S": ...}, {"N": ...})."""
    return item_size({name: _deserializer.deserialize(value) for name, value in item.items()})


@dataclass(frozen=True)
class Capacity:
    write_units: int
    read_units: int
    items_read: int


def _write_units(size: int) -> int:
    return max(1, math.ceil(size / WRITE_UNIT_BYTES))


def _read_units(size: int) -> int:
    return max(1, math.ceil(size / READ_UNIT_BYTES))


def _written_size(action: str, body: dict[str, Any], stored: StoredSize) -> int:
    if action == "Put":
        return typed_item_size(body["Item"])
    return stored(str(body["TableName"]), body["Key"])


def of_calls(calls: Sequence[Call], stored: StoredSize) -> Capacity:
    """What the calls would cost on DynamoDB: write units, read units, items read."""
    write = read = items_read = 0
    for call in calls:
        request, response = call.request, call.response
        if call.operation == "Query":
            items = response.get("Items", [])
            items_read += len(items)
            read += _read_units(sum(typed_item_size(item) for item in items))
        elif call.operation == "GetItem":
            item = response.get("Item")
            items_read += 1 if item else 0
            read += _read_units(typed_item_size(item) if item else 0)
        elif call.operation == "PutItem":
            write += _write_units(typed_item_size(request["Item"]))
        elif call.operation in ("UpdateItem", "DeleteItem"):
            write += _write_units(stored(str(request["TableName"]), request["Key"]))
        elif call.operation == "TransactWriteItems":
            for entry in request["TransactItems"]:
                ((action, body),) = entry.items()
                size = _written_size(action, body, stored)
                write += TRANSACTION_FACTOR * _write_units(size)
    return Capacity(write, read, items_read)
