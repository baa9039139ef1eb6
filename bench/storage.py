"""(a) What one send costs in DynamoDB as a conversation grows, and at three message
lengths, against the seed's design.

The app's send goes through its real route, with the real google-genai client
talking to the fake Gemini server, so every AWS call a send makes is counted.
Earlier exchanges are seeded in the store's own item format, with the session's
counters set as real sends set them (a check compares them with real sends);
the measured send is real, its quota reserved against limits raised for the
purpose. The seed-style store runs alongside, in the same moto.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from unittest import mock

from botocore.exceptions import ClientError

from bench import baseline, capacity
from bench.contention import Contention, measure_contention
from bench.counting import CallCounter, Measurement, ServiceCalls
from bench.stack import REPLY_CHARS, USER_CHARS, Session, Stack, local_stack, text_of
from chalicelib.core import aws
from chalicelib.core.settings import get_settings
from tests.fake_gemini import FakeGemini, reply_text

log = logging.getLogger(__name__)

CHECKPOINTS = (1, 10, 100, 200, 5000)
BASELINE_TABLE = "bench-seed-style-sessions"
# Message lengths measured on their own (user messages and replies alike), after
# this many exchanges: past HISTORY_MAX_MESSAGES and the character budget at each.
MESSAGE_LENGTHS = (20, 300, 3000)
LENGTH_HISTORY = 2000
# Real sends whose counters the seeding must reproduce.
SEED_CHECK_EXCHANGES = 3


@dataclass(frozen=True)
class SendCost:
    dynamodb_calls: int
    s3_calls: int
    other_calls: int
    request_bytes: int  # DynamoDB request bodies: bytes written
    response_bytes: int  # DynamoDB response bodies: bytes read
    operations: tuple[str, ...]
    write_units: int  # as DynamoDB would bill them (see capacity.py)
    read_units: int
    items_read: int

    @classmethod
    def of(cls, calls: Mapping[str, ServiceCalls], stored: capacity.StoredSize) -> SendCost:
        dynamodb = calls.get("dynamodb", ServiceCalls())
        s3 = calls.get("s3", ServiceCalls())
        others = sum(c.calls for name, c in calls.items() if name not in ("dynamodb", "s3"))
        units = capacity.of_calls(dynamodb.bodies, stored)
        return cls(
            dynamodb.calls,
            s3.calls,
            others,
            dynamodb.request_bytes,
            dynamodb.response_bytes,
            tuple(dynamodb.operations),
            units.write_units,
            units.read_units,
            units.items_read,
        )


@dataclass(frozen=True)
class LengthCost:
    """One send after LENGTH_HISTORY exchanges of messages of one length."""

    chars: int
    cost: SendCost
    messages_sent: int  # earlier messages that went to the model
    context_chars: int  # their characters
    baseline: SendCost | None  # None: the seed's item would be over 400 KB
    baseline_item_bytes: int


@dataclass(frozen=True)
class LongConversation:
    """The 5,000th send, and the session's counters after it."""

    messages_total: int  # what the reply's context says
    stored_messages: int
    message_count: int


@dataclass(frozen=True)
class SeedCheck:
    """The session counters left by real sends, and by seeding as many exchanges."""

    sent: tuple[int, int]  # (storedMessages, messageCount)
    seeded: tuple[int, int]

    @property
    def matches(self) -> bool:
        return self.sent == self.seeded


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
    lengths: tuple[LengthCost, ...]
    long_conversation: LongConversation
    seed_check: SeedCheck
    history_max_messages: int  # the setting the sends ran with
    # A first send without a token budget, with the operator's and an agent's, and with
    # those and the per-client message limit.
    budget: tuple[SendCost, SendCost, SendCost]
    contention: Contention


def _exchange_messages(
    count: int, user_chars: int = USER_CHARS, reply_chars: int = REPLY_CHARS
) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = []
    for number in range(count):
        user = text_of(user_chars, f"q{number}")
        messages.append(baseline.message(2 * number, "user", user))
        messages.append(baseline.message(2 * number + 1, "model", text_of(reply_chars, "a")))
    return messages


def _send(
    stack: Stack, counter: CallCounter, fake: FakeGemini, session: Session, chars: tuple[int, int]
) -> tuple[dict[str, Any], Measurement]:
    fake.queue(reply_text(text_of(chars[1], "reply")))
    with counter.measure() as measured:
        sent = stack.send(session, text_of(chars[0], "q"))
    return sent, measured


def measure_store(
    stack: Stack, counter: CallCounter, fake: FakeGemini
) -> tuple[dict[int, SendCost], LongConversation]:
    costs: dict[int, SendCost] = {}
    sent: dict[str, Any] = {}
    for exchange in CHECKPOINTS:
        session = stack.new_session()
        stack.seed_history(session, exchange - 1)
        sent, measured = _send(stack, counter, fake, session, (USER_CHARS, REPLY_CHARS))
        costs[exchange] = SendCost.of(measured.by_service, stack.stored_size)
        log.info("store, exchange %d: %s", exchange, costs[exchange])
    after = stack.session_item(session)
    last = LongConversation(
        int(sent["context"]["messagesTotal"]),
        int(after.get("storedMessages", 0)),
        int(after.get("messageCount", 0)),
    )
    return costs, last


def measure_lengths(
    stack: Stack, counter: CallCounter, fake: FakeGemini, seed_store: baseline.SeedStyleStore
) -> tuple[LengthCost, ...]:
    """A send after LENGTH_HISTORY exchanges of short, medium and long messages."""
    rows: list[LengthCost] = []
    for chars in MESSAGE_LENGTHS:
        session = stack.new_session()
        stack.seed_history(session, LENGTH_HISTORY, chars, chars)
        fake.clear()
        sent, measured = _send(stack, counter, fake, session, (chars, chars))
        history = fake.last_request.body["contents"][:-1]
        seed_cost, seed_size = _baseline_send(
            seed_store, counter, f"len-{chars}", LENGTH_HISTORY + 1, chars, stack
        )
        rows.append(
            LengthCost(
                chars,
                SendCost.of(measured.by_service, stack.stored_size),
                len(history),
                sum(len(part["text"]) for turn in history for part in turn["parts"]),
                seed_cost,
                seed_size,
            )
        )
        log.info("store, %d-character messages: %s", chars, rows[-1])
    return tuple(rows)


# Budgets no send here meets: the sends hold and settle their tokens, and are never refused.
BUDGETS = {"BUDGET_TOKENS_PER_DAY": "100000000", "LIMIT_TOKENS_PER_DAY": "100000000"}
# As a public deployment runs: the budgets and the default per-client message limit.
PUBLIC = {**BUDGETS, "LIMIT_MESSAGES_PER_CLIENT_PER_MINUTE": "20"}


def measure_budget(
    stack: Stack, counter: CallCounter, fake: FakeGemini
) -> tuple[SendCost, SendCost, SendCost]:
    """What the token budgets and the per-client limit add to a send: the same first
    send without them, with the budgets, and with both."""
    costs = []
    for limits in ({}, BUDGETS, PUBLIC):
        with mock.patch.dict(os.environ, limits):
            session = stack.new_session()
            _, measured = _send(stack, counter, fake, session, (USER_CHARS, REPLY_CHARS))
        costs.append(SendCost.of(measured.by_service, stack.stored_size))
        log.info("store, limits %s: %s", limits or "none", costs[-1])
    return costs[0], costs[1], costs[2]


def check_seeding(stack: Stack, fake: FakeGemini, counter: CallCounter) -> SeedCheck:
    """Real sends and seeding must leave the session's counters alike."""

    def counters(session: Session) -> tuple[int, int]:
        item = stack.session_item(session)
        return int(item.get("storedMessages", 0)), int(item.get("messageCount", 0))

    real = stack.new_session()
    for _ in range(SEED_CHECK_EXCHANGES):
        _send(stack, counter, fake, real, (USER_CHARS, REPLY_CHARS))
    seeded = stack.new_session()
    stack.seed_history(seeded, SEED_CHECK_EXCHANGES)
    return SeedCheck(counters(real), counters(seeded))


def _baseline_send(
    store: baseline.SeedStyleStore,
    counter: CallCounter,
    session_id: str,
    exchange: int,
    chars: int | None,
    stack: Stack,
) -> tuple[SendCost | None, int]:
    """The seed's design at one exchange: its cost, and its item's size after (or
    None and the size it would need, past DynamoDB's limit)."""
    user, reply = (chars, chars) if chars else (USER_CHARS, REPLY_CHARS)
    settings = baseline.SessionSettings()
    after = store.new_item("probe", _exchange_messages(exchange, user, reply), settings)
    if baseline.item_size(after) > baseline.ITEM_LIMIT_BYTES:
        return None, baseline.item_size(after)
    store.put(store.new_item(session_id, _exchange_messages(exchange - 1, user, reply), settings))
    with counter.measure() as measured:
        stored = store.send(session_id, text_of(user, "q"), text_of(reply))
    return SendCost.of(measured.by_service, stack.stored_size), baseline.item_size(stored)


def measure_baseline(
    store: baseline.SeedStyleStore, counter: CallCounter, stack: Stack
) -> tuple[dict[int, SendCost], dict[int, int]]:
    """One real send at each checkpoint the seed's design can still reach."""
    costs: dict[int, SendCost] = {}
    sizes: dict[int, int] = {}
    for exchange in CHECKPOINTS:
        cost, size = _baseline_send(store, counter, f"seed-{exchange}", exchange, None, stack)
        if cost is None:
            continue
        costs[exchange], sizes[exchange] = cost, size
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
        extra = {
            "GEMINI_API_KEY": "bench-key",
            "GOOGLE_GEMINI_BASE_URL": fake.base_url,
        }
        with local_stack(extra) as stack:
            seed_check = check_seeding(stack, fake, counter)
            store_costs, long_conversation = measure_store(stack, counter, fake)
            table = baseline.create_table(aws.get_dynamodb_resource(), BASELINE_TABLE)
            seed_store = baseline.SeedStyleStore(table)
            lengths = measure_lengths(stack, counter, fake, seed_store)
            baseline_costs, sizes = measure_baseline(seed_store, counter, stack)
            failure = find_failure(seed_store)
            budget = measure_budget(stack, counter, fake)
        # On an empty table: moto copies the tables a transaction touches, so 50 new agents
        # on the table of 5,000 exchanges would take minutes.
        with local_stack(extra) as stack:
            contention = measure_contention(stack, counter, fake)
            log.info("store, %s", contention.line())
        cap = get_settings().history_max_messages
    return StorageResult(
        store_costs,
        baseline_costs,
        sizes,
        failure,
        lengths,
        long_conversation,
        seed_check,
        cap,
        budget,
        contention,
    )
