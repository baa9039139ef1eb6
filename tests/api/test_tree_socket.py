"""Conversations as trees over the WebSocket: the `edit` action streams like `send` (and
stops), `regenerate` takes an earlier reply, and the tree is what REST builds."""

from __future__ import annotations

from typing import Any

from tests.api.test_trees import assert_whole_path, contents, find, sent_texts, three_exchanges
from tests.api.test_websocket import assert_stream
from tests.fake_gemini import FakeGemini, streamed
from tests.utils import ApiClient
from tests.ws_client import action_frame, send_frame, ws_connect


def edit_frame(
    session: dict[str, Any], message_id: str, text: str, request_id: str = "e1", **extra: Any
) -> dict[str, Any]:
    frame = send_frame(session, text, request_id, **extra)
    return {**frame, "action": "edit", "messageId": message_id}


def test_an_edit_streams_and_keeps_both_answers(
    api: ApiClient, fake_gemini: FakeGemini, ws_url: str
) -> None:
    session = api.new_session()
    three_exchanges(api, session, fake_gemini)
    q1 = find(api, session, "q1")
    fake_gemini.queue(streamed("a1 ", "streamed"))
    with ws_connect(ws_url) as ws:
        ws.send(edit_frame(session, q1["id"], "q1 edited"))
        done = assert_stream(ws.until_final("e1"), "e1")
    assert sent_texts(fake_gemini) == ["q0", "a0", "q1 edited"]
    assert "streamGenerateContent" in fake_gemini.last_request.path
    user = done["result"]["userMessage"]
    assert user["parentId"] == q1["parentId"] and user["siblings"] == {"index": 1, "count": 2}
    path = api.active_path(session)
    assert contents(path) == ["q0", "a0", "q1 edited", "a1 streamed"]
    assert path[-2:] == [user, done["result"]["reply"]]
    assert_whole_path(path)


def test_a_stopped_edit_stores_its_part_as_the_active_leaf(
    api: ApiClient, fake_gemini: FakeGemini, ws_url: str
) -> None:
    session = api.new_session()
    three_exchanges(api, session, fake_gemini)
    q2 = find(api, session, "q2")
    chunks = tuple(f"piece{n} " for n in range(60))
    fake_gemini.queue(streamed(*chunks, delay=0.1))
    with ws_connect(ws_url) as ws:
        ws.send(edit_frame(session, q2["id"], "q2 edited"))
        frames = [ws.receive(), ws.receive()]
        ws.send(action_frame("stop", session, "e1"))
        frames += ws.until_final("e1")
    done = assert_stream(frames, "e1")
    assert done["stopped"] is True
    path = api.active_path(session)
    assert path[-1] == done["result"]["reply"] and path[-1]["stopped"] is True
    assert contents(path)[:5] == ["q0", "a0", "q1", "a1", "q2 edited"]
    assert len(api.tree(session)["messages"]) == 8


def test_an_earlier_reply_regenerated_over_the_socket(
    api: ApiClient, fake_gemini: FakeGemini, ws_url: str
) -> None:
    session = api.new_session()
    three_exchanges(api, session, fake_gemini)
    a1 = find(api, session, "a1")
    fake_gemini.queue(streamed("a1 ", "again"))
    with ws_connect(ws_url) as ws:
        ws.send({**action_frame("regenerate", session, "g1"), "messageId": a1["id"]})
        done = assert_stream(ws.until_final("g1"), "g1")
    assert sent_texts(fake_gemini) == ["q0", "a0", "q1"]
    assert done["result"]["reply"]["siblings"] == {"index": 1, "count": 2}
    assert contents(api.active_path(session)) == ["q0", "a0", "q1", "a1 again"]


def test_an_edit_retried_with_its_key_replays_the_stored_reply(
    api: ApiClient, fake_gemini: FakeGemini, ws_url: str
) -> None:
    session = api.new_session()
    three_exchanges(api, session, fake_gemini)
    q0 = find(api, session, "q0")
    calls = len(fake_gemini.requests)
    with ws_connect(ws_url) as ws:
        ws.send(edit_frame(session, q0["id"], "q0 edited", idempotencyKey="k1"))
        first = assert_stream(ws.until_final("e1"), "e1")
        ws.send(edit_frame(session, q0["id"], "q0 edited", "e2", idempotencyKey="k1"))
        again = assert_stream(ws.until_final("e2"), "e2")
    assert again["result"] == first["result"]
    assert len(fake_gemini.requests) == calls + 1


def test_an_edit_frame_is_checked(api: ApiClient, fake_gemini: FakeGemini, ws_url: str) -> None:
    session = api.new_session()
    three_exchanges(api, session, fake_gemini)
    a0 = find(api, session, "a0")
    with ws_connect(ws_url) as ws:
        ws.send(edit_frame(session, a0["id"], "no"))
        refused = ws.until_final("e1")
        ws.send({**edit_frame(session, a0["id"], "no", "e2"), "messageId": None})
        invalid = ws.until_final("e2")
    assert refused[-1]["type"] == "error" and refused[-1]["code"] == "validation_error"
    assert invalid[-1]["type"] == "error" and invalid[-1]["code"] == "validation_error"
    assert len(api.tree(session)["messages"]) == 6
