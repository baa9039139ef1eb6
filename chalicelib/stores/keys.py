"""An agent's API keys in DynamoDB, each stored only as the SHA-256 hash of the key.

A key has two items: its own partition `APIKEY#{hash}`, found from the key a call
bears, whose `KEY` item names the agent (and which holds, as `RESV#` items, the quota
reservations of the key's calls in flight: a stateless call has no session to hold
them); and `APIKEY#{keyId}` in its agent's partition `CONFIG#{id}`, to list and revoke
it by. Both carry `lastUsedAt`, so a listing is one Query. `APIKEYS` there counts the
agent's keys, so a cap holds without a read.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from chalicelib.core.dynamo import CONDITION_FAILED, get_item, query_items, transact
from chalicelib.core.errors import ConfigNotFound, StorageUnavailable, TooManyApiKeys
from chalicelib.stores.controls import config_partition, state_key
from chalicelib.stores.records import RESERVATION_PREFIX, Reservation

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

KEY_SORT_KEY = "KEY"
INDEX_PREFIX = "APIKEY#"
COUNTER_SORT_KEY = "APIKEYS"
# Reservations read with the key: more in flight at once are reclaimed by later calls.
RESERVATIONS_READ = 50


def key_partition(key_hash: str) -> str:
    return f"APIKEY#{key_hash}"


@dataclass(frozen=True)
class ApiKeyRecord:
    key_id: str
    config_id: str
    name: str
    created_at: str
    key_hash: str
    last_used_at: str | None = None

    @property
    def partition(self) -> str:
        return key_partition(self.key_hash)


@dataclass(frozen=True)
class KeyInUse:
    """A key as a call finds it, with its calls' reservations still held."""

    key: ApiKeyRecord
    reservations: tuple[Reservation, ...]


class ApiKeyStore:
    def __init__(self, table: Table) -> None:
        self._table = table

    def create(self, key: ApiKeyRecord, limit: int) -> None:
        """Store a new key, counted against the agent's `limit`, unless the agent is deleted."""
        name = self._table.name
        lookup = {
            "pk": key.partition,
            "sk": KEY_SORT_KEY,
            "keyId": key.key_id,
            "configId": key.config_id,
            "name": key.name,
            "createdAt": key.created_at,
        }
        index = {
            **self._index_key(key.config_id, key.key_id),
            "name": key.name,
            "createdAt": key.created_at,
            "keyHash": key.key_hash,
        }
        refused = transact(
            self._table,
            [
                {
                    "Put": {
                        "TableName": name,
                        "Item": lookup,
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                },
                {
                    "Put": {
                        "TableName": name,
                        "Item": index,
                        "ConditionExpression": "attribute_not_exists(sk)",
                    }
                },
                {
                    "Update": {
                        "TableName": name,
                        "Key": self._counter_key(key.config_id),
                        "UpdateExpression": "ADD #count :one",
                        "ConditionExpression": "attribute_not_exists(#count) OR #count < :limit",
                        "ExpressionAttributeNames": {"#count": "keys"},
                        "ExpressionAttributeValues": {":one": 1, ":limit": limit},
                    }
                },
                {
                    "ConditionCheck": {
                        "TableName": name,
                        "Key": state_key(key.config_id),
                        "ConditionExpression": "attribute_exists(pk) AND attribute_not_exists(#d)",
                        "ExpressionAttributeNames": {"#d": "deletedAt"},
                    }
                },
            ],
        )
        if refused is None:
            return
        if refused[3] == CONDITION_FAILED:
            raise ConfigNotFound()
        if refused[2] == CONDITION_FAILED:
            raise TooManyApiKeys(details={"limit": limit})
        raise StorageUnavailable("A key with this id already exists; try again.")

    def find(self, key_hash: str) -> KeyInUse | None:
        """The key with this hash and its reservations, in one Query; None if there is none."""
        items = query_items(
            self._table,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": key_partition(key_hash)},
            ConsistentRead=True,
            # The KEY item sorts before every RESV# one.
            page_sizes=(RESERVATIONS_READ + 1,),
        )
        first = next(items, None)
        if first is None or first.get("sk") != KEY_SORT_KEY:
            return None
        key = ApiKeyRecord(
            key_id=str(first["keyId"]),
            config_id=str(first["configId"]),
            name=str(first["name"]),
            created_at=str(first["createdAt"]),
            key_hash=key_hash,
            last_used_at=first.get("lastUsedAt"),
        )
        held: list[Reservation] = []
        for item in items:
            if len(held) == RESERVATIONS_READ or not str(item["sk"]).startswith(RESERVATION_PREFIX):
                break
            held.append(Reservation.from_item(item))
        return KeyInUse(key, tuple(held))

    def touch(self, key: ApiKeyRecord, now: str) -> None:
        """Set when the key was last used, on both its items (so a listing reads it with the
        keys), unless another call just did or the key was revoked."""
        seen = key.last_used_at
        condition = "attribute_exists(pk) AND " + (
            "#used = :seen" if seen else "attribute_not_exists(#used)"
        )
        values: dict[str, Any] = {":now": now, **({":seen": seen} if seen else {})}
        name = self._table.name
        transact(
            self._table,
            [
                {
                    "Update": {
                        "TableName": name,
                        "Key": {"pk": key.partition, "sk": KEY_SORT_KEY},
                        "UpdateExpression": "SET #used = :now",
                        "ConditionExpression": condition,
                        "ExpressionAttributeNames": {"#used": "lastUsedAt"},
                        "ExpressionAttributeValues": values,
                    }
                },
                {
                    "Update": {
                        "TableName": name,
                        "Key": self._index_key(key.config_id, key.key_id),
                        "UpdateExpression": "SET #used = :now",
                        "ConditionExpression": "attribute_exists(sk)",
                        "ExpressionAttributeNames": {"#used": "lastUsedAt"},
                        "ExpressionAttributeValues": {":now": now},
                    }
                },
            ],
        )

    def of_agent(self, config_id: str) -> list[ApiKeyRecord]:
        """The agent's keys, oldest first, with when each was last used."""
        index = list(
            query_items(
                self._table,
                KeyConditionExpression="pk = :pk AND begins_with(sk, :prefix)",
                ExpressionAttributeValues={
                    ":pk": config_partition(config_id),
                    ":prefix": INDEX_PREFIX,
                },
                ConsistentRead=True,
            )
        )
        keys = [
            ApiKeyRecord(
                key_id=str(item["sk"]).removeprefix(INDEX_PREFIX),
                config_id=config_id,
                name=str(item["name"]),
                created_at=str(item["createdAt"]),
                key_hash=str(item["keyHash"]),
                last_used_at=item.get("lastUsedAt"),
            )
            for item in index
        ]
        return sorted(keys, key=lambda key: (key.created_at, key.key_id))

    def revoke(self, config_id: str, key_id: str) -> bool:
        """Delete a key's items; False when the agent has no such key."""
        index_key = self._index_key(config_id, key_id)
        index = get_item(self._table, index_key)
        if index is None:
            return False
        exists = "attribute_exists(sk)"
        name = self._table.name
        refused = transact(
            self._table,
            [
                {"Delete": {"TableName": name, "Key": index_key, "ConditionExpression": exists}},
                {
                    "Delete": {
                        "TableName": name,
                        "Key": {"pk": key_partition(str(index["keyHash"])), "sk": KEY_SORT_KEY},
                    }
                },
                {
                    "Update": {
                        "TableName": name,
                        "Key": self._counter_key(config_id),
                        "UpdateExpression": "ADD #count :minus",
                        "ExpressionAttributeNames": {"#count": "keys"},
                        "ExpressionAttributeValues": {":minus": -1},
                    }
                },
            ],
        )
        return refused is None

    @staticmethod
    def _counter_key(config_id: str) -> dict[str, str]:
        return {"pk": config_partition(config_id), "sk": COUNTER_SORT_KEY}

    @staticmethod
    def _index_key(config_id: str, key_id: str) -> dict[str, str]:
        return {"pk": config_partition(config_id), "sk": INDEX_PREFIX + key_id}
