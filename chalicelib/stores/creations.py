"""New agents and sessions, each counted in the transaction that stores it.

An agent counts against the server's agents per day (`OPERATOR` `DAY#` shards,
operator.py) and its client's agents per day (clients.py), in the transaction that
mirrors its controls (controls.py); a session against its agent's sessions per day
(quotas.py's day counters) and its client's sessions per hour, in the transaction
that puts it, which also checks that the agent is shared and not deleted. A refused
count stores nothing.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from chalicelib.core import clock
from chalicelib.core.clock import seconds_until_midnight
from chalicelib.core.dynamo import CONDITION_FAILED, transact
from chalicelib.core.errors import (
    ConfigNotFound,
    QuotaExceeded,
    SharingDisabled,
    StorageUnavailable,
)
from chalicelib.schemas import CreatorLimits
from chalicelib.stores.clients import ClientCount
from chalicelib.stores.controls import SHARDS, ControlsStore, shares, state_key
from chalicelib.stores.operator import OperatorStore
from chalicelib.stores.quotas import day_update, shard_order
from chalicelib.stores.sessions import SessionRecord

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table


class CreationStore:
    def __init__(self, table: Table) -> None:
        self._table = table
        self._controls = ControlsStore(table)
        self._operator = OperatorStore(table)

    # --- agents --------------------------------------------------------------------

    def create_agent(
        self,
        config_id: str,
        controls: tuple[CreatorLimits, int, bool],
        agents_per_day: int,
        client: ClientCount | None,
    ) -> None:
        """Mirror a new agent's controls, counted against the server's agents per day
        (0: no limit) and the client's agents per day, in one transaction."""
        now = datetime.now(UTC)
        day = now.date().isoformat()
        extra = [client.item(self._table)] if client else []
        # Without a limit, one try on any shard.
        shards = shard_order(agents_per_day) if agents_per_day else [random.randrange(SHARDS)]
        for shard in shards:
            counted = [self._operator.agent_item(day, agents_per_day, shard), *extra]
            refused = self._controls.create_controls(config_id, *controls, also=counted)
            if refused is None:
                return
            if client and refused[-1] == CONDITION_FAILED:
                raise client.refusal()
        raise QuotaExceeded(
            "This service has reached its limit of new agents for today.",
            details={"limit": "agentsPerDay", "value": agents_per_day},
            retry_after=seconds_until_midnight(now),
        )

    # --- sessions ------------------------------------------------------------------

    def create_session(
        self, session: SessionRecord, sessions_per_day: int, client: ClientCount | None = None
    ) -> None:
        """Store a new session, counted against the config's sessions per day (and the
        client's sessions per hour)."""
        now = clock.utc_now()
        day = now.date().isoformat()
        for shard in shard_order(sessions_per_day):
            items = [
                {
                    "Put": {
                        "TableName": self._table.name,
                        "Item": session.to_item(),
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                },
                day_update(
                    self._table.name,
                    session.chat_config_id,
                    now,
                    "sessions",
                    shares(sessions_per_day)[shard],
                    shard,
                ),
                {
                    "ConditionCheck": {
                        "TableName": self._table.name,
                        "Key": state_key(session.chat_config_id, shard),
                        "ConditionExpression": "attribute_not_exists(#deleted) AND #sharing = :on",
                        "ExpressionAttributeNames": {
                            "#deleted": "deletedAt",
                            "#sharing": "sharing",
                        },
                        "ExpressionAttributeValues": {":on": True},
                    }
                },
                self._operator.count_item(day, {"sessions": 1}),
            ]
            if client:
                items.append(client.item(self._table))
            refused = transact(self._table, items)
            if refused is None:
                return
            if client and refused[4] == CONDITION_FAILED:
                raise client.refusal()
            if refused[2] == CONDITION_FAILED:
                state = self._controls.read(session.chat_config_id) or {}
                if not state or "deletedAt" in state:
                    raise ConfigNotFound()
                raise SharingDisabled()
            if refused[1] != CONDITION_FAILED:
                raise StorageUnavailable("A session with this id already exists; try again.")
        raise QuotaExceeded(
            "This chat has reached its limit of new sessions for today.",
            details={"limit": "sessionsPerDay", "value": sessions_per_day},
            retry_after=seconds_until_midnight(now),
        )
