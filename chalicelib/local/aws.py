"""An in-memory AWS for `chalice local`: moto's server in this process, with the bucket and table,
its data kept in LOCAL_DATA_DIR between runs (snapshot.py).

moto is a development dependency: it is imported only when this starts it, so
the Lambda package, which does not contain it, never needs it.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

import botocore.session

from chalicelib.core import settings as names
from chalicelib.core.aws import get_dynamodb_resource, get_s3_client, reset_clients
from chalicelib.core.provisioning import ensure_bucket, ensure_table
from chalicelib.core.settings import get_settings
from chalicelib.local import snapshot
from chalicelib.local.snapshot import LocalData

if TYPE_CHECKING:
    from moto.server import ThreadedMotoServer

log = logging.getLogger("ai_maker.local")

LOCAL_REGION = "us-east-1"
# moto accepts any credentials; these keep boto3 from looking for real ones.
FAKE_CREDENTIALS = {names.AWS_ACCESS_KEY_ID: "testing", names.AWS_SECRET_ACCESS_KEY: "testing"}
# Credential providers that ask the network (EC2, ECS metadata): on a laptop they
# only time out, so they are not asked whether real credentials exist.
NETWORK_PROVIDERS = ("iam-role", "container-role")

# DynamoDB operations that change items (the table itself is made by provision()).
DYNAMODB_WRITES = frozenset(
    ("PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems")
)

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
    requests = threading.Lock()
    data = local_data(requests)
    endpoint = start_moto(requests, data.changed if data else lambda: None)
    os.environ[names.AWS_ENDPOINT_URL] = endpoint
    # The key's parameter names a real account's SSM; the in-memory AWS has none.
    os.environ.pop(names.GEMINI_API_KEY_PARAMETER, None)
    provision()
    return f"an in-memory AWS (moto) at {endpoint}, {keep(data)}"


def local_data(requests: threading.Lock) -> LocalData | None:
    """Where the local AWS's data is kept between runs, or None to keep it in memory only."""
    directory = snapshot.data_directory()
    if directory is None:
        return None
    settings = get_settings()
    data = LocalData(directory, settings.sessions_table, settings.config_bucket, requests)
    if data.claim():
        return data
    log.warning(
        "%s is in use by another local server: this one keeps its data in memory", directory
    )
    return None


def keep(data: LocalData | None) -> str:
    """Restore the last run's data, save it from now on, and say where it is."""
    if data is None:
        return "its data in memory only"
    items, objects = data.restore()
    data.keep_saving()
    where = data.directory
    if where.is_relative_to(snapshot.PROJECT_DIR):
        where = where.relative_to(snapshot.PROJECT_DIR)
    restored = f"restored {_count(items, 'item')} and {_count(objects, 'object')}"
    return f"its data kept in {where} ({restored if items or objects else 'empty'})"


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def start_moto(requests: threading.Lock, changed: Callable[[], None]) -> str:
    from moto.server import ThreadedMotoServer  # noqa: PLC0415 - dev dependency, never on Lambda

    # moto's Flask app and botocore log every call or client at INFO, the level
    # `chalice local` gives the root logger.
    for name in ("werkzeug", "botocore"):
        logging.getLogger(name).setLevel(logging.WARNING)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    serialize_requests(server, requests, changed)
    back_up_only_the_items_a_transaction_touches()
    _servers.append(server)  # Lives as long as the process; its thread is a daemon.
    host, port = server.get_host_and_port()
    return f"http://{host}:{port}"


def serialize_requests(
    server: ThreadedMotoServer, requests: threading.Lock, changed: Callable[[], None]
) -> None:
    """Let moto answer one request at a time, holding `requests`; call `changed` after a write.

    moto changes its in-memory tables without locks, so concurrent requests (a
    browser sending two messages at once) could corrupt them; real DynamoDB
    applies each conditional write atomically, and a lock gives the same.
    """
    wsgi = server._server  # moto offers no hook for wrapping its WSGI app
    assert wsgi is not None
    app = wsgi.app

    def one_at_a_time(environ: Any, start_response: Any) -> Any:
        with requests:
            answer = list(app(environ, start_response))
            if may_write(environ):
                changed()
            return answer

    wsgi.app = one_at_a_time


def may_write(environ: dict[str, Any]) -> bool:
    """Whether a request to moto may change data: DynamoDB's writes, S3's PUT, POST and DELETE."""
    target = environ.get("HTTP_X_AMZ_TARGET", "")
    if target:
        return target.rpartition(".")[2] in DYNAMODB_WRITES
    return environ.get("REQUEST_METHOD") in ("PUT", "POST", "DELETE")


def back_up_only_the_items_a_transaction_touches() -> None:
    """Keep a local transaction's cost independent of the table's size.

    Before each transaction, moto deep-copies every table it touches, once per item, to
    restore on failure: a local create took 0.1 s on an empty table and 0.34 s after 180
    more, and a send slows the same way as a conversation grows. Requests here run one
    at a time (serialize_requests), so copying only the items the transaction names,
    and putting exactly those back on failure, restores the same state.
    """
    import copy  # noqa: PLC0415 - with moto, below

    import moto.dynamodb.models as dynamodb  # noqa: PLC0415 - dev dependency, never on Lambda
    from moto.dynamodb.models.table import Table  # noqa: PLC0415

    backend_class = dynamodb.DynamoDBBackend
    if getattr(backend_class, "_backs_up_items_only", False):
        return
    transact = backend_class.transact_write_items

    def deepcopy_all_but_tables(value: Any, memo: Any = None) -> Any:
        return value if isinstance(value, Table) else copy.deepcopy(value, memo)

    def transact_write_items(backend: Any, transact_items: list[dict[str, Any]]) -> None:
        saved = [_saved_item(backend, operation) for operation in transact_items]
        try:
            transact(backend, transact_items)
        except Exception:
            for table_name, key, item in filter(None, saved):
                if item is None:
                    backend.delete_item(table_name, key)
                else:
                    backend.put_item(table_name, item)
            raise

    # Only the module's name `copy` changes: its other deep copies (of items) stay.
    setattr(dynamodb, "copy", SimpleNamespace(deepcopy=deepcopy_all_but_tables, copy=copy.copy))  # noqa: B010
    setattr(backend_class, "transact_write_items", transact_write_items)  # noqa: B010
    setattr(backend_class, "_backs_up_items_only", True)  # noqa: B010


def _saved_item(backend: Any, operation: dict[str, Any]) -> tuple[str, Any, Any] | None:
    """(table, key, the item's attributes as they are, or None): what undoes the operation."""
    ((_, detail),) = operation.items()
    table = backend.tables.get(detail.get("TableName"))
    if table is None:
        return None
    key = detail.get("Key")
    if key is None:
        item = detail["Item"]
        key = {name: item[name] for name in (table.hash_key_attr, table.range_key_attr) if name}
    current = backend.get_item(table.name, key)
    return table.name, key, None if current is None else current.to_json()["Attributes"]


def provision() -> None:
    settings = get_settings()
    reset_clients()  # Clients made before now would miss the endpoint and credentials.
    ensure_bucket(get_s3_client(), settings.config_bucket)
    ensure_table(get_dynamodb_resource(), settings.sessions_table)
