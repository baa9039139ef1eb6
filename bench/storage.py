"""(a) What one send costs in DynamoDB as a conversation grows, against the seed's design.

The app's send goes through its real route, with the real google-genai client
talking to the fake Gemini server, so every AWS call a send makes is counted.
Earlier exchanges are seeded in the store's own format; the measured send is
real. The seed-style store runs alongside, in the same moto.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from bench import baseline
from bench.counting import CallCounter, ServiceCalls
from bench.stack import REPLY_CHARS, USER_CHARS, Stack, local_stack, text_of
from chalicelib.core import aws
from tests.fake_gemini import FakeGemini, reply_text

log = logging.getLogger(__name__)

CHECKPOINTS = (1, 10, 100, 200, 5000)
BASELINE_TABLE = "bench-seed-style-sessions"


@dataclass(frozen=True)
class SendCost:
    dynamodb_calls: int
    s3_calls: int
    other_calls: int
    request_bytes: int  # DynamoDB request bodies
    response_bytes: int  # DynamoDB response bodies
    operations: tuple[str, ...]

    @classmethod
    def of(cls, calls: Mapping[str, ServiceCalls]) -> SendCost:
        dynamodb = calls.get("dynamodb", ServiceCalls())
        s3 = calls.get("s3", ServiceCalls())
        others = sum(c.calls for name, c in calls.items() if name not in ("dynamodb", "s3"))
        return cls(
            dynamodb.calls,
            s3.calls,
            others,
            dynamodb.request_bytes,
            dynamodb.response_bytes,
            tuple(dynamodb.operations),
        )


@dataclass(frozen=True)
class BaselineFailure:
    exchange: int  # the first exchange whose item DynamoDB would refuse
    item_bytes: int  # that item's size by DynamoDB's rules
    moto_refused_at: int | None  # the exchange moto refused, when it did
    moto_error: str


@dataclass(frozen=True)
class StorageResult:
    store: dict[int, SendCost]
    baseline: dict[int, SendCost]
    baseline_item_bytes: dict[int, int]
    failure: BaselineFailure


def _exchange_messages(count: int) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = []
    for number in range(count):
        messages.append(baseline.message(2 * number, "user", text_of(USER_CHARS, f"q{number}")))
        messages.append(baseline.message(2 * number + 1, "model", text_of(REPLY_CHARS, "a")))
    return messages


def measure_store(stack: Stack, counter: CallCounter, fake: FakeGemini) -> dict[int, SendCost]:
    costs: dict[int, SendCost] = {}
    for exchange in CHECKPOINTS:
        session = stack.new_session()
        stack.seed_history(session, exchange - 1)
        fake.queue(reply_text(text_of(REPLY_CHARS, "reply")))
        with counter.measure() as measured:
            stack.send(session, text_of(USER_CHARS, f"q{exchange}"))
        costs[exchange] = SendCost.of(measured.by_service)
        log.info("store, exchange %d: %s", exchange, costs[exchange])
    return costs


def measure_baseline(
    store: baseline.SeedStyleStore, counter: CallCounter
) -> tuple[dict[int, SendCost], dict[int, int]]:
    """One real send at each checkpoint the seed's design can still reach."""
    costs: dict[int, SendCost] = {}
    sizes: dict[int, int] = {}
    settings = baseline.SessionSettings()
    for exchange in CHECKPOINTS:
        after = store.new_item("probe", _exchange_messages(exchange), settings)
        if baseline.item_size(after) > baseline.ITEM_LIMIT_BYTES:
            continue
        store.put(store.new_item(f"seed-{exchange}", _exchange_messages(exchange - 1), settings))
        with counter.measure() as measured:
            stored = store.send(f"seed-{exchange}", text_of(USER_CHARS, "q"), text_of(REPLY_CHARS))
        costs[exchange] = SendCost.of(measured.by_service)
        sizes[exchange] = baseline.item_size(stored)
        log.info("seed-style, exchange %d: %s", exchange, costs[exchange])
    return costs, sizes


def find_failure(store: baseline.SeedStyleStore) -> BaselineFailure:
    """The first exchange the seed's design cannot store, computed and then tried in moto.

    moto checks item size with its own, looser arithmetic (405,000 bytes, no
    list or map overheads), so its verdict is reported next to the computed one.
    """
    settings = baseline.SessionSettings()
    exchange = 0
    while True:
        exchange += 1
        size = baseline.item_size(store.new_item("probe", _exchange_messages(exchange), settings))
        if size > baseline.ITEM_LIMIT_BYTES:
            break
    start = exchange - 3
    store.put(store.new_item("limit", _exchange_messages(start), settings))
    for attempt in range(start + 1, exchange + 4):
        try:
            store.send("limit", text_of(USER_CHARS, "q"), text_of(REPLY_CHARS))
        except ClientError as exc:
            error = exc.response.get("Error", {})
            reason = f"{error.get('Code')}: {error.get('Message')}"
            return BaselineFailure(exchange, size, attempt, reason)
    return BaselineFailure(exchange, size, None, "moto stored every exchange tried")


def run(counter: CallCounter) -> StorageResult:
    with FakeGemini() as fake:
        extra = {"GEMINI_API_KEY": "bench-key", "GOOGLE_GEMINI_BASE_URL": fake.base_url}
        with local_stack(extra) as stack:
            store_costs = measure_store(stack, counter, fake)
            table = baseline.create_table(aws.get_dynamodb_resource(), BASELINE_TABLE)
            seed_store = baseline.SeedStyleStore(table)
            baseline_costs, sizes = measure_baseline(seed_store, counter)
            failure = find_failure(seed_store)
    return StorageResult(store_costs, baseline_costs, sizes, failure)
