"""Creator insight: feedback on replies, and the day series of analytics (an agent's,
and the server's for the operator)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from chalicelib.schemas.base import RequestModel, ResponseModel

MAX_COMMENT_CHARS = 500
MAX_DAYS = 90
Rating = Literal["up", "down"]
Days = Annotated[int, Field(ge=1, le=MAX_DAYS)]


class FeedbackSet(RequestModel):
    """PUT /session/{id}/messages/{messageId}/feedback."""

    rating: Rating
    """`up` or `down`."""
    comment: Annotated[str, Field(max_length=MAX_COMMENT_CHARS)] | None = None
    """Why, in a few words (at most 500 characters); the agent's creator sees it, without
    the conversation."""


class Feedback(ResponseModel):
    """A visitor's rating of a reply; a second one replaces it."""

    rating: Rating
    """`up` or `down`."""
    comment: str | None = None
    """The visitor's comment, if any."""
    updated_at: str
    """When it was given (ISO 8601, UTC)."""


class AnalyticsQuery(BaseModel):
    """Query parameters of the analytics routes (strings, so not strict)."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    days: Days = 30
    """How many UTC days, ending today (1 to 90)."""


class TokenCounts(ResponseModel):
    prompt: int = 0
    """Tokens the model read (tool results included)."""
    reply: int = 0
    """Tokens the model wrote (thinking included)."""
    total: int = 0
    """Their sum: Gemini's totalTokenCount, added up."""
    cached: int = 0
    """Of the prompt tokens, those read from the agent's context cache."""


class FeedbackCounts(ResponseModel):
    up: int = 0
    """Replies rated up (each counted once, as rated now)."""
    down: int = 0
    """Replies rated down."""


class RefusalCounts(ResponseModel):
    quota: int = 0
    """Refused for a creator's or the server's limit (`quota_exceeded`)."""
    budget: int = 0
    """Refused for a token budget (`budget_exhausted`)."""
    rate_limited: int = 0
    """Refused for a per-client limit (`rate_limited`)."""


class UsageTotals(ResponseModel):
    sessions: int = 0
    """Sessions started."""
    messages: int = 0
    """Replies stored (sends and regenerations that reached the model and were kept)."""
    tokens: TokenCounts = Field(default_factory=TokenCounts)
    """The tokens of those replies' model calls."""
    feedback: FeedbackCounts = Field(default_factory=FeedbackCounts)
    """Ratings of the replies of the day (a reply's rating counts on the day it was written)."""
    refused: RefusalCounts = Field(default_factory=RefusalCounts)
    """Requests refused by a limit, by kind."""


class DayUsage(UsageTotals):
    day: str
    """The UTC day, `YYYY-MM-DD`."""


class Comment(ResponseModel):
    """A rating's comment, without the conversation it is about."""

    rating: Rating
    """The rating the comment came with."""
    comment: str
    """The visitor's words."""
    created_at: str
    """When it was given (ISO 8601, UTC)."""


class AgentAnalytics(ResponseModel):
    """An agent's days, oldest first and ending today (zeros included), their totals,
    and the latest comments of those days."""

    days: list[DayUsage]
    """One entry per UTC day of the period."""
    totals: UsageTotals
    """The same counts over the period."""
    comments: list[Comment]
    """At most the 50 latest, newest first."""
