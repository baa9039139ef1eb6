"""How often concurrent sends meet on one item of the operator's budget.

DynamoDB cancels a transaction that touches an item another transaction is changing
(TransactionConflict), so sends that hold their budget on one item could conflict.
The budget is sharded to make that rare. moto applies transactions one at a time and
never conflicts, so what is measured is where 50 sends started at once hold their
budget: the share of pairs of them whose holds name the same item, which is the
chance that two sends in flight together could conflict. Unsharded, it would be 100%.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from unittest import mock

from moto.core.botocore_stubber import BotocoreStubber

from bench.counting import CallCounter
from bench.stack import Session, Stack, text_of
from chalicelib.schemas import MessageSend
from chalicelib.services import conversation
from tests.fake_gemini import FakeGemini, reply_text

SENDERS = 50
# 50 sends through one moto, one call at a time, on a busy machine may take longer than
# a request's deadline; what is measured here is where they hold, not how fast.
BUDGET = {
    "BUDGET_TOKENS_PER_DAY": "100000000",
    "REQUEST_DEADLINE_SECONDS": "120",
    "MODEL_TIMEOUT_SECONDS": "120",
}


@dataclass(frozen=True)
class Contention:
    senders: int
    # The share of pairs of concurrent sends whose budget holds met on one item.
    pair_share: float
    # Items the holds spread over, and the most sends on one of them.
    items: int
    busiest: int
    # Sends that tried their reservation more than once (a hold without room, read again).
    retried: int
    failed: int
    failed_with: str  # the failures' kinds, if any

    def line(self) -> str:
        return (
            f"budget's hot items, {self.senders} sends at once: {self.pair_share:.1%} of pairs "
            f"meet on one item (unsharded: 100%), over {self.items} items, at most "
            f"{self.busiest} sends on one; {self.retried} retried a hold, {self.failed} failed"
            + (f" ({self.failed_with})" if self.failed else "")
        )


def _budget_keys(request: dict[str, Any]) -> list[str]:
    """The operator's budget items a reservation's transaction holds tokens on."""
    keys = []
    for entry in request.get("TransactItems", []):
        update = entry.get("Update")
        if not update or "#reserved :n" not in update.get("UpdateExpression", ""):
            continue
        key = update["Key"]
        if key["pk"].get("S") == "OPERATOR":
            keys.append(key["sk"]["S"])
    return keys


@contextmanager
def _moto_one_call_at_a_time() -> Iterator[None]:
    """moto's in-process backends are not thread-safe; DynamoDB applies each write
    atomically, and one lock around moto's stub does the same (as the tests' moto does)."""
    lock = threading.Lock()
    stub = BotocoreStubber.__call__

    def serialized(self: Any, *args: Any, **kwargs: Any) -> Any:
        with lock:
            return stub(self, *args, **kwargs)

    with mock.patch.object(BotocoreStubber, "__call__", serialized):
        yield


def measure_contention(stack: Stack, counter: CallCounter, fake: FakeGemini) -> Contention:
    from bench.stack import environment

    with environment(BUDGET):
        sessions: list[Session] = [stack.new_session() for _ in range(SENDERS)]
        fake.queue(*[reply_text(text_of(200, "reply"))] * SENDERS)
        start = threading.Barrier(SENDERS)
        failures: list[Exception] = []

        def sender(session: Session) -> None:
            # Through the service, as the routes call it: Chalice's test client keeps one
            # current request per app, so it cannot serve threads at once.
            request = MessageSend(session_id=session.session_id, message=text_of(200, "q"))
            start.wait()
            try:
                conversation.send_message(session.token, request, None)
            except Exception as exc:  # noqa: BLE001 - counted and reported
                failures.append(exc)

        with counter.measure() as measured, _moto_one_call_at_a_time():
            threads = [threading.Thread(target=sender, args=(s,)) for s in sessions]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=120)
    holds = [
        _budget_keys(call.request)
        for call in measured.by_service["dynamodb"].bodies
        if call.operation == "TransactWriteItems"
    ]
    # Every try of a reservation is a transaction in flight; a send with two tried again.
    holds = [keys for keys in holds if keys]
    retried = max(0, len(holds) - SENDERS)
    per_item: dict[str, int] = {}
    for keys in holds:
        for key in set(keys):
            per_item[key] = per_item.get(key, 0) + 1
    sharing = sum(n * (n - 1) // 2 for n in per_item.values())
    pairs = len(holds) * (len(holds) - 1) // 2
    return Contention(
        SENDERS,
        sharing / pairs if pairs else 0.0,
        len(per_item),
        max(per_item.values(), default=0),
        retried,
        len(failures),
        ", ".join(sorted({f"{type(f).__name__}: {f}"[:120] for f in failures})),
    )
