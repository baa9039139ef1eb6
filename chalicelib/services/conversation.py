"""Sending and regenerating messages: quota, idempotency, the model, storage.

Quota is reserved before the model is called and given back if anything
after that fails, so a refused or failed message costs the creator nothing.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from chalicelib.core.clients import ANONYMOUS, Caller
from chalicelib.core.errors import IdempotencyConflict, IdempotencyInProgress, ModelError
from chalicelib.core.logs import note_ids
from chalicelib.core.settings import Settings, get_settings
from chalicelib.model.base import ModelReply
from chalicelib.model.choice import get_model, model_mode
from chalicelib.schemas import MessageReply, MessageSend
from chalicelib.services import exchange, insights
from chalicelib.services.access import message_count
from chalicelib.services.caching import context_lost, inline_instead
from chalicelib.services.configs import quota_store, reservation_store
from chalicelib.services.cost import cost_bound
from chalicelib.services.sessions import session_store
from chalicelib.stores.idempotency import Claim
from chalicelib.stores.quotas import ClaimRefused

# How often, and how long, a retry waits while the first request with its key runs;
# the wait stays well inside API Gateway's 29-second limit.
REPLAY_POLL_SECONDS = 0.2
REPLAY_WAIT_SECONDS = 20.0
# Time for storing an exchange after the model answered, its retries included.
STORE_SECONDS = 5.0


@dataclass(frozen=True)
class Responder:
    """How a reply is produced once the quota is reserved: the model's whole answer (REST),
    or a stream (WebSocket). `reserve_also` joins the reservation's transaction, and
    `lease_seconds` is how long the reservation is held (see lease_seconds)."""

    respond: Callable[[exchange.PreparedExchange], ModelReply]
    lease_seconds: float
    reserve_also: tuple[Any, ...] = ()


# Chosen before the quota is reserved, so an unavailable model costs nothing.
ResponderFactory = Callable[[Settings], Responder]
# What storing a reply gives back: the stored exchange (a send), or the reply (a stateless call).
Stored = TypeVar("Stored")


def whole_reply(settings: Settings) -> Responder:
    model = get_model(settings)

    def respond(prepared: exchange.PreparedExchange) -> ModelReply:
        try:
            return model.generate(prepared.request)
        except ModelError as error:
            if not context_lost(prepared.request, error):
                raise
        return model.generate(inline_instead(prepared.request, prepared.session))

    return Responder(respond, lease_seconds(settings))


def send_message(
    token: str,
    request: MessageSend,
    idempotency_key: str | None,
    responder: ResponderFactory = whole_reply,
    who: Caller = ANONYMOUS,
) -> MessageReply:
    settings = get_settings()
    store = session_store()
    note_ids(session_id=request.session_id)
    prepared = exchange.prepare_exchange(
        store, settings, request.session_id, token, request.message, request.attachments
    )
    note_ids(config_id=prepared.session.chat_config_id)
    claim = Claim(request.session_id, idempotency_key, request.message) if idempotency_key else None
    try:
        return answer(
            prepared,
            settings,
            responder(settings),
            lambda reply, settle: exchange.store_exchange(store, prepared, reply, claim, settle),
            who,
            claim,
        )
    except ClaimRefused:
        assert claim is not None
        return _replay(claim, settings)


def lease_seconds(settings: Settings) -> float:
    """How long a send may hold its quota: the model's time and the storing after it, but never
    past the request's deadline, so no reply is stored that its client can no longer get."""
    return min(settings.model_timeout_seconds + STORE_SECONDS, settings.request_deadline_seconds)


def answer(
    prepared: exchange.PreparedExchange,
    settings: Settings,
    responder: Responder,
    store_reply: Callable[[ModelReply, Any], Stored],
    who: Caller,
    claim: Claim | None = None,
    holder: str | None = None,
) -> Stored:
    """Reserve the quota (and claim the key), ask the model, and store its reply.

    The quota of sends of this session that died is given back first. Whatever fails
    after the reservation gives the quota and the key back; a reply that comes after
    the reservation's lease is not stored (ReplyTooLate). A `holder` holds the reservation
    of a call that has no stored session (see QuotaStore.reserve_message).
    """
    quotas, reservations = quota_store(), reservation_store()
    table_name = session_store().table.name
    reservations.release_expired(list(prepared.held))
    lease = responder.lease_seconds
    claim_put = (claim.put(table_name, lease),) if claim else ()
    bound = cost_bound(prepared.request, thinks=model_mode(settings) == "gemini")
    reservation = quotas.reserve_message(
        prepared.session,
        settings,
        lease,
        (*claim_put, *responder.reserve_also),
        bound,
        message_count(who, settings),
        holder,
    )
    try:
        reply = responder.respond(prepared)
        exchange.ensure_reply_format(prepared.request, reply)
        return store_reply(reply, reservations.settle(reservation, exchange.usage_of(reply)))
    except Exception:
        reservations.release_message(reservation, (claim.release(table_name),) if claim else ())
        raise


def _replay(claim: Claim, settings: Settings) -> MessageReply:
    """The reply stored for an Idempotency-Key, waiting while its first request runs."""
    table = session_store().table
    deadline = time.monotonic() + min(settings.model_timeout_seconds + 2, REPLAY_WAIT_SECONDS)
    while True:
        record = claim.read(table)
        if record is None:
            # The first request failed and gave its claim back: a retry starts afresh.
            raise IdempotencyInProgress(retry_after=1)
        if record.get("messageHash") != claim.message_hash:
            raise IdempotencyConflict()
        if record.get("state") == "done":
            return insights.with_feedback(MessageReply.model_validate_json(str(record["result"])))
        if time.monotonic() > deadline:
            raise IdempotencyInProgress(retry_after=1)
        time.sleep(REPLAY_POLL_SECONDS)


def regenerate(
    session_id: str,
    token: str,
    responder: ResponderFactory = whole_reply,
    who: Caller = ANONYMOUS,
) -> MessageReply:
    settings = get_settings()
    store = session_store()
    prepared = exchange.prepare_regeneration(store, settings, session_id, token)
    note_ids(config_id=prepared.session.chat_config_id, session_id=session_id)
    return answer(
        prepared,
        settings,
        responder(settings),
        lambda reply, settle: exchange.store_regeneration(store, prepared, reply, settle),
        who,
    )
