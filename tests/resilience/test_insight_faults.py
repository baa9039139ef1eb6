"""An agent's analytics over the local stack: three days of use, ratings put, replaced
and removed concurrently while DynamoDB calls fail, then the analytics equal what is
stored, exactly.

The two earlier days are made by the app's own code, in this process, with its clock
moved back (the stack's clock can't be); they write to the same storage the stack
reads. Today's sessions, sends and ratings go to the stack over HTTP, through the fault
proxy.
"""

from __future__ import annotations

import json
import random
import threading
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from chalicelib.core import aws, clock
from chalicelib.schemas import MessageSend, SessionCreate
from chalicelib.services import conversation, sessions
from tests.fault_proxy import FaultProxy
from tests.local_stack import LocalStack
from tests.resilience.client import call
from tests.resilience.harness import BUCKET, TABLE, Storage
from tests.resilience.soak import DYNAMODB_FAULTS, LIMITS

CONFIG = {"title": "Insight", "model": "gemini-2.5-flash", "systemPrompt": "", "temperature": 0.5}
SESSIONS_A_DAY = 10
RATINGS = ("up", "down", None)


def seed_day(
    monkeypatch: pytest.MonkeyPatch, moto_url: str, config_id: str, day: datetime
) -> list[int]:
    """SESSIONS_A_DAY sessions of one exchange each on `day`; their replies' tokens."""
    tokens = []
    with monkeypatch.context() as patched:
        patched.setenv("AWS_ENDPOINT_URL", moto_url)
        patched.setenv("CONFIG_BUCKET", BUCKET)
        patched.setenv("SESSIONS_TABLE", TABLE)
        patched.setattr(clock, "utc_now", lambda: day)
        aws.reset_clients()
        for n in range(SESSIONS_A_DAY):
            opened = SessionCreate.model_validate({"chatConfigId": config_id})
            created = sessions.create_session(opened)
            request = MessageSend.model_validate(
                {"sessionId": created.session_id, "message": f"Hello on {day:%d}, number {n}"}
            )
            sent = conversation.send_message(created.session_token, request, None)
            tokens.append(sent.usage.total_tokens)
    aws.reset_clients()
    return tokens


def stored_ratings(storage: Storage, session_ids: list[str]) -> Counter[str]:
    """The ratings as the messages hold them: the truth the counts must match."""
    held: Counter[str] = Counter()
    for session_id in session_ids:
        for item in storage.partition(f"SESSION#{session_id}", "MSG#"):
            feedback = item.get("feedback")
            if feedback:
                held[str(feedback["rating"])] += 1
    return held


@pytest.mark.timeout(300)
def test_three_days_and_concurrent_ratings_under_faults_add_up_exactly(
    proxy: FaultProxy,
    storage: Storage,
    start_app: Callable[..., LocalStack],
    moto_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    app = start_app(**LIMITS)
    agent = call(app.port, "POST", "/create-chat", CONFIG).body
    config_id, edit_token = agent["chatConfigId"], agent["editToken"]
    now = datetime.now(UTC)
    earlier = {
        (now - timedelta(days=ago)).date().isoformat(): seed_day(
            monkeypatch, moto_url, config_id, now - timedelta(days=ago)
        )
        for ago in (2, 1)
    }

    # Today: sessions and sends over the stack, then ratings while DynamoDB fails.
    today: list[dict[str, Any]] = []
    for n in range(SESSIONS_A_DAY):
        session = call(app.port, "POST", "/chat-session", {"chatConfigId": config_id}).body
        body = {"sessionId": session["sessionId"], "message": f"Hello today, number {n}"}
        sent = call(app.port, "POST", "/session-message", body, token=session["sessionToken"])
        assert sent.status == 200, sent.body
        today.append({**session, "replyId": sent.body["reply"]["id"], "usage": sent.body["usage"]})
    proxy.add("dynamodb.*", *DYNAMODB_FAULTS, rate=0.25)
    statuses: Counter[int] = Counter()
    lock = threading.Lock()

    def rate_at_random(seed: int) -> None:
        chooser = random.Random(seed)
        for _ in range(12):
            session = chooser.choice(today)
            path = f"/session/{session['sessionId']}/messages/{session['replyId']}/feedback"
            rating = chooser.choice(RATINGS)
            token = session["sessionToken"]
            if rating is None:
                answer = call(app.port, "DELETE", path, token=token)
            else:
                body = {"rating": rating, "comment": f"{rating} from {seed}"}
                answer = call(app.port, "PUT", path, body, token=token)
            with lock:
                statuses[answer.status] += 1

    threads = [threading.Thread(target=rate_at_random, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    proxy.clear()
    assert proxy.tally.faults_injected > 0
    # Each change was applied (its calls retried) or refused whole: never a 500.
    assert set(statuses) <= {200, 204, 503}, statuses

    analytics = call(
        app.port, "GET", f"/chat-config/{config_id}/analytics?days=3", token=edit_token
    )
    assert analytics.status == 200, analytics.body
    days = {entry["day"]: entry for entry in analytics.body["days"]}
    assert list(days) == [*sorted(earlier), now.date().isoformat()]
    for day, tokens in earlier.items():
        assert days[day]["sessions"] == SESSIONS_A_DAY
        assert days[day]["messages"] == SESSIONS_A_DAY
        assert days[day]["tokens"]["total"] == sum(tokens)
        assert days[day]["feedback"] == {"up": 0, "down": 0}
    counted = days[now.date().isoformat()]
    assert counted["sessions"] == counted["messages"] == SESSIONS_A_DAY
    assert counted["tokens"]["total"] == sum(s["usage"]["totalTokens"] for s in today)
    held = stored_ratings(storage, [s["sessionId"] for s in today])
    assert counted["feedback"] == {"up": held["up"], "down": held["down"]}
    assert len(analytics.body["comments"]) == held["up"] + held["down"]
    totals = analytics.body["totals"]
    assert totals["sessions"] == 3 * SESSIONS_A_DAY
    assert totals["feedback"] == {"up": held["up"], "down": held["down"]}
    # Nothing of a visitor's but what they chose to say: no text, no session id.
    raw = json.dumps(analytics.body).encode()
    for session in today:
        assert session["sessionId"].encode() not in raw
    assert b"Hello today" not in raw and b"Hello on" not in raw
