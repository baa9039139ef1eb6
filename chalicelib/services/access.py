"""Running in public: who is calling, who may create agents, and the operator's view.

A request's Caller carries the keyed hash of its client's address (for the per-client
limits) and whether it bears the operator's token. The operator's token comes from
OPERATOR_TOKEN or the SSM SecureString OPERATOR_TOKEN_PARAMETER names; with neither,
the operator's routes do not exist (404).
"""

from __future__ import annotations

import hmac
import logging
from datetime import UTC, datetime

from chalicelib.core import clock
from chalicelib.core.aws import get_sessions_table
from chalicelib.core.clients import Caller, client_address, client_key
from chalicelib.core.errors import (
    AppError,
    AuthRequired,
    BudgetExhausted,
    CreationClosed,
    Forbidden,
    NotFound,
    QuotaExceeded,
    RateLimited,
)
from chalicelib.core.logs import noted_config_id
from chalicelib.core.parameters import secure_parameter
from chalicelib.core.settings import Settings, get_settings
from chalicelib.schemas.operator import OperatorUsage, Refusals, TokenUsage, UsageQuery
from chalicelib.stores.analytics import AnalyticsStore
from chalicelib.stores.budget import OPERATOR, BudgetStore
from chalicelib.stores.clients import (
    AGENTS_PER_DAY,
    MESSAGES_PER_MINUTE,
    SESSIONS_PER_HOUR,
    ClientCount,
    Window,
    client_count,
)
from chalicelib.stores.operator import OperatorStore

logger = logging.getLogger(__name__)

# The refusals the operator's view counts, by the error's class.
_REFUSAL_KINDS: tuple[tuple[type[AppError], str], ...] = (
    (BudgetExhausted, "budget"),
    (QuotaExceeded, "quota"),
    (RateLimited, "rateLimited"),
)


def operator_token(settings: Settings) -> str | None:
    """The operator's token, or None when none is configured."""
    if settings.operator_token:
        return settings.operator_token
    if settings.operator_token_parameter:
        return secure_parameter(settings.operator_token_parameter)
    return None


def _is_operator(token: str | None, settings: Settings) -> bool:
    expected = operator_token(settings) if token else None
    return bool(expected) and hmac.compare_digest(str(token).encode(), str(expected).encode())


def caller(source_ip: str | None, forwarded_for: str | None, bearer: str | None) -> Caller:
    """Who sent a request: its client's keyed hash, and whether it bears the operator's token."""
    settings = get_settings()
    address = client_address(source_ip, forwarded_for, settings.trusted_proxy_hops)
    return Caller(client_key(address, settings), _is_operator(bearer, settings))


def ensure_may_create(who: Caller, settings: Settings) -> None:
    if settings.agent_creation == "operator" and not who.operator:
        raise CreationClosed()


def _count(who: Caller, window: Window, limit: int) -> ClientCount | None:
    if who.operator:
        return None  # the operator's own scripts are no abuse
    return client_count(window, limit, who.client_key, datetime.now(UTC))


def agent_count(who: Caller, settings: Settings) -> ClientCount | None:
    return _count(who, AGENTS_PER_DAY, settings.limit_agents_per_client_per_day)


def session_count(who: Caller, settings: Settings) -> ClientCount | None:
    return _count(who, SESSIONS_PER_HOUR, settings.limit_sessions_per_client_per_hour)


def message_count(who: Caller, settings: Settings) -> ClientCount | None:
    return _count(who, MESSAGES_PER_MINUTE, settings.limit_messages_per_client_per_minute)


def count_refusal(error: AppError) -> None:
    """Count a refusal in the operator's day counters and, when the request noted its agent,
    the agent's: one write (a refused request called no model). Best effort: a failure is
    logged."""
    kind = next((kind for cls, kind in _REFUSAL_KINDS if isinstance(error, cls)), None)
    if kind is None:
        return
    try:
        day = clock.utc_now().date().isoformat()
        AnalyticsStore(get_sessions_table()).count_refusal(day, kind, noted_config_id())
    except Exception as exc:  # noqa: BLE001 - the refusal stands whether counted or not
        logger.warning("could not count a refusal (%s)", type(exc).__name__)


def operator_usage(token: str | None, query: UsageQuery) -> OperatorUsage:
    """The server's counts for one UTC day, and its day series, for the bearer of the
    operator's token."""
    settings = get_settings()
    expected = operator_token(settings)
    if not expected:
        raise NotFound()
    if token is None:
        raise AuthRequired()
    if not hmac.compare_digest(token.encode(), expected.encode()):
        raise Forbidden("This token is not the operator's.")
    today = clock.utc_now().date()
    on = query.day or today
    day = on.isoformat()
    table = get_sessions_table()
    counts = OperatorStore(table).read(day)
    period = AnalyticsStore(table).server_period(today, query.days)
    held = BudgetStore(table).read(OPERATOR, day, settings.budget_tokens_per_day)
    return OperatorUsage(
        day=on,
        tokens=TokenUsage(
            budget=settings.budget_tokens_per_day, used=counts["tokens"], reserved=held.reserved
        ),
        agents_created=counts["agents"],
        sessions_created=counts["sessions"],
        messages=counts["messages"],
        refused=Refusals(
            budget=counts["refusedBudget"],
            quota=counts["refusedQuota"],
            rate_limited=counts["refusedRateLimited"],
        ),
        days=period.days,
        totals=period.totals,
    )
