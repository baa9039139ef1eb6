"""Which pages may open the WebSocket API: the `Origin` check of `$connect`.

A browser names the page that opens a socket in `Origin`, and a page can't forge it,
so a site elsewhere can't drive a visitor's socket with its own page's origin. Only
browsers send it: a client that sends none is admitted, since `Origin` is a browser
control, not an authentication. Tokens, quotas, budgets and rate limits stay the
protection. Admitted: this API's own pages (`API_ORIGIN`, where the embed page lives
too), the frontend's (`FRONTEND_BASE_URL`), and a named `CORS_ALLOW_ORIGIN`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from urllib.parse import urlsplit

from chalicelib.core.settings import Settings, get_settings
from chalicelib.schemas.embed import DEFAULT_PORTS

logger = logging.getLogger(__name__)

# A page on this machine may be reached by any of these names, and its Origin says which.
LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
Origin = tuple[str, str, int]


def _origin(url: str) -> Origin | None:
    """A URL's origin as (scheme, host, port), every loopback name as one; None if none."""
    parts = urlsplit(url.strip().lower())
    if parts.scheme not in DEFAULT_PORTS or not parts.hostname:
        return None
    try:
        port = parts.port or DEFAULT_PORTS[parts.scheme]
    except ValueError:
        return None
    host = "loopback" if parts.hostname in LOOPBACK_NAMES else parts.hostname
    return parts.scheme, host, port


def admitted_origins(settings: Settings) -> set[Origin]:
    named = [settings.api_origin, settings.frontend_base_url]
    if settings.cors_allow_origin != "*":
        named.append(settings.cors_allow_origin)
    return {origin for url in named if url and (origin := _origin(url)) is not None}


def admits(headers: Mapping[str, str]) -> bool:
    """Whether a `$connect` with these request headers may open its socket."""
    sent = next((value for name, value in headers.items() if name.lower() == "origin"), None)
    if sent is None:
        return True
    origin = _origin(sent)
    if origin is not None and origin in admitted_origins(get_settings()):
        return True
    logger.info("a WebSocket connection from a page elsewhere was refused")
    return False
