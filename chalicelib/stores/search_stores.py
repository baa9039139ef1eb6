"""The record of an agent's File Search store: item `SEARCH` in the config's partition.

It names the store, says which knowledge files it holds (their documents) and which
are still being indexed (their operations), and its state: `importing`, `ready` or
`failed`. Whoever brings the store up to date claims the record first (a conditional
write with an expiry), and saves only under that claim, so two imports never overlap.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Literal

from chalicelib.core.dynamo import conditional, get_item
from chalicelib.stores.controls import config_partition

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

SEARCH_SORT_KEY = "SEARCH"

StoreState = Literal["importing", "ready", "failed"]


@dataclass(frozen=True)
class SearchRecord:
    store_name: str | None = None
    state: StoreState = "importing"
    # File id -> its document in the store, once indexed.
    documents: dict[str, str] = field(default_factory=dict)
    # File id -> the operation still indexing it.
    pending: dict[str, str] = field(default_factory=dict)
    # Epoch ms of the last failure: a send retries only some time after it.
    failed_at: int = 0

    def holds(self, file_ids: set[str]) -> bool:
        """Whether the store is ready with exactly these files."""
        return self.state == "ready" and bool(self.store_name) and set(self.documents) == file_ids

    def changed(self, **changes: Any) -> SearchRecord:
        return replace(self, **changes)


def _key(config_id: str) -> dict[str, str]:
    return {"pk": config_partition(config_id), "sk": SEARCH_SORT_KEY}


def _record(item: dict[str, Any]) -> SearchRecord:
    return SearchRecord(
        store_name=str(item["storeName"]) if item.get("storeName") else None,
        state=item.get("state", "importing"),
        documents={str(k): str(v) for k, v in (item.get("documents") or {}).items()},
        pending={str(k): str(v) for k, v in (item.get("pending") or {}).items()},
        failed_at=int(item.get("failedAt", 0)),
    )


class SearchStoreRegistry:
    def __init__(self, table: Table) -> None:
        self._table = table

    def read(self, config_id: str) -> SearchRecord | None:
        item = get_item(self._table, _key(config_id))
        return _record(item) if item and "state" in item else None

    def claim(self, config_id: str, claim: str, now_ms: int, until_ms: int) -> bool:
        """Claim the record for an update until `until_ms`; False while another holds it."""
        answer = conditional(
            self._table,
            "update_item",
            Key=_key(config_id),
            UpdateExpression="SET #claim = :claim, #until = :until",
            ConditionExpression="attribute_not_exists(#until) OR #until < :now",
            ExpressionAttributeNames={"#claim": "claim", "#until": "claimUntil"},
            ExpressionAttributeValues={":claim": claim, ":until": until_ms, ":now": now_ms},
        )
        return answer is not None

    def save(self, config_id: str, claim: str, record: SearchRecord) -> bool:
        """Write the record and end the claim; False if the claim was lost meanwhile."""
        item = {
            **_key(config_id),
            "state": record.state,
            "documents": record.documents,
            "pending": record.pending,
            "failedAt": record.failed_at,
        }
        if record.store_name:
            item["storeName"] = record.store_name
        answer = conditional(
            self._table,
            "put_item",
            Item=item,
            ConditionExpression="#claim = :claim",
            ExpressionAttributeNames={"#claim": "claim"},
            ExpressionAttributeValues={":claim": claim},
        )
        return answer is not None

    def release(self, config_id: str, claim: str) -> None:
        """End a claim that changed nothing (a no-op if it was lost)."""
        conditional(
            self._table,
            "update_item",
            Key=_key(config_id),
            UpdateExpression="REMOVE #claim, #until",
            ConditionExpression="#claim = :claim",
            ExpressionAttributeNames={"#claim": "claim", "#until": "claimUntil"},
            ExpressionAttributeValues={":claim": claim},
        )

    def forget(self, config_id: str) -> SearchRecord | None:
        """Remove the record; what it held, if anything."""
        answer = conditional(
            self._table, "delete_item", Key=_key(config_id), ReturnValues="ALL_OLD"
        )
        old = (answer or {}).get("Attributes")
        return _record(old) if old and "state" in old else None

    def lost(self, config_id: str, store_name: str) -> None:
        """Gemini no longer has this store: unrecord it (a no-op if another replaced it), so
        the next send imports the knowledge again."""
        conditional(
            self._table,
            "delete_item",
            Key=_key(config_id),
            ConditionExpression="#name = :name",
            ExpressionAttributeNames={"#name": "storeName"},
            ExpressionAttributeValues={":name": store_name},
        )
