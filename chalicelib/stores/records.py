"""A session as stored, its messages' items, and the keys of its partition in the sessions table."""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from chalicelib.schemas import Attachment, Citations, SessionSettings, StoredMessage, Usage
from chalicelib.schemas.insights import Feedback
from chalicelib.schemas.replies import REPLY_PARTS

SESSION_SORT_KEY = "SESSION"
MESSAGE_PREFIX = "MSG#"
# Between MSG# and SESSION: a newest-first Query of the partition reads the session,
# then the reservations in flight, then the newest messages.
RESERVATION_PREFIX = "RESV#"

# The session fields a client may change, by their attribute names.
SETTING_ATTRIBUTES = {
    "title": "title",
    "model": "model",
    "system_prompt": "systemPrompt",
    "temperature": "temperature",
    "top_p": "topP",
    "top_k": "topK",
    "max_output_tokens": "maxOutputTokens",
    "stop_sequences": "stopSequences",
}
# Settings that are fractions: DynamoDB takes them as Decimal, never as float.
FRACTION_SETTINGS = ("temperature", "top_p")
# Kept as JSON text: a JSON Schema's numbers may be fractions, and its nulls are values.
JSON_TEXT_SETTINGS = ("responseFormat",)


class SessionRecord(SessionSettings):
    """A session as stored: its settings, the token's hash, its running totals, and
    its copy of the config's message limits (refreshed when those change)."""

    token_hash: str
    limits_version: int = 1
    session_message_limit: int | None = None
    daily_message_limit: int | None = None
    daily_token_limit: int | None = None
    stored_messages: int = 0
    prompt_tokens: int = 0
    reply_tokens: int = 0
    tool_use_prompt_tokens: int = 0
    thinking_tokens: int = 0
    deleting_at: str | None = None
    # The config's knowledge files when the session started (never shown to its holder).
    knowledge: list[Attachment] = []
    # The API key that started it (a Responses conversation), which no session token opens.
    api_key_id: str | None = None

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> SessionRecord:
        texts = {name: json.loads(str(item[name])) for name in JSON_TEXT_SETTINGS if name in item}
        return cls.model_validate({**item, **texts})

    def to_item(self) -> dict[str, Any]:
        item = self.model_dump(by_alias=True, exclude_none=True)
        for name in FRACTION_SETTINGS:
            alias = SETTING_ATTRIBUTES[name]
            if alias in item:
                item[alias] = decimal_of(item[alias])
        for name in JSON_TEXT_SETTINGS:
            item[name] = json.dumps(item[name], separators=(",", ":"))
        return {**item, "pk": partition_key(self.session_id), "sk": SESSION_SORT_KEY}

    def public(self) -> SessionSettings:
        """The settings a session's holder sees; a private prompt stays hidden."""
        return SessionSettings.model_validate(self.with_prompt_hidden())

    @property
    def usage(self) -> Usage:
        return Usage.of(
            self.prompt_tokens, self.reply_tokens, self.tool_use_prompt_tokens, self.thinking_tokens
        )


def partition_key(session_id: str) -> str:
    return f"SESSION#{session_id}"


def session_key(session_id: str) -> dict[str, str]:
    return {"pk": partition_key(session_id), "sk": SESSION_SORT_KEY}


def decimal_of(value: float | None) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def message_from_item(item: dict[str, Any]) -> StoredMessage:
    return StoredMessage(
        id=str(item["sk"])[len(MESSAGE_PREFIX) :],
        role=item["role"],
        content=str(item["content"]),
        created_at=str(item["createdAt"]),
        stopped=True if item.get("stopped") else None,
        citations=Citations.model_validate(item["citations"]) if item.get("citations") else None,
        parts=REPLY_PARTS.validate_python(item["parts"]) if item.get("parts") else None,
        thoughts=str(item["thoughts"]) if item.get("thoughts") else None,
        attachments=item.get("attachments") or None,
        feedback=Feedback.model_validate(item["feedback"]) if item.get("feedback") else None,
    )


def is_message(item: dict[str, Any]) -> bool:
    return str(item.get("sk", "")).startswith(MESSAGE_PREFIX)


def new_exchange_ids(after: str | None = None) -> tuple[str, str]:
    """Ids for a user message and its reply: time-ordered, unique, adjacent, and sorting
    after the id `after` (a session's newest message: a tree's new run must sort on top,
    even when it is written in the same millisecond)."""
    millis = time.time_ns() // 1_000_000
    if after and after[:13].isdigit():
        millis = max(millis, int(after[:13]) + 1)
    stem = f"{millis:013d}-{secrets.token_hex(5)}"
    return f"{stem}-0", f"{stem}-1"


@dataclass(frozen=True)
class Reservation:
    """One message's quota, held while its send runs: counted on the session and on the
    config's day, and recorded as an item that the exchange's transaction deletes.

    A send that dies leaves its item behind; once the lease is over, the next send of
    the session gives the quota back (see quotas.py), so a counter is off by at most
    one lease per dead send.
    """

    session_id: str
    config_id: str
    day: str
    reservation_id: str
    lease_until_ms: int
    # Which shard of the day's counter it counts on.
    shard: int = 0
    # The token budgets it holds, the operator's and the agent's: (shard, tokens) pieces
    # of that day's budget.
    budget_pieces: tuple[tuple[int, int], ...] = ()
    agent_pieces: tuple[tuple[int, int], ...] = ()
    # The partition holding it when it is no session's (a stateless call's: its API key's);
    # then no session counted it.
    holder: str | None = None

    @classmethod
    def new(
        cls,
        session_id: str,
        config_id: str,
        day: str,
        lease_seconds: float,
        shard: int,
        holder: str | None = None,
    ) -> Reservation:
        lease_until_ms = int((time.time() + lease_seconds) * 1000)
        token = secrets.token_hex(8)
        return cls(session_id, config_id, day, token, lease_until_ms, shard, holder=holder)

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> Reservation:
        pk = str(item["pk"])
        in_session = pk.startswith("SESSION#")
        return cls(
            session_id=pk.removeprefix("SESSION#") if in_session else "",
            holder=None if in_session else pk,
            config_id=str(item["configId"]),
            day=str(item["day"]),
            reservation_id=str(item["sk"]).removeprefix(RESERVATION_PREFIX),
            lease_until_ms=int(item["leaseUntil"]),
            shard=int(item.get("shard", 0)),
            budget_pieces=tuple((int(s), int(n)) for s, n in item.get("budget", [])),
            agent_pieces=tuple((int(s), int(n)) for s, n in item.get("agentBudget", [])),
        )

    def key(self) -> dict[str, str]:
        return {
            "pk": self.holder or partition_key(self.session_id),
            "sk": RESERVATION_PREFIX + self.reservation_id,
        }

    def expired(self, now_ms: int | None = None) -> bool:
        return (now_ms if now_ms is not None else int(time.time() * 1000)) > self.lease_until_ms
