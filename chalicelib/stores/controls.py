"""The DynamoDB mirror of each config's controls: limits, sharing, deletion.

A config's partition `CONFIG#{id}` in the sessions table holds `SHARDS` identical
`STATE#{n}` items copying the controls of its S3 object, so a send can check them
without reading S3; quotas.py enforces limits against them. Each send checks one
copy, so the sends of a busy config spread over the copies instead of all
conflicting in DynamoDB on one item; an edit writes all copies in one transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from chalicelib.core.dynamo import get_item, transact
from chalicelib.schemas import CreatorLimits

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

STATE_PREFIX = "STATE#"
# Copies of the controls, and shards of each day's counters (see quotas.py).
SHARDS = 8


def shares(limit: int, shards: int = SHARDS) -> list[int]:
    """A daily limit or budget split over the shards: whole numbers that add up to it."""
    return [limit // shards + (1 if shard < limit % shards else 0) for shard in range(shards)]


def config_partition(config_id: str) -> str:
    return f"CONFIG#{config_id}"


def state_key(config_id: str, shard: int = 0) -> dict[str, str]:
    return {"pk": config_partition(config_id), "sk": f"{STATE_PREFIX}{shard}"}


class ControlsStore:
    def __init__(self, table: Table) -> None:
        self._table = table

    def create_controls(
        self,
        config_id: str,
        limits: CreatorLimits,
        limits_version: int,
        sharing: bool,
        also: Sequence[Any] = (),
    ) -> list[str] | None:
        """Mirror a new config's controls: Puts, as nothing is there to keep. `also` joins
        the transaction (the counts of a new agent); None on success, else why each of
        `also` was refused.

        A repeat writes the same items, so a retried transaction whose first answer was
        lost does no harm; a Put also costs DynamoDB less work than an update expression.
        """
        values = limits.model_dump(by_alias=True, exclude_none=True)
        values.update(limitsVersion=limits_version, sharing=sharing)
        puts = [
            {"Put": {"TableName": self._table.name, "Item": {**state_key(config_id, n), **values}}}
            for n in range(SHARDS)
        ]
        refused = transact(self._table, [*puts, *also])
        return None if refused is None else refused[SHARDS:]

    def put_controls(
        self, config_id: str, limits: CreatorLimits, limits_version: int, sharing: bool
    ) -> None:
        """Mirror a config's controls; an older version never overwrites a newer one."""
        names = {"#version": "limitsVersion", "#sharing": "sharing"}
        values: dict[str, Any] = {":version": limits_version, ":sharing": sharing}
        assignments = ["#version = :version", "#sharing = :sharing"]
        removals = []
        for name, value in limits.model_dump(by_alias=True).items():
            names[f"#{name}"] = name
            if value is None:
                removals.append(f"#{name}")
            else:
                values[f":{name}"] = value
                assignments.append(f"#{name} = :{name}")
        expression = "SET " + ", ".join(assignments)
        if removals:
            expression += " REMOVE " + ", ".join(removals)
        # Refused only where a newer version is already mirrored, on every copy alike.
        self._update_every_copy(
            config_id,
            UpdateExpression=expression,
            ConditionExpression="attribute_not_exists(#version) OR #version <= :version",
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
        )

    def set_deleted(self, config_id: str, deleted: bool) -> None:
        if deleted:
            expression = "SET #deleted = :now"
            values: dict[str, Any] | None = {":now": datetime.now(UTC).isoformat()}
        else:
            expression, values = "REMOVE #deleted", None
        kwargs: dict[str, Any] = {
            "UpdateExpression": expression,
            "ExpressionAttributeNames": {"#deleted": "deletedAt"},
        }
        if values:
            kwargs["ExpressionAttributeValues"] = values
        self._update_every_copy(config_id, **kwargs)

    def _update_every_copy(self, config_id: str, **update: Any) -> None:
        transact(
            self._table,
            [
                {
                    "Update": {
                        "TableName": self._table.name,
                        "Key": state_key(config_id, n),
                        **update,
                    }
                }
                for n in range(SHARDS)
            ],
        )

    def read(self, config_id: str) -> dict[str, Any] | None:
        """The mirrored controls, or None for a config never mirrored."""
        return get_item(self._table, state_key(config_id))
