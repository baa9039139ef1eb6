"""Small helpers over DynamoDB calls: error codes, paged Queries, retried transactions."""

from __future__ import annotations

import itertools
import logging
import random
import time
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

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
    """
    for attempt in range(TRANSACTION_ATTEMPTS):
        try:
            table.meta.client.transact_write_items(TransactItems=items)
            return None
        except ClientError as exc:
            codes = cancellation_codes(exc)
            if CONDITION_FAILED in codes:
                return codes
            conflict = "TransactionConflict" in codes or error_code(exc) in _CONFLICT_CODES
            if not conflict or attempt == TRANSACTION_ATTEMPTS - 1:
                raise StorageUnavailable() from exc
            logger.info("retrying a transaction cancelled by a conflict")
            time.sleep(random.uniform(0, 0.02 * 2**attempt))
        except BotoCoreError as exc:
            raise StorageUnavailable() from exc
    raise StorageUnavailable()


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
