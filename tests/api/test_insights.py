"""Creator insight over REST: feedback on replies, an agent's analytics, the operator's series."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from chalicelib.core import aws, clock
from tests.fake_gemini import FakeGemini, reply_text
from tests.utils import ApiClient, assert_error, counting_dynamodb, failing

OPERATOR = "insight-operator-token"


def feedback_path(session: dict[str, Any], message_id: str) -> str:
    return f"/session/{session['sessionId']}/messages/{message_id}/feedback"


def rate(api: ApiClient, session: dict[str, Any], message_id: str, rating: str, **extra: Any):
    body = {"rating": rating, **extra}
    return api.put(feedback_path(session, message_id), body, token=session["sessionToken"])


def unrate(api: ApiClient, session: dict[str, Any], message_id: str):
    return api.request("DELETE", feedback_path(session, message_id), token=session["sessionToken"])


def analytics(api: ApiClient, chat: dict[str, Any], query: str = "") -> dict[str, Any]:
    path = f"/chat-config/{chat['chatConfigId']}/analytics{query}"
    response = api.get(path, token=chat["editToken"])
    assert response.status == 200, response.json
    return dict(response.json)


def chat_with_session(api: ApiClient, **config: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    chat = api.create_chat(**config)
    return chat, api.start_session(chat["chatConfigId"])


def exchange(api: ApiClient, session: dict[str, Any], text: str = "Hello") -> dict[str, Any]:
    response = api.send(session, text)
    assert response.status == 200, response.json
    return dict(response.json)


def today_of(result: dict[str, Any]) -> dict[str, Any]:
    return dict(result["days"][-1])


# --- feedback ----------------------------------------------------------------------


def test_rating_a_reply_is_stored_shown_and_counted_once(
    api: ApiClient, fake_gemini: FakeGemini
) -> None:
    chat, session = chat_with_session(api)
    reply_id = exchange(api, session)["reply"]["id"]
    first = rate(api, session, reply_id, "up", comment="Spot on")
    assert first.status == 200, first.json
    assert first.json["rating"] == "up" and first.json["comment"] == "Spot on"
    assert first.json["updatedAt"].endswith("Z")
    # A second PUT replaces the first: counted once, as the new rating.
    assert rate(api, session, reply_id, "down").status == 200
    counts = today_of(analytics(api, chat))["feedback"]
    assert counts == {"up": 0, "down": 1}
    # The stored message carries it, in the history and the page of messages.
    token = session["sessionToken"]
    view = api.get(f"/session/{session['sessionId']}", token=token).json
    assert view["messages"][1]["feedback"]["rating"] == "down"
    assert "feedback" not in view["messages"][0]
    page = api.get(f"/session/{session['sessionId']}/messages", token=token).json
    assert page["messages"][1]["feedback"] == {
        "rating": "down",
        "comment": None,
        "updatedAt": ANY_TIME,
    }


class _AnyTime:
    def __eq__(self, other: object) -> bool:
        return isinstance(other, str) and other.endswith("Z")


ANY_TIME = _AnyTime()


def test_put_put_delete_put_counts_follow_the_last_state(
    api: ApiClient, fake_gemini: FakeGemini
) -> None:
    chat, session = chat_with_session(api)
    reply_id = exchange(api, session)["reply"]["id"]
    steps = [
        ("up", {"up": 1, "down": 0}),
        ("up", {"up": 1, "down": 0}),
        (None, {"up": 0, "down": 0}),
        (None, {"up": 0, "down": 0}),  # deleting absent feedback is no error
        ("down", {"up": 0, "down": 1}),
        ("up", {"up": 1, "down": 0}),
    ]
    for rating, expected in steps:
        if rating is None:
            assert unrate(api, session, reply_id).status == 204
        else:
            assert rate(api, session, reply_id, rating).status == 200
        assert today_of(analytics(api, chat))["feedback"] == expected, rating
    assert analytics(api, chat)["totals"]["feedback"] == {"up": 1, "down": 0}


def test_only_a_reply_can_be_rated(api: ApiClient, fake_gemini: FakeGemini) -> None:
    chat, session = chat_with_session(api)
    sent = exchange(api, session)
    assert_error(rate(api, session, sent["userMessage"]["id"], "up"), 400, "validation_error")
    assert_error(rate(api, session, "0000000000000-unknown-1", "up"), 404, "message_not_found")
    assert_error(unrate(api, session, "0000000000000-unknown-1"), 404, "message_not_found")
    assert_error(rate(api, session, sent["reply"]["id"], "meh"), 400, "validation_error")
    too_long = rate(api, session, sent["reply"]["id"], "up", comment="x" * 501)
    assert_error(too_long, 400, "validation_error")
    other = api.start_session(chat["chatConfigId"])
    wrong = api.put(
        feedback_path(session, sent["reply"]["id"]), {"rating": "up"}, token=other["sessionToken"]
    )
    assert_error(wrong, 403, "forbidden")
    assert analytics(api, chat)["totals"]["feedback"] == {"up": 0, "down": 0}


def test_exports_carry_the_feedback(api: ApiClient, fake_gemini: FakeGemini) -> None:
    _, session = chat_with_session(api)
    reply_id = exchange(api, session)["reply"]["id"]
    rate(api, session, reply_id, "up", comment="Clear answer")
    path = f"/session/{session['sessionId']}/export"
    exported = api.get(path, token=session["sessionToken"]).json
    assert exported["messages"][1]["feedback"]["comment"] == "Clear answer"
    markdown = api.get(path + "?format=markdown", token=session["sessionToken"]).raw.decode()
    assert "*Rated: up — Clear answer*" in markdown


def test_a_failed_write_leaves_the_feedback_as_it_was(
    api: ApiClient, fake_gemini: FakeGemini
) -> None:
    chat, session = chat_with_session(api)
    reply_id = exchange(api, session)["reply"]["id"]
    rate(api, session, reply_id, "up")
    client = aws.get_dynamodb_resource().meta.client
    with failing(client, "dynamodb.TransactWriteItems"):
        assert_error(rate(api, session, reply_id, "down"), 503, "storage_unavailable")
        assert_error(unrate(api, session, reply_id), 503, "storage_unavailable")
    assert today_of(analytics(api, chat))["feedback"] == {"up": 1, "down": 0}
    view = api.get(f"/session/{session['sessionId']}", token=session["sessionToken"]).json
    assert view["messages"][1]["feedback"]["rating"] == "up"


# --- analytics ---------------------------------------------------------------------


def test_the_days_are_every_day_of_the_period_oldest_first_ending_today(
    api: ApiClient, fake_gemini: FakeGemini, monkeypatch: pytest.MonkeyPatch
) -> None:
    chat, session = chat_with_session(api)
    exchange(api, session)
    today = datetime.now(UTC).date()
    result = analytics(api, chat, "?days=7")
    days = [entry["day"] for entry in result["days"]]
    assert days == [str(today - timedelta(days=n)) for n in range(6, -1, -1)]
    assert [entry["messages"] for entry in result["days"]] == [0] * 6 + [1]
    assert set(result["days"][0]) == {
        "day",
        "sessions",
        "messages",
        "tokens",
        "feedback",
        "refused",
    }
    assert result["days"][0]["tokens"] == {"prompt": 0, "reply": 0, "total": 0, "cached": 0}
    assert result["days"][0]["refused"] == {"quota": 0, "budget": 0, "rateLimited": 0}
    assert len(analytics(api, chat)["days"]) == 30  # the default
    # Two days later, today's counts are the third last day's; the days after are zeros.
    later = datetime.now(UTC) + timedelta(days=2)
    monkeypatch.setattr(clock, "utc_now", lambda: later)
    moved = analytics(api, chat, "?days=3")
    assert [entry["day"] for entry in moved["days"]][-1] == str(later.date())
    assert [entry["messages"] for entry in moved["days"]] == [1, 0, 0]
    assert [entry["sessions"] for entry in moved["days"]] == [1, 0, 0]


@pytest.mark.parametrize("days", ["0", "91", "-1", "abc", "7.5"])
def test_days_out_of_range_are_refused(api: ApiClient, days: str) -> None:
    chat = api.create_chat()
    response = api.get(
        f"/chat-config/{chat['chatConfigId']}/analytics?days={days}", token=chat["editToken"]
    )
    assert_error(response, 400, "validation_error")


def test_analytics_need_the_edit_token(api: ApiClient) -> None:
    chat = api.create_chat()
    path = f"/chat-config/{chat['chatConfigId']}/analytics"
    assert_error(api.get(path), 401, "auth_required")
    assert_error(api.get(path, token="wrong"), 403, "forbidden")
    assert_error(api.get("/chat-config/nope/analytics", token="x"), 404, "config_not_found")


def test_sessions_messages_and_tokens_are_what_gemini_reported(
    api: ApiClient, fake_gemini: FakeGemini
) -> None:
    chat, session = chat_with_session(api)
    api.start_session(chat["chatConfigId"])
    fake_gemini.queue(
        reply_text("one", prompt_tokens=11, reply_tokens=7),
        reply_text("two", prompt_tokens=13, reply_tokens=5),
    )
    usages = [exchange(api, session, text)["usage"] for text in ("Hello", "Again")]
    regenerated = api.post(
        f"/session/{session['sessionId']}/regenerate", token=session["sessionToken"]
    )
    assert regenerated.status == 200
    usages.append(regenerated.json["usage"])
    day = today_of(analytics(api, chat))
    assert day["sessions"] == 2
    assert day["messages"] == 3
    assert day["tokens"]["prompt"] == sum(u["promptTokens"] for u in usages)
    assert day["tokens"]["reply"] == sum(u["replyTokens"] for u in usages)
    assert day["tokens"]["total"] == sum(u["totalTokens"] for u in usages)
    assert day["tokens"]["prompt"] >= 24 and day["tokens"]["cached"] == 0
    # Another agent's counts are its own.
    other, _ = chat_with_session(api)
    assert analytics(api, other)["totals"]["messages"] == 0


def test_refusals_are_counted_for_the_agent(api: ApiClient, fake_gemini: FakeGemini) -> None:
    chat, session = chat_with_session(api, limits={"messagesPerSession": 1, "sessionsPerDay": 1})
    exchange(api, session)
    assert_error(api.send(session, "Too many"), 429, "quota_exceeded")
    refused = api.post("/chat-session", {"chatConfigId": chat["chatConfigId"]})
    assert_error(refused, 429, "quota_exceeded")
    totals = analytics(api, chat)["totals"]
    assert totals["refused"] == {"quota": 2, "budget": 0, "rateLimited": 0}
    assert (totals["sessions"], totals["messages"]) == (1, 1)


def test_comments_are_the_50_latest_without_texts_or_session_ids(
    api: ApiClient, fake_gemini: FakeGemini, monkeypatch: pytest.MonkeyPatch
) -> None:
    chat, session = chat_with_session(api)
    second = api.start_session(chat["chatConfigId"])
    replies = []
    for n in range(28):
        for holder in (session, second):
            sent = exchange(api, holder, f"secret question {n}")
            replies.append((holder, sent["reply"]["id"], sent["reply"]["content"]))
    start = datetime(2030, 1, 1, tzinfo=UTC)
    with monkeypatch.context() as patched:
        for n, (holder, reply_id, _) in enumerate(replies):
            patched.setattr(clock, "utc_now", lambda n=n: start + timedelta(seconds=n))
            assert (
                rate(api, holder, reply_id, "up" if n % 3 else "down", comment=f"note {n}").status
                == 200
            )
    # A rating without a comment, and a comment taken back, are no comments.
    unrate(api, *replies[-1][:2])
    rate(api, *replies[-2][:2], "up")
    path = f"/chat-config/{chat['chatConfigId']}/analytics"
    response = api.get(path, token=chat["editToken"])
    comments = response.json["comments"]
    assert [c["comment"] for c in comments] == [f"note {n}" for n in range(53, 3, -1)]
    assert comments[0] == {"rating": "up", "comment": "note 53", "createdAt": ANY_TIME}
    body = response.raw.decode()
    for holder, reply_id, content in replies:
        assert holder["sessionId"] not in body and reply_id not in body
        assert content not in body
    assert "secret question" not in body


def test_the_read_is_one_query(api: ApiClient, fake_gemini: FakeGemini) -> None:
    chat, session = chat_with_session(api)
    reply_id = exchange(api, session)["reply"]["id"]
    rate(api, session, reply_id, "down", comment="Too long")
    client = aws.get_dynamodb_resource().meta.client
    with counting_dynamodb(client) as calls:
        result = analytics(api, chat, "?days=90")
    assert [call.operation for call in calls] == ["Query"]
    assert len(result["days"]) == 90
    assert result["comments"][0]["comment"] == "Too long"


def test_a_send_still_makes_at_most_three_dynamodb_calls(
    api: ApiClient, fake_gemini: FakeGemini
) -> None:
    chat, session = chat_with_session(api)
    exchange(api, session)
    client = aws.get_dynamodb_resource().meta.client
    with counting_dynamodb(client) as calls:
        exchange(api, session, "Again")
    assert len(calls) <= 3, [call.operation for call in calls]
    assert today_of(analytics(api, chat))["messages"] == 2


# --- the operator's series ---------------------------------------------------------


def test_the_operator_gets_the_same_series_for_the_whole_server(
    api: ApiClient, fake_gemini: FakeGemini, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPERATOR_TOKEN", OPERATOR)
    first, session = chat_with_session(api, limits={"messagesPerSession": 1})
    _, other = chat_with_session(api)
    fake_gemini.queue(reply_text("a", 11, 7), reply_text("b", 13, 5))
    reply_id = exchange(api, session)["reply"]["id"]
    exchange(api, other)
    rate(api, session, reply_id, "up")
    assert_error(api.send(session, "Too many"), 429, "quota_exceeded")
    response = api.get("/operator/usage?days=5", token=OPERATOR)
    assert response.status == 200, response.json
    seen = response.json
    assert [entry["day"] for entry in seen["days"]][-1] == str(datetime.now(UTC).date())
    assert len(seen["days"]) == 5
    today = seen["days"][-1]
    assert (today["sessions"], today["messages"]) == (2, 2)
    assert today["tokens"]["total"] == 36 and today["tokens"]["prompt"] == 24
    assert today["feedback"] == {"up": 1, "down": 0}
    assert today["refused"]["quota"] == 1
    assert seen["totals"]["messages"] == 2
    # What it answered before is still there.
    assert (seen["sessionsCreated"], seen["messages"]) == (2, 2)
    assert_error(api.get("/operator/usage?days=91", token=OPERATOR), 400, "validation_error")
    assert json.dumps(seen).count(first["chatConfigId"]) == 0
