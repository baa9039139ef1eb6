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
