"""The soak: many sends under random storage faults, then a check of storage itself.

Used by tests/resilience/test_soak.py, which asserts on the report, and by
`make bench`, which prints it.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from tests.fault_proxy import INTERNAL_ERROR, THROTTLED, THROTTLING, FaultProxy
from tests.resilience.client import Answer, call
from tests.resilience.harness import Storage

CONFIG = {"title": "Soak", "model": "gemini-2.5-flash", "systemPrompt": "", "temperature": 0.5}
# The app's limits, raised so that only faults refuse a send; a budget, so that every send
# holds and settles its tokens too.
LIMITS = {
    "LIMIT_MESSAGES_PER_SESSION": "1000",
    "LIMIT_MESSAGES_PER_DAY": "100000",
    "BUDGET_TOKENS_PER_DAY": "100000000",
}
# What a session's totals count of the budget: Gemini's totalTokenCount.
TOKEN_TOTALS = ("promptTokens", "replyTokens", "toolUsePromptTokens", "thinkingTokens")
DYNAMODB_FAULTS = (THROTTLED, THROTTLING, INTERNAL_ERROR, "conflict")


@dataclass
class SoakReport:
    sends: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    faults: int = 0
    calls: int = 0
    retries: int = 0
    stored: int = 0
    lost: int = 0  # answered 200, not stored
    stray: int = 0  # stored, though answered with an error
    duplicated: int = 0
    half_stored: int = 0
    unmatched_replies: int = 0
    bad_errors: list[str] = field(default_factory=list)
    counter_mismatches: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def line(self) -> str:
        return (
            f"{self.sends} sends, {self.faults} faults injected in {self.calls} DynamoDB calls, "
            f"{self.retries} retries, {self.statuses[200]} answered 200, "
            f"{self.statuses[503]} answered 503, "
            f"stored {self.stored}, lost {self.lost}, stray {self.stray}, "
            f"counters off {len(self.counter_mismatches)} ({self.seconds:.0f} s)"
        )


def soak(
    port: int,
    proxy: FaultProxy,
    storage: Storage,
    *,
    sends: int,
    sessions: int,
    threads: int,
    fault_rate: float,
    refusals: tuple[str, ...] = (),
) -> SoakReport:
    """Send `sends` messages over `sessions` sessions while DynamoDB calls fail at random.
    A 429 with one of the `refusals` codes is an expected answer, as a 503 is."""
    started = time.monotonic()
    server_before = server_counts(storage)
    config = call(port, "POST", "/create-chat", CONFIG).body
    opened = [
        call(port, "POST", "/chat-session", {"chatConfigId": config["chatConfigId"]}).body
        for _ in range(sessions)
    ]
    before = proxy.tally.snapshot()
    proxy.add("dynamodb.*", *DYNAMODB_FAULTS, rate=fault_rate)
    answers: dict[str, Answer] = {}
    lock = threading.Lock()

    def send(number: int) -> None:
        session = opened[number % sessions]
        text = f"message {number}"
        body = {"sessionId": session["sessionId"], "message": text}
        answer = call(port, "POST", "/session-message", body, token=session["sessionToken"])
        with lock:
            answers[text] = answer

    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(send, range(sends)))
    proxy.clear()
    during = proxy.tally.since(before)
    report = SoakReport(
        sends=sends,
        statuses=Counter(answer.status for answer in answers.values()),
        faults=during.faults_injected,
        calls=sum(n for op, n in during.requests.items() if op.startswith("dynamodb.")),
        retries=during.retries,
    )
    for text, answer in answers.items():
        refused = answer.status == 429 and answer.body.get("code") in refusals
        if (
            answer.status != 200
            and not refused
            and not (
                answer.status == 503
                and answer.body.get("code") == "storage_unavailable"
                and int(answer.headers.get("retry-after", "0")) >= 1
            )
        ):
            report.bad_errors.append(f"{text}: {answer.status} {answer.body}")
    _check_storage(report, storage, opened, answers, config["chatConfigId"], port, server_before)
    report.seconds = time.monotonic() - started
    return report


def _exchanges(storage: Storage, session_id: str, report: SoakReport) -> dict[str, str]:
    items = storage.partition(f"SESSION#{session_id}")
    messages = [item for item in items if str(item["sk"]).startswith("MSG#")]
    pairs: dict[str, str] = {}
    for index in range(0, len(messages) - 1, 2):
        user, reply = messages[index], messages[index + 1]
        if user["sk"][:-2] != reply["sk"][:-2] or (user["role"], reply["role"]) != (
            "user",
            "model",
        ):
            report.half_stored += 1
            continue
        if user["content"] in pairs:
            report.duplicated += 1
        pairs[str(user["content"])] = str(reply["content"])
    report.half_stored += len(messages) % 2
    return pairs


def _check_storage(
    report: SoakReport,
    storage: Storage,
    sessions: list[dict[str, Any]],
    answers: dict[str, Answer],
    config_id: str,
    port: int,
    server_before: ServerCounts,
) -> None:
    stored: dict[str, str] = {}
    for session in sessions:
        stored.update(_exchanges(storage, session["sessionId"], report))
    answered = {text for text, answer in answers.items() if answer.status == 200}
    report.stored = len(stored)
    report.lost = len(answered - set(stored))
    report.stray = len(set(stored) - answered)
    report.unmatched_replies = sum(
        1
        for text in answered & set(stored)
        if answers[text].body["reply"]["content"] != stored[text]
    )
    report.counter_mismatches += _counters_after_settling(
        storage, sessions, config_id, port, server_before
    )


ServerCounts = tuple[int, int, int, int]


def server_counts(storage: Storage) -> ServerCounts:
    """The operator's budget (held, reserved) and day counters (tokens, messages)."""
    budget = storage.partition("OPERATOR", "BUDGET#")
    days = storage.partition("OPERATOR", "DAY#")

    def total(items: list[dict[str, Any]], name: str) -> int:
        return sum(int(str(item.get(name, 0))) for item in items)

    return (
        total(budget, "tokens"),
        total(budget, "reserved"),
        total(days, "tokens"),
        total(days, "messages"),
    )


def _minus(after: ServerCounts, before: ServerCounts) -> ServerCounts:
    return (
        after[0] - before[0],
        after[1] - before[1],
        after[2] - before[2],
        after[3] - before[3],
    )


def _counters_after_settling(
    storage: Storage,
    sessions: list[dict[str, Any]],
    config_id: str,
    port: int,
    server_before: ServerCounts,
) -> list[str]:
    """Where a session's, the config's or the server's counter is not what storage holds."""
    _settle_dead_reservations(storage, sessions, port)
    mismatches: list[str] = []
    total = 0
    for session in sessions:
        counted = int(storage.session_item(session["sessionId"]).get("messageCount", 0))
        in_storage = len(_exchanges(storage, session["sessionId"], SoakReport()))
        total += in_storage
        if counted != in_storage:
            mismatches.append(f"session {session['sessionId']}: {counted} != {in_storage}")
    day = storage.day_count(config_id)
    if day != total:
        mismatches.append(f"config's day counter: {day} != {total}")
    used = sum(
        int(storage.session_item(session["sessionId"]).get(name, 0))
        for session in sessions
        for name in TOKEN_TOTALS
    )
    # The server's own counters also hold what ran before on this storage: compare what
    # changed since `server_before`.
    held, reserved, counted_tokens, counted_messages = _minus(server_counts(storage), server_before)
    if (held, reserved) != (used, 0):
        mismatches.append(f"budget: {held} held, {reserved} reserved; replies used {used}")
    # The operator's view adds up the same tokens, and one message per stored exchange.
    if (counted_tokens, counted_messages) != (used, total):
        mismatches.append(
            f"operator's day: {counted_tokens} tokens, {counted_messages} messages; "
            f"stored {used} tokens, {total} exchanges"
        )
    return mismatches


def _settle_dead_reservations(storage: Storage, sessions: list[dict[str, Any]], port: int) -> None:
    """A send whose quota could not be given back leaves a reservation; the session's next send
    after its lease gives it back. Make that send, so the counters can be checked exactly."""
    for session in sessions:
        held = storage.reservations(session["sessionId"])
        if not held:
            continue
        lease_end = max(int(item["leaseUntil"]) for item in held) / 1000
        time.sleep(max(0.0, lease_end - time.time()) + 0.2)
        body = {
            "sessionId": session["sessionId"],
            "message": f"after the soak {session['sessionId']}",
        }
        call(port, "POST", "/session-message", body, token=session["sessionToken"])


@dataclass
class HotConfigReport:
    senders: int
    sends: int
    statuses: Counter[int]
    transactions: int
    conflicts: int
    seconds: float
    counter_mismatches: list[str]
    # Reservations left by refused sends whose release lost to conflicts as well.
    held_after: int = 0

    @property
    def conflict_rate(self) -> float:
        return self.conflicts / max(1, self.transactions)

    def line(self) -> str:
        return (
            f"{self.senders} senders on one config, {self.sends} sends: "
            f"{self.transactions} transactions ({self.transactions / self.seconds:.0f}/s), "
            f"{self.conflicts} cancelled by a conflict and retried "
            f"({100 * self.conflict_rate:.1f}%), {self.statuses[200]} answered 200, "
            f"{self.statuses[503]} answered 503, "
            f"{self.held_after} quotas left held (given back by the next send)"
        )


def hot_config(
    port: int,
    proxy: FaultProxy,
    storage: Storage,
    *,
    senders: int,
    sends_each: int,
    conflict_window: float = 0.02,
) -> HotConfigReport:
    """Many sessions of one config sending at once, with DynamoDB's transaction conflicts
    (a transaction works on its items for `conflict_window` seconds)."""
    server_before = server_counts(storage)
    config = call(port, "POST", "/create-chat", CONFIG).body
    opened = [
        call(port, "POST", "/chat-session", {"chatConfigId": config["chatConfigId"]}).body
        for _ in range(senders)
    ]
    statuses: Counter[int] = Counter()
    lock = threading.Lock()

    def sender(session: dict[str, Any]) -> None:
        for number in range(sends_each):
            body = {"sessionId": session["sessionId"], "message": f"hot {number}"}
            answer = call(port, "POST", "/session-message", body, token=session["sessionToken"])
            with lock:
                statuses[answer.status] += 1

    before = proxy.tally.snapshot()
    proxy.conflict_mode, proxy.conflict_window = True, conflict_window
    started = time.monotonic()
    with ThreadPoolExecutor(senders) as pool:
        list(pool.map(sender, opened))
    seconds = time.monotonic() - started
    proxy.clear()
    during = proxy.tally.since(before)
    report = HotConfigReport(
        senders=senders,
        sends=senders * sends_each,
        statuses=statuses,
        transactions=during.requests["dynamodb.TransactWriteItems"],
        conflicts=during.conflicts,
        seconds=seconds,
        counter_mismatches=[],
    )
    scratch = SoakReport()
    stored = sum(len(_exchanges(storage, s["sessionId"], scratch)) for s in opened)
    if stored != statuses[200]:
        report.counter_mismatches.append(f"stored {stored} != answered 200 {statuses[200]}")
    # A refused send whose quota could not be given back (its release lost to conflicts
    # too) holds a reservation until its lease ends, as the soak's do.
    report.held_after = sum(len(storage.reservations(s["sessionId"])) for s in opened)
    report.counter_mismatches += _counters_after_settling(
        storage, opened, config["chatConfigId"], port, server_before
    )
    return report
