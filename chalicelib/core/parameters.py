"""SSM SecureString parameters the app reads (the operator's token, the client hash
secret): read once per process and cached. A missing one is asked for again after a
minute, so an operator who creates it later needs no redeploy."""

from __future__ import annotations

import logging
import threading
import time

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.core.aws import get_ssm_client
from chalicelib.core.dynamo import error_code
from chalicelib.core.errors import StorageUnavailable

logger = logging.getLogger(__name__)

_lock = threading.Lock()
_cache: dict[str, tuple[str | None, float]] = {}
MISSING_RECHECK_SECONDS = 60.0


def secure_parameter(name: str) -> str | None:
    """The parameter's value, or None when it does not exist or is empty."""
    with _lock:
        cached = _cache.get(name)
    if cached and (cached[0] is not None or time.monotonic() < cached[1]):
        return cached[0]
    try:
        response = get_ssm_client().get_parameter(Name=name, WithDecryption=True)
        value: str | None = response["Parameter"].get("Value", "").strip() or None
    except ClientError as exc:
        if error_code(exc) != "ParameterNotFound":
            logger.error("could not read a parameter (%s)", error_code(exc))
            raise StorageUnavailable() from exc
        value = None
    except BotoCoreError as exc:
        logger.error("could not read a parameter (%s)", type(exc).__name__)
        raise StorageUnavailable() from exc
    with _lock:
        _cache[name] = (value, time.monotonic() + MISSING_RECHECK_SECONDS)
    return value


def reset_parameter_cache() -> None:
    with _lock:
        _cache.clear()
