"""Feedback changed from many threads at once: each message's counts are exact.

Threads call the service (never the Chalice test client, which swaps os.environ per
request); moto applies one call at a time, so the races are between a change's read
and its conditional transaction, as on DynamoDB.
"""

from __future__ import annotations

import random
import threading

from chalicelib.core import clock
from chalicelib.schemas.insights import AnalyticsQuery, FeedbackSet, Rating
from chalicelib.services import insights
from tests.fake_gemini import FakeGemini
from tests.utils import ApiClient


def test_concurrent_puts_and_deletes_on_one_message_count_exactly(
    api: ApiClient, fake_gemini: FakeGemini
) -> None:
    chat = api.create_chat()
    session = api.start_session(chat["chatConfigId"])
    replies = [api.send(session, f"q{n}").json["reply"]["id"] for n in range(3)]
    session_id, token = session["sessionId"], session["sessionToken"]
    errors: list[BaseException] = []

    def churn(seed: int) -> None:
        chance = random.Random(seed)
        try:
            for _ in range(12):
                reply_id = chance.choice(replies)
                if chance.random() < 0.35:
                    insights.remove_feedback(session_id, reply_id, token)
                else:
                    rating: Rating = chance.choice(["up", "down"])
                    request = FeedbackSet(rating=rating, comment=f"{rating} {seed}")
                    insights.set_feedback(session_id, reply_id, token, request)
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=churn, args=(seed,)) for seed in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []

    store = insights.feedback_store()
    final = [store.read(session_id, reply_id) for reply_id in replies]
    ratings = [seen.feedback.rating for seen in final if seen and seen.feedback]
    result = insights.agent_analytics(chat["chatConfigId"], chat["editToken"], AnalyticsQuery())
    assert result.totals.feedback.up == ratings.count("up")
    assert result.totals.feedback.down == ratings.count("down")
    # The comments listed are those of the ratings standing, each once.
    standing = sorted(seen.feedback.comment or "" for seen in final if seen and seen.feedback)
    assert sorted(c.comment for c in result.comments) == standing
    server = insights.analytics_store().server_period(clock.utc_now().date(), 1)
    assert server.totals.feedback.up == ratings.count("up")
    assert server.totals.feedback.down == ratings.count("down")
