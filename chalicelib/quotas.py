"""Creator controls enforced in DynamoDB: limits, sharing, deletion.

Each config has a partition `CONFIG#{id}` in the sessions table holding
- `STATE`: a mirror of the config's controls (limits, sharing, deleted), so a
  send can check them without reading S3;
- `DAY#{yyyy-mm-dd}`: that UTC day's message and session counters, which
  expire through DynamoDB TTL (`expiresAt`).

A send reserves its quota before calling the model, in one transaction of
conditional writes: the session's message counter, the day's counter, and a
check that the config is not deleted and that the session's copy of the
limits is current. Nothing is read and then written, so concurrent sends can
never overshoot a limit. A send that then fails gives its reservation back.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.dynamo import CONDITION_FAILED, error_code, get_item, transact
from chalicelib.errors import (
    ConfigDeleted,
    ConfigNotFound,
    QuotaExceeded,
    SharingDisabled,
    StorageUnavailable,
)
from chalicelib.provisioning import TTL_ATTRIBUTE
from chalicelib.schemas import CreatorLimits
from chalicelib.schemas.configs import limit_in_force
from chalicelib.sessions import SESSION_SORT_KEY, SessionRecord, partition_key
from chalicelib.settings import Settings

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

logger = logging.getLogger(__name__)

STATE_SORT_KEY = "STATE"
# Counters outlive their day a little, for whoever wants to look at yesterday.
COUNTER_RETENTION = timedelta(days=2)
ATTEMPTS = 6  # refreshes of a session's copy of the limits


def config_partition(config_id: str) -> str:
    return f"CONFIG#{config_id}"


def _now() -> datetime:
    return datetime.now(UTC)


def seconds_until_midnight(now: datetime) -> int:
    midnight = (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return max(1, int((midnight - now).total_seconds() + 0.999))


class ClaimRefused(Exception):
    """An extra item of a reservation (an idempotency claim) failed its condition."""


@dataclass(frozen=True)
class Reservation:
    session_id: str
    config_id: str
    day: str


class QuotaStore:
    def __init__(self, table: Table) -> None:
        self._table = table

    # --- the controls mirror -------------------------------------------------------

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
                Key=self._state_key(config_id),
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
            values: dict[str, Any] | None = {":now": _now().isoformat()}
        else:
            expression, values = "REMOVE #deleted", None
        kwargs: dict[str, Any] = {
            "Key": self._state_key(config_id),
            "UpdateExpression": expression,
            "ExpressionAttributeNames": {"#deleted": "deletedAt"},
        }
        if values:
            kwargs["ExpressionAttributeValues"] = values
        try:
            self._table.update_item(**kwargs)
        except (ClientError, BotoCoreError) as exc:
            raise StorageUnavailable() from exc

    def _read_state(self, config_id: str) -> dict[str, Any] | None:
        return get_item(self._table, self._state_key(config_id))

    @staticmethod
    def _state_key(config_id: str) -> dict[str, str]:
        return {"pk": config_partition(config_id), "sk": STATE_SORT_KEY}

    def _day_update(self, config_id: str, day: datetime, counter: str, limit: int) -> Any:
        expires = int((day + COUNTER_RETENTION).timestamp())
        return {
            "Update": {
                "TableName": self._table.name,
                "Key": {"pk": config_partition(config_id), "sk": f"DAY#{day.date().isoformat()}"},
                "UpdateExpression": "ADD #count :one SET #expires = :expires",
                "ConditionExpression": "attribute_not_exists(#count) OR #count < :limit",
                "ExpressionAttributeNames": {"#count": counter, "#expires": TTL_ATTRIBUTE},
                "ExpressionAttributeValues": {":one": 1, ":limit": limit, ":expires": expires},
            }
        }

    # --- sessions ------------------------------------------------------------------

    def create_session(self, session: SessionRecord, sessions_per_day: int) -> None:
        """Store a new session, counted against the config's sessions per day."""
        now = _now()
        items = [
            {
                "Put": {
                    "TableName": self._table.name,
                    "Item": session.to_item(),
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            },
            self._day_update(session.chat_config_id, now, "sessions", sessions_per_day),
            {
                "ConditionCheck": {
                    "TableName": self._table.name,
                    "Key": self._state_key(session.chat_config_id),
                    "ConditionExpression": "attribute_not_exists(#deleted) AND #sharing = :on",
                    "ExpressionAttributeNames": {"#deleted": "deletedAt", "#sharing": "sharing"},
                    "ExpressionAttributeValues": {":on": True},
                }
            },
        ]
        refused = transact(self._table, items)
        if refused is None:
            return
        if refused[2] == CONDITION_FAILED:
            state = self._read_state(session.chat_config_id) or {}
            if not state or "deletedAt" in state:
                raise ConfigNotFound()
            raise SharingDisabled()
        if refused[1] == CONDITION_FAILED:
            raise QuotaExceeded(
                "This chat has reached its limit of new sessions for today.",
                details={"limit": "sessionsPerDay", "value": sessions_per_day},
                retry_after=seconds_until_midnight(now),
            )
        raise StorageUnavailable("A session with this id already exists; try again.")

    # --- messages ------------------------------------------------------------------

    def reserve_message(
        self, session: SessionRecord, settings: Settings, also: tuple[Any, ...] = ()
    ) -> Reservation:
        """Count one message against the session's and the day's limits, or refuse it.

        `also` adds conditional items to the same transaction (an idempotency
        claim); when one of them is refused, ClaimRefused says so first.
        """
        for _ in range(ATTEMPTS):
            now = _now()
            per_session = limit_in_force(
                session.session_message_limit, settings.limit_messages_per_session
            )
            per_day = limit_in_force(session.daily_message_limit, settings.limit_messages_per_day)
            items = self._reservation(session, now, per_session, per_day) + list(also)
            refused = transact(self._table, items)
            if refused is None:
                return Reservation(
                    session.session_id, session.chat_config_id, now.date().isoformat()
                )
            if CONDITION_FAILED in refused[3:]:
                raise ClaimRefused()
            if refused[2] == CONDITION_FAILED:
                session = self._refreshed(session)
                continue
            if refused[0] == CONDITION_FAILED:
                raise QuotaExceeded(
                    "This session has reached its message limit.",
                    details={"limit": "messagesPerSession", "value": per_session},
                )
            raise QuotaExceeded(
                "This chat has reached its message limit for today.",
                details={"limit": "messagesPerDay", "value": per_day},
                retry_after=seconds_until_midnight(now),
            )
        raise StorageUnavailable()

    def _reservation(
        self, session: SessionRecord, now: datetime, per_session: int, per_day: int
    ) -> list[Any]:
        # The session item also takes the current copy of the limits, which is a
        # no-op unless `_refreshed` just changed them.
        limits: dict[str, Any] = {
            ":version": session.limits_version,
            ":sessionLimit": session.session_message_limit,
            ":dailyLimit": session.daily_message_limit,
        }
        return [
            {
                "Update": {
                    "TableName": self._table.name,
                    "Key": {"pk": partition_key(session.session_id), "sk": SESSION_SORT_KEY},
                    "UpdateExpression": (
                        "ADD #count :one SET #version = :version, "
                        "#sessionLimit = :sessionLimit, #dailyLimit = :dailyLimit"
                    ),
                    "ConditionExpression": (
                        "attribute_exists(pk) AND (attribute_not_exists(#count) OR #count < :limit)"
                    ),
                    "ExpressionAttributeNames": {
                        "#count": "messageCount",
                        "#version": "limitsVersion",
                        "#sessionLimit": "sessionMessageLimit",
                        "#dailyLimit": "dailyMessageLimit",
                    },
                    "ExpressionAttributeValues": {":one": 1, ":limit": per_session, **limits},
                }
            },
            self._day_update(session.chat_config_id, now, "messages", per_day),
            {
                "ConditionCheck": {
                    "TableName": self._table.name,
                    "Key": self._state_key(session.chat_config_id),
                    "ConditionExpression": "attribute_not_exists(#deleted) AND #version = :version",
                    "ExpressionAttributeNames": {
                        "#deleted": "deletedAt",
                        "#version": "limitsVersion",
                    },
                    "ExpressionAttributeValues": {":version": session.limits_version},
                }
            },
        ]

    def _refreshed(self, session: SessionRecord) -> SessionRecord:
        """The session with the config's current limits, or ConfigDeleted."""
        state = self._read_state(session.chat_config_id)
        if state is None or "deletedAt" in state:
            raise ConfigDeleted()
        logger.info("session %s takes its config's new limits", session.session_id)
        return session.model_copy(
            update={
                "limits_version": int(state["limitsVersion"]),
                "session_message_limit": _optional_int(state.get("messagesPerSession")),
                "daily_message_limit": _optional_int(state.get("messagesPerDay")),
            }
        )

    def release_message(self, reservation: Reservation, also: tuple[Any, ...] = ()) -> None:
        """Give back a reservation whose send failed. Best effort: a failure is logged."""
        day_key = {"pk": config_partition(reservation.config_id), "sk": f"DAY#{reservation.day}"}
        session_key = {"pk": partition_key(reservation.session_id), "sk": SESSION_SORT_KEY}
        items = [
            {
                "Update": {
                    "TableName": self._table.name,
                    "Key": key,
                    "UpdateExpression": "ADD #count :minus",
                    # The session may be gone, and an ADD would recreate it.
                    "ConditionExpression": "attribute_exists(pk) AND #count > :zero",
                    "ExpressionAttributeNames": {"#count": counter},
                    "ExpressionAttributeValues": {":minus": -1, ":zero": 0},
                }
            }
            for key, counter in ((session_key, "messageCount"), (day_key, "messages"))
        ]
        items += list(also)
        try:
            refused = transact(self._table, items)
            if refused:
                # A counter already at zero, or a session deleted meanwhile: give back the rest.
                kept = [
                    item
                    for item, code in zip(items, refused, strict=False)
                    if code != CONDITION_FAILED
                ]
                if kept and transact(self._table, kept):
                    logger.warning("could not give back all of a failed send's quota")
        except StorageUnavailable:
            logger.warning("could not give back the quota of a failed send")


def _optional_int(value: Any) -> int | None:
    return None if value is None else int(value)
