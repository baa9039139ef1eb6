"""A fault-injecting HTTP proxy between the app and its local AWS (moto's server).

It forwards every request, except those a rule picks: those it answers itself with
the error DynamoDB or S3 would send, byte for byte in their wire format, or it
delays the answer past the client's read timeout. Two DynamoDB behaviours that
moto lacks are emulated, because the app relies on them:
- a TransactWriteItems that touches an item another transaction is working on is
  cancelled with a `TransactionConflict` reason (conflict mode), as DynamoDB does.
  moto answers one request at a time, so how long a transaction waits in moto says
  nothing of DynamoDB: a transaction counts as working on its items for
  `conflict_window` seconds from its arrival, DynamoDB's own time for one;
- a TransactWriteItems repeated with the same `ClientRequestToken` is answered, not
  applied again, as DynamoDB does for ten minutes, or, while the first is still being
  applied, refused with `TransactionInProgressException`.
"""

from __future__ import annotations

import http.client
import json
import random
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self
from urllib.parse import urlsplit

DYNAMODB_PREFIX = "com.amazonaws.dynamodb.v20120810#"


@dataclass(frozen=True)
class Fault:
    """An answer in the service's own wire format."""

    status: int
    body: bytes
    content_type: str
    delay_seconds: float = 0.0
    # Forward the request first (so it takes effect), then answer late: a lost reply.
    forward: bool = False


def dynamodb_error(error_type: str, message: str, status: int = 400, **extra: Any) -> Fault:
    body = {"__type": DYNAMODB_PREFIX + error_type, "message": message, **extra}
    return Fault(status, json.dumps(body).encode(), "application/x-amz-json-1.0")


THROTTLED = dynamodb_error(
    "ProvisionedThroughputExceededException",
    "The level of configured provisioned throughput for the table was exceeded.",
)
THROTTLING = dynamodb_error(
    "ThrottlingException", "Rate of requests exceeds the allowed throughput."
)
INTERNAL_ERROR = dynamodb_error("InternalServerError", "Internal server error", status=500)


def transaction_conflict(items: int, conflicting: int = 0) -> Fault:
    reasons = [
        {"Code": "TransactionConflict", "Message": "Transaction is ongoing for the item"}
        if index == conflicting
        else {"Code": "None"}
        for index in range(items)
    ]
    codes = ", ".join(reason["Code"] for reason in reasons)
    return dynamodb_error(
        "TransactionCanceledException",
        f"Transaction cancelled, please refer cancellation reasons for specific reasons [{codes}]",
        CancellationReasons=reasons,
    )


SLOW_DOWN = Fault(
    503,
    b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>SlowDown</Code>'
    b"<Message>Please reduce your request rate.</Message></Error>",
    "application/xml",
)


def late(seconds: float) -> Fault:
    """The request takes effect, but its answer comes after `seconds`."""
    return Fault(0, b"", "", delay_seconds=seconds, forward=True)


FaultChoice = Fault | str  # a Fault, or "conflict" for a TransactionConflict cancellation


@dataclass
class Rule:
    """Answer one of `faults` for `service.operation` (`service.*`, `*`), at `rate` or on `nth`."""

    operation: str
    faults: tuple[FaultChoice, ...]
    rate: float = 0.0
    nth: int | None = None
    seen: int = 0


@dataclass
class Tally:
    requests: Counter[str] = field(default_factory=Counter)
    faults: Counter[str] = field(default_factory=Counter)
    # Requests a client sent again (botocore numbers its attempts in `amz-sdk-request`).
    retries: int = 0
    conflicts: int = 0
    # The sort key of the item each conflict was on.
    conflict_items: Counter[str] = field(default_factory=Counter)
    replayed: int = 0
    # Requests applied upstream whose answer is being held back (a `late` fault).
    held_back: int = 0

    @property
    def faults_injected(self) -> int:
        return sum(self.faults.values())

    def snapshot(self) -> Tally:
        return self.since(Tally())

    def since(self, earlier: Tally) -> Tally:
        return Tally(
            requests=self.requests - earlier.requests,
            faults=self.faults - earlier.faults,
            retries=self.retries - earlier.retries,
            conflicts=self.conflicts - earlier.conflicts,
            conflict_items=self.conflict_items - earlier.conflict_items,
            replayed=self.replayed - earlier.replayed,
            held_back=self.held_back - earlier.held_back,
        )


def operation_of(method: str, path: str, headers: Any) -> str:
    target = str(headers.get("X-Amz-Target", ""))
    if target.startswith("DynamoDB_"):
        return "dynamodb." + target.split(".", 1)[1]
    parts = urlsplit(path).path.strip("/").split("/", 1)
    if len(parts) == 2 and parts[1]:
        return "s3." + {"GET": "GetObject", "PUT": "PutObject", "DELETE": "DeleteObject"}.get(
            method, "HeadObject" if method == "HEAD" else method
        )
    return "s3.Bucket" + method.title()


class FaultProxy:
    def __init__(self, upstream: str, seed: int = 0) -> None:
        self.upstream = urlsplit(upstream)
        self.rules: list[Rule] = []
        self.conflict_mode = False
        self.conflict_window = 0.02
        self.tally = Tally()
        self._random = random.Random(seed)
        self._lock = threading.Lock()
        self._busy_until: dict[str, float] = {}
        self._answered: dict[str, tuple[int, bytes, str]] = {}
        self._applying: set[str] = set()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _any(self) -> None:
                proxy._handle(self)

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _any

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        port = self._server.server_address[1]
        return f"http://127.0.0.1:{port}"

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._server.shutdown()
        self._server.server_close()

    def add(
        self, operation: str, *faults: FaultChoice, rate: float = 0.0, nth: int | None = None
    ) -> None:
        """Answer `operation` with one of `faults`, picked at random, at `rate` or on the nth."""
        with self._lock:
            self.rules.append(Rule(operation, faults, rate, nth))

    def clear(self) -> None:
        with self._lock:
            self.rules.clear()
            self.conflict_mode = False

    # --- handling --------------------------------------------------------------

    def _pick(self, operation: str, attempt: str) -> FaultChoice | None:
        with self._lock:
            self.tally.requests[operation] += 1
            if "attempt=1;" not in attempt + ";":
                self.tally.retries += 1 if attempt else 0
            for rule in self.rules:
                if rule.operation not in ("*", operation, operation.split(".")[0] + ".*"):
                    continue
                rule.seen += 1
                if (rule.nth is not None and rule.seen == rule.nth) or (
                    rule.rate and self._random.random() < rule.rate
                ):
                    self.tally.faults[operation] += 1
                    return self._random.choice(rule.faults)
        return None

    def _handle(self, request: BaseHTTPRequestHandler) -> None:
        length = int(request.headers.get("Content-Length") or 0)
        body = request.rfile.read(length) if length else b""
        operation = operation_of(request.command, request.path, request.headers)
        fault = self._pick(operation, request.headers.get("amz-sdk-request", ""))
        transaction = json.loads(body) if operation == "dynamodb.TransactWriteItems" else None
        if fault == "conflict" and transaction is not None:
            fault = transaction_conflict(len(transaction["TransactItems"]))
        if isinstance(fault, Fault) and not fault.forward:
            time.sleep(fault.delay_seconds)
            self._reply(request, fault.status, fault.body, fault.content_type)
            return
        status, answer, content_type, headers = self._forward(request, body, transaction)
        if isinstance(fault, Fault):  # a late answer: it took effect, the reply comes late
            with self._lock:
                self.tally.held_back += 1
            time.sleep(fault.delay_seconds)
        self._reply(request, status, answer, content_type, headers)

    def _forward(
        self, request: BaseHTTPRequestHandler, body: bytes, transaction: dict[str, Any] | None
    ) -> tuple[int, bytes, str, dict[str, str]]:
        token = transaction.get("ClientRequestToken") if transaction else None
        keys = _item_keys(transaction) if transaction else []
        with self._lock:
            if token and token in self._answered:
                self.tally.replayed += 1
                status, answer, content_type = self._answered[token]
                return status, answer, content_type, {}
            if token and token in self._applying:
                fault = dynamodb_error(
                    "TransactionInProgressException",
                    "The transaction with the given request token is already in progress.",
                )
                return fault.status, fault.body, fault.content_type, {}
            if self.conflict_mode and keys:
                now = time.monotonic()
                busy = [i for i, key in enumerate(keys) if self._busy_until.get(key, 0) > now]
                if busy:
                    self.tally.conflicts += 1
                    self.tally.conflict_items[_sort_key_kind(keys[busy[0]])] += 1
                    fault = transaction_conflict(len(keys), conflicting=busy[0])
                    return fault.status, fault.body, fault.content_type, {}
                self._busy_until.update(dict.fromkeys(keys, now + self.conflict_window))
            if token:
                self._applying.add(token)
        status = 0
        try:
            status, answer, content_type, headers = self._upstream(request, body)
        finally:
            with self._lock:
                self._applying.discard(token or "")
                if token and status == 200:
                    self._answered[token] = (status, answer, content_type)
        return status, answer, content_type, headers

    def _upstream(
        self, request: BaseHTTPRequestHandler, body: bytes
    ) -> tuple[int, bytes, str, dict[str, str]]:
        connection = http.client.HTTPConnection(
            self.upstream.hostname or "127.0.0.1", self.upstream.port, timeout=30
        )
        try:
            headers = {k: v for k, v in request.headers.items() if k.lower() != "connection"}
            connection.request(request.command, request.path, body=body, headers=headers)
            response = connection.getresponse()
            answer = response.read()
            kept = {
                k: v
                for k, v in response.getheaders()
                if k.lower() in ("etag", "x-amz-crc32", "last-modified", "x-amz-request-id")
                or (request.command == "HEAD" and k.lower() == "content-length")
            }
            return response.status, answer, response.getheader("Content-Type", ""), kept
        finally:
            connection.close()

    @staticmethod
    def _reply(
        request: BaseHTTPRequestHandler,
        status: int,
        body: bytes,
        content_type: str,
        headers: dict[str, str] | None = None,
    ) -> None:
        request.send_response(status)
        if content_type:
            request.send_header("Content-Type", content_type)
        for name, value in (headers or {}).items():
            request.send_header(name, value)
        if request.command != "HEAD":
            request.send_header("Content-Length", str(len(body)))
        request.end_headers()
        if request.command != "HEAD":
            try:
                request.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # The client gave up waiting (a late answer): as on the real wire.


def _sort_key_kind(item_key: str) -> str:
    """`DAY`, `STATE`, `SESSION`, ...: what kind of item a key of `_item_keys` names."""
    key = json.loads(item_key[item_key.index("{") :])
    return str(key["sk"]["S"]).split("#")[0]


def _item_keys(transaction: dict[str, Any]) -> list[str]:
    """The items a transaction writes or checks, as comparable strings."""
    keys = []
    for item in transaction.get("TransactItems", []):
        ((_, action),) = item.items()  # Put, Update, Delete or ConditionCheck
        key = action.get("Key") or {
            name: value for name, value in action.get("Item", {}).items() if name in ("pk", "sk")
        }
        keys.append(action["TableName"] + json.dumps(key, sort_keys=True))
    return keys
