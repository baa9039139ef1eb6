"""Small helpers over DynamoDB calls: error codes, paged Queries, retried transactions."""

from __future__ import annotations

import itertools
import logging
import random
import time
import uuid
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    ReadTimeoutError,
)

from chalicelib.core.errors import StorageUnavailable
from chalicelib.core.provisioning import TTL_ATTRIBUTE

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

logger = logging.getLogger(__name__)

TRANSACTION_ATTEMPTS = 6
CONDITION_FAILED = "ConditionalCheckFailed"
_CONFLICT_CODES = {"TransactionConflictException", "TransactionInProgressException"}


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def cancellation_codes(exc: ClientError) -> list[str]:
    reasons = exc.response.get("CancellationReasons", [])
    return [str(reason.get("Code", "")) for reason in reasons]


def transact(table: Table, items: list[Any]) -> list[str] | None:
    """Run a transaction: None on success, else why each item was refused.

    Real DynamoDB cancels transactions that touch an item another one is
    changing (`TransactionConflict`); those are retried with jittered backoff.
    Every attempt carries the same ClientRequestToken, so an attempt whose answer
    was lost, or that is still being applied, is never applied twice: DynamoDB
    answers a repeat with the first one's success, or `TransactionInProgress`.
    """
    token = uuid.uuid4().hex
    for attempt in range(TRANSACTION_ATTEMPTS):
        last = attempt == TRANSACTION_ATTEMPTS - 1
        try:
            table.meta.client.transact_write_items(TransactItems=items, ClientRequestToken=token)
            return None
        except ClientError as exc:
            codes = cancellation_codes(exc)
            if CONDITION_FAILED in codes:
                return codes
            conflict = "TransactionConflict" in codes or error_code(exc) in _CONFLICT_CODES
            if not conflict or last:
                raise StorageUnavailable() from exc
            logger.info("retrying a transaction cancelled by a conflict")
        except BotoCoreError as exc:
            # A timeout may hide an attempt that was applied: ask again with the same token.
            if last or not isinstance(exc, (ReadTimeoutError, ConnectionClosedError)):
                raise StorageUnavailable() from exc
            logger.info("retrying a transaction whose answer was lost")
        time.sleep(random.uniform(0, 0.02 * 2**attempt))
    raise StorageUnavailable()


def counter_update(
    table_name: str,
    key: dict[str, str],
    counters: dict[str, int],
    expires: int,
    sets: dict[str, Any] | None = None,
    removes: tuple[str, ...] = (),
) -> dict[str, Any]:
    """A transaction item that ADDs `counters` to an item (made if absent), sets its expiry
    (TTL_ATTRIBUTE's value) and `sets`, and removes `removes`; attributes by placeholder, so
    any name does."""
    names = {f"#c{i}": name for i, name in enumerate(counters)}
    values: dict[str, Any] = {f":c{i}": n for i, n in enumerate(counters.values())}
    clauses = ["SET #expires = :expires"]
    for i, (name, value) in enumerate((sets or {}).items()):
        names[f"#s{i}"], values[f":s{i}"] = name, value
        clauses[0] += f", #s{i} = :s{i}"
    if counters:
        clauses.insert(0, "ADD " + ", ".join(f"#c{i} :c{i}" for i in range(len(counters))))
    if removes:
        names.update({f"#r{i}": name for i, name in enumerate(removes)})
        clauses.append("REMOVE " + ", ".join(f"#r{i}" for i in range(len(removes))))
    return {
        "Update": {
            "TableName": table_name,
            "Key": key,
            "UpdateExpression": " ".join(clauses),
            "ExpressionAttributeNames": {**names, "#expires": TTL_ATTRIBUTE},
            "ExpressionAttributeValues": {**values, ":expires": expires},
        }
    }


def give_back(table: Table, items: list[Any]) -> bool:
    """Run a transaction that releases something (its first item) and gives back what it
    counted: False when it was already released. A counter whose condition fails (already
    at zero, or its item gone) is left as it is, and the rest is applied without it."""
    refused = transact(table, items)
    if refused is None:
        return True
    if refused[0] == CONDITION_FAILED:
        return False
    kept = [item for item, code in zip(items, refused, strict=False) if code != CONDITION_FAILED]
    if transact(table, kept):
        logger.warning("could not give back all of a released item's counts")
    return True


def conditional(table: Table, method: str, **kwargs: Any) -> dict[str, Any] | None:
    """One conditional write (`put_item`, `update_item`, `delete_item`): its answer, or None
    when its condition failed."""
    try:
        return dict(getattr(table, method)(**kwargs))
    except ClientError as exc:
        if error_code(exc) == "ConditionalCheckFailedException":
            return None
        raise StorageUnavailable() from exc
    except BotoCoreError as exc:
        raise StorageUnavailable() from exc


def get_item(table: Table, key: dict[str, str]) -> dict[str, Any] | None:
    """One item, read consistently, or None."""
    try:
        return table.get_item(Key=key, ConsistentRead=True).get("Item")
    except (ClientError, BotoCoreError) as exc:
        raise StorageUnavailable() from exc


def query_items(
    table: Table, page_sizes: Sequence[int] = (), **kwargs: Any
) -> Iterator[dict[str, Any]]:
    """Every item a Query matches, a page per call, read only as far as consumed.

    `page_sizes` gives the Limit of successive pages (the last one repeats).
    """
    for page in itertools.count():
        if page_sizes:
            kwargs["Limit"] = page_sizes[min(page, len(page_sizes) - 1)]
        try:
            response = table.query(**kwargs)
        except (ClientError, BotoCoreError) as exc:
            raise StorageUnavailable() from exc
        yield from response.get("Items", [])
        last_key = response.get("LastEvaluatedKey")
        if not last_key:
            return
        kwargs["ExclusiveStartKey"] = last_key
