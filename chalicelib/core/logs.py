"""One structured JSON log line per request: an HTTP request, or a WebSocket client frame.

Only what helps an operator: route or action, status or outcome, duration, request id,
and the config or session id where known. Never a token, a key, a token hash or
message text: the line is built from an allow-list of fields.
"""

from __future__ import annotations

import json
import logging
from contextvars import ContextVar

logger = logging.getLogger("ai_maker.requests")

_ALLOWED_IDS = ("configId", "sessionId")
_request_ids: ContextVar[dict[str, str] | None] = ContextVar("request_ids", default=None)


def start_request() -> None:
    _request_ids.set({})


def note_ids(*, config_id: str | None = None, session_id: str | None = None) -> None:
    """Remember which config or session this request is about, for its log line."""
    ids = _request_ids.get()
    if ids is None:
        return
    if config_id:
        ids["configId"] = config_id
    if session_id:
        ids["sessionId"] = session_id


def noted_config_id() -> str | None:
    """The config this request is about, where noted: whose counts a refusal joins."""
    return (_request_ids.get() or {}).get("configId")


def log_request(
    *, method: str, route: str, status: int, duration_ms: float, request_id: str | None
) -> None:
    _log(
        {
            "event": "request",
            "method": method,
            "route": route,
            "status": status,
            "durationMs": round(duration_ms, 1),
            "requestId": request_id,
        }
    )


def log_frame(
    *, action: str | None, outcome: str, frames: int, duration_ms: float, request_id: str | None
) -> None:
    """A WebSocket client frame: its action, how its request ended (`done`, `stopped`,
    `accepted` for a stop, or the error code), and how many frames answered it."""
    _log(
        {
            "event": "frame",
            "action": action,
            "outcome": outcome,
            "frames": frames,
            "durationMs": round(duration_ms, 1),
            "requestId": request_id,
        }
    )


def _log(line: dict[str, object]) -> None:
    ids = _request_ids.get() or {}
    line.update({name: ids[name] for name in _ALLOWED_IDS if name in ids})
    logger.info(json.dumps(line))
