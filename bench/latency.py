"""(c) Server-side time of one send, in process, at a short and a long history.

The send goes through the real route with the app's own instant offline model
(no Gemini key, stage dev), against moto in this process. The app's time is
the whole send less the time spent inside moto's stub, which stands in for
DynamoDB and the network (and whose cost grows with the table, unlike
DynamoDB's: see bench/counting.py). Each timed send's exchange is then deleted,
so every send sees the same history. The settings are the defaults:
HISTORY_CHAR_BUDGET bounds how much history a send reads and sends, which is
what can keep the time flat.
"""

from __future__ import annotations

import logging
import statistics
import time
from dataclasses import dataclass

from bench.counting import CallCounter
from bench.stack import USER_CHARS, Stack, local_stack, text_of
from chalicelib.core.settings import get_settings

log = logging.getLogger(__name__)

HISTORIES = (10, 1000)
WARMUP_SENDS = 5
TIMED_SENDS = 30


@dataclass(frozen=True)
class SendTime:
    history: int
    app_median_ms: float  # the send less moto's stub
    app_p90_ms: float
    total_median_ms: float  # including moto's stub


@dataclass(frozen=True)
class Latency:
    times: tuple[SendTime, ...]
    history_char_budget: int
    max_output_tokens: int

    @property
    def ratio(self) -> float:
        return self.times[-1].app_median_ms / self.times[0].app_median_ms


def _time_sends(stack: Stack, counter: CallCounter, history: int) -> SendTime:
    session = stack.new_session()
    stack.seed_history(session, history)
    app_ms: list[float] = []
    total_ms: list[float] = []
    for number in range(WARMUP_SENDS + TIMED_SENDS):
        with counter.measure() as measured:
            start = time.perf_counter()
            sent = stack.send(session, text_of(USER_CHARS, f"q{number}"))
            elapsed = time.perf_counter() - start
        stack.forget_exchange(session, sent)
        if number >= WARMUP_SENDS:
            total_ms.append(elapsed * 1000)
            app_ms.append((elapsed - measured.aws_seconds) * 1000)
    result = SendTime(
        history,
        statistics.median(app_ms),
        statistics.quantiles(app_ms, n=10)[-1],
        statistics.median(total_ms),
    )
    log.info("history %d: %s", history, result)
    return result


def run(counter: CallCounter) -> Latency:
    with local_stack() as stack:
        settings = get_settings()
        times = tuple(_time_sends(stack, counter, history) for history in HISTORIES)
    return Latency(times, settings.history_char_budget, settings.max_output_tokens)
