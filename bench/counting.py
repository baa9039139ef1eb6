"""Counts AWS calls, and the bytes they send and receive, with botocore's event hooks.

The hooks join botocore's BUILTIN_HANDLERS, which every new botocore session
registers, so every client the app makes is counted, including those it makes
lazily and any a future change adds (moto installs its mock the same way).
Counted per HTTP request, so a retried call counts twice, as AWS bills it.

Against moto, the time spent in moto's stub is also measured: moto stands in
for DynamoDB's service time and the network, and its in-memory work grows
with the data it holds in ways DynamoDB's does not (it deep-copies each table
a transaction touches, once per item written), so it is reported apart from
the app's own time.
"""

from __future__ import annotations

import json
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import moto.core.models  # noqa: F401  (moto's stub must already be in the list: see install)
from botocore.handlers import BUILTIN_HANDLERS


@dataclass
class Call:
    """One DynamoDB call's JSON request and answer, for sizing what it would bill."""

    operation: str
    request: dict[str, Any]
    response: dict[str, Any] = field(default_factory=dict)


@dataclass
class ServiceCalls:
    calls: int = 0
    request_bytes: int = 0
    response_bytes: int = 0
    operations: list[str] = field(default_factory=list)
    # DynamoDB's only (its bodies are JSON).
    bodies: list[Call] = field(default_factory=list)


def _body_size(body: Any) -> int:
    if body is None:
        return 0
    if isinstance(body, str):
        return len(body.encode("utf-8"))
    if isinstance(body, bytes | bytearray):
        return len(body)
    # A file-like body (S3 uploads): its length, read without consuming it.
    position = body.tell()
    size = body.seek(0, 2) - position
    body.seek(position)
    return int(size)


def _json(body: Any) -> dict[str, Any]:
    if isinstance(body, bytes | bytearray | str) and body:
        parsed = json.loads(body)
        return parsed if isinstance(parsed, dict) else {}
    return {}


def _service(event_name: str) -> tuple[str, str]:
    _, service, operation = event_name.split(".", 2)
    return service, operation


@dataclass
class Measurement:
    by_service: dict[str, ServiceCalls] = field(default_factory=lambda: defaultdict(ServiceCalls))
    aws_seconds: float = 0.0  # inside moto's stub: the stand-in for AWS itself


class CallCounter:
    """Install once, before the app makes its clients; then count within `measure()`."""

    def __init__(self) -> None:
        self._current: Measurement | None = None
        self._sent_at = 0.0

    def install(self) -> None:
        # Handlers run in list order: ours first, then moto's stub, then ours again.
        BUILTIN_HANDLERS.insert(0, ("before-send", self._on_send))
        BUILTIN_HANDLERS.append(("before-send", self._on_answered))
        BUILTIN_HANDLERS.append(("response-received", self._on_response))

    def uninstall(self) -> None:
        for handler in (
            ("before-send", self._on_send),
            ("before-send", self._on_answered),
            ("response-received", self._on_response),
        ):
            BUILTIN_HANDLERS.remove(handler)

    @contextmanager
    def measure(self) -> Iterator[Measurement]:
        """Count the calls made inside the block; the measurement fills in as they happen."""
        self._current = Measurement()
        try:
            yield self._current
        finally:
            self._current = None

    # Each handler returns None, so the real sender (or moto's stub) still answers.
    def _on_send(self, request: Any, event_name: str, **_: Any) -> None:
        if self._current is not None:
            service, operation = _service(event_name)
            calls = self._current.by_service[service]
            calls.calls += 1
            calls.request_bytes += _body_size(request.body)
            calls.operations.append(operation)
            if service == "dynamodb":
                calls.bodies.append(Call(operation, _json(request.body)))
            self._sent_at = time.perf_counter()

    def _on_answered(self, **_: Any) -> None:
        if self._current is not None:
            self._current.aws_seconds += time.perf_counter() - self._sent_at

    def _on_response(self, response_dict: Any, event_name: str, **_: Any) -> None:
        if self._current is not None and response_dict is not None:
            body = response_dict.get("body")
            size = len(body) if isinstance(body, bytes) else 0
            calls = self._current.by_service[_service(event_name)[0]]
            calls.response_bytes += size
            if calls.bodies and isinstance(body, bytes):
                calls.bodies[-1].response = _json(body)
