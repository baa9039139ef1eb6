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
_ORIGIN = re.compile(
    rf"(?P<scheme>https?)://(?P<host>{_LABEL}(?:\.{_LABEL})*)(?::(?P<port>[0-9]{{1,5}}))?"
)
ORIGIN_PATTERN = _ORIGIN.pattern


def normalized_origin(text: str) -> str:
    """`text` as a browser's Origin header names it: lower case, no default port."""
    match = _ORIGIN.fullmatch(text.strip().lower())
    if match is None:
        raise ValueError(
            "must be an origin, scheme://host[:port], with no path (such as https://example.com)"
        )
    scheme, host, port = match["scheme"], match["host"], match["port"]
    if scheme == "http" and host not in LOOPBACK_HOSTS:
        raise ValueError("must use https (plain http only for localhost and 127.0.0.1)")
    if port is not None and not 0 < int(port) < 65_536:
        raise ValueError("has a port out of range")
    if port is None or int(port) == DEFAULT_PORTS[scheme]:
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
