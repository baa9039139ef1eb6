"""The in-memory AWS's transactions, the suite's too: as atomic as moto's, copying no table."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from chalicelib.core.aws import get_sessions_table
from tests.conftest import TABLE


@pytest.fixture
def items_only() -> Any:
    """moto's DynamoDB with the change, which the suite's moto has as chalice local's does."""
    import moto.dynamodb.models as dynamodb

    assert getattr(dynamodb.DynamoDBBackend, "_backs_up_items_only", False)
    return dynamodb.dynamodb_backends[MOTO_ACCOUNT]["us-east-1"]


KEY = {"pk": {"S": "p"}}
MOTO_ACCOUNT = "123456789012"  # moto's account when the credentials name none


def _put(sk: str, value: int) -> Any:
    return {"Put": {"TableName": TABLE, "Item": {**KEY, "sk": {"S": sk}, "v": {"N": str(value)}}}}


def _items() -> dict[str, int]:
    found = get_sessions_table().query(
        KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": "p"}
    )["Items"]
    return {str(item["sk"]): int(str(item["v"])) for item in found}


def test_a_cancelled_transaction_leaves_every_item_as_it_was_and_copies_no_table(
    items_only: Any,
) -> None:
    # DynamoDB's own JSON, as chalicelib's transactions send it. The region is named: boto3's
    # default session may have been made by another test of this process, without one.
    client = boto3.client("dynamodb", region_name="us-east-1")
    client.transact_write_items(TransactItems=[_put("a", 1), _put("b", 1)])
    table = items_only.tables[TABLE]
    update_a: Any = {
        "Update": {
            "TableName": TABLE,
            "Key": {**KEY, "sk": {"S": "a"}},
            "UpdateExpression": "SET v = :two",
            "ExpressionAttributeValues": {":two": {"N": "2"}},
        }
    }
    delete_b: Any = {"Delete": {"TableName": TABLE, "Key": {**KEY, "sk": {"S": "b"}}}}
    missing: Any = {
        "ConditionCheck": {
            "TableName": TABLE,
            "Key": {**KEY, "sk": {"S": "zz"}},
            "ConditionExpression": "attribute_exists(sk)",
        }
    }
    # The failing operation last (the others applied first, then undone) and first.
    for operations in ([update_a, _put("c", 1), delete_b, missing], [missing, delete_b]):
        with pytest.raises(ClientError, match="TransactionCanceled"):
            client.transact_write_items(TransactItems=operations)
        assert _items() == {"a": 1, "b": 1}
    # The same table object throughout: moto's own backup would have put a copy in place.
    assert items_only.tables[TABLE] is table
    client.transact_write_items(TransactItems=[update_a, _put("c", 1), delete_b])
    assert _items() == {"a": 2, "c": 1}
