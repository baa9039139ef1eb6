"""Request logs: one JSON line per request, useful, and free of secrets and message text."""

from __future__ import annotations

import json
import logging
import time

import pytest

from chalicelib.core.tokens import hash_token
from tests.conftest import GEMINI_KEY
from tests.fake_gemini import FakeGemini, blocked_prompt, error
from tests.utils import DEFAULT_CONFIG, ApiClient

MARKERS = ("zebra-quartz-17", "orchid-vector-42", "maple-photon-99")


def request_lines(caplog: pytest.LogCaptureFixture) -> list[dict]:
    return [
        json.loads(record.getMessage())
        for record in caplog.records
        if record.name == "ai_maker.requests"
    ]


def test_a_whole_conversation_logs_no_secret_and_no_text(
    api: ApiClient, fake_gemini: FakeGemini, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    created = api.create_chat(systemPrompt=f"secret prompt {MARKERS[0]}")
    config_id, edit_token = created["chatConfigId"], created["editToken"]
    session = api.start_session(config_id)
    token = session["sessionToken"]
    api.send(session, f"hello {MARKERS[1]}")
    fake_gemini.queue(error(429, "slow down", retry_after_seconds=3))
    api.send(session, f"rate limited {MARKERS[2]}")
    fake_gemini.queue(error(500, "boom"), error(500, "boom"), error(500, "boom"))
    api.send(session, f"failing {MARKERS[2]}")
    fake_gemini.queue(blocked_prompt())
    api.send(session, f"blocked {MARKERS[2]}")
    api.send({**session, "sessionToken": "st_wrong-guess"}, f"wrong token {MARKERS[2]}")
    api.post("/session-message", {"sessionId": session["sessionId"], "message": ""}, token=token)
    api.put(f"/session/{session['sessionId']}", {"systemPrompt": MARKERS[0]}, token=token)
    api.get(f"/session/{session['sessionId']}", token=token)
    api.put(f"/chat-config/{config_id}", DEFAULT_CONFIG, token=edit_token)
    rotated = api.post(f"/chat-config/{config_id}/rotate-token", token=edit_token).json
    api.post("/create-chat", raw=f'{{"title": "{MARKERS[1]}"')

    logged = caplog.text
    replies = [
        m["content"]
        for m in api.get(f"/session/{session['sessionId']}", token=token).json["messages"]
    ]
    secrets = [
        edit_token,
        rotated["editToken"],
        token,
        "st_wrong-guess",
        hash_token(edit_token),
        hash_token(token),
        GEMINI_KEY,
        *MARKERS,
        *replies,
    ]
    for secret in secrets:
        assert secret not in logged, f"{secret[:12]}... leaked into the logs"

    lines = request_lines(caplog)
    assert len(lines) == 14  # the last one read the replies back
    for line in lines:
        assert set(line) <= {
            "event",
            "method",
            "route",
            "status",
            "durationMs",
            "requestId",
            "configId",
            "sessionId",
        }
        assert line["durationMs"] >= 0
    sends = [line for line in lines if line["route"] == "/session-message"]
    assert [line["status"] for line in sends] == [200, 429, 502, 422, 403, 400]
    assert sends[0]["sessionId"] == session["sessionId"]
    assert sends[0]["configId"] == config_id
    assert all(line["sessionId"] == session["sessionId"] for line in sends[:5])
    assert lines[0]["route"] == "/create-chat" and lines[0]["configId"] == config_id


def test_each_websocket_frame_logs_one_line_without_secrets_or_text(
    api: ApiClient, fake_gemini: FakeGemini, ws_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    from tests.ws_client import action_frame, send_frame, ws_connect

    caplog.set_level(logging.INFO)
    session = api.new_session()
    wrong = {**session, "sessionToken": "st_wrong-guess"}
    with ws_connect(ws_url) as ws:
        ws.send_message(session, f"hello {MARKERS[0]}", "r-ok")
        ws.send(action_frame("stop", session, "r-ok"))  # finished already: a no-op
        ws.send_message(wrong, f"wrong token {MARKERS[1]}", "r-forbidden")
        ws.send(f"not json {MARKERS[2]}")
        ws.until_final(None)
        ws.send({**send_frame(session, MARKERS[2], "r-bad"), "action": MARKERS[2]})
        ws.until_final("r-bad")
    # A frame's line is written when its handler returns, just after its last frame was
    # posted: the client can read that frame first. Wait for the five lines.
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if len([line for line in request_lines(caplog) if line["event"] == "frame"]) >= 5:
            break
        time.sleep(0.05)
    reply = api.get(f"/session/{session['sessionId']}/messages", token=session["sessionToken"])
    logged = caplog.text
    for secret in (session["sessionToken"], "st_wrong-guess", *MARKERS):
        assert secret not in logged, f"{secret[:12]}... leaked into the logs"
    assert reply.json["messages"][1]["content"] not in logged

    lines = [line for line in request_lines(caplog) if line["event"] == "frame"]
    # A frame's line is written when its handler returns: the stop, handled while the
    # send was posting its `done`, may come first. Order says nothing; each line does.
    by_frame = {(line["action"], line["requestId"]): line for line in lines}
    assert len(by_frame) == len(lines) == 5
    assert {frame: line["outcome"] for frame, line in by_frame.items()} == {
        ("send", "r-ok"): "done",
        ("stop", "r-ok"): "accepted",
        ("send", "r-forbidden"): "forbidden",
        (None, None): "invalid_json",
        (None, "r-bad"): "validation_error",  # an unknown action is not echoed
    }
    assert by_frame[("send", "r-ok")]["frames"] >= 3  # start, at least one delta, done
    frames = {
        frame: line["frames"] for frame, line in by_frame.items() if frame != ("send", "r-ok")
    }
    assert frames == {
        ("stop", "r-ok"): 0,
        ("send", "r-forbidden"): 1,
        (None, None): 1,
        (None, "r-bad"): 1,
    }
    with_session = [("send", "r-ok"), ("stop", "r-ok"), ("send", "r-forbidden")]
    assert {by_frame[frame]["sessionId"] for frame in with_session} == {session["sessionId"]}
    for line in lines:
        assert set(line) <= {
            "event",
            "action",
            "outcome",
            "frames",
            "durationMs",
            "requestId",
            "configId",
            "sessionId",
        }
