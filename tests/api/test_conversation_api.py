"""Paging, deletion, safe retries, regenerate, usage and context, export, models."""

from __future__ import annotations

import threading
import time

import pytest

from tests.conftest import TABLE
from tests.fake_gemini import FakeGemini, error, reply_text, slow
from tests.utils import ApiClient, assert_error, failing, seed_exchanges


def path_of(session: dict, suffix: str = "") -> str:
    return f"/session/{session['sessionId']}{suffix}"


def history(api: ApiClient, session: dict) -> list[dict]:
    return list(api.get(path_of(session), token=session["sessionToken"]).json["messages"])


# --- paging ------------------------------------------------------------------------


@pytest.mark.parametrize("limit", [100, 37])
def test_paging_back_through_a_thousand_messages(api: ApiClient, session_store, limit: int) -> None:
    session = api.new_session()
    seed_exchanges(session_store.table, session["sessionId"], 500)
    seen: list[dict] = []
    cursor = None
    pages = 0
    while True:
        query = f"?limit={limit}" + (f"&before={cursor}" if cursor else "")
        response = api.get(path_of(session, "/messages" + query), token=session["sessionToken"])
        assert response.status == 200, response.json
        page = response.json["messages"]
        assert page == sorted(page, key=lambda m: m["id"])  # oldest first within a page
        seen = page + seen
        pages += 1
        cursor = response.json["nextCursor"]
        if cursor is None:
            break
    assert pages == -(-1000 // limit)
    expected = [f"{kind}{n}" for n in range(500) for kind in ("q", "a")]
    assert [m["content"] for m in seen] == expected
    assert len({m["id"] for m in seen}) == 1000


def test_first_page_is_the_newest(api: ApiClient) -> None:
    session = api.new_session()
    for text in ("one", "two", "three"):
        api.send(session, text)
    page = api.get(path_of(session, "/messages?limit=2"), token=session["sessionToken"]).json
    assert [m["role"] for m in page["messages"]] == ["user", "model"]
    assert page["messages"][0]["content"] == "three"
    assert page["nextCursor"]
    empty = api.get(path_of(api.new_session(), "/messages"), token=session["sessionToken"])
    assert_error(empty, 403, "forbidden")


@pytest.mark.parametrize(
    "query",
    ["?limit=0", "?limit=101", "?limit=ten", "?before=%21%21", "?before=", "?before=a.b", "?x=1"],
)
def test_bad_paging_parameters_are_400(api: ApiClient, query: str) -> None:
    session = api.new_session()
    response = api.get(path_of(session, "/messages" + query), token=session["sessionToken"])
    assert_error(response, 400, "validation_error")


def test_any_message_id_is_a_cursor(api: ApiClient) -> None:
    session = api.new_session()
    for text in ("one", "two", "three"):
        api.send(session, text)
    messages = api.get(path_of(session), token=session["sessionToken"]).json["messages"]
    query = f"/messages?limit=10&before={messages[4]['id']}"

    page = api.get(path_of(session, query), token=session["sessionToken"]).json

    assert page == {"messages": messages[:4], "nextCursor": None}
    # A well-formed id that names no message is a bound like any other.
    empty = api.get(path_of(session, "/messages?before=0"), token=session["sessionToken"]).json
    assert empty == {"messages": [], "nextCursor": None}


# --- deletion ----------------------------------------------------------------------


def test_delete_session_removes_every_item(api: ApiClient, session_store) -> None:
    session = api.new_session()
    api.send(session, "hello", headers={"Idempotency-Key": "k1"})
    seed_exchanges(session_store.table, session["sessionId"], 120)  # several batches
    token = session["sessionToken"]
    assert_error(api.request("DELETE", path_of(session)), 401, "auth_required")
    assert_error(
        api.request("DELETE", path_of(session), token=api.new_session()["sessionToken"]),
        403,
        "forbidden",
    )
    response = api.request("DELETE", path_of(session), token=token)
    assert response.status == 204 and response.raw == b""
    assert_error(api.get(path_of(session), token=token), 404, "session_not_found")
    assert_error(api.send(session, "anyone?"), 404, "session_not_found")
    assert_error(api.request("DELETE", path_of(session), token=token), 404, "session_not_found")
    left = session_store.table.query(
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": f"SESSION#{session['sessionId']}"},
    )
    assert left["Items"] == []


# --- safe retries ------------------------------------------------------------------


def test_same_key_returns_the_stored_exchange_without_calling_the_model(
    api: ApiClient, fake_gemini: FakeGemini
) -> None:
    session = api.new_session()
    first = api.send(session, "hi", headers={"Idempotency-Key": "retry-1"})
    calls = len(fake_gemini.requests)
    again = api.send(session, "hi", headers={"Idempotency-Key": "retry-1"})
    assert again.status == 200
    assert again.json == first.json
    assert len(fake_gemini.requests) == calls
    assert len(history(api, session)) == 2
    # Another key is another message.
    assert api.send(session, "hi", headers={"Idempotency-Key": "retry-2"}).status == 200
    assert len(history(api, session)) == 4


def test_same_key_with_another_message_is_409(api: ApiClient) -> None:
    session = api.new_session()
    api.send(session, "hi", headers={"Idempotency-Key": "k"})
    response = api.send(session, "something else", headers={"Idempotency-Key": "k"})
    assert_error(response, 409, "idempotency_conflict")


def test_keys_belong_to_one_session(api: ApiClient) -> None:
    first, second = api.new_session(), api.new_session()
    api.send(first, "hi", headers={"Idempotency-Key": "shared"})
    response = api.send(second, "other", headers={"Idempotency-Key": "shared"})
    assert response.status == 200


@pytest.mark.parametrize("key", ["", "x" * 65, "has space", "caf\u00e9"])
def test_bad_keys_are_400(api: ApiClient, key: str) -> None:
    response = api.send(api.new_session(), "hi", headers={"Idempotency-Key": key})
    assert_error(response, 400, "validation_error")


def test_a_failed_send_frees_its_key(api: ApiClient, fake_gemini: FakeGemini) -> None:
    session = api.new_session()
    fake_gemini.queue(error(400, "bad"))
    assert_error(api.send(session, "hi", headers={"Idempotency-Key": "k"}), 502, "model_error")
    assert api.send(session, "hi", headers={"Idempotency-Key": "k"}).status == 200


def test_a_key_expires_after_24_hours(api: ApiClient, session_store) -> None:
    session = api.new_session()
    api.send(session, "hi", headers={"Idempotency-Key": "old"})
    session_store.table.update_item(
        Key={"pk": f"SESSION#{session['sessionId']}", "sk": "IDEM#old"},
        UpdateExpression="SET expiresAt = :past",
        ExpressionAttributeValues={":past": int(time.time()) - 1},
    )
    response = api.send(session, "a new message", headers={"Idempotency-Key": "old"})
    assert response.status == 200
    assert len(history(api, session)) == 4


def test_racing_identical_requests_make_one_exchange(
    api: ApiClient, fake_gemini: FakeGemini
) -> None:
    from chalicelib.schemas import MessageSend
    from chalicelib.services import conversation as message_service

    session = api.new_session()
    fake_gemini.queue(slow(0.5))
    barrier = threading.Barrier(2)
    replies: list[object] = []

    def send() -> None:
        barrier.wait()
        request = MessageSend(session_id=session["sessionId"], message="once")
        replies.append(message_service.send_message(session["sessionToken"], request, "race"))

    threads = [threading.Thread(target=send) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(replies) == 2 and replies[0] == replies[1]
    assert len(fake_gemini.requests) == 1
    assert len(history(api, session)) == 2


# --- regenerate --------------------------------------------------------------------


def test_regenerate_adds_a_sibling_of_the_last_reply_with_the_same_history(
    api: ApiClient, fake_gemini: FakeGemini
) -> None:
    session = api.new_session()
    api.send(session, "first")
    fake_gemini.queue(reply_text("a dull answer"))
    original = api.send(session, "second").json
    sent_before = fake_gemini.last_request.body["contents"]
    fake_gemini.queue(reply_text("a better answer", prompt_tokens=5, reply_tokens=3))
    response = api.post(path_of(session, "/regenerate"), token=session["sessionToken"])
    assert response.status == 200
    body = response.json
    assert body["message"] == "a better answer"
    assert body["reply"]["id"] > original["reply"]["id"]
    assert body["reply"]["parentId"] == original["userMessage"]["id"]
    assert body["reply"]["siblings"] == {"index": 1, "count": 2}
    assert body["userMessage"] == original["userMessage"]
    assert body["usage"] == {
        "promptTokens": 5,
        "replyTokens": 3,
        "toolUsePromptTokens": 0,
        "thinkingTokens": 0,
        "totalTokens": 8,
    }
    assert fake_gemini.last_request.body["contents"] == sent_before
    messages = history(api, session)
    assert len(messages) == 4
    assert messages[-1]["content"] == "a better answer"
    # The old reply is off the active path, one sibling step away.
    assert "a dull answer" not in str(messages)


def test_regenerate_with_nothing_yet_is_409(api: ApiClient) -> None:
    session = api.new_session()
    response = api.post(path_of(session, "/regenerate"), token=session["sessionToken"])
    assert_error(response, 409, "nothing_to_regenerate")
    assert_error(api.post(path_of(session, "/regenerate")), 401, "auth_required")


def test_a_failed_regeneration_keeps_the_old_reply(api: ApiClient, fake_gemini: FakeGemini) -> None:
    session = api.new_session()
    api.send(session, "question")
    before = history(api, session)
    fake_gemini.queue(error(503, "down"), error(503, "down"), error(503, "down"))
    response = api.post(path_of(session, "/regenerate"), token=session["sessionToken"])
    assert_error(response, 503, "model_unavailable")
    assert history(api, session) == before


# --- usage and context ----------------------------------------------------------------


def test_usage_and_context_are_reported(
    api: ApiClient, fake_gemini: FakeGemini, monkeypatch: pytest.MonkeyPatch
) -> None:
    session = api.new_session()
    fake_gemini.queue(reply_text("r1", prompt_tokens=10, reply_tokens=2))
    first = api.send(session, "q1").json
    assert first["usage"] == {
        "promptTokens": 10,
        "replyTokens": 2,
        "toolUsePromptTokens": 0,
        "thinkingTokens": 0,
        "totalTokens": 12,
    }
    assert first["context"] == {"messagesSent": 1, "messagesTotal": 1, "truncated": False}
    fake_gemini.queue(reply_text("r2", prompt_tokens=20, reply_tokens=4))
    second = api.send(session, "q2").json
    assert second["context"] == {"messagesSent": 3, "messagesTotal": 3, "truncated": False}
    monkeypatch.setenv("HISTORY_CHAR_BUDGET", "6")
    third = api.send(session, "q3").json
    assert third["context"] == {"messagesSent": 3, "messagesTotal": 5, "truncated": True}
    view = api.get(path_of(session), token=session["sessionToken"]).json
    usage = third["usage"]
    assert view["usage"] == {
        "promptTokens": 30 + usage["promptTokens"],
        "replyTokens": 6 + usage["replyTokens"],
        "toolUsePromptTokens": 0,
        "thinkingTokens": 0,
        "totalTokens": 36 + usage["totalTokens"],
    }


def test_offline_model_reports_its_own_usage(api: ApiClient) -> None:
    usage = api.send(api.new_session(), "hello").json["usage"]
    assert usage["promptTokens"] > 0 and usage["replyTokens"] > 0
    assert usage["totalTokens"] == usage["promptTokens"] + usage["replyTokens"]


# --- export --------------------------------------------------------------------------


def test_export_as_json_and_markdown(api: ApiClient) -> None:
    session = api.new_session(title="Pirates")
    for text in ("ahoy", "where be the gold"):
        api.send(session, text)
    token = session["sessionToken"]
    as_json = api.get(path_of(session, "/export?format=json"), token=token)
    assert as_json.status == 200
    assert as_json.headers["Content-Type"].startswith("application/json")
    assert as_json.json["title"] == "Pirates"
    assert [m["content"] for m in as_json.json["messages"][::2]] == ["ahoy", "where be the gold"]
    assert as_json.json["usage"]["totalTokens"] > 0
    assert api.get(path_of(session, "/export"), token=token).json["messages"]

    markdown = api.get(path_of(session, "/export?format=markdown"), token=token)
    assert markdown.status == 200
    assert markdown.headers["Content-Type"] == "text/markdown; charset=utf-8"
    text = markdown.raw.decode()
    assert text.startswith("# Pirates\n")
    assert text.count("\n## User · ") == 2 and text.count("\n## Model · ") == 2
    assert "Answer like a pirate." in text


def test_export_hides_a_private_prompt_and_checks_the_format(api: ApiClient) -> None:
    session = api.new_session(systemPrompt="secret sauce", promptVisibility="private")
    token = session["sessionToken"]
    text = api.get(path_of(session, "/export?format=markdown"), token=token).raw.decode()
    assert "secret sauce" not in text and "hidden" in text
    response = api.get(path_of(session, "/export?format=pdf"), token=token)
    assert_error(response, 400, "validation_error")


# --- models --------------------------------------------------------------------------


def test_models_lists_the_allowed_models(api: ApiClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALLOWED_MODELS", "gemini-2.5-pro,gemini-2.5-flash,gemini-2.0-flash")
    pro_range = {"minimum": 128, "maximum": 32768, "mayStop": False}
    flash_range = {"minimum": 1, "maximum": 24576, "mayStop": True}
    assert api.get("/models").json == {
        "models": [
            {
                "id": "gemini-2.5-pro",
                "default": True,
                "thinking": {"levels": [], "budget": pro_range},
            },
            {
                "id": "gemini-2.5-flash",
                "default": False,
                "thinking": {"levels": [], "budget": flash_range},
            },
            {
                "id": "gemini-2.0-flash",
                "default": False,
                "thinking": {"levels": [], "budget": None},
            },
        ]
    }


def test_models_say_which_thinking_levels_a_gemini_3_model_takes(
    api: ApiClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ALLOWED_MODELS", "gemini-3-pro-preview,gemini-3-flash-preview")
    thinking = [model["thinking"] for model in api.get("/models").json["models"]]
    assert thinking == [
        {"levels": ["low", "high"], "budget": None},
        {"levels": ["minimal", "low", "medium", "high"], "budget": None},
    ]


def test_table_name_is_the_test_table(session_store) -> None:
    assert session_store.table.name == TABLE


def test_a_half_done_deletion_can_be_repeated(api: ApiClient, session_store) -> None:
    session = api.new_session()
    seed_exchanges(session_store.table, session["sessionId"], 30)
    token = session["sessionToken"]
    with failing(session_store.table.meta.client, "dynamodb.BatchWriteItem"):
        assert_error(
            api.request("DELETE", path_of(session), token=token), 503, "storage_unavailable"
        )
    # Marked as being deleted: it already reads as gone, and a repeat finishes the job.
    assert_error(api.get(path_of(session), token=token), 404, "session_not_found")
    assert api.request("DELETE", path_of(session), token=token).status == 204
    left = session_store.table.query(
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": f"SESSION#{session['sessionId']}"},
    )
    assert left["Items"] == []
