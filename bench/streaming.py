"""(d) Streaming over the WebSocket API, through the local gateway, against the fake Gemini.

- Time to first delta: from sending a `send` frame to receiving its first `delta`, less
  the fake model's delay before its first chunk, so what is left is the app's own work
  (read, reserve, start the stream, post through @connections), with moto standing in
  for DynamoDB in this process. 50 requests, after 5 untimed ones.
- Frames per 2,000-character reply: the fake writes it in 5-character chunks, 400 of
  them over about 2 s; the app must join them into about 20 frames a second.
- Stop: from sending `stop` to receiving the stopped request's `done` (goal: under 1 s).
"""

from __future__ import annotations

import json
import logging
import statistics
import time
from dataclasses import dataclass
from typing import Any

from bench.stack import Session, local_stack
from tests.fake_gemini import FakeGemini, streamed

log = logging.getLogger(__name__)

FIRST_CHUNK_DELAY = 0.2
# Not timed: the first send imports google.genai and makes its client.
WARMUP = 5
REQUESTS = 50
REPLY_CHARS = 2000
PIECE_CHARS = 5
PIECE_DELAY = 0.005
STOPS = 10


@dataclass(frozen=True)
class Streaming:
    first_delta_median_ms: float
    first_delta_p95_ms: float
    frames: int  # delta frames of one 2,000-character reply
    stream_seconds: float
    largest_frame_bytes: int
    stop_median_ms: float
    stop_max_ms: float

    @property
    def frames_per_second(self) -> float:
        return self.frames / self.stream_seconds


def _frame(connection: Any) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(connection.recv(timeout=60))
    return data


def _send(connection: Any, session: Session, request_id: str, message: str) -> None:
    connection.send(
        json.dumps(
            {
                "action": "send",
                "requestId": request_id,
                "sessionId": session.session_id,
                "token": session.token,
                "message": message,
            }
        )
    )


def _until(connection: Any, kind: str) -> tuple[list[dict[str, Any]], float]:
    frames = []
    while True:
        frames.append(_frame(connection))
        if frames[-1]["type"] in (kind, "error", "done"):
            if frames[-1]["type"] == "error":
                raise RuntimeError(f"the stream failed: {frames[-1]}")
            return frames, time.perf_counter()


def _first_deltas(connection: Any, fake: FakeGemini, session: Session) -> list[float]:
    waits = []
    for number in range(WARMUP + REQUESTS):
        fake.queue(streamed("first ", "second", first_delay=FIRST_CHUNK_DELAY))
        started = time.perf_counter()
        _send(connection, session, f"t{number}", f"question {number}")
        _, first = _until(connection, "delta")
        _until(connection, "done")
        if number >= WARMUP:
            waits.append((first - started - FIRST_CHUNK_DELAY) * 1000)
    return waits


def _long_reply(connection: Any, fake: FakeGemini, session: Session) -> tuple[int, float, int]:
    pieces = [f"w{n:03d} " for n in range(REPLY_CHARS // PIECE_CHARS)]
    fake.queue(streamed(*pieces, delay=PIECE_DELAY))
    started = time.perf_counter()
    _send(connection, session, "long", "a long one")
    frames, ended = _until(connection, "done")
    deltas = [f for f in frames if f["type"] == "delta"]
    if "".join(f["text"] for f in deltas) != "".join(pieces):
        raise RuntimeError("the deltas do not add up to the reply")
    largest = max(len(json.dumps(f).encode()) for f in frames)
    return len(deltas), ended - started, largest


def _stops(connection: Any, fake: FakeGemini, session: Session) -> list[float]:
    waits = []
    for number in range(STOPS):
        fake.queue(streamed(*[f"p{n} " for n in range(200)], delay=0.05))
        request_id = f"s{number}"
        _send(connection, session, request_id, "go on")
        _until(connection, "delta")
        started = time.perf_counter()
        connection.send(
            json.dumps(
                {
                    "action": "stop",
                    "requestId": request_id,
                    "sessionId": session.session_id,
                    "token": session.token,
                }
            )
        )
        frames, ended = _until(connection, "done")
        if not frames[-1]["stopped"]:
            raise RuntimeError("the stop did not stop the reply")
        waits.append((ended - started) * 1000)
    return waits


def run() -> Streaming:
    from websockets.sync.client import connect

    from scripts.websocket_gateway import start_websocket_gateway

    with FakeGemini() as fake:
        env = {"GEMINI_API_KEY": "bench-key", "GOOGLE_GEMINI_BASE_URL": fake.base_url}
        with local_stack(env) as stack:
            from app import app

            gateway = start_websocket_gateway(app, "127.0.0.1", 0)
            try:
                with connect(gateway.url) as connection:
                    waits = _first_deltas(connection, fake, stack.new_session())
                    frames, seconds, largest = _long_reply(connection, fake, stack.new_session())
                    stops = _stops(connection, fake, stack.new_session())
            finally:
                gateway.stop()
    result = Streaming(
        statistics.median(waits),
        statistics.quantiles(waits, n=20)[-1],
        frames,
        seconds,
        largest,
        statistics.median(stops),
        max(stops),
    )
    log.info("streaming: %s", result)
    return result
