"""Leased reservations: a dead send's quota comes back; no reply is stored past its deadline."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.core.settings import get_settings
from chalicelib.services.configs import quota_store
from chalicelib.stores.idempotency import Claim
from chalicelib.stores.records import RESERVATION_PREFIX
from chalicelib.stores.sessions import SessionStore
from tests.fake_gemini import FakeGemini, slow
from tests.utils import ApiClient, assert_error


def partition(store: SessionStore, session_id: str) -> list[dict[str, Any]]:
    response = store.table.query(
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": f"SESSION#{session_id}"},
        ConsistentRead=True,
    )
    return list(response["Items"])


def counters(store: SessionStore, session: dict[str, Any]) -> tuple[int, int, int]:
    """(the session's counted messages, the config's for today, reservations held)."""
    items = partition(store, session["sessionId"])
    record = next(item for item in items if item["sk"] == "SESSION")
    held = sum(1 for item in items if str(item["sk"]).startswith(RESERVATION_PREFIX))
    days = store.table.query(
        KeyConditionExpression="pk = :pk AND begins_with(sk, :day)",
        ExpressionAttributeValues={":pk": f"CONFIG#{session['chatConfigId']}", ":day": "DAY#"},
        ConsistentRead=True,
    )["Items"]
    day = sum(int(str(item.get("messages", 0))) for item in days)  # over the day's shards
    return int(record.get("messageCount", 0)), day, held


def messages(store: SessionStore, session: dict[str, Any]) -> list[str]:
    items = partition(store, session["sessionId"])
    return [str(item["content"]) for item in items if str(item["sk"]).startswith("MSG#")]


def abandon_a_send(
    store: SessionStore, session: dict[str, Any], lease: float, claim: Claim | None = None
) -> None:
    """Reserve a message's quota as a send does, then never finish: a process that died."""
    record = store.get(session["sessionId"])
    assert record is not None
    also = (claim.put(store.table.name, lease),) if claim else ()
    quota_store().reserve_message(record, get_settings(), lease, also)


def test_a_dead_sends_quota_comes_back_with_the_next_send_after_its_lease(
    api: ApiClient, session_store: SessionStore
) -> None:
    session = api.new_session()
    abandon_a_send(session_store, session, lease=-1)
    assert counters(session_store, session) == (1, 1, 1)
    assert api.send(session, "hello").status == 200
    # Given back, then counted again for this send: the counters are what is stored.
    assert counters(session_store, session) == (1, 1, 0)
    assert len(messages(session_store, session)) == 2


def test_a_live_sends_reservation_is_left_alone(
    api: ApiClient, session_store: SessionStore
) -> None:
    session = api.new_session()
    abandon_a_send(session_store, session, lease=600)
    assert api.send(session, "hello").status == 200
    assert counters(session_store, session) == (2, 2, 1)


def test_a_dead_sends_quota_never_blocks_the_limit_for_longer_than_its_lease(
    api: ApiClient, session_store: SessionStore
) -> None:
    session = api.new_session(limits={"messagesPerSession": 1})
    abandon_a_send(session_store, session, lease=-1)
    # The limit is full of a dead send's reservation, which the send gives back first.
    assert api.send(session, "hello").status == 200
    assert_error(api.send(session, "again"), 429, "quota_exceeded")


def test_a_reply_after_the_requests_deadline_is_not_stored(
    api: ApiClient,
    fake_gemini: FakeGemini,
    session_store: SessionStore,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("REQUEST_DEADLINE_SECONDS", "0.5")
    monkeypatch.setenv("MODEL_TIMEOUT_SECONDS", "10")
    session = api.new_session()
    fake_gemini.queue(slow(1.5))
    headers = {"Idempotency-Key": "late-1"}
    response = api.send(session, "slow one", headers=headers)
    assert_error(response, 504, "model_timeout")
    assert messages(session_store, session) == []
    assert counters(session_store, session) == (0, 0, 0)
    # The key was given back with the quota: a retry asks the model again.
    monkeypatch.setenv("REQUEST_DEADLINE_SECONDS", "28")
    retry = api.send(session, "slow one", headers=headers)
    assert retry.status == 200
    assert len(fake_gemini.requests) == 2
    assert counters(session_store, session) == (1, 1, 0)


def test_a_retry_takes_over_a_key_whose_first_request_died(
    api: ApiClient, session_store: SessionStore
) -> None:
    session = api.new_session()
    claim = Claim(session["sessionId"], "dead-1", "hello")
    abandon_a_send(session_store, session, lease=-1, claim=claim)
    response = api.send(session, "hello", headers={"Idempotency-Key": "dead-1"})
    assert response.status == 200
    assert messages(session_store, session) == ["hello", response.json["reply"]["content"]]
    assert counters(session_store, session) == (1, 1, 0)
    # And the key now answers with that exchange.
    replay = api.send(session, "hello", headers={"Idempotency-Key": "dead-1"})
    assert replay.json == response.json


def test_a_live_claim_is_not_taken_over(
    api: ApiClient, session_store: SessionStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MODEL_TIMEOUT_SECONDS", "0.5")  # the replay's wait
    session = api.new_session()
    claim = Claim(session["sessionId"], "live-1", "hello")
    abandon_a_send(session_store, session, lease=600, claim=claim)
    response = api.send(session, "hello", headers={"Idempotency-Key": "live-1"})
    assert_error(response, 409, "idempotency_in_progress")
    assert messages(session_store, session) == []
