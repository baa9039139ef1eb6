"""Fixtures of the resilience tests: no AWS mocked in the test process, see harness.py."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.fault_proxy import FaultProxy
from tests.local_stack import LocalStack
from tests.resilience.harness import FAKE_CREDENTIALS, REGION, Storage, moto_server, start_app


@pytest.fixture(autouse=True)
def aws_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """In place of the suite's in-process moto: fake credentials, and no endpoint."""
    for name, value in {**FAKE_CREDENTIALS, "AWS_DEFAULT_REGION": REGION}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)


@pytest.fixture
def moto_url() -> Iterator[str]:
    with moto_server() as url:
        yield url


@pytest.fixture
def proxy(moto_url: str) -> Iterator[FaultProxy]:
    with FaultProxy(moto_url, seed=7) as running:
        yield running


@pytest.fixture
def storage(moto_url: str) -> Storage:
    return Storage.at(moto_url)


@pytest.fixture(name="start_app")
def app_starter(proxy: FaultProxy, tmp_path: Path) -> Iterator[Callable[..., LocalStack]]:
    """Start the app as `make run` does, reaching AWS through the proxy; killed at the end."""
    started: list[LocalStack] = []

    def start(**env: str) -> LocalStack:
        started.append(start_app(proxy.url, tmp_path / f"app{len(started)}.log", **env))
        return started[-1]

    yield start
    for app in started:
        app.kill()
