"""Creator limits: validation against the ceilings, and enforcement under concurrency."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest

from chalicelib.core.clock import seconds_until_midnight
from chalicelib.core.errors import QuotaExceeded
from chalicelib.schemas import MessageSend
from chalicelib.services import conversation as message_service
from tests.conftest import TABLE
from tests.fake_gemini import FakeGemini, error
from tests.utils import DEFAULT_CONFIG, ApiClient, assert_error


def messages_of(api: ApiClient, session: dict) -> list[dict]:
    view = api.get(f"/session/{session['sessionId']}", token=session["sessionToken"])
    return list(view.json["messages"])


# --- validation and display ----------------------------------------------------


def test_config_shows_the_limits_in_force(api: ApiClient) -> None:
    created = api.create_chat(limits={"messagesPerSession": 7})
    assert created["config"]["limits"] == {
        "messagesPerSession": 7,
        "messagesPerDay": 2000,
        "sessionsPerDay": 1000,
        "fileMaxBytes": 10 * 1024 * 1024,
        "filesPerConfig": 10,
        "filesPerSession": 20,
        "fileBytesPerDay": 200 * 1024 * 1024,
        "tokensPerDay": None,  # LIMIT_TOKENS_PER_DAY is 0: no default
    }
    config = api.get(f"/chat-config/{created['chatConfigId']}").json
    assert config["limits"] == created["config"]["limits"]


def test_server_settings_are_defaults_and_ceilings(
    api: ApiClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LIMIT_MESSAGES_PER_DAY", "50")
    response = api.post("/create-chat", {**DEFAULT_CONFIG, "limits": {"messagesPerDay": 51}})
    assert_error(response, 400, "validation_error")
    problem = response.json["details"]["fields"][0]
    assert problem["field"] == "limits.messagesPerDay"
    assert "50" in problem["message"]
    created = api.create_chat(limits={"messagesPerDay": 50, "sessions_per_day": 3})
    assert created["config"]["limits"]["messagesPerDay"] == 50
    assert created["config"]["limits"]["sessionsPerDay"] == 3


@pytest.mark.parametrize(
    "limits", [{"messagesPerSession": -1}, {"messagesPerDay": "5"}, {"other": 1}, [1]]
)
def test_bad_limits_are_rejected(api: ApiClient, limits: object) -> None:
    response = api.post("/create-chat", {**DEFAULT_CONFIG, "limits": limits})
    assert_error(response, 400, "validation_error")


def test_limits_edit_merges_and_null_resets(api: ApiClient) -> None:
    created = api.create_chat(limits={"messagesPerSession": 7, "messagesPerDay": 9})
    path = f"/chat-config/{created['chatConfigId']}"
    token = created["editToken"]
    response = api.put(path, {**DEFAULT_CONFIG, "limits": {"messagesPerDay": None}}, token=token)
    assert response.json["limits"]["messagesPerSession"] == 7
    assert response.json["limits"]["messagesPerDay"] == 2000
    # Omitting limits keeps them.
    assert api.put(path, DEFAULT_CONFIG, token=token).json["limits"]["messagesPerSession"] == 7


# --- enforcement ---------------------------------------------------------------


def test_fourth_message_over_a_limit_of_three_is_429(api: ApiClient) -> None:
    session = api.new_session(limits={"messagesPerSession": 3})
    for number in range(3):
        assert api.send(session, f"m{number}").status == 200
    response = api.send(session, "one too many")
    assert_error(response, 429, "quota_exceeded")
    assert response.json["details"] == {"limit": "messagesPerSession", "value": 3}
    assert "Retry-After" not in response.headers  # waiting does not help
    assert len(messages_of(api, session)) == 6


def test_refused_send_calls_no_model_and_stores_nothing(
    api: ApiClient, fake_gemini: FakeGemini
) -> None:
    session = api.new_session(limits={"messagesPerSession": 1})
    assert api.send(session, "first").status == 200
    calls = len(fake_gemini.requests)
    assert_error(api.send(session, "second"), 429, "quota_exceeded")
    assert len(fake_gemini.requests) == calls
    assert len(messages_of(api, session)) == 2


def test_a_send_that_fails_at_the_model_gives_its_quota_back(
    api: ApiClient, fake_gemini: FakeGemini
) -> None:
    session = api.new_session(limits={"messagesPerSession": 1, "messagesPerDay": 1})
    fake_gemini.queue(error(400, "bad"))
    assert_error(api.send(session, "fails"), 502, "model_error")
    assert api.send(session, "works").status == 200
    assert_error(api.send(session, "over"), 429, "quota_exceeded")


def test_daily_limit_spans_sessions_and_says_when_to_retry(api: ApiClient) -> None:
    created = api.create_chat(limits={"messagesPerDay": 2})
    first = api.start_session(created["chatConfigId"])
    second = api.start_session(created["chatConfigId"])
    assert api.send(first, "a").status == 200
    assert api.send(second, "b").status == 200
    response = api.send(first, "c")
    assert_error(response, 429, "quota_exceeded")
    assert response.json["details"] == {"limit": "messagesPerDay", "value": 2}
    retry_after = int(response.headers["Retry-After"])
    assert 0 < retry_after <= 86_400


def test_sessions_per_day(api: ApiClient) -> None:
    created = api.create_chat(limits={"sessionsPerDay": 2})
    api.start_session(created["chatConfigId"])
    api.start_session(created["chatConfigId"])
    response = api.post("/chat-session", {"chatConfigId": created["chatConfigId"]})
    assert_error(response, 429, "quota_exceeded")
    assert response.json["details"] == {"limit": "sessionsPerDay", "value": 2}
    assert int(response.headers["Retry-After"]) > 0


def test_lowered_limits_reach_existing_sessions(api: ApiClient) -> None:
    created = api.create_chat()
    session = api.start_session(created["chatConfigId"])
    assert api.send(session, "one").status == 200
    api.put(
        f"/chat-config/{created['chatConfigId']}",
        {**DEFAULT_CONFIG, "limits": {"messagesPerSession": 2}},
        token=created["editToken"],
    )
    assert api.send(session, "two").status == 200
    assert_error(api.send(session, "three"), 429, "quota_exceeded")


def test_a_lowered_ceiling_caps_existing_limits(
    api: ApiClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    session = api.new_session(limits={"messagesPerSession": 10})
    monkeypatch.setenv("LIMIT_MESSAGES_PER_SESSION", "1")
    assert api.send(session, "one").status == 200
    assert_error(api.send(session, "two"), 429, "quota_exceeded")


@pytest.mark.parametrize("round_number", range(3))
def test_twenty_simultaneous_sends_against_a_limit_of_five(
    api: ApiClient, round_number: int
) -> None:
    session = api.new_session(limits={"messagesPerSession": 5})
    barrier = threading.Barrier(20)
    outcomes: list[str] = []

    def send(number: int) -> None:
        barrier.wait()
        try:
            message_service.send_message(
                session["sessionToken"],
                MessageSend(session_id=session["sessionId"], message=f"m{number}"),
                None,
            )
            outcomes.append("sent")
        except QuotaExceeded:
            outcomes.append("refused")
        except Exception as exc:  # noqa: BLE001 - any other outcome fails the test
            outcomes.append(repr(exc))

    threads = [threading.Thread(target=send, args=(n,)) for n in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["refused"] * 15 + ["sent"] * 5
    # Racing sends from one leaf are siblings: the tree holds all five exchanges.
    assert len(api.tree(session)["messages"]) == 10


def test_seconds_until_midnight() -> None:
    assert seconds_until_midnight(datetime(2026, 1, 1, 23, 59, 30, tzinfo=UTC)) == 30
    assert seconds_until_midnight(datetime(2026, 1, 1, 0, 0, 0, tzinfo=UTC)) == 86_400


def test_daily_counters_expire_through_ttl(api: ApiClient, session_store) -> None:
    created = api.create_chat()
    api.send(api.start_session(created["chatConfigId"]), "hi")
    items = session_store._table.scan()["Items"]
    for partition in ("CONFIG#", "OPERATOR"):  # the agent's counters, the operator's
        days = [
            item
            for item in items
            if str(item["pk"]).startswith(partition) and str(item["sk"]).startswith("DAY#")
        ]
        # the session and the message each count on a shard of the day (and the agent)
        assert 1 <= len(days) <= 3
        assert sum(day.get("messages", 0) for day in days) == 1
        assert sum(day.get("sessions", 0) for day in days) == 1
        assert all(int(day["expiresAt"]) > datetime.now(UTC).timestamp() + 86_400 for day in days)
    ttl = session_store._table.meta.client.describe_time_to_live(TableName=TABLE)
    assert ttl["TimeToLiveDescription"]["AttributeName"] == "expiresAt"


@pytest.mark.parametrize("limit", ["messagesPerSession", "messagesPerDay"])
def test_a_limit_of_zero_refuses_the_first_message(api: ApiClient, limit: str) -> None:
    session = api.new_session(limits={limit: 0})
    response = api.send(session, "hi")
    assert_error(response, 429, "quota_exceeded")
    assert response.json["details"] == {"limit": limit, "value": 0}


def test_a_limit_of_zero_sessions_refuses_the_first_session(api: ApiClient) -> None:
    created = api.create_chat(limits={"sessionsPerDay": 0})
    response = api.post("/chat-session", {"chatConfigId": created["chatConfigId"]})
    assert_error(response, 429, "quota_exceeded")


@pytest.mark.parametrize("limit", [1, 3, 9])
def test_a_daily_limit_split_over_shards_is_used_up_exactly(api: ApiClient, limit: int) -> None:
    created = api.create_chat(limits={"messagesPerDay": limit})
    sessions = [api.start_session(created["chatConfigId"]) for _ in range(3)]
    statuses = [api.send(sessions[n % 3], f"m{n}").status for n in range(limit + 4)]
    assert statuses.count(200) == limit
    assert statuses[limit:] == [429] * 4
