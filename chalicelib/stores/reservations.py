"""Settling a reservation exactly once: used by its exchange, given back, or reclaimed.

The exchange's own transaction deletes the reservation while its lease lasts; a
send that fails gives the quota back with it; and the session's next send gives
back those whose lease is over (their send died). Each way deletes the item under
a condition, in the transaction that changes the counters, so a reservation is
settled exactly once.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from chalicelib.core.dynamo import give_back, transact
from chalicelib.core.errors import ReplyTooLate, StorageUnavailable
from chalicelib.schemas import Usage
from chalicelib.stores.analytics import AnalyticsStore, exchange_counts
from chalicelib.stores.budget import OPERATOR, BudgetStore, agent_scope
from chalicelib.stores.operator import OperatorStore
from chalicelib.stores.quotas import day_key
from chalicelib.stores.records import SESSION_SORT_KEY, Reservation, partition_key

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

logger = logging.getLogger(__name__)


class ReservationStore:
    def __init__(self, table: Table) -> None:
        self._table = table
        self._budget = BudgetStore(table)
        self._operator = OperatorStore(table)
        self._analytics = AnalyticsStore(table)

    def settle(self, reservation: Reservation, usage: Usage) -> list[Any]:
        """Items for the exchange's transaction: its reservation, still in lease, is used up,
        and the tokens it held of the budget become the call's cost (`usage.total_tokens`),
        which the operator's day counters and the agent's usage items also add up. When
        the first is refused, the lease is over and the exchange is not stored."""
        cost = usage.total_tokens
        release = {
            "Delete": {
                "TableName": self._table.name,
                "Key": reservation.key(),
                "ConditionExpression": "attribute_exists(sk) AND #lease >= :now",
                "ExpressionAttributeNames": {"#lease": "leaseUntil"},
                "ExpressionAttributeValues": {":now": _now_ms()},
            }
        }
        day = reservation.day
        used = self._operator.count_item(day, {"messages": 1, **exchange_counts(usage)})
        agent = self._analytics.exchange_item(reservation.config_id, day, usage)
        return [release, *self._budgets(reservation, cost), used, agent]

    def apply(self, settle: list[Any]) -> None:
        """Run `settle`'s items alone, for a call that stores nothing (a stateless
        completion): ReplyTooLate when the reservation's lease is over."""
        if transact(self._table, list(settle)) is not None:
            raise ReplyTooLate()

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
        day = day_key(reservation.config_id, reservation.day, reservation.shard)
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
            for key, counter in ((session_key, "messageCount"), (day, "messages"))
            if counter == "messages" or reservation.holder is None
        ]
        budgets = self._budgets(reservation, None)
        return give_back(self._table, [{"Delete": release}, *counters, *budgets, *also])

    def _budgets(self, reservation: Reservation, cost: int | None) -> list[Any]:
        """Items settling what the reservation holds of each token budget to `cost`."""
        held = [
            (OPERATOR, reservation.budget_pieces),
            (agent_scope(reservation.config_id), reservation.agent_pieces),
        ]
        return [
            item
            for scope, pieces in held
            if pieces
            for item in self._budget.settle_items(scope, reservation.day, pieces, cost)
        ]


def _now_ms() -> int:
    return int(datetime.now(UTC).timestamp() * 1000)
