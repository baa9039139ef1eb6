"""Sending messages: what Gemini receives, history budget, failures, concurrency."""

from __future__ import annotations

import time

import pytest

from chalicelib.core.errors import ConcurrentUpdate
from chalicelib.core.settings import get_settings
from chalicelib.model.base import ModelReply, Turn
from chalicelib.schemas import MessageSend, StoredMessage
from chalicelib.services import conversation as message_service
from chalicelib.services import exchange, storing
from chalicelib.services.exchange import select_history
from chalicelib.stores.sessions import SessionStore
from tests.conftest import GEMINI_KEY
from tests.fake_gemini import (
    DEFAULT_REPLY_PREFIX,
    FakeGemini,
    api_key_invalid,
    blocked_prompt,
    blocked_reply,
    error,
    reply_text,
    slow,
)
from tests.utils import ApiClient, assert_error, at_once, failing, seed_exchanges


def texts(body: dict) -> list[tuple[str, str]]:
    return [(c["role"], c["parts"][0]["text"]) for c in body["contents"]]


def history(api: ApiClient, session: dict) -> list[dict]:
    view = api.get(f"/session/{session['sessionId']}", token=session["sessionToken"])
    return list(view.json["messages"])


# --- what Gemini receives ------------------------------------------------------


def test_gemini_receives_prompt_settings_and_history(
    api: ApiClient, fake_gemini: FakeGemini, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MAX_OUTPUT_TOKENS", "321")
    session = api.new_session(systemPrompt="You are terse.", temperature=0.3)
    fake_gemini.queue(reply_text("first answer"), reply_text("second answer"))
    first = api.send(session, "first question")
    assert first.status == 200
    assert first.json["message"] == "first answer"
    assert api.send(session, "second question").json["message"] == "second answer"

    sent = fake_gemini.last_request
    assert sent.model == "gemini-2.5-flash"
    assert sent.headers["x-goog-api-key"] == GEMINI_KEY
    assert sent.body["systemInstruction"]["parts"][0]["text"] == "You are terse."
    assert sent.body["generationConfig"]["temperature"] == 0.3
    assert sent.body["generationConfig"]["maxOutputTokens"] == 321
    assert texts(sent.body) == [
        ("user", "first question"),
        ("model", "first answer"),
        ("user", "second question"),
    ]


def test_empty_system_prompt_sends_no_system_instruction(
    api: ApiClient, fake_gemini: FakeGemini
) -> None:
    session = api.new_session(systemPrompt="")
    assert api.send(session, "hi").status == 200
    assert "systemInstruction" not in fake_gemini.last_request.body


def test_session_settings_reach_gemini(api: ApiClient, fake_gemini: FakeGemini) -> None:
    session = api.new_session()
    api.put(
        f"/session/{session['sessionId']}",
        {"model": "gemini-2.5-pro", "temperature": 1.25, "systemPrompt": "New prompt"},
        token=session["sessionToken"],
    )
    response = api.send(session, "hi")
    assert response.json["model"] == "gemini-2.5-pro"
    sent = fake_gemini.last_request
    assert sent.model == "gemini-2.5-pro"
    assert sent.body["generationConfig"]["temperature"] == 1.25
    assert sent.body["systemInstruction"]["parts"][0]["text"] == "New prompt"


def test_history_budget_limits_what_is_sent(
    api: ApiClient, fake_gemini: FakeGemini, monkeypatch: pytest.MonkeyPatch
) -> None:
    session = api.new_session()
    for number in range(6):
        fake_gemini.queue(reply_text(f"r{number}" + "." * 8))  # 10 characters
        api.send(session, f"q{number}" + "?" * 8)  # 10 characters
    # 45 characters: the new message (5) and the two newest exchanges (40).
    monkeypatch.setenv("HISTORY_CHAR_BUDGET", "45")
    api.send(session, "final")
    assert texts(fake_gemini.last_request.body) == [
        ("user", "q4" + "?" * 8),
        ("model", "r4" + "." * 8),
        ("user", "q5" + "?" * 8),
        ("model", "r5" + "." * 8),
        ("user", "final"),
    ]
    # The system prompt does not count against the budget.
    assert fake_gemini.last_request.body["systemInstruction"]


def test_new_message_is_sent_even_when_it_alone_exceeds_the_budget(
    api: ApiClient, fake_gemini: FakeGemini, monkeypatch: pytest.MonkeyPatch
) -> None:
    session = api.new_session()
    api.send(session, "earlier")
    monkeypatch.setenv("HISTORY_CHAR_BUDGET", "10")
    long_message = "x" * 500
    assert api.send(session, long_message).status == 200
    assert texts(fake_gemini.last_request.body) == [("user", long_message)]


def _message(role: str, content: str) -> StoredMessage:
    return StoredMessage(id=content, role=role, content=content, created_at="t")


def test_select_history_starts_on_a_user_turn() -> None:
    newest_first = [_message("model", "r2"), _message("user", "q2"), _message("model", "r1")]
    # "r1" fits, but its question does not: a reply never goes without its question.
    assert select_history(newest_first, "new", char_budget=9, max_messages=10) == [
        Turn("user", "q2"),
        Turn("model", "r2"),
        Turn("user", "new"),
    ]
    assert select_history([], "new", char_budget=0, max_messages=10) == [Turn("user", "new")]


def test_select_history_takes_only_the_newest_contiguous_messages() -> None:
    newest_first = [
        _message("model", "r3"),
        _message("user", "q3"),
        _message("model", "a long old reply"),
        _message("user", "q"),
    ]
    # The long reply does not fit; the shorter, older question must not jump the gap.
    assert select_history(newest_first, "n", char_budget=10, max_messages=10) == [
        Turn("user", "q3"),
        Turn("model", "r3"),
        Turn("user", "n"),
    ]


# --- model failures leave storage unchanged ------------------------------------


@pytest.mark.parametrize(
    "replies, status, code",
    [
        ([error(429, "quota", retry_after_seconds=17)], 429, "model_rate_limited"),
        ([error(400, "bad request")], 502, "model_error"),
        ([error(500, "boom")] * 3, 502, "model_error"),
        ([error(503, "overloaded")] * 3, 503, "model_unavailable"),
        ([error(403, "bad key")], 503, "model_unavailable"),
        ([api_key_invalid()], 503, "model_unavailable"),
        ([blocked_prompt()], 422, "content_blocked"),
        ([blocked_reply()], 422, "content_blocked"),
    ],
)
def test_model_failures_store_nothing_and_a_retry_works(
    api: ApiClient, fake_gemini: FakeGemini, replies: list, status: int, code: str
) -> None:
    session = api.new_session()
    assert api.send(session, "before").status == 200
    before = history(api, session)
    fake_gemini.queue(*replies)
    response = api.send(session, "this one fails")
    assert_error(response, status, code)
    assert history(api, session) == before
    retry = api.send(session, "this one fails")
    assert retry.status == 200
    assert retry.json["message"] == DEFAULT_REPLY_PREFIX + "this one fails"
    assert len(history(api, session)) == 4


def test_a_refused_key_is_said_in_the_log_and_health_until_gemini_accepts_one(
    api: ApiClient, fake_gemini: FakeGemini, caplog: pytest.LogCaptureFixture
) -> None:
    session = api.new_session()
    assert api.get("/health").json["model"] == "gemini"
    fake_gemini.queue(api_key_invalid())
    response = api.send(session, "hi")
    assert_error(response, 503, "model_unavailable")
    assert "key was refused" in response.json["error"]
    assert "Try again" not in response.json["error"]
    assert len(fake_gemini.requests) == 1  # a refused key is not retried
    assert any("Gemini refused the API key" in r.getMessage() for r in caplog.records)
    assert api.get("/health").json["model"] == "key_refused"
    assert api.send(session, "hi").status == 200  # the operator fixed the key
    assert api.get("/health").json["model"] == "gemini"


def test_rate_limit_passes_retry_after(api: ApiClient, fake_gemini: FakeGemini) -> None:
    session = api.new_session()
    fake_gemini.queue(error(429, "slow down", retry_after_seconds=17))
    response = api.send(session, "hi")
    assert_error(response, 429, "model_rate_limited")
    assert response.headers["Retry-After"] == "17"


def test_a_passing_server_error_is_retried(api: ApiClient, fake_gemini: FakeGemini) -> None:
    session = api.new_session()
    fake_gemini.queue(error(500, "blip"))
    response = api.send(session, "hi")
    assert response.status == 200
    assert len(fake_gemini.requests) == 2


def test_timeout_bounds_the_whole_call(
    api: ApiClient, fake_gemini: FakeGemini, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MODEL_TIMEOUT_SECONDS", "1")
    session = api.new_session()
    fake_gemini.queue(slow(5), slow(5), slow(5))
    started = time.monotonic()
    response = api.send(session, "hi")
    elapsed = time.monotonic() - started
    assert_error(response, 504, "model_timeout")
    assert elapsed < 4, f"the timeout of 1 s took {elapsed:.1f} s"
    assert history(api, session) == []


def test_storage_failure_after_the_model_answered_leaves_history_unchanged(
    api: ApiClient, fake_gemini: FakeGemini, session_store: SessionStore
) -> None:
    session = api.new_session()
    api.send(session, "kept")
    with failing(session_store._table.meta.client, "dynamodb.TransactWriteItems"):
        assert_error(api.send(session, "lost"), 503, "storage_unavailable")
    assert [m["content"] for m in history(api, session)][0] == "kept"
    assert len(history(api, session)) == 2


# --- concurrency and long conversations ----------------------------------------


def test_concurrent_sends_from_one_leaf_all_store_one_after_another(
    api: ApiClient, fake_gemini: FakeGemini
) -> None:
    session = api.new_session()
    api.send(session, "start")
    token = session["sessionToken"]

    def send(number: int) -> None:
        message_service.send_message(
            token, MessageSend(session_id=session["sessionId"], message=f"m{number}"), None
        )

    assert at_once(10, send) == []

    # A send that lost a race goes after the one that won: one straight path, in the
    # order they were stored, each reply right after its message. No message is lost.
    tree = api.tree(session)
    path = api.active_path(session)
    assert len(tree["messages"]) == len(path) == 22
    assert [m["role"] for m in path] == ["user", "model"] * 11
    assert sorted(m["content"] for m in path[2::2]) == sorted(f"m{n}" for n in range(10))
    for user, reply in zip(path[::2], path[1::2], strict=True):
        assert reply["parentId"] == user["id"]
        assert reply["content"] == DEFAULT_REPLY_PREFIX + user["content"]
    for parent, child in zip(path, path[1:], strict=False):
        assert child["parentId"] == parent["id"]
    assert all("siblings" not in m for m in path)
    assert path[-1]["id"] == tree["activeLeafId"] == max(m["id"] for m in tree["messages"])
    for parent, child in zip(path, path[1:], strict=False):
        assert child["parentId"] == parent["id"]


def test_a_thousand_exchange_conversation_still_sends(
    api: ApiClient, fake_gemini: FakeGemini, session_store: SessionStore
) -> None:
    session = api.new_session()
    seed_exchanges(session_store._table, session["sessionId"], 1000)
    response = api.send(session, "still there?")
    assert response.status == 200
    sent = texts(fake_gemini.last_request.body)
    assert sent[-1] == ("user", "still there?")
    assert sent[-3:-1] == [("user", "q999"), ("model", "a999")]
    # Short messages: HISTORY_MAX_MESSAGES (50) binds before the character budget.
    assert sent[0] == ("user", "q975") and len(sent) == 51
    assert response.json["context"] == {
        "messagesSent": 51,
        "messagesTotal": 2001,
        "truncated": True,
    }
    assert len(history(api, session)) == 100


def test_a_send_that_lost_its_race_goes_after_the_winner_unless_its_parent_left(
    api: ApiClient, fake_gemini: FakeGemini, session_store: SessionStore
) -> None:
    """The race made in order: a send is prepared (its history read), another write lands,
    then the first is stored."""
    session = api.new_session()
    api.send(session, "first")
    sid, token = session["sessionId"], session["sessionToken"]

    def prepared(text: str) -> exchange.PreparedExchange:
        return exchange.prepare_exchange(session_store, get_settings(), sid, token, text)

    late = prepared("late")
    api.send(session, "winner")
    storing.store_exchange(session_store, late, ModelReply(text="late reply"))
    path = [m["content"] for m in history(api, session)]
    assert path == [
        "first", DEFAULT_REPLY_PREFIX + "first", "winner", DEFAULT_REPLY_PREFIX + "winner",
        "late", "late reply",
    ]  # fmt: skip
    # Its parent (the last reply) leaves the path before it stores: refused, nothing stored.
    stranded = prepared("stranded")
    second = history(api, session)[2]
    fake_gemini.queue(reply_text("edited reply"))
    assert api.edit(session, second["id"], "winner, edited").status == 200
    before = len(api.tree(session)["messages"])
    with pytest.raises(ConcurrentUpdate):
        storing.store_exchange(session_store, stranded, ModelReply(text="stranded reply"))
    assert len(api.tree(session)["messages"]) == before
