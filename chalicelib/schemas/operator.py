"""The operator's view: GET /operator/usage."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict

from chalicelib.schemas.base import ResponseModel
from chalicelib.schemas.insights import Days, DayUsage, UsageTotals


class UsageQuery(BaseModel):
    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    day: dt.date | None = None
    """The UTC day, `YYYY-MM-DD`; today when left out."""
    days: Days = 30
    """How many UTC days the series (`days`, `totals`) covers, ending today (1 to 90)."""


class TokenUsage(ResponseModel):
    budget: int
    """BUDGET_TOKENS_PER_DAY; 0 means no budget."""
    used: int
    """Tokens of the calls settled on the day: Gemini's totalTokenCount, added up."""
    reserved: int
    """Tokens held by calls still in flight (counted against a budget, not yet settled)."""


class Refusals(ResponseModel):
    budget: int
    """Calls refused for a token budget (the operator's or an agent's): `budget_exhausted`."""
    quota: int
    """Requests refused for a creator's or the server's limit: `quota_exceeded`."""
    rate_limited: int
    """Requests refused for a per-client limit: `rate_limited`."""


class OperatorUsage(ResponseModel):
    """What the whole server did on one UTC day."""

    day: dt.date
    """The UTC day counted."""
    tokens: TokenUsage
    """The tokens of every model call started on the day."""
    agents_created: int
    """Agents created (counted against LIMIT_AGENTS_PER_DAY)."""
    sessions_created: int
    """Sessions started, over every agent."""
    messages: int
    """Replies stored (sends and regenerations that reached the model and were kept)."""
    refused: Refusals
    """Requests refused by a limit, by kind."""
    days: list[DayUsage]
    """The whole server's days, oldest first and ending today (zeros included), as an
    agent's analytics count them."""
    totals: UsageTotals
    """The same counts over those days."""
