"""Creator limits enforced in DynamoDB, against the controls mirror (see controls.py).

Each config's partition `CONFIG#{id}` in the sessions table holds, beside its
`STATE` mirror, `DAY#{yyyy-mm-dd}` items: that UTC day's message and session
counters, which expire through DynamoDB TTL (`expiresAt`).

A send reserves its quota before calling the model, in one transaction of
conditional writes: the session's message counter, the day's counter, and a
check that the config is not deleted and that the session's copy of the
limits is current. Nothing is read and then written, so concurrent sends can
never overshoot a limit. The same transaction records the reservation as an
item with a lease (see sessions/records.py): the exchange's own transaction
deletes it, a send that fails gives the quota back with it, and a send that
died is given back by the session's next send once its lease is over. Each way
deletes the item under a condition, so a reservation is settled exactly once.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from chalicelib.configs.controls import ControlsStore, config_partition, state_key
from chalicelib.core.dynamo import CONDITION_FAILED, transact
from chalicelib.core.errors import (
    ConfigDeleted,
    ConfigNotFound,
    QuotaExceeded,
    SharingDisabled,
    StorageUnavailable,
)
from chalicelib.core.provisioning import TTL_ATTRIBUTE
from chalicelib.core.settings import Settings
from chalicelib.schemas.configs import limit_in_force
from chalicelib.sessions.records import Reservation
from chalicelib.sessions.store import SESSION_SORT_KEY, SessionRecord, partition_key

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

logger = logging.getLogger(__name__)

# Counters outlive their day a little, for whoever wants to look at yesterday.
COUNTER_RETENTION = timedelta(days=2)
ATTEMPTS = 6  # refreshes of a session's copy of the limits


def _now() -> datetime:
    return datetime.now(UTC)


def seconds_until_midnight(now: datetime) -> int:
    midnight = (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return max(1, int((midnight - now).total_seconds() + 0.999))


class ClaimRefused(Exception):
    """An extra item of a reservation (an idempotency claim) failed its condition."""


class QuotaStore:
    def __init__(self, table: Table) -> None:
        self._table = table
        self._controls = ControlsStore(table)

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
                    "Key": state_key(session.chat_config_id),
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
            state = self._controls.read(session.chat_config_id) or {}
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
        self,
        session: SessionRecord,
        settings: Settings,
        lease_seconds: float,
        also: tuple[Any, ...] = (),
    ) -> Reservation:
        """Count one message against the session's and the day's limits, or refuse it.

        The reservation is held for `lease_seconds`: an exchange stored later than that
        is refused. `also` adds conditional items to the same transaction (an
        idempotency claim); when one of them is refused, ClaimRefused says so first.
        """
        for _ in range(ATTEMPTS):
            now = _now()
            per_session = limit_in_force(
                session.session_message_limit, settings.limit_messages_per_session
            )
            per_day = limit_in_force(session.daily_message_limit, settings.limit_messages_per_day)
            reservation = Reservation.new(
                session.session_id, session.chat_config_id, now.date().isoformat(), lease_seconds
            )
            items = self._reservation(session, now, per_session, per_day)
            items += [self._hold(reservation), *also]
            refused = transact(self._table, items)
            if refused is None:
                return reservation
            if CONDITION_FAILED in refused[4:]:
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

    def _hold(self, reservation: Reservation) -> Any:
        expires = reservation.lease_until_ms // 1000 + int(COUNTER_RETENTION.total_seconds())
        return {
            "Put": {
                "TableName": self._table.name,
                "Item": {
                    **reservation.key(),
                    "configId": reservation.config_id,
                    "day": reservation.day,
                    "leaseUntil": reservation.lease_until_ms,
                    TTL_ATTRIBUTE: expires,
                },
                "ConditionExpression": "attribute_not_exists(sk)",
            }
        }

    def settle(self, reservation: Reservation) -> Any:
        """A transaction item for the exchange's transaction: its reservation, still in lease,
        is used up. When it is refused, the lease is over and the exchange is not stored."""
        return {
            "Delete": {
                "TableName": self._table.name,
                "Key": reservation.key(),
                "ConditionExpression": "attribute_exists(sk) AND #lease >= :now",
                "ExpressionAttributeNames": {"#lease": "leaseUntil"},
                "ExpressionAttributeValues": {":now": _now_ms()},
            }
        }

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
                    "Key": state_key(session.chat_config_id),
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
        state = self._controls.read(session.chat_config_id)
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
        """Give back a reservation whose send failed. Best effort: a failure is logged,
        and the session's next send gives it back once its lease is over."""
        try:
            if self._give_back(reservation, also) is False and also:
                # Already given back, after its lease: only `also` (the claim) is left.
                transact(self._table, list(also))
        except StorageUnavailable:
            logger.warning("could not give back the quota of a failed send")

    def release_expired(self, reservations: list[Reservation]) -> int:
        """Give back reservations whose lease is over (their send died); how many were."""
        now_ms = _now_ms()
        given_back = 0
        for reservation in reservations:
            if reservation.expired(now_ms) and self._give_back(reservation, (), now_ms):
                logger.warning("gave back the quota of a send that did not finish")
                given_back += 1
        return given_back

    def _give_back(
        self, reservation: Reservation, also: tuple[Any, ...], expired_before_ms: int | None = None
    ) -> bool:
        """Delete the reservation and take it off both counters, in one transaction.

        False when the reservation was already settled. A counter that is already at zero
        (or a session deleted meanwhile) is left as it is.
        """
        condition = "attribute_exists(sk)"
        values: dict[str, Any] = {}
        if expired_before_ms is not None:
            condition += " AND #lease < :now"
            values[":now"] = expired_before_ms
        release: dict[str, Any] = {
            "TableName": self._table.name,
            "Key": reservation.key(),
            "ConditionExpression": condition,
        }
        if values:
            release.update(
                ExpressionAttributeNames={"#lease": "leaseUntil"}, ExpressionAttributeValues=values
            )
        day_key = {"pk": config_partition(reservation.config_id), "sk": f"DAY#{reservation.day}"}
        session_key = {"pk": partition_key(reservation.session_id), "sk": SESSION_SORT_KEY}
        counters = [
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
        items = [{"Delete": release}, *counters, *also]
        refused = transact(self._table, items)
        if refused is None:
            return True
        if refused[0] == CONDITION_FAILED:
            return False
        kept = [
            item for item, code in zip(items, refused, strict=False) if code != CONDITION_FAILED
        ]
        if transact(self._table, kept):
            logger.warning("could not give back all of a failed send's quota")
        return True


def _now_ms() -> int:
    return int(_now().timestamp() * 1000)


def _optional_int(value: Any) -> int | None:
    return None if value is None else int(value)
