"""An in-memory AWS for `chalice local`: moto's server in this process, with the bucket and table.

moto is a development dependency: it is imported only when this starts it, so
the Lambda package, which does not contain it, never needs it.
"""

from __future__ import annotations

import logging
import os
import threading
from typing import TYPE_CHECKING, Any

import botocore.session

from chalicelib.core import settings as names
from chalicelib.core.aws import get_dynamodb_resource, get_s3_client, reset_clients
from chalicelib.core.provisioning import ensure_bucket, ensure_table
from chalicelib.core.settings import get_settings

if TYPE_CHECKING:
    from moto.server import ThreadedMotoServer

LOCAL_REGION = "us-east-1"
# moto accepts any credentials; these keep boto3 from looking for real ones.
FAKE_CREDENTIALS = {names.AWS_ACCESS_KEY_ID: "testing", names.AWS_SECRET_ACCESS_KEY: "testing"}
# Credential providers that ask the network (EC2, ECS metadata): on a laptop they
# only time out, so they are not asked whether real credentials exist.
NETWORK_PROVIDERS = ("iam-role", "container-role")

_servers: list[ThreadedMotoServer] = []


def credentials_configured() -> bool:
    """Whether boto3 would find credentials without asking the network (a real account)."""
    if os.environ.get(names.AWS_PROFILE, "").strip():
        return True
    resolver = botocore.session.get_session().get_component("credential_provider")
    for name in NETWORK_PROVIDERS:
        resolver.remove(name)
    return resolver.load_credentials() is not None


def region_configured() -> bool:
    return botocore.session.get_session().get_config_variable("region") is not None


def start() -> str:
    """Use AWS_ENDPOINT_URL if set, real AWS if credentials exist, else start moto.

    Creates the bucket and the table on an endpoint (an emulator's, or moto's), with
    fake credentials if none are set; returns what it uses.
    """
    endpoint = os.environ.get(names.AWS_ENDPOINT_URL, "").strip()
    has_credentials = credentials_configured()
    if not endpoint and has_credentials:
        return "AWS with your credentials"
    if not region_configured():
        os.environ[names.AWS_DEFAULT_REGION] = LOCAL_REGION
    if not has_credentials:
        os.environ.update(FAKE_CREDENTIALS)
    if endpoint:
        provision()
        return f"the AWS endpoint {endpoint}"
    endpoint = start_moto()
    os.environ[names.AWS_ENDPOINT_URL] = endpoint
    # The key's parameter names a real account's SSM; the in-memory AWS has none.
    os.environ.pop(names.GEMINI_API_KEY_PARAMETER, None)
    provision()
    return f"an in-memory AWS (moto) at {endpoint}"


def start_moto() -> str:
    from moto.server import ThreadedMotoServer  # noqa: PLC0415 - dev dependency, never on Lambda

    # moto's Flask app and botocore log every call or client at INFO, the level
    # `chalice local` gives the root logger.
    for name in ("werkzeug", "botocore"):
        logging.getLogger(name).setLevel(logging.WARNING)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    serialize_requests(server)
    _servers.append(server)  # Lives as long as the process; its thread is a daemon.
    host, port = server.get_host_and_port()
    return f"http://{host}:{port}"


def serialize_requests(server: ThreadedMotoServer) -> None:
    """Let moto answer one request at a time.

    moto changes its in-memory tables without locks, so concurrent requests (a
    browser sending two messages at once) could corrupt them; real DynamoDB
    applies each conditional write atomically, and a lock gives the same.
    """
    wsgi = server._server  # moto offers no hook for wrapping its WSGI app
    assert wsgi is not None
    app = wsgi.app
    lock = threading.Lock()

    def one_at_a_time(environ: Any, start_response: Any) -> Any:
        with lock:
            return list(app(environ, start_response))

    wsgi.app = one_at_a_time


def provision() -> None:
    settings = get_settings()
    reset_clients()  # Clients made before now would miss the endpoint and credentials.
    ensure_bucket(get_s3_client(), settings.config_bucket)
    ensure_table(get_dynamodb_resource(), settings.sessions_table)
