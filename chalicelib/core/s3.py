"""S3 answers the app reads the same way everywhere: an object that is not there."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.core.errors import StorageUnavailable

# GetObject says NoSuchKey; HeadObject has no body, so only its status.
_MISSING_CODES = {"NoSuchKey", "404", "NotFound"}

T = TypeVar("T")


def unless_missing(call: Callable[[], T]) -> T | None:
    """`call()`'s answer, or None when S3 says the object is not there; any other
    failure of S3 is StorageUnavailable."""
    try:
        return call()
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in _MISSING_CODES:
            return None
        raise StorageUnavailable() from exc
    except BotoCoreError as exc:
        raise StorageUnavailable() from exc
