"""Who is calling: a client's address, and the keyed hash that stands for it in storage.

Per-client rate limits count by address, but no address is ever stored or logged: the
counters are keyed by an HMAC of it, under a server secret (CLIENT_HASH_SECRET, or the
SSM SecureString CLIENT_HASH_SECRET_PARAMETER names). Without either, as under `chalice
local`, the process makes a secret of its own at start, so counts last as long as it.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import logging
import secrets
import threading
from dataclasses import dataclass

from chalicelib.core.parameters import secure_parameter
from chalicelib.core.settings import Settings

logger = logging.getLogger(__name__)

_lock = threading.Lock()
_process_secret: list[bytes] = []


@dataclass(frozen=True)
class Caller:
    """A request's origin, as the limits see it."""

    # The keyed hash of the client's address; None when no address is known.
    client_key: str | None
    # The request carried the operator's token: no per-client limit applies.
    operator: bool = False


ANONYMOUS = Caller(None)


def client_address(source_ip: str | None, forwarded_for: str | None, hops: int) -> str | None:
    """The client's address: the socket's peer (API Gateway's sourceIp), or with `hops`
    trusted proxies in front, the address the outermost of them saw.

    X-Forwarded-For is client-controlled except for what trusted proxies appended, so only
    the last `hops` entries count; with fewer entries than that, the first one does.
    """
    chain = [part.strip() for part in (forwarded_for or "").split(",") if part.strip()]
    if hops and chain:
        candidate = chain[max(0, len(chain) - hops)]
        if _is_address(candidate):
            return candidate
    return source_ip if source_ip and _is_address(source_ip) else None


def _is_address(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def client_key(address: str | None, settings: Settings) -> str | None:
    """The keyed hash that stands for an address in storage (128 bits, hex)."""
    if address is None:
        return None
    digest = hmac.new(_secret(settings), address.encode(), hashlib.sha256).hexdigest()
    return digest[:32]


def _secret(settings: Settings) -> bytes:
    if settings.client_hash_secret:
        return settings.client_hash_secret.encode()
    if settings.client_hash_secret_parameter:
        stored = secure_parameter(settings.client_hash_secret_parameter)
        if stored:
            return stored.encode()
        logger.warning("the client hash secret's parameter is missing: using a process secret")
    with _lock:
        if not _process_secret:
            _process_secret.append(secrets.token_bytes(32))
        return _process_secret[0]
