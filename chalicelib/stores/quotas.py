"""Creator limits enforced in DynamoDB, against the controls mirror (see controls.py).

Each config's partition `CONFIG#{id}` in the sessions table holds, beside its
`STATE#{n}` mirror, `DAY#{yyyy-mm-dd}#{n}` items: that UTC day's message and
session counters (and, once settled, the analytics' counts: analytics.py), which
expire through DynamoDB TTL (`expiresAt`) after DAY_RETENTION. A day's limit
is split into SHARDS shares that add up to it exactly; a send counts on one shard
picked at random, and on the next when that one is full, so the limit is never
overshot and is refused only when every shard is full, while the sends of a busy
config rarely meet on one item.

A send reserves its quota before calling the model, in one transaction of
conditional writes: the session's message counter, the day's counter, and a
check that the config is not deleted and that the session's copy of the
limits is current. Nothing is read and then written, so concurrent sends can
never overshoot a limit. The same transaction records the reservation as an
item with a lease (see sessions/records.py); reservations.py settles it.
"""

from __future__ import annotations

import logging
import random
from dataclasses import replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from chalicelib.core import clock
from chalicelib.core.clock import seconds_until_midnight
from chalicelib.core.dynamo import CONDITION_FAILED, transact
from chalicelib.core.errors import (
    ConfigDeleted,
    QuotaExceeded,
    StorageUnavailable,
)
from chalicelib.core.provisioning import TTL_ATTRIBUTE
from chalicelib.core.settings import Settings
from chalicelib.schemas.configs import limit_in_force, token_budget_in_force
from chalicelib.stores.budget import OPERATOR, BudgetHolds, BudgetScope, BudgetStore, agent_scope
from chalicelib.stores.clients import ClientCount
from chalicelib.stores.controls import (
    ControlsStore,
    config_partition,
    shares,
    state_key,
)
from chalicelib.stores.records import Reservation
from chalicelib.stores.sessions import SESSION_SORT_KEY, SessionRecord, partition_key

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

logger = logging.getLogger(__name__)

# Reservations outlive their lease a little, for whoever wants to look at yesterday.
COUNTER_RETENTION = timedelta(days=2)
# Day counters are also an agent's analytics (analytics.py), read back over 90 days.
DAY_RETENTION = timedelta(days=92)
ATTEMPTS = 6  # refreshes of a session's copy of the limits


def _now() -> datetime:
    return clock.utc_now()


def shard_order(limit: int) -> list[int]:
    """The shards with room under `limit`, in a random order (spreading the load)."""
    open_shards = [shard for shard, share in enumerate(shares(limit)) if share > 0]
    random.shuffle(open_shards)
    return open_shards


class ClaimRefused(Exception):
    """An extra item of a reservation (an idempotency claim) failed its condition."""


class QuotaStore:
    def __init__(self, table: Table) -> None:
        self._table = table
        self._controls = ControlsStore(table)
        self._budget = BudgetStore(table)

    # --- messages ------------------------------------------------------------------

    def reserve_message(
        self,
        session: SessionRecord,
        settings: Settings,
        lease_seconds: float,
        also: tuple[Any, ...] = (),
        token_bound: int = 0,
        client: ClientCount | None = None,
        holder: str | None = None,
    ) -> Reservation:
        """Count one message against the session's and the day's limits, and hold
        `token_bound` tokens of each token budget in force (the operator's, the agent's),
        or refuse it.

        The reservation is held for `lease_seconds`: an exchange stored later than that
        is refused. `also` adds conditional items to the same transaction (an
        idempotency claim); when one of them is refused, ClaimRefused says so first.
        `client` counts the send against its client's messages per minute. A `holder`
        (a stateless call's partition) holds the reservation instead of the session,
        which is then not counted (it is not stored: messagesPerSession does not apply).
        """
        # How many items the session's counter takes at the head of the transaction (none
        # for a holder's call), so the later items' places follow from it.
        session_items = 0 if holder else 1
        refreshes = 0
        full: set[int] = set()
        holds = BudgetHolds(self._budget, token_bound, _budgets_in_force(session, settings))
        while True:
            now = _now()
            hold_items = holds.items(now)
            per_session = limit_in_force(
                session.session_message_limit, settings.limit_messages_per_session
            )
            per_day = limit_in_force(session.daily_message_limit, settings.limit_messages_per_day)
            if per_session == 0 and not holder:
                raise _session_full(per_session)
            open_shards = [shard for shard in shard_order(per_day) if shard not in full]
            if not open_shards:
                raise _day_full(per_day, now)
            shard = open_shards[0]
            reservation = Reservation.new(
                session.session_id,
                session.chat_config_id,
                now.date().isoformat(),
                lease_seconds,
                shard,
                holder,
            )
            reservation = replace(
                reservation,
                budget_pieces=holds.pieces(OPERATOR.name),
                agent_pieces=holds.pieces("agent"),
            )
            items = self._reservation(session, now, per_session, shares(per_day)[shard], shard)
            items = items[1 - session_items :]
            counted = [client.item(self._table)] if client else []
            items += [self._hold(reservation), *counted, *hold_items, *also]
            refused = transact(self._table, items)
            if refused is None:
                return reservation
            holds_start = session_items + 3 + len(counted)
            if CONDITION_FAILED in refused[holds_start + len(hold_items) :]:
                raise ClaimRefused()
            if client and refused[session_items + 3] == CONDITION_FAILED:
                raise client.refusal()
            if holds.refused(refused[holds_start : holds_start + len(hold_items)]):
                continue  # another send took the room: read what is left, and split
            if refused[session_items + 1] == CONDITION_FAILED:
                refreshes += 1
                if refreshes == ATTEMPTS:
                    raise StorageUnavailable()
                session, full = self._refreshed(session), set()
                holds = BudgetHolds(self._budget, token_bound, _budgets_in_force(session, settings))
                continue
            if session_items and refused[0] == CONDITION_FAILED:
                raise _session_full(per_session)
            full.add(shard)

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
                    "shard": reservation.shard,
                    "budget": [list(piece) for piece in reservation.budget_pieces],
                    "agentBudget": [list(piece) for piece in reservation.agent_pieces],
                    TTL_ATTRIBUTE: expires,
                },
                "ConditionExpression": "attribute_not_exists(sk)",
            }
        }

    def _reservation(
        self, session: SessionRecord, now: datetime, per_session: int, day_share: int, shard: int
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
            day_update(self._table.name, session.chat_config_id, now, "messages", day_share, shard),
            {
                "ConditionCheck": {
                    "TableName": self._table.name,
                    "Key": state_key(session.chat_config_id, shard),
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
                "daily_token_limit": _optional_int(state.get("tokensPerDay")),
            }
        )


def _budgets_in_force(session: SessionRecord, settings: Settings) -> list[tuple[BudgetScope, int]]:
    """The token budgets a send of this session holds its bound in: (scope, tokens a day)."""
    budgets = [(OPERATOR, settings.budget_tokens_per_day)] if settings.budget_tokens_per_day else []
    per_agent = token_budget_in_force(session.daily_token_limit, settings.limit_tokens_per_day)
    if per_agent is not None:
        budgets.append((agent_scope(session.chat_config_id), per_agent))
    return budgets


def day_update(
    table_name: str, config_id: str, day: datetime, counter: str, limit: int, shard: int
) -> Any:
    """Count one on a shard of the day's counter, unless that shard's share is used up."""
    expires = int((day + DAY_RETENTION).timestamp())
    return {
        "Update": {
            "TableName": table_name,
            "Key": day_key(config_id, day.date().isoformat(), shard),
            "UpdateExpression": "ADD #count :one SET #expires = :expires",
            "ConditionExpression": "attribute_not_exists(#count) OR #count < :limit",
            "ExpressionAttributeNames": {"#count": counter, "#expires": TTL_ATTRIBUTE},
            "ExpressionAttributeValues": {":one": 1, ":limit": limit, ":expires": expires},
        }
    }


def day_key(config_id: str, day: str, shard: int) -> dict[str, str]:
    return {"pk": config_partition(config_id), "sk": f"DAY#{day}#{shard}"}


def _session_full(limit: int) -> QuotaExceeded:
    return QuotaExceeded(
        "This session has reached its message limit.",
        details={"limit": "messagesPerSession", "value": limit},
    )


def _day_full(limit: int, now: datetime) -> QuotaExceeded:
    return QuotaExceeded(
        "This chat has reached its message limit for today.",
        details={"limit": "messagesPerDay", "value": limit},
        retry_after=seconds_until_midnight(now),
    )


def _optional_int(value: Any) -> int | None:
    return None if value is None else int(value)
