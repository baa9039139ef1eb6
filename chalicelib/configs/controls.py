"""The DynamoDB mirror of each config's controls: limits, sharing, deletion.

A config's partition `CONFIG#{id}` in the sessions table holds a `STATE` item
copying the controls of its S3 object, so a send can check them without
reading S3. quotas.py enforces limits against it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.core.dynamo import error_code, get_item
from chalicelib.core.errors import StorageUnavailable
from chalicelib.schemas import CreatorLimits

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

STATE_SORT_KEY = "STATE"


def config_partition(config_id: str) -> str:
    return f"CONFIG#{config_id}"


def state_key(config_id: str) -> dict[str, str]:
    return {"pk": config_partition(config_id), "sk": STATE_SORT_KEY}


class ControlsStore:
    def __init__(self, table: Table) -> None:
        self._table = table

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
        try:
            self._table.update_item(
                Key=state_key(config_id),
                UpdateExpression=expression,
                ConditionExpression="attribute_not_exists(#version) OR #version <= :version",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
            )
        except ClientError as exc:
            if error_code(exc) != "ConditionalCheckFailedException":
                raise StorageUnavailable() from exc
        except BotoCoreError as exc:
            raise StorageUnavailable() from exc

    def set_deleted(self, config_id: str, deleted: bool) -> None:
        if deleted:
            expression = "SET #deleted = :now"
            values: dict[str, Any] | None = {":now": datetime.now(UTC).isoformat()}
        else:
            expression, values = "REMOVE #deleted", None
        kwargs: dict[str, Any] = {
            "Key": state_key(config_id),
            "UpdateExpression": expression,
            "ExpressionAttributeNames": {"#deleted": "deletedAt"},
        }
        if values:
            kwargs["ExpressionAttributeValues"] = values
        try:
            self._table.update_item(**kwargs)
        except (ClientError, BotoCoreError) as exc:
            raise StorageUnavailable() from exc

    def read(self, config_id: str) -> dict[str, Any] | None:
        """The mirror item, or None for a config never mirrored."""
        return get_item(self._table, state_key(config_id))
