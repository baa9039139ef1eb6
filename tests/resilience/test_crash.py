"""The app process killed (SIGKILL) mid-send or mid-delete, then started again.

AWS is a moto server that outlives the app. The points are reached without hooks in
the app: the fault proxy applies a DynamoDB call and holds its answer back (so the
process dies right after that call took effect), or the fake Gemini is slow to
answer (so it dies during the model call).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from tests.fake_gemini import FakeGemini, slow
from tests.fault_proxy import FaultProxy, late
from tests.local_stack import LocalStack
from tests.resilience.client import call
from tests.resilience.harness import Storage

CONFIG = {"title": "Crash", "model": "gemini-2.5-flash", "systemPrompt": "", "temperature": 0.5}
# Short, so a lease (the model's timeout and 5 s to store) passes quickly.
MODEL_TIMEOUT = {"MODEL_TIMEOUT_SECONDS": "1"}
# For a restarted app that calls the model: a fresh process's first call builds the SDK's
# client inside the deadline, which a loaded machine can stretch past one second. The
# leases to wait out were taken by the first app, under MODEL_TIMEOUT.
PATIENT_MODEL_TIMEOUT = {"MODEL_TIMEOUT_SECONDS": "10"}

pytestmark = pytest.mark.timeout(120)


def new_session(app: LocalStack) -> dict[str, Any]:
    config = call(app.port, "POST", "/create-chat", CONFIG).body
    return dict(
        call(app.port, "POST", "/chat-session", {"chatConfigId": config["chatConfigId"]}).body
    )


def send_in_background(app: LocalStack, session: dict[str, Any], text: str, key: str = "") -> None:
    def send() -> None:
        headers = {"Idempotency-Key": key} if key else {}
        body = {"sessionId": session["sessionId"], "message": text}
        try:
            call(
                app.port,
                "POST",
                "/session-message",
                body,
                token=session["sessionToken"],
                headers=headers,
            )
        except OSError:
            pass  # The process was killed under it.

    threading.Thread(target=send, daemon=True).start()


def kill_when(app: LocalStack, reached: Callable[[], bool]) -> None:
    deadline = time.monotonic() + 30
    while not reached():
        assert time.monotonic() < deadline, "the send never reached the point"
        time.sleep(0.05)
    app.kill()


class Partition:
    def __init__(self, storage: Storage, session: dict[str, Any]) -> None:
        items = storage.partition(f"SESSION#{session['sessionId']}")
        self.session = next((i for i in items if i["sk"] == "SESSION"), None)
        self.messages = [str(i["content"]) for i in items if i["sk"].startswith("MSG#")]
        self.reservations = [i for i in items if i["sk"].startswith("RESV#")]
        self.claims = {i["sk"][5:]: i for i in items if i["sk"].startswith("IDEM#")}
        self.count = int(self.session.get("messageCount", 0)) if self.session else 0
        self.day = storage.day_count(session["chatConfigId"])


def wait_out_leases(partition: Partition) -> None:
    lease_end = max(int(r["leaseUntil"]) for r in partition.reservations) / 1000
    time.sleep(max(0.0, lease_end - time.time()) + 0.2)


def test_killed_after_reserving_a_retry_after_the_lease_runs_afresh(
    proxy: FaultProxy, storage: Storage, start_app: Callable[..., LocalStack]
) -> None:
    app = start_app(**MODEL_TIMEOUT)
    session = new_session(app)
    proxy.add("dynamodb.TransactWriteItems", late(300), nth=1)  # the reservation
    send_in_background(app, session, "hello", key="k1")
    kill_when(app, lambda: proxy.tally.held_back == 1)
    proxy.clear()

    held = Partition(storage, session)
    assert (held.count, len(held.reservations), held.messages) == (1, 1, [])
    assert held.claims["k1"]["state"] == "pending"

    app = start_app(**MODEL_TIMEOUT)
    retry = {"sessionId": session["sessionId"], "message": "hello"}
    headers = {"Idempotency-Key": "k1"}
    token = session["sessionToken"]
    early = call(app.port, "POST", "/session-message", retry, token=token, headers=headers)
    assert (early.status, early.body["code"]) == (409, "idempotency_in_progress")
    wait_out_leases(held)
    answer = call(app.port, "POST", "/session-message", retry, token=token, headers=headers)
    assert answer.status == 200, answer.body
    after = Partition(storage, session)
    assert after.messages == ["hello", answer.body["reply"]["content"]]
    assert (after.count, after.day, after.reservations) == (1, 1, [])


def test_killed_during_the_model_call_its_quota_comes_back_with_a_later_send(
    storage: Storage, start_app: Callable[..., LocalStack], fake_gemini: FakeGemini
) -> None:
    gemini = {"GEMINI_API_KEY": "k", "GOOGLE_GEMINI_BASE_URL": fake_gemini.base_url}
    app = start_app(**MODEL_TIMEOUT, **gemini)
    session = new_session(app)
    fake_gemini.queue(slow(30))
    send_in_background(app, session, "first")
    kill_when(app, lambda: len(fake_gemini.requests) == 1)

    held = Partition(storage, session)
    assert (held.count, len(held.reservations), held.messages) == (1, 1, [])
    app = start_app(**PATIENT_MODEL_TIMEOUT, **gemini)
    body = {"sessionId": session["sessionId"], "message": "second"}
    token = session["sessionToken"]
    assert call(app.port, "POST", "/session-message", body, token=token).status == 200
    wait_out_leases(held)
    body["message"] = "third"
    assert call(app.port, "POST", "/session-message", body, token=token).status == 200
    after = Partition(storage, session)
    assert after.messages[::2] == ["second", "third"]
    assert (after.count, after.day, after.reservations) == (2, 2, [])


def test_killed_after_storing_a_retry_gets_the_stored_reply(
    proxy: FaultProxy, storage: Storage, start_app: Callable[..., LocalStack]
) -> None:
    app = start_app(**MODEL_TIMEOUT)
    session = new_session(app)
    proxy.add("dynamodb.TransactWriteItems", late(300), nth=2)  # the exchange
    send_in_background(app, session, "hello", key="k3")
    kill_when(app, lambda: proxy.tally.held_back == 1)
    proxy.clear()

    stored = Partition(storage, session)
    assert len(stored.messages) == 2 and stored.messages[0] == "hello"
    assert (stored.count, stored.reservations, stored.claims["k3"]["state"]) == (1, [], "done")
    app = start_app(**MODEL_TIMEOUT)
    retry = {"sessionId": session["sessionId"], "message": "hello"}
    answer = call(
        app.port,
        "POST",
        "/session-message",
        retry,
        token=session["sessionToken"],
        headers={"Idempotency-Key": "k3"},
    )
    assert answer.status == 200
    assert answer.body["reply"]["content"] == stored.messages[1]
    assert Partition(storage, session).messages == stored.messages


def test_killed_while_deleting_a_session_it_reads_as_gone_and_a_repeat_finishes(
    proxy: FaultProxy, storage: Storage, start_app: Callable[..., LocalStack]
) -> None:
    app = start_app(**MODEL_TIMEOUT)
    session = new_session(app)
    token = session["sessionToken"]
    for number in range(3):
        body = {"sessionId": session["sessionId"], "message": f"m{number}"}
        assert call(app.port, "POST", "/session-message", body, token=token).status == 200
    proxy.add("dynamodb.BatchWriteItem", late(300), nth=1)
    path = f"/session/{session['sessionId']}"

    def delete() -> None:
        try:
            call(app.port, "DELETE", path, token=token)
        except OSError:
            pass

    threading.Thread(target=delete, daemon=True).start()
    kill_when(app, lambda: proxy.tally.held_back == 1)
    proxy.clear()

    assert "deletingAt" in (Partition(storage, session).session or {})
    app = start_app(**MODEL_TIMEOUT)
    assert call(app.port, "GET", path, token=token).status == 404
    assert call(app.port, "DELETE", path, token=token).status == 204
    assert storage.partition(f"SESSION#{session['sessionId']}") == []


def test_an_answer_lost_after_dynamodb_applied_the_exchange_is_not_applied_twice(
    proxy: FaultProxy, storage: Storage, start_app: Callable[..., LocalStack]
) -> None:
    app = start_app()
    session = new_session(app)
    # The exchange's transaction is applied, and its answer held past botocore's 10 s read
    # timeout: botocore sends it again with the same ClientRequestToken, which DynamoDB
    # (here the proxy) answers without applying it twice.
    proxy.add("dynamodb.TransactWriteItems", late(12), nth=2)
    body = {"sessionId": session["sessionId"], "message": "hello"}
    answer = call(app.port, "POST", "/session-message", body, token=session["sessionToken"])
    assert answer.status == 200, answer.body
    assert proxy.tally.replayed == 1
    stored = Partition(storage, session)
    assert stored.messages == ["hello", answer.body["reply"]["content"]]
    assert (stored.count, stored.reservations) == (1, [])
