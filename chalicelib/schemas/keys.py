"""An agent's API keys: made, listed and revoked with its edit token."""

from __future__ import annotations

from chalicelib.schemas.base import RequestModel, ResponseModel, Title

# Keys an agent may hold at once: enough for every app and teammate, few enough to list.
MAX_API_KEYS = 20


class ApiKeyCreate(RequestModel):
    name: Title
    """What the key is for, 1-100 characters, not only white space (trimmed)."""


class ApiKeyPublic(ResponseModel):
    key_id: str
    """The key's id, to revoke it by."""
    name: str
    """What the key is for."""
    created_at: str
    """When it was made (ISO 8601, UTC)."""
    last_used_at: str | None
    """When it was last used, to within an hour (ISO 8601, UTC); null if never."""


class ApiKeyCreated(ResponseModel):
    key_id: str
    """The key's id, to revoke it by."""
    name: str
    """What the key is for."""
    api_key: str
    """The key itself (`aim_...`), shown only here: only its hash is stored."""
    created_at: str
    """When it was made (ISO 8601, UTC)."""


class ApiKeyList(ResponseModel):
    keys: list[ApiKeyPublic]
    """The agent's keys, oldest first; never the keys themselves."""
