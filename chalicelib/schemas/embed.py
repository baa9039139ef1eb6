"""An agent's embed: whether its chat may be framed by other sites, and by which.

The origins become the embed page's CSP `frame-ancestors`, so each is checked to be
exactly `scheme://host[:port]`: nothing that could add a source or a directive.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, ConfigDict, Field

from chalicelib.schemas.base import RequestModel

MAX_EMBED_ORIGINS = 10
# Plain http only where nothing travels over a network.
LOOPBACK_HOSTS = ("localhost", "127.0.0.1")
DEFAULT_PORTS = {"https": 443, "http": 80}
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_HOST = rf"{_LABEL}(?:\.{_LABEL})*"
_PORT = r"(?:[1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])"
_LOOPBACK = "|".join(re.escape(host) for host in LOOPBACK_HOSTS)
# Exactly what is taken, so the documented pattern and the check are one.
ORIGIN_PATTERN = rf"^(?:https://{_HOST}|http://(?:{_LOOPBACK}))(?::{_PORT})?$"
_ORIGIN = re.compile(ORIGIN_PATTERN)


def normalized_origin(text: str) -> str:
    """`text` as a browser's Origin header names it: lower case, no default port."""
    origin = text.strip().lower()
    if _ORIGIN.fullmatch(origin) is None:
        if re.fullmatch(rf"http://{_HOST}(?::{_PORT})?", origin):
            raise ValueError("must use https (plain http only for localhost and 127.0.0.1)")
        raise ValueError(
            "must be an origin, scheme://host[:port], with no path (such as https://example.com)"
        )
    scheme, _, rest = origin.partition("://")
    host, _, port = rest.partition(":")
    if not port or int(port) == DEFAULT_PORTS[scheme]:
        return f"{scheme}://{host}"
    return f"{scheme}://{host}:{int(port)}"


def _unique(origins: list[str]) -> list[str]:
    return list(dict.fromkeys(origins))


EmbedOrigin = Annotated[
    str,
    Field(max_length=300, json_schema_extra={"pattern": ORIGIN_PATTERN}),
    AfterValidator(normalized_origin),
]


class EmbedSettings(RequestModel):
    """Where the agent's chat may be embedded (`GET /embed/{chatConfigId}`)."""

    model_config = ConfigDict(serialize_by_alias=True)

    enabled: bool = False
    """Whether the embed page may be framed at all."""
    allowed_origins: Annotated[
        list[EmbedOrigin], Field(max_length=MAX_EMBED_ORIGINS), AfterValidator(_unique)
    ] = []
    """Up to 10 sites that may frame it, each `scheme://host[:port]`: https, or plain
    http for localhost and 127.0.0.1."""

    def frame_ancestors(self) -> tuple[str, ...]:
        """The origins that may frame the embed page now: none while it is off."""
        return tuple(self.allowed_origins) if self.enabled else ()
