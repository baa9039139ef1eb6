"""The pieces of a resilience run: moto's server, what is really stored, the app as a process.

The app reaches moto's server over HTTP through the fault proxy; the checks read
storage straight from moto's server, past the proxy.
"""

from __future__ import annotations

import threading
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
from moto.server import ThreadedMotoServer

from chalicelib.local.aws import back_up_only_the_items_a_transaction_touches, serialize_requests
from tests.local_stack import MAKE_RUN, LocalStack

BUCKET = "resilience-configs"
TABLE = "resilience-sessions"
REGION = "us-east-1"
# moto takes any credentials; these keep boto3 from looking for real ones.
FAKE_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}


@contextmanager
def moto_server() -> Iterator[str]:
    """A moto server on a free port, empty, answering one request at a time, as `chalice
    local`'s is (its transactions cost the same whatever the table holds); its URL."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    serialize_requests(server, threading.Lock(), changed=lambda: None)
    back_up_only_the_items_a_transaction_touches()
    host, port = server.get_host_and_port()
    # moto's backends live in the process, not in the server: a run's data (the operator's
    # budget items above all, which no test's ids tell apart) would meet the next test's.
    reset = urllib.request.Request(f"http://{host}:{port}/moto-api/reset", method="POST")
    urllib.request.urlopen(reset, timeout=30).close()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@dataclass
class Storage:
    """boto3 straight to moto's server: what is really stored, faults or not."""

    table: Any
    s3: Any

    @classmethod
    def at(cls, url: str) -> Storage:
        session = boto3.session.Session(
            aws_access_key_id=FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
            region_name=REGION,
        )
        dynamodb = session.resource("dynamodb", endpoint_url=url)
        return cls(dynamodb.Table(TABLE), session.client("s3", endpoint_url=url))

    def partition(self, pk: str, prefix: str = "") -> list[dict[str, Any]]:
        condition = "pk = :pk AND begins_with(sk, :prefix)" if prefix else "pk = :pk"
        values = {":pk": pk, **({":prefix": prefix} if prefix else {})}
        kwargs: dict[str, Any] = {
            "KeyConditionExpression": condition,
            "ExpressionAttributeValues": values,
            "ConsistentRead": True,
        }
        items: list[dict[str, Any]] = []
        while True:
            page = self.table.query(**kwargs)
            items += page["Items"]
            if "LastEvaluatedKey" not in page:
                return items
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def session_item(self, session_id: str) -> dict[str, Any]:
        key = {"pk": f"SESSION#{session_id}", "sk": "SESSION"}
        return dict(self.table.get_item(Key=key, ConsistentRead=True).get("Item") or {})

    def reservations(self, session_id: str) -> list[dict[str, Any]]:
        return self.partition(f"SESSION#{session_id}", "RESV#")

    def day_count(self, config_id: str) -> int:
        days = self.partition(f"CONFIG#{config_id}", "DAY#")
        return sum(int(str(day.get("messages", 0))) for day in days)


def start_app(proxy_url: str, log_path: Path, **env: str) -> LocalStack:
    """The app as `make run` starts it, reaching AWS through the proxy at `proxy_url`."""
    settings = {
        "AWS_ENDPOINT_URL": proxy_url,
        "CONFIG_BUCKET": BUCKET,
        "SESSIONS_TABLE": TABLE,
        "AWS_DEFAULT_REGION": REGION,
        **FAKE_CREDENTIALS,
        **env,
    }
    app = LocalStack(log_path, settings, MAKE_RUN)
    try:
        app.wait_until_healthy()
    except BaseException:
        app.kill()
        raise
    return app
