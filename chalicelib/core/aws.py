"""boto3 clients, made on first use and cached for the life of the process.

boto3 reads `AWS_ENDPOINT_URL` itself, so the same code reaches AWS, moto's
server or another emulator. Retries and timeouts are explicit because the
botocore bundled with Lambda may still default to legacy retries.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal, cast

import boto3
from botocore.config import Config

from chalicelib.core.settings import get_settings

if TYPE_CHECKING:
    from mypy_boto3_apigatewaymanagementapi.client import ApiGatewayManagementApiClient
    from mypy_boto3_dynamodb.service_resource import DynamoDBServiceResource, Table
    from mypy_boto3_s3.client import S3Client
    from mypy_boto3_ssm.client import SSMClient

CLIENT_CONFIG = Config(
    retries={"mode": "standard", "max_attempts": 3},
    connect_timeout=3,
    read_timeout=10,
    # One Lambda serves one request at a time, but `chalice local` serves many at once
    # through one client; botocore's pool of 10 would open and drop a connection each.
    max_pool_connections=64,
)

_clients: dict[str, Any] = {}


def _session() -> boto3.session.Session:
    session = _clients.get("session")
    if session is None:
        session = _clients["session"] = boto3.session.Session()
    return session


def _client(service: Literal["s3", "ssm"]) -> Any:
    client = _clients.get(service)
    if client is None:
        client = _clients[service] = _session().client(service, config=CLIENT_CONFIG)
    return client


def get_s3_client() -> S3Client:
    return cast("S3Client", _client("s3"))


def get_ssm_client() -> SSMClient:
    return cast("SSMClient", _client("ssm"))


def get_dynamodb_resource() -> DynamoDBServiceResource:
    resource = _clients.get("dynamodb")
    if resource is None:
        resource = _clients["dynamodb"] = _session().resource("dynamodb", config=CLIENT_CONFIG)
    return resource


def get_connections_client(endpoint_url: str) -> ApiGatewayManagementApiClient:
    """The client that posts to a WebSocket API's connections (one API per process)."""
    key = f"connections {endpoint_url}"
    client = _clients.get(key)
    if client is None:
        client = _clients[key] = _session().client(
            "apigatewaymanagementapi", endpoint_url=endpoint_url, config=CLIENT_CONFIG
        )
    return cast("ApiGatewayManagementApiClient", client)


def get_sessions_table() -> Table:
    return get_dynamodb_resource().Table(get_settings().sessions_table)


def reset_clients() -> None:
    """Forget every cached client (tests start each case from fresh state)."""
    _clients.clear()
