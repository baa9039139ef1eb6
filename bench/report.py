"""The benchmark's table: figures, then each target with the figure that decides it."""

from __future__ import annotations

import platform
from dataclasses import dataclass
from importlib.metadata import version

from bench.baseline import ITEM_LIMIT_BYTES
from bench.cold_start import RUNS, ColdStart
from bench.latency import Latency
from bench.stack import REPLY_CHARS, USER_CHARS
from bench.storage import (
    CHECKPOINTS,
    LENGTH_HISTORY,
    SEED_CHECK_EXCHANGES,
    LengthCost,
    SendCost,
    StorageResult,
)
from bench.streaming import FIRST_CHUNK_DELAY, REQUESTS, STOPS, Streaming
from bench.streaming import REPLY_CHARS as STREAMED_CHARS

ZIP_GOAL_BYTES = 9_000_000


@dataclass(frozen=True)
class Target:
    name: str
    met: bool
    figure: str


def _n(value: float) -> str:
    return f"{value:,.0f}"


def _header() -> list[str]:
    return [
        f"AI Maker benchmark: Python {platform.python_version()}, moto {version('moto')}, "
        f"{platform.machine()}, {platform.system()}",
        f"An exchange is a {USER_CHARS:,}-character message and a {REPLY_CHARS:,}-character reply.",
        "",
    ]


def _cost(cost: SendCost, s3: bool = True) -> str:
    """calls [S3] written read WCU RCU, as one row's cells."""
    calls = f"{cost.dynamodb_calls:>5} " + (f"{cost.s3_calls:>3} " if s3 else "")
    return (
        f"{calls}{_n(cost.request_bytes):>9} {_n(cost.response_bytes):>9} "
        f"{cost.write_units:>5} {cost.read_units:>5}"
    )


_COLUMNS = f"{'calls':>5} {'S3':>3} {'written':>9} {'read':>9} {'WCU':>5} {'RCU':>5}"
_SEED_COLUMNS = f"{'calls':>5} {'written':>9} {'read':>9} {'WCU':>5} {'RCU':>5} {'item size':>10}"


def _seed_cells(seed: SendCost | None, item_bytes: int) -> str:
    if seed is None:
        return f"item over 400 KB ({_n(item_bytes)} bytes)"
    return f"{_cost(seed, s3=False)} {_n(item_bytes):>10}"


def _storage(result: StorageResult) -> list[str]:
    failure = result.failure
    lines = [
        "(a) DynamoDB cost of one send as the conversation grows: body bytes written and read,",
        "    and capacity units as DynamoDB bills them (WCU: 1 KB per item, x2 in a transaction;",
        "    RCU: strongly consistent, 4 KB of the items each read returns)",
        f"{'':10}{'this app: one item per message':<41}seed's design: one item per session",
        f"{'exchange':>8}  {_COLUMNS}{'':4}{_SEED_COLUMNS}",
    ]
    for exchange in CHECKPOINTS:
        row = f"{exchange:>8,}  {_cost(result.store[exchange])}{'':4}"
        seed = result.baseline.get(exchange)
        if seed is not None:
            row += _seed_cells(seed, result.baseline_item_bytes[exchange])
        else:
            row += f"fails from exchange {failure.exchange:,}"
        lines.append(row)
    store_ratio, seed_ratio = _request_ratios(result)
    operations = ", ".join(result.store[CHECKPOINTS[-1]].operations)
    moto = (
        f"moto refused exchange {failure.moto_refused_at:,} too ({failure.moto_error})"
        if failure.moto_refused_at is not None
        else f"moto did not refuse it ({failure.moto_error})"
    )
    long = result.long_conversation
    seeding = result.seed_check
    lines += [
        f"{'':10}request bytes, exchange 200 / exchange 1: this app {store_ratio:.2f}x, "
        f"seed's design {seed_ratio:.1f}x",
        f"{'':10}this app's calls per send: {operations}",
        f"{'':10}exchange 5,000: context.messagesTotal {long.messages_total:,}; after it the "
        f"session holds storedMessages {long.stored_messages:,}, messageCount "
        f"{long.message_count:,}",
        f"{'':10}seeded counters (storedMessages, messageCount) {seeding.seeded} vs "
        f"{SEED_CHECK_EXCHANGES} real sends {seeding.sent}",
        f"{'':10}seed's design: exchange {failure.exchange:,} makes the item "
        f"{failure.item_bytes:,} bytes by DynamoDB's sizing rules, over the "
        f"{ITEM_LIMIT_BYTES:,}-byte (400 KB) limit;",
        f"{'':10}{moto}",
        f"{'':10}a first send, without token budgets / with the operator's and an agent's / "
        f"and a per-client limit: "
        f"{' / '.join(str(cost.dynamodb_calls) for cost in result.budget)} DynamoDB calls, "
        f"{' / '.join(str(cost.write_units) for cost in result.budget)} WCU",
        f"{'':10}{result.contention.line()}",
        "",
        *_lengths(result.lengths),
    ]
    return lines


def _lengths(rows: tuple[LengthCost, ...]) -> list[str]:
    lines = [
        f"(a') One send after {LENGTH_HISTORY:,} exchanges whose messages and replies all have "
        "one length (defaults of HISTORY_CHAR_BUDGET and HISTORY_MAX_MESSAGES)",
        f"{'':10}{'this app':<41}{'sent as context':<22}seed's design",
        f"{'chars':>8}  {_COLUMNS} {'items':>5}  {'msgs':>5} {'chars':>8}    {_SEED_COLUMNS}",
    ]
    for row in rows:
        lines.append(
            f"{row.chars:>8,}  {_cost(row.cost)} {row.cost.items_read:>5}  "
            f"{row.messages_sent:>5} {_n(row.context_chars):>8}    "
            f"{_seed_cells(row.baseline, row.baseline_item_bytes)}"
        )
    lines += [
        f"{'':10}items: what the send's Query read (the session item, the messages, one more)",
        "",
    ]
    return lines


def _request_ratios(result: StorageResult) -> tuple[float, float]:
    def ratio(costs: dict[int, SendCost]) -> float:
        return costs[200].request_bytes / costs[1].request_bytes

    return ratio(result.store), ratio(result.baseline)


def _cold(cold: ColdStart) -> list[str]:
    lines = [
        f"(b) Cold import, median of {RUNS} fresh interpreters",
        f"{'':10}{'import app':<52}{cold.import_ms:>7.0f} ms",
        f"{'':10}{'import google.genai, then app (as if eager)':<52}"
        f"{cold.eager_import_ms:>7.0f} ms   lazy is {cold.eager_ratio:.1f}x faster",
        f"{'':10}{'import app, then the first message send':<52}"
        f"{cold.import_and_send_ms:>7.0f} ms   (the send imports google.genai)",
    ]
    if cold.zip_with_bytecode_ms is not None and cold.zip_without_bytecode_ms is not None:
        lines += [
            f"{'':10}{'import app from the Lambda zip, as packaged (.pyc)':<52}"
            f"{cold.zip_with_bytecode_ms:>7.0f} ms",
            f"{'':10}{'import app from the Lambda zip without its .pyc':<52}"
            f"{cold.zip_without_bytecode_ms:>7.0f} ms",
        ]
    if cold.zip_bytes is not None:
        lines.append(f"{'':10}{'size of the Lambda zip':<52}{_mb(cold.zip_bytes)}")
    return [*lines, ""]


def _mb(size: int) -> str:
    return f"{size / 1e6:>7.1f} MB"


def _latency(latency: Latency) -> list[str]:
    lines = [
        "(c) Server-side time of one send: instant offline model, defaults "
        f"HISTORY_CHAR_BUDGET={latency.history_char_budget}, "
        f"MAX_OUTPUT_TOKENS={latency.max_output_tokens}",
        f"{'history':>18} {'app median':>11} {'app p90':>9} {'with moto':>10}",
    ]
    for sample in latency.times:
        lines.append(
            f"{f'{sample.history:,} exchanges':>18} {sample.app_median_ms:>8.1f} ms "
            f"{sample.app_p90_ms:>6.1f} ms {sample.total_median_ms:>7.1f} ms"
        )
    lines += [
        f"{'':10}app time, history 1,000 / history 10: {latency.ratio:.2f}x "
        '("with moto" adds moto\'s own work, which grows with the table)',
        "",
    ]
    return lines


def _streaming(result: Streaming) -> list[str]:
    return [
        "(d) Streaming over the WebSocket API: local gateway, in-process moto, fake Gemini",
        f"{'':10}time to first delta, less the model's {FIRST_CHUNK_DELAY * 1000:.0f} ms "
        f"first-chunk delay, {REQUESTS} requests: median {result.first_delta_median_ms:.1f} ms, "
        f"p95 {result.first_delta_p95_ms:.1f} ms",
        f"{'':10}a {STREAMED_CHARS:,}-character reply in {STREAMED_CHARS // 5} chunks: "
        f"{result.frames} delta frames in {result.stream_seconds:.2f} s "
        f"({result.frames_per_second:.1f} a second), largest frame "
        f"{result.largest_frame_bytes:,} bytes",
        f"{'':10}stop to the stopped reply's done, {STOPS} stops: median "
        f"{result.stop_median_ms:.0f} ms, max {result.stop_max_ms:.0f} ms",
        "",
    ]


def targets(
    storage: StorageResult, cold: ColdStart, latency: Latency, streaming: Streaming
) -> list[Target]:
    costs = [*storage.store.values(), *(row.cost for row in storage.lengths), *storage.budget]
    calls = max(cost.dynamodb_calls for cost in costs)
    s3 = max(cost.s3_calls for cost in costs)
    store_ratio, seed_ratio = _request_ratios(storage)
    long = storage.long_conversation
    items = [row.cost.items_read for row in storage.lengths]
    page = storage.history_max_messages + 2
    packaged = []
    if cold.zip_bytes is not None:
        small = cold.zip_bytes < ZIP_GOAL_BYTES
        packaged.append(Target("the Lambda zip under 9 MB", small, _mb(cold.zip_bytes).strip()))
    return [
        Target(
            "at most 3 DynamoDB calls and 0 S3 calls per send",
            calls <= 3 and s3 == 0,
            f"{calls} and {s3}",
        ),
        Target(
            "request bytes at exchange 200 within 1.2x of exchange 1",
            store_ratio <= 1.2,
            f"{store_ratio:.2f}x (seed's design {seed_ratio:.1f}x)",
        ),
        Target(
            f"one Query of at most {page} items per send, at each length",
            all(row.cost.operations.count("Query") == 1 for row in storage.lengths)
            and max(items) <= page,
            "items " + ", ".join(f"{n}" for n in items),
        ),
        Target(
            "the 5,000th send is stored and counted",
            (long.messages_total, long.stored_messages, long.message_count) == (9999, 10000, 5000),
            f"{long.messages_total:,} / {long.stored_messages:,} / {long.message_count:,}",
        ),
        Target(
            "seeding sets the counters that real sends set",
            storage.seed_check.matches,
            f"{storage.seed_check.seeded} vs {storage.seed_check.sent}",
        ),
        Target(
            "import app at least 2x faster than with google.genai eager",
            cold.eager_ratio >= 2 and cold.lazy_genai,
            f"{cold.eager_ratio:.1f}x",
        ),
        Target(
            "(c) flat: history 1,000 within 1.5x of history 10",
            latency.ratio <= 1.5,
            f"{latency.ratio:.2f}x",
        ),
        *packaged,
        Target(
            "(d) first delta under 100 ms after the model's first chunk (median)",
            streaming.first_delta_median_ms < 100,
            f"{streaming.first_delta_median_ms:.1f} ms",
        ),
        Target(
            "(d) at most about 20 frames a second, each under 32 KB",
            streaming.frames_per_second <= 21 and streaming.largest_frame_bytes < 32 * 1024,
            f"{streaming.frames_per_second:.1f}/s, {streaming.largest_frame_bytes:,} bytes",
        ),
        Target(
            "(d) a stop ends the reply within 1 s",
            streaming.stop_max_ms < 1000,
            f"max {streaming.stop_max_ms:.0f} ms",
        ),
    ]


def render(storage: StorageResult, cold: ColdStart, latency: Latency, streaming: Streaming) -> str:
    lines = [
        *_header(),
        *_storage(storage),
        *_cold(cold),
        *_latency(latency),
        *_streaming(streaming),
        "Targets",
    ]
    for target in targets(storage, cold, latency, streaming):
        mark = "met   " if target.met else "MISSED"
        lines.append(f"  [{mark}] {target.name:<60} {target.figure}")
    return "\n".join(lines)
