"""A WebSocket client for the tests: frames as dicts, and a request's frames to its end."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from websockets.sync.client import ClientConnection, connect

# Generous: a test never waits this long unless the server is broken.
RECEIVE_SECONDS = 30
FINAL_TYPES = ("done", "error", "feedback")


class WsClient:
    def __init__(self, connection: ClientConnection) -> None:
        self.connection = connection

    def send(self, frame: dict[str, Any] | str) -> None:
        self.connection.send(frame if isinstance(frame, str) else json.dumps(frame))

    def receive(self) -> dict[str, Any]:
        frame: dict[str, Any] = json.loads(self.connection.recv(timeout=RECEIVE_SECONDS))
        return frame

    def until_final(self, request_id: str | None) -> list[dict[str, Any]]:
        """This request's frames, through its done or error frame (other requests' are kept
        out)."""
        frames = []
        while True:
            frame = self.receive()
            if frame["requestId"] != request_id:
                continue
            frames.append(frame)
            if frame["type"] in FINAL_TYPES:
                return frames

    def send_message(
        self, session: dict[str, Any], message: str, request_id: str = "r1", **extra: Any
    ) -> list[dict[str, Any]]:
        self.send(send_frame(session, message, request_id, **extra))
        return self.until_final(request_id)


def send_frame(
    session: dict[str, Any], message: str, request_id: str = "r1", **extra: Any
) -> dict[str, Any]:
    return {
        "action": "send",
        "requestId": request_id,
        "sessionId": session["sessionId"],
        "token": session["sessionToken"],
        "message": message,
        **extra,
    }


def action_frame(action: str, session: dict[str, Any], request_id: str) -> dict[str, Any]:
    return {
        "action": action,
        "requestId": request_id,
        "sessionId": session["sessionId"],
        "token": session["sessionToken"],
    }


@contextmanager
def ws_connect(url: str) -> Iterator[WsClient]:
    with connect(url, open_timeout=RECEIVE_SECONDS) as connection:
        yield WsClient(connection)


def joined_deltas(frames: list[dict[str, Any]]) -> str:
    return "".join(frame["text"] for frame in frames if frame["type"] == "delta")
