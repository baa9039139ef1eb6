"""The app as a separate process, its AWS a moto server behind the fault proxy.

Unlike the rest of the suite, nothing here mocks AWS inside the test process:
the app reaches moto's server over HTTP through the proxy, and the checks read
storage straight from moto's server, past the proxy, with boto3.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer

from scripts.run_local import serialize_requests
from tests.fault_proxy import FaultProxy
from tests.test_run_local import FAKE_CREDENTIALS, LocalStack

BUCKET = "resilience-configs"
TABLE = "resilience-sessions"


@pytest.fixture(autouse=True)
def aws_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """In place of the suite's in-process moto: fake credentials for the direct reads."""
    for name, value in {**FAKE_CREDENTIALS, "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)


@pytest.fixture
def moto_url() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    serialize_requests(server)
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture
def proxy(moto_url: str) -> Iterator[FaultProxy]:
    with FaultProxy(moto_url, seed=7) as running:
        yield running


@dataclass
class Storage:
    """boto3 straight to moto's server: what is really stored, faults or not."""

    table: Any
    s3: Any

    def partition(self, pk: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": {":pk": pk},
            "ConsistentRead": True,
        }
        while True:
            page = self.table.query(**kwargs)
            items += page["Items"]
            if "LastEvaluatedKey" not in page:
                return items
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


@pytest.fixture
def storage(moto_url: str) -> Storage:
    dynamodb = boto3.resource("dynamodb", endpoint_url=moto_url, region_name="us-east-1")
    s3 = boto3.client("s3", endpoint_url=moto_url, region_name="us-east-1")
    return Storage(dynamodb.Table(TABLE), s3)


@pytest.fixture
def start_app(proxy: FaultProxy, tmp_path: Path) -> Iterator[Callable[..., LocalStack]]:
    """Start the app as `make run` does, reaching AWS through the proxy; kill it at the end."""
    started: list[LocalStack] = []

    def start(**env: str) -> LocalStack:
        settings = {
            "AWS_ENDPOINT_URL": proxy.url,
            "CONFIG_BUCKET": BUCKET,
            "SESSIONS_TABLE": TABLE,
            "AWS_DEFAULT_REGION": "us-east-1",
            **FAKE_CREDENTIALS,
            **env,
        }
        stack = LocalStack(tmp_path / f"app{len(started)}.log", settings)
        started.append(stack)
        stack.wait_until_healthy()
        return stack

    yield start
    for stack in started:
        stack.kill()
