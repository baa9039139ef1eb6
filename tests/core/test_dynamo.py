"""Transactions: every attempt of one carries the same ClientRequestToken."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from chalicelib.core.dynamo import transact
from chalicelib.stores.sessions import SessionStore


def test_every_attempt_of_a_transaction_carries_the_same_token(
    session_store: SessionStore,
) -> None:
    """So DynamoDB never applies twice an attempt whose answer was lost or still runs."""
    table = session_store.table
    client = table.meta.client
    tokens: list[str] = []

    def conflict_twice(params: dict[str, Any], **_: object) -> None:
        tokens.append(params["ClientRequestToken"])
        if len(tokens) <= 2:
            raise ClientError(
                {
                    "Error": {"Code": "TransactionCanceledException", "Message": "conflict"},
                    "CancellationReasons": [{"Code": "TransactionConflict"}],
                },
                "TransactWriteItems",
            )

    event = "before-parameter-build.dynamodb.TransactWriteItems"
    client.meta.events.register(event, conflict_twice)
    try:
        item = {"pk": "TEST#1", "sk": "A"}
        assert transact(table, [{"Put": {"TableName": table.name, "Item": item}}]) is None
    finally:
        client.meta.events.unregister(event, conflict_twice)
    assert len(tokens) == 3 and len(set(tokens)) == 1
