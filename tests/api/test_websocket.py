"""The WebSocket API over the local gateway: a real WebSocket client, the app's Chalice
handler, frames posted back through boto3's @connections client, moto, the fake Gemini."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from tests.fake_gemini import FakeGemini, api_key_invalid, blocked_prompt, error, streamed
from tests.utils import ApiClient
from tests.ws_client import action_frame, joined_deltas, send_frame, ws_connect

WORDS = tuple(f"word{n} " for n in range(8))


def messages(api: ApiClient, session: dict[str, Any]) -> list[dict[str, Any]]:
    response = api.get(f"/session/{session['sessionId']}/messages", token=session["sessionToken"])
    assert response.status == 200
    return list(response.json["messages"])


def assert_stream(frames: list[dict[str, Any]], request_id: str = "r1") -> dict[str, Any]:
    """start, deltas, done, numbered from 0; the deltas are the reply. Returns done."""
    assert [f["seq"] for f in frames] == list(range(len(frames)))
    assert {f["requestId"] for f in frames} == {request_id}
    types = [f["type"] for f in frames]
    assert types[0] == "start" and types[-1] == "done", types
    assert set(types[1:-1]) == {"delta"}
    done = frames[-1]
    assert joined_deltas(frames) == done["result"]["reply"]["content"]
    assert frames[0]["context"] == done["result"]["context"]
    return done


def test_a_send_streams_start_deltas_done_and_stores_what_rest_stores(
    api: ApiClient, fake_gemini: FakeGemini, ws_url: str
) -> None:
    fake_gemini.queue(streamed(*WORDS, delay=0.2))
    session = api.new_session()
    with ws_connect(ws_url) as ws:
        ws.send(send_frame(session, "Hello"))
        first = [ws.receive(), ws.receive()]
        # The first piece arrives while the model is still writing the rest.
        assert [f["type"] for f in first] == ["start", "delta"]
        assert fake_gemini.chunks_sent < len(WORDS)
        frames = first + ws.until_final("r1")
    done = assert_stream(frames)
    assert done["stopped"] is False
    assert done["result"]["reply"]["content"] == "".join(WORDS)
    assert "streamGenerateContent" in fake_gemini.last_request.path
    stored = messages(api, session)
    assert stored == [done["result"]["userMessage"], done["result"]["reply"]]
    assert "stopped" not in stored[1]
    # The same shape as a REST send's body, and the usage counted the same way.
    rest = api.send(session, "Again").json
    assert set(done["result"]) == set(rest)
    view = api.get(f"/session/{session['sessionId']}", token=session["sessionToken"]).json
    assert view["usage"]["totalTokens"] == (
        done["result"]["usage"]["totalTokens"] + rest["usage"]["totalTokens"]
    )


def test_the_offline_model_streams_word_by_word(api: ApiClient, ws_url: str) -> None:
    session = api.new_session()
    with ws_connect(ws_url) as ws:
        frames = ws.send_message(session, "Hi offline")
    done = assert_stream(frames)
    assert done["result"]["reply"]["content"].startswith("[offline model]")
    assert len([f for f in frames if f["type"] == "delta"]) > 5


def test_regenerate_streams_a_new_reply_beside_the_old_one(
    api: ApiClient, fake_gemini: FakeGemini, ws_url: str
) -> None:
    session = api.new_session()
    first = api.send(session, "Tell me").json
    fake_gemini.queue(streamed("a new ", "reply"))
    with ws_connect(ws_url) as ws:
        ws.send(action_frame("regenerate", session, "g1"))
        frames = ws.until_final("g1")
    done = assert_stream(frames, "g1")
    reply = done["result"]["reply"]
    assert reply["id"] > first["reply"]["id"]
    assert reply["parentId"] == first["userMessage"]["id"]
    assert reply["siblings"] == {"index": 1, "count": 2}
    assert [m["content"] for m in messages(api, session)] == ["Tell me", "a new reply"]


def test_stop_ends_the_reply_and_stores_the_part_written_marked_stopped(
    api: ApiClient, fake_gemini: FakeGemini, ws_url: str
) -> None:
    chunks = tuple(f"piece{n} " for n in range(60))
    fake_gemini.queue(streamed(*chunks, delay=0.1))
    session = api.new_session()
    with ws_connect(ws_url) as ws:
        ws.send(send_frame(session, "Go on and on"))
        frames = [ws.receive(), ws.receive()]
        ws.send(action_frame("stop", session, "r1"))
        frames += ws.until_final("r1")
    done = assert_stream(frames)
    assert done["stopped"] is True
    reply = done["result"]["reply"]
    assert reply["stopped"] is True
    assert 0 < len(reply["content"]) < len("".join(chunks))
    assert messages(api, session)[-1] == reply
    # The model's stream was let go of, not read to its end.
    assert fake_gemini.chunks_sent < len(chunks)


def test_stopping_a_finished_request_is_a_no_op(
    api: ApiClient, fake_gemini: FakeGemini, ws_url: str
) -> None:
    session = api.new_session()
    with ws_connect(ws_url) as ws:
        assert_stream(ws.send_message(session, "One"))
        ws.send(action_frame("stop", session, "r1"))
        # The same request id again: the stop answered nothing, and stops nothing now.
        frames = ws.send_message(session, "Two", request_id="r1")
    done = assert_stream(frames)
    assert done["stopped"] is False
    assert "stopped" not in messages(api, session)[-1]


def test_a_stop_needs_the_sessions_token(
    api: ApiClient, fake_gemini: FakeGemini, ws_url: str
) -> None:
    session = api.new_session()
    with ws_connect(ws_url) as ws:
        ws.send({**action_frame("stop", session, "r9"), "token": "not-the-token"})
        (frame,) = ws.until_final("r9")
    assert frame["code"] == "forbidden"


def test_a_client_that_goes_away_mid_reply_still_gets_the_exchange_stored(
    api: ApiClient, fake_gemini: FakeGemini, ws_url: str
) -> None:
    fake_gemini.queue(streamed(*WORDS, delay=0.1))
    session = api.new_session()
    with ws_connect(ws_url) as ws:
        ws.send(send_frame(session, "Hello"))
        assert [ws.receive()["type"], ws.receive()["type"]] == ["start", "delta"]
    stored: list[dict[str, Any]] = []
    for _ in range(100):
        stored = messages(api, session)
        if stored:
            break
        threading.Event().wait(0.1)
    assert [m["content"] for m in stored] == ["Hello", "".join(WORDS)]


def test_two_sockets_sending_to_one_session_at_once_both_store(
    api: ApiClient, fake_gemini: FakeGemini, ws_url: str
) -> None:
    session = api.new_session()
    with ws_connect(ws_url) as one, ws_connect(ws_url) as two:
        one.send(send_frame(session, "from one", "a"))
        two.send(send_frame(session, "from two", "b"))
        frames = {"a": one.until_final("a"), "b": two.until_final("b")}
    for request_id, request_frames in frames.items():
        assert_stream(request_frames, request_id)
    # Both stored: one after the other, or, if they raced, as siblings.
    contents = {m["content"] for m in api.tree(session)["messages"]}
    assert {"from one", "from two"} <= contents and len(contents) == 4


def test_ten_concurrent_streams_on_one_connection(
    api: ApiClient, fake_gemini: FakeGemini, ws_url: str
) -> None:
    fake_gemini.queue(*[streamed(*WORDS, delay=0.02) for _ in range(10)])
    sessions = [api.new_session() for _ in range(10)]
    frames: dict[str, list[dict[str, Any]]] = {}
    with ws_connect(ws_url) as ws:
        for number, session in enumerate(sessions):
            ws.send(send_frame(session, f"m{number}", f"r{number}"))
        while len([f for f in frames.values() if f[-1]["type"] == "done"]) < 10:
            frame = ws.receive()
            frames.setdefault(frame["requestId"], []).append(frame)
    for request_id, request_frames in frames.items():
        assert_stream(request_frames, request_id)
    for session in sessions:
        assert len(messages(api, session)) == 2


@pytest.mark.parametrize(
    ("reply", "code"),
    [
        (streamed(*WORDS, fail_after=3), "model_error"),
        (streamed(*WORDS, fail_after=2, fail_status=429), "model_rate_limited"),
        (streamed(*WORDS, block_after=3), "content_blocked"),
        (blocked_prompt(), "content_blocked"),
        (error(503), "model_unavailable"),
        (api_key_invalid(), "model_unavailable"),
    ],
)
def test_a_model_failure_is_an_error_frame_and_changes_nothing(
    api: ApiClient, fake_gemini: FakeGemini, ws_url: str, reply: Any, code: str
) -> None:
    session = api.new_session(limits={"messagesPerSession": 1})
    fake_gemini.queue(reply)
    with ws_connect(ws_url) as ws:
        frames = ws.send_message(session, "Hello")
        assert frames[-1]["type"] == "error" and frames[-1]["code"] == code
        assert isinstance(frames[-1]["error"], str)
        assert [f["seq"] for f in frames] == list(range(len(frames)))
        assert messages(api, session) == []
        # The quota was given back: the one message this session may send still goes.
        assert_stream(ws.send_message(session, "Again", request_id="r2"), "r2")


def test_a_rate_limited_model_says_when_to_retry(
    api: ApiClient, fake_gemini: FakeGemini, ws_url: str
) -> None:
    fake_gemini.queue(error(429, retry_after_seconds=7))
    session = api.new_session()
    with ws_connect(ws_url) as ws:
        start, frame = ws.send_message(session, "Hello")
    assert start["type"] == "start"
    assert (frame["type"], frame["code"], frame["retryAfter"]) == (
        "error",
        "model_rate_limited",
        7,
    )


def test_the_first_chunk_and_the_whole_stream_are_bounded(
    api: ApiClient, fake_gemini: FakeGemini, ws_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    session = api.new_session()
    monkeypatch.setenv("MODEL_TIMEOUT_SECONDS", "0.3")
    monkeypatch.setenv("MODEL_STREAM_TIMEOUT_SECONDS", "1")
    fake_gemini.queue(streamed(*WORDS, first_delay=2), streamed(*WORDS * 4, delay=0.1))
    with ws_connect(ws_url) as ws:
        before_first = ws.send_message(session, "Slow start")
        midway = ws.send_message(session, "Slow stream", request_id="r2")
    assert [f["type"] for f in before_first] == ["start", "error"]
    assert before_first[-1]["code"] == "model_timeout"
    assert "delta" in [f["type"] for f in midway] and midway[-1]["code"] == "model_timeout"
    assert messages(api, session) == []


def test_idempotency_keys_are_shared_with_rest(
    api: ApiClient, fake_gemini: FakeGemini, ws_url: str
) -> None:
    session = api.new_session()
    with ws_connect(ws_url) as ws:
        done = assert_stream(ws.send_message(session, "Once", idempotencyKey="k-1"))
        rest = api.send(session, "Once", headers={"Idempotency-Key": "k-1"})
        assert rest.json == done["result"]
        # And the other way round: a REST send replayed over the socket, in one piece.
        first = api.send(session, "Twice", headers={"Idempotency-Key": "k-2"}).json
        replay = ws.send_message(session, "Twice", request_id="r2", idempotencyKey="k-2")
        conflict = ws.send_message(session, "Other", request_id="r3", idempotencyKey="k-2")
    assert assert_stream(replay, "r2")["result"] == first
    assert conflict[-1]["code"] == "idempotency_conflict"
    assert len(messages(api, session)) == 4
    assert len(fake_gemini.requests) == 2


def test_a_result_too_big_for_one_frame_comes_without_its_texts(
    api: ApiClient, fake_gemini: FakeGemini, ws_url: str
) -> None:
    """API Gateway closes a connection on a frame over 32 KB (the local gateway does too):
    a long message's done frame leaves out the texts the client has, and nothing else."""
    session = api.new_session()
    long_message = "é" * 20_000  # 40,000 bytes of UTF-8, under the 32,000-character limit
    long_reply = "ü" * 9_000
    fake_gemini.queue(streamed(long_reply[:4_500], long_reply[4_500:]))
    with ws_connect(ws_url) as ws:
        frames = ws.send_message(session, long_message)
        replayed = ws.send_message(session, long_message, "r2", idempotencyKey="k-long")
        # A replay of a long exchange, as stored: deltas within the limit, then done.
        replay = ws.send_message(session, long_message, "r3", idempotencyKey="k-long")
        # The connection is still open after all of them.
        short = assert_stream(ws.send_message(session, "short", "r4"), "r4")
    assert short["textsOmitted"] is False and short["result"]["reply"]["content"]
    stored = messages(api, session)
    assert [m["content"] for m in stored[:2]] == [long_message, long_reply]
    for request_frames, request_id in ((frames, "r1"), (replayed, "r2"), (replay, "r3")):
        done = request_frames[-1]
        assert done["type"] == "done" and done["requestId"] == request_id
        assert done["textsOmitted"] is True
        assert done["result"]["userMessage"]["content"] == ""
        assert done["result"]["reply"]["content"] == done["result"]["message"] == ""
        assert [f["seq"] for f in request_frames] == list(range(len(request_frames)))
    assert joined_deltas(frames) == long_reply
    assert frames[-1]["result"]["userMessage"]["id"] == stored[0]["id"]
    assert frames[-1]["result"]["reply"]["id"] == stored[1]["id"]
    assert joined_deltas(replay) == joined_deltas(replayed)
    assert replay[-1]["result"] == replayed[-1]["result"]


def test_bad_frames_are_answered_and_the_connection_stays_open(
    api: ApiClient, fake_gemini: FakeGemini, ws_url: str
) -> None:
    session = api.new_session()
    with ws_connect(ws_url) as ws:
        ws.send("not json")
        not_json = ws.receive()
        ws.send('["a list"]')
        not_object = ws.receive()
        ws.send({"action": "send", "requestId": "r1", "sessionId": session["sessionId"]})
        missing = ws.receive()
        ws.send({"action": "dance", "requestId": "x" * 65})
        unknown = ws.receive()
        assert_stream(ws.send_message(session, "Still here", request_id="r2"), "r2")
    assert (not_json["code"], not_json["requestId"]) == ("invalid_json", None)
    assert (not_object["code"], not_object["requestId"]) == ("invalid_json", None)
    assert (missing["code"], missing["requestId"]) == ("validation_error", "r1")
    fields = {p["field"] for p in missing["details"]["fields"]}
    assert fields == {"token", "message"}
    assert (unknown["code"], unknown["requestId"]) == ("validation_error", None)


def test_a_bad_token_or_session_is_refused_as_rest_refuses_it(
    api: ApiClient, fake_gemini: FakeGemini, ws_url: str
) -> None:
    session = api.new_session()
    with ws_connect(ws_url) as ws:
        forbidden = ws.send_message({**session, "sessionToken": "wrong"}, "Hi")
        missing = ws.send_message({**session, "sessionId": "f" * 32}, "Hi", request_id="r2")
        nothing = ws.send_message({**session}, "", request_id="r3")
        ws.send(action_frame("regenerate", session, "r4"))
        regenerate = ws.until_final("r4")
    assert [f["type"] for f in forbidden] == ["error"]
    assert forbidden[0]["code"] == "forbidden"
    assert missing[0]["code"] == "session_not_found"
    assert nothing[0]["code"] == "validation_error"
    assert regenerate[0]["code"] == "nothing_to_regenerate"
    assert fake_gemini.requests == []


def test_an_over_quota_send_is_refused_with_retry_after(
    api: ApiClient, fake_gemini: FakeGemini, ws_url: str
) -> None:
    session = api.new_session(limits={"messagesPerDay": 1})
    with ws_connect(ws_url) as ws:
        assert_stream(ws.send_message(session, "One"))
        (refused,) = ws.send_message(session, "Two", request_id="r2")
    assert refused["code"] == "quota_exceeded"
    assert refused["details"]["limit"] == "messagesPerDay"
    assert 0 < refused["retryAfter"] <= 24 * 60 * 60
    assert len(messages(api, session)) == 2


def test_a_feedback_frame_rates_a_reply_as_rest_does(
    api: ApiClient, fake_gemini: FakeGemini, ws_url: str
) -> None:
    chat = api.create_chat()
    session = api.start_session(chat["chatConfigId"])
    sent = api.send(session, "Hello").json
    reply_id, user_id = sent["reply"]["id"], sent["userMessage"]["id"]

    def feedback(request_id: str, message_id: str, rating: str | None, **extra: Any) -> dict:
        frame = {**action_frame("feedback", session, request_id), "messageId": message_id}
        ws.send({**frame, "rating": rating, **extra})
        (answer,) = ws.until_final(request_id)
        return answer

    with ws_connect(ws_url) as ws:
        rated = feedback("f1", reply_id, "up", comment="Nice")
        assert rated["type"] == "feedback" and rated["seq"] == 0
        assert rated["messageId"] == reply_id
        assert rated["feedback"]["rating"] == "up" and rated["feedback"]["comment"] == "Nice"
        again = feedback("f2", reply_id, "down")
        assert again["feedback"]["rating"] == "down"
        refused = feedback("f3", user_id, "up")
        assert (refused["type"], refused["code"]) == ("error", "validation_error")
        missing = feedback("f4", "0000000000000-nothing-1", "up")
        assert missing["code"] == "message_not_found"
        removed = feedback("f5", reply_id, None)
        assert removed["feedback"] is None
    assert "feedback" not in messages(api, session)[1]
    path = f"/chat-config/{chat['chatConfigId']}/analytics?days=1"
    counts = api.get(path, token=chat["editToken"]).json["totals"]["feedback"]
    assert counts == {"up": 0, "down": 0}


def test_a_replayed_done_carries_the_replys_feedback_as_it_is_now(
    api: ApiClient, fake_gemini: FakeGemini, ws_url: str
) -> None:
    session = api.new_session()
    first = api.send(session, "Once", headers={"Idempotency-Key": "k-rated"}).json
    path = f"/session/{session['sessionId']}/messages/{first['reply']['id']}/feedback"
    api.put(path, {"rating": "up", "comment": "Yes"}, token=session["sessionToken"])
    with ws_connect(ws_url) as ws:
        replay = ws.send_message(session, "Once", idempotencyKey="k-rated")
    reply = assert_stream(replay)["result"]["reply"]
    assert reply["feedback"]["rating"] == "up" and reply["feedback"]["comment"] == "Yes"
    assert len(fake_gemini.requests) == 1
