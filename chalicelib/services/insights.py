"""Creator insight: a visitor's feedback on a reply, and an agent's analytics.

Feedback is changed under a condition on the rating it replaces (stores/feedback.py):
a change that lost a race reads the message again and retries, so the day's counts
move once per change of rating.
"""

from __future__ import annotations

from chalicelib.core import clock
from chalicelib.core.aws import get_sessions_table
from chalicelib.core.errors import MessageNotFound, StorageUnavailable, ValidationFailed
from chalicelib.core.logs import note_ids
from chalicelib.core.tokens import is_valid_id
from chalicelib.schemas import MessageReply
from chalicelib.schemas.insights import AgentAnalytics, AnalyticsQuery, Feedback, FeedbackSet
from chalicelib.services.configs import load_as_creator
from chalicelib.services.exchange import authorize
from chalicelib.services.sessions import session_store
from chalicelib.stores.analytics import AnalyticsStore
from chalicelib.stores.feedback import FeedbackStore, RatedMessage

# Changes that lose a race to another change of the same message, before giving up.
ATTEMPTS = 8


def feedback_store() -> FeedbackStore:
    return FeedbackStore(get_sessions_table())


def analytics_store() -> AnalyticsStore:
    return AnalyticsStore(get_sessions_table())


def set_feedback(session_id: str, message_id: str, token: str, request: FeedbackSet) -> Feedback:
    """Rate a reply (replacing an earlier rating); the feedback as stored."""
    feedback = Feedback(
        rating=request.rating, comment=request.comment or None, updated_at=clock.utc_now_iso()
    )
    _change(session_id, message_id, token, feedback)
    return feedback


def remove_feedback(session_id: str, message_id: str, token: str) -> None:
    """Take a reply's rating back; none to take back is no error."""
    _change(session_id, message_id, token, None)


def _change(session_id: str, message_id: str, token: str, new: Feedback | None) -> None:
    session = authorize(session_store().get(session_id), token)
    note_ids(config_id=session.chat_config_id, session_id=session_id)
    store = feedback_store()
    for _ in range(ATTEMPTS):
        seen = _rated_message(store, session_id, message_id)
        if new is None and seen.feedback is None:
            return
        if store.change(session_id, session.chat_config_id, seen, new):
            return
    raise StorageUnavailable("The rating changed too often at once; try again.")


def _rated_message(store: FeedbackStore, session_id: str, message_id: str) -> RatedMessage:
    seen = store.read(session_id, message_id) if is_valid_id(message_id) else None
    if seen is None:
        raise MessageNotFound()
    if seen.role != "model":
        raise ValidationFailed(
            "Only a reply can be rated.", details=[{"field": "messageId", "message": "not a reply"}]
        )
    return seen


def with_feedback(stored: MessageReply) -> MessageReply:
    """A stored exchange (an Idempotency-Key's replay) with its reply's feedback as it is now."""
    seen = feedback_store().read(stored.session_id, stored.reply.id)
    if seen is None or seen.feedback is None:
        return stored
    return stored.model_copy(
        update={"reply": stored.reply.model_copy(update={"feedback": seen.feedback})}
    )


def agent_analytics(config_id: str, token: str, query: AnalyticsQuery) -> AgentAnalytics:
    """The agent's days (ending today, UTC), their totals, and the latest comments."""
    config, _ = load_as_creator(config_id, token)
    period = analytics_store().agent_period(
        config.chat_config_id, clock.utc_now().date(), query.days
    )
    return AgentAnalytics(days=period.days, totals=period.totals, comments=period.comments)
