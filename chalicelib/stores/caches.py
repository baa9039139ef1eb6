"""The record of an agent's context cache: item `CACHE` in the config's partition.

It holds the fingerprint of the agent's current context (model, prompt, knowledge),
written whenever the config or its knowledge changes, and the cache made for it, if
any. Only sessions whose own context has that fingerprint use the cache, so one
cache serves every new session and an edit makes the next send build a fresh one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from chalicelib.core.dynamo import conditional, get_item
from chalicelib.stores.controls import config_partition

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

CACHE_SORT_KEY = "CACHE"


@dataclass(frozen=True)
class CacheRecord:
    fingerprint: str
    name: str | None = None
    expires_ms: int = 0

    def live(self, now_ms: int, margin_ms: int) -> bool:
        return self.name is not None and self.expires_ms > now_ms + margin_ms


def _key(config_id: str) -> dict[str, str]:
    return {"pk": config_partition(config_id), "sk": CACHE_SORT_KEY}


class CacheRegistry:
    def __init__(self, table: Table) -> None:
        self._table = table

    def read(self, config_id: str) -> CacheRecord | None:
        item = get_item(self._table, _key(config_id))
        if not item:
            return None
        name = item.get("cacheName")
        return CacheRecord(
            str(item["fingerprint"]), name and str(name), int(item.get("expiresMs", 0))
        )

    def _call(self, method: str, **kwargs: Any) -> dict[str, Any] | None:
        return conditional(self._table, method, **kwargs)

    def set_fingerprint(self, config_id: str, fingerprint: str) -> str | None:
        """A new current context, with no cache yet; the name of the cache it replaces."""
        answer = self._call(
            "put_item",
            Item={**_key(config_id), "fingerprint": fingerprint},
            ReturnValues="ALL_OLD",
        )
        old = (answer or {}).get("Attributes", {})
        return str(old["cacheName"]) if old.get("cacheName") else None

    def attach(
        self, config_id: str, fingerprint: str, name: str, expires_ms: int, now_ms: int
    ) -> bool:
        """Record a new cache, unless the context changed or a live one was recorded meanwhile."""
        answer = self._call(
            "update_item",
            Key=_key(config_id),
            UpdateExpression="SET #name = :name, #expires = :expires",
            ConditionExpression=(
                "#fingerprint = :fingerprint AND (attribute_not_exists(#name) OR #expires < :now)"
            ),
            ExpressionAttributeNames={
                "#name": "cacheName",
                "#expires": "expiresMs",
                "#fingerprint": "fingerprint",
            },
            ExpressionAttributeValues={
                ":name": name,
                ":expires": expires_ms,
                ":fingerprint": fingerprint,
                ":now": now_ms,
            },
        )
        return answer is not None

    def extended(self, config_id: str, name: str, expires_ms: int) -> None:
        """The recorded cache's new expiry (a no-op if another replaced it)."""
        self._call(
            "update_item",
            Key=_key(config_id),
            UpdateExpression="SET #expires = :expires",
            ConditionExpression="#name = :name AND #expires < :expires",
            ExpressionAttributeNames={"#name": "cacheName", "#expires": "expiresMs"},
            ExpressionAttributeValues={":name": name, ":expires": expires_ms},
        )

    def forget(self, config_id: str) -> str | None:
        """Remove the record (the config is deleted); the name of its cache, if any."""
        answer = self._call("delete_item", Key=_key(config_id), ReturnValues="ALL_OLD")
        old = (answer or {}).get("Attributes", {})
        return str(old["cacheName"]) if old.get("cacheName") else None

    def lost(self, config_id: str, name: str) -> None:
        """Gemini no longer has this cache: unrecord it (a no-op if another replaced it),
        so the next send makes a new one."""
        self._call(
            "update_item",
            Key=_key(config_id),
            UpdateExpression="REMOVE #name, #expires",
            ConditionExpression="#name = :name",
            ExpressionAttributeNames={"#name": "cacheName", "#expires": "expiresMs"},
            ExpressionAttributeValues={":name": name},
        )
