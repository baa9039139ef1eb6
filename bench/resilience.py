"""(e) Resilience: the soak under DynamoDB faults, and one hot config's transaction conflicts.

The app runs as its own process, as `make run` starts it, on a moto server behind
the fault proxy of the test suite (tests/fault_proxy.py); the same checks as the
suite's read storage itself afterwards, so every figure here can come out wrong.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

from tests.fault_proxy import FaultProxy
from tests.resilience.harness import Storage, moto_server, start_app
from tests.resilience.soak import LIMITS, HotConfigReport, SoakReport, hot_config, soak

HOT_SENDERS = 50
# Above this share of cancelled transactions, one config's shared items are a bottleneck.
CONFLICT_TARGET = 0.05


@dataclass(frozen=True)
class ResilienceResult:
    soak: SoakReport
    hot: HotConfigReport

    def lines(self) -> list[str]:
        soak_ok = (self.soak.lost, self.soak.stray, len(self.soak.counter_mismatches)) == (0, 0, 0)
        return [
            "(e) resilience",
            f"  soak: {self.soak.line()}",
            f"  soak target: nothing lost, nothing stray, counters exact: "
            f"{'met' if soak_ok and not self.soak.bad_errors else 'MISSED'}",
            f"  hot config: {self.hot.line()}",
            f"  hot config target: under {CONFLICT_TARGET:.0%} of transactions cancelled, "
            f"counters exact: {'met' if self.met_hot else 'MISSED'}",
        ]

    @property
    def met_hot(self) -> bool:
        return self.hot.conflict_rate < CONFLICT_TARGET and not self.hot.counter_mismatches


def run() -> ResilienceResult:
    with tempfile.TemporaryDirectory() as scratch, moto_server() as url:
        storage = Storage.at(url)
        with FaultProxy(url, seed=7) as proxy:
            app = start_app(proxy.url, Path(scratch) / "app.log", **LIMITS)
            try:
                soaked = soak(
                    app.port, proxy, storage, sends=500, sessions=20, threads=10, fault_rate=0.2
                )
                hot = hot_config(app.port, proxy, storage, senders=HOT_SENDERS, sends_each=4)
            finally:
                app.kill()
    return ResilienceResult(soaked, hot)
