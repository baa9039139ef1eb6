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
from chalicelib.core.errors import (
    IdempotencyConflict,
    IdempotencyInProgress,
    MessageNotFound,
    ModelError,
)
from chalicelib.core.logs import note_ids
from chalicelib.core.settings import Settings, get_settings
from chalicelib.model.base import ModelReply
from chalicelib.model.choice import get_model, model_mode
from chalicelib.schemas import MessageEdit, MessageReply, MessageSend, RegenerateRequest
from chalicelib.services import branching, exchange, insights, storing
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
    note_ids(session_id=request.session_id)
    prepared = exchange.prepare_exchange(
        session_store(), settings, request.session_id, token, request.message, request.attachments
    )
    return _answer_once(prepared, request.message, idempotency_key, responder, who)


def edit_message(
    session_id: str,
    message_id: str,
    token: str,
    request: MessageEdit,
    idempotency_key: str | None,
    responder: ResponderFactory = whole_reply,
    who: Caller = ANONYMOUS,
) -> MessageReply:
    """A new version of an earlier user message, answered as a send is; the old one and
    its answers stay, one sibling step away."""
    settings = get_settings()
    note_ids(session_id=session_id)
    # A key names one edit of one message: the same text for another is a conflict.
    keyed = f"edit {message_id}\n{request.message}"
    try:
        prepared = branching.prepare_edit(
            session_store(),
            settings,
            session_id,
            token,
            message_id,
            request.message,
            request.attachments,
        )
    except MessageNotFound:
        # A retry of an edit that was stored: its message has left the active path.
        claim = Claim(session_id, idempotency_key, keyed) if idempotency_key else None
        if claim is None or claim.read(session_store().table) is None:
            raise
        return _replay(claim, settings)
    return _answer_once(prepared, keyed, idempotency_key, responder, who)


def _answer_once(
    prepared: exchange.PreparedExchange,
    keyed: str,
    idempotency_key: str | None,
    responder: ResponderFactory,
    who: Caller,
) -> MessageReply:
    """Answer a prepared send or edit, once per Idempotency-Key."""
    settings, store = get_settings(), session_store()
    session_id = prepared.session.session_id
    note_ids(config_id=prepared.session.chat_config_id)
    claim = Claim(session_id, idempotency_key, keyed) if idempotency_key else None
    try:
        return answer(
            prepared,
            settings,
            responder(settings),
            lambda reply, settle: storing.store_exchange(store, prepared, reply, claim, settle),
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
    request: RegenerateRequest | None = None,
    responder: ResponderFactory = whole_reply,
    who: Caller = ANONYMOUS,
) -> MessageReply:
    """A new sibling of a reply (by default the last), asked with the history it had."""
    settings = get_settings()
    store = session_store()
    message_id = request.message_id if request else None
    prepared = branching.prepare_regeneration(store, settings, session_id, token, message_id)
    note_ids(config_id=prepared.session.chat_config_id, session_id=session_id)
    return answer(
        prepared,
        settings,
        responder(settings),
        lambda reply, settle: storing.store_exchange(store, prepared, reply, None, settle),
        who,
    )
