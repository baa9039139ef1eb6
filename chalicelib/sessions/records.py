"""A session as stored, and the keys of its partition in the sessions table."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from chalicelib.schemas import SessionSettings, Usage

SESSION_SORT_KEY = "SESSION"
MESSAGE_PREFIX = "MSG#"

# The session fields a client may change, by their attribute names.
SETTING_ATTRIBUTES = {
    "title": "title",
    "model": "model",
    "system_prompt": "systemPrompt",
    "temperature": "temperature",
}


class SessionRecord(SessionSettings):
    """A session as stored: its settings, the token's hash, its running totals, and
    its copy of the config's message limits (refreshed when those change)."""

    token_hash: str
    limits_version: int = 1
    session_message_limit: int | None = None
    daily_message_limit: int | None = None
    stored_messages: int = 0
    prompt_tokens: int = 0
    reply_tokens: int = 0
    deleting_at: str | None = None

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> SessionRecord:
        return cls.model_validate(item)

    def to_item(self) -> dict[str, Any]:
        return {
            **self.model_dump(by_alias=True, exclude_none=True),
            "pk": partition_key(self.session_id),
            "sk": SESSION_SORT_KEY,
            "temperature": decimal_of(self.temperature),
        }

    def public(self) -> SessionSettings:
        """The settings a session's holder sees; a private prompt stays hidden."""
        return SessionSettings.model_validate(self.with_prompt_hidden())

    @property
    def usage(self) -> Usage:
        return Usage.of(self.prompt_tokens, self.reply_tokens)


def partition_key(session_id: str) -> str:
    return f"SESSION#{session_id}"


def session_key(session_id: str) -> dict[str, str]:
    return {"pk": partition_key(session_id), "sk": SESSION_SORT_KEY}


def decimal_of(value: float) -> Decimal:
    return Decimal(str(value))
