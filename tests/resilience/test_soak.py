"""Soak under storage faults: what is answered is what is stored, and quotas match storage."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from tests.fault_proxy import INTERNAL_ERROR, THROTTLED, THROTTLING, FaultProxy
from tests.resilience.client import Answer, call
from tests.resilience.conftest import Storage
from tests.test_run_local import LocalStack

SESSIONS = 20
SENDS = 500
THREADS = 10
FAULT_RATE = 0.2
CONFIG = {"title": "Soak", "model": "gemini-2.5-flash", "systemPrompt": "", "temperature": 0.5}
LIMITS = {"LIMIT_MESSAGES_PER_SESSION": "1000", "LIMIT_MESSAGES_PER_DAY": "100000"}


def stored_exchanges(storage: Storage, session_id: str) -> list[tuple[str, str]]:
    """(user message, reply) pairs as stored, in order; fails on a half-stored exchange."""
    messages = [i for i in storage.partition(f"SESSION#{session_id}") if i["sk"].startswith("MSG#")]
    pairs = []
    for user, reply in zip(messages[::2], messages[1::2], strict=True):
        assert user["sk"][:-2] == reply["sk"][:-2], "an exchange is not an adjacent pair"
        assert (user["role"], reply["role"]) == ("user", "model")
        pairs.append((str(user["content"]), str(reply["content"])))
    return pairs


def session_item(storage: Storage, session_id: str) -> dict[str, Any]:
    item = storage.table.get_item(Key={"pk": f"SESSION#{session_id}", "sk": "SESSION"})["Item"]
    return dict(item)


@pytest.mark.timeout(240)
def test_sends_under_dynamodb_faults_store_exactly_what_was_answered(
    proxy: FaultProxy, storage: Storage, start_app: Callable[..., LocalStack]
) -> None:
    app = start_app(**LIMITS)
    created = call(app.port, "POST", "/create-chat", CONFIG).body
    sessions = [
        call(app.port, "POST", "/chat-session", {"chatConfigId": created["chatConfigId"]}).body
        for _ in range(SESSIONS)
    ]
    proxy.add("dynamodb.*", THROTTLED, THROTTLING, INTERNAL_ERROR, "conflict", rate=FAULT_RATE)
    answers: dict[str, Answer] = {}
    lock = threading.Lock()

    def send(number: int) -> None:
        session = sessions[number % SESSIONS]
        text = f"message {number}"
        body = {"sessionId": session["sessionId"], "message": text}
        answer = call(app.port, "POST", "/session-message", body, token=session["sessionToken"])
        with lock:
            answers[text] = answer

    with ThreadPoolExecutor(THREADS) as pool:
        list(pool.map(send, range(SENDS)))
    proxy.clear()

    statuses = Counter(answer.status for answer in answers.values())
    print(
        f"\nsoak: {SENDS} sends, {proxy.tally.faults_injected} DynamoDB faults injected "
        f"over {sum(proxy.tally.requests.values())} calls, "
        f"{statuses[200]} answered 200, {statuses[503]} answered 503"
    )
    assert set(statuses) <= {200, 503}, statuses
    for answer in answers.values():
        if answer.status == 503:
            assert answer.body["code"] == "storage_unavailable"
            assert int(answer.headers["retry-after"]) >= 1
    stored: dict[str, str] = {}
    for session in sessions:
        for user, reply in stored_exchanges(storage, session["sessionId"]):
            assert user not in stored, f"{user!r} stored twice"
            stored[user] = reply
    answered = {text for text, answer in answers.items() if answer.status == 200}
    print(f"soak: stored {len(stored)}, lost {len(answered - set(stored))}")
    assert set(stored) == answered
    for text in answered:
        assert answers[text].body["reply"]["content"] == stored[text]
