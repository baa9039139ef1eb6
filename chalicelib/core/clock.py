"""Now, timestamps as the API shows them (ISO 8601, UTC, milliseconds), and the UTC day's end."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


def utc_now() -> datetime:
    """Now, in UTC; where a day is counted or read, called through the module (`clock.utc_now()`),
    so a test can move it."""
    return datetime.now(UTC)


def utc_now_iso() -> str:
    return utc_now().isoformat(timespec="milliseconds").replace("+00:00", "Z")


def seconds_until_midnight(now: datetime) -> int:
    """Seconds until the next UTC midnight, at least 1: a daily limit's Retry-After."""
    midnight = (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return max(1, int((midnight - now).total_seconds() + 0.999))
