"""Shared fixtures: moto for AWS, the fake Gemini server, and an API client.

Every test starts from fresh state: moto holding only an empty bucket and table
(one moto per test process, emptied between tests: see moto_state.py), no cached
clients, and an empty fake Gemini.
"""

from __future__ import annotations

import fcntl
import functools
import os
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import botocore.loaders
import botocore.session
import moto.core.botocore_stubber
import pytest

from chalicelib.core import aws, parameters
from chalicelib.local.aws import back_up_only_the_items_a_transaction_touches
from chalicelib.model import gemini
from chalicelib.stores.configs import ConfigStore
from chalicelib.stores.sessions import SessionStore
from tests.fake_gemini import FakeGemini
from tests.local_stack import MAKE_RUN, PER_CLIENT_LIMITS, PROJECT_DIR, LocalStack
from tests.moto_state import MotoWorld
from tests.utils import ApiClient

BUCKET = "test-configs"
TABLE = "test-sessions"
GEMINI_KEY = "test-gemini-key"
# `make package` runs with this region and nothing else of AWS's configuration.
PACKAGING_REGION = "eu-west-3"
ROOT = Path(__file__).resolve().parent.parent

# Variables of a developer's shell that would send a client somewhere else.
_FOREIGN_VARIABLES = (
    "AWS_ENDPOINT_URL",
    "AWS_PROFILE",
    "AWS_SESSION_TOKEN",
    "GEMINI_API_KEY",
    "GEMINI_API_KEY_PARAMETER",
    "LIMIT_MESSAGES_PER_SESSION",
    "LIMIT_MESSAGES_PER_DAY",
    "LIMIT_SESSIONS_PER_DAY",
    "BUDGET_TOKENS_PER_DAY",
    "LIMIT_TOKENS_PER_DAY",
    "AGENT_CREATION",
    "LIMIT_AGENTS_PER_DAY",
    "TRUSTED_PROXY_HOPS",
    "OPERATOR_TOKEN",
    "OPERATOR_TOKEN_PARAMETER",
    "CLIENT_HASH_SECRET",
    "CLIENT_HASH_SECRET_PARAMETER",
    "FILE_MAX_BYTES",
    "LIMIT_FILES_PER_CONFIG",
    "LIMIT_FILES_PER_SESSION",
    "LIMIT_FILE_BYTES_PER_DAY",
    "CONTEXT_CACHE_MIN_TOKENS",
    "KNOWLEDGE_SEARCH_MIN_TOKENS",
    "GOOGLE_API_KEY",
    "GOOGLE_GEMINI_BASE_URL",
    "GOOGLE_GENAI_USE_VERTEXAI",
    "GOOGLE_GENAI_API_VERSION",
    "GOOGLE_CLOUD_PROJECT",
    "GOOGLE_CLOUD_LOCATION",
    "ALLOWED_MODELS",
    "ALLOWED_TOOLS",
    "MODEL_TIMEOUT_SECONDS",
    "MODEL_STREAM_TIMEOUT_SECONDS",
    "WEBSOCKET_URL",
    "HISTORY_CHAR_BUDGET",
    "HISTORY_MAX_MESSAGES",
    "MAX_OUTPUT_TOKENS",
    "FRONTEND_BASE_URL",
    "STAGE",
)

_moto_lock = threading.Lock()
_moto_call = moto.core.botocore_stubber.BotocoreStubber.__call__


def _serialized_moto_call(self: Any, *args: Any, **kwargs: Any) -> Any:
    with _moto_lock:
        return _moto_call(self, *args, **kwargs)


@functools.cache
def _shared_loader(search_paths: str | None) -> botocore.loaders.Loader:
    return botocore.loaders.create_loader(search_paths)


@pytest.fixture(scope="session", autouse=True)
def _one_botocore_loader() -> Iterator[None]:
    """Every test starts with new boto3 sessions, which would each parse the JSON service
    models again (70 ms a test); they share one loader, whose models are read-only."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(botocore.session, "create_loader", _shared_loader)
        yield


@pytest.fixture(scope="session")
def _moto() -> Iterator[MotoWorld]:
    """One moto for this test process (each xdist worker has its own).

    Its transactions back up only the items they name, as `chalice local`'s do: moto
    would deep-copy the whole table once per operation, so a create on a table of a
    thousand items took a second (tests/local/test_aws.py shows they stay atomic).
    """
    world = MotoWorld(BUCKET, TABLE)
    world.start()
    back_up_only_the_items_a_transaction_touches()
    yield world
    world.stop()


@pytest.fixture(autouse=True)
def aws_environment(monkeypatch: pytest.MonkeyPatch, _moto: MotoWorld) -> Iterator[None]:
    """Fake credentials and a region, then moto holding only our (empty) bucket and table."""
    for name in _FOREIGN_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("CONFIG_BUCKET", BUCKET)
    monkeypatch.setenv("SESSIONS_TABLE", TABLE)
    # The tests' requests all come from one address: a test of these limits sets them.
    for name in PER_CLIENT_LIMITS:
        monkeypatch.setenv(name, "0")
    # moto applies a transaction by copying and mutating shared dicts with no lock, so
    # concurrent calls from threads race (and can even crash). Real DynamoDB applies
    # each conditional write atomically; one lock around moto gives the same guarantee.
    monkeypatch.setattr(
        moto.core.botocore_stubber.BotocoreStubber, "__call__", _serialized_moto_call
    )
    aws.reset_clients()
    gemini.reset_client()
    gemini.reset_key_cache()
    parameters.reset_parameter_cache()
    _moto.fresh()
    yield
    aws.reset_clients()
    gemini.reset_client()


@pytest.fixture(scope="session")
def _gemini_server() -> Iterator[FakeGemini]:
    with FakeGemini() as server:
        yield server


@pytest.fixture
def fake_gemini(_gemini_server: FakeGemini, monkeypatch: pytest.MonkeyPatch) -> FakeGemini:
    """The fake Gemini, with the app configured to call it through google-genai."""
    _gemini_server.clear()
    monkeypatch.setenv("GOOGLE_GEMINI_BASE_URL", _gemini_server.base_url)
    monkeypatch.setenv("GEMINI_API_KEY", GEMINI_KEY)
    return _gemini_server


@pytest.fixture
def api() -> Iterator[ApiClient]:
    from chalice.test import Client

    from app import app

    with Client(app) as client:
        yield ApiClient(client)


@pytest.fixture
def ws_url(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The app's WebSocket API behind the local gateway (as `make run` serves it)."""
    from app import app
    from scripts.websocket_gateway import start_websocket_gateway

    monkeypatch.setenv("WEBSOCKET_URL", "")  # restored after the gateway sets it
    gateway = start_websocket_gateway(app, "127.0.0.1", 0)
    yield gateway.url
    gateway.stop()


@pytest.fixture
def config_store() -> ConfigStore:
    return ConfigStore(aws.get_s3_client(), BUCKET)


@pytest.fixture
def session_store() -> SessionStore:
    return SessionStore(aws.get_sessions_table())


@dataclass(frozen=True)
class Packaging:
    """One `make package` of the dev stage: its output folder and what it logged."""

    folder: Path
    log: str


@pytest.fixture(scope="session")
def packaging(tmp_path_factory: pytest.TempPathFactory) -> Packaging:
    """Package once per run, as an operator would: no AWS credentials or configuration.

    The xdist workers share one package (the first to take the lock builds it): each
    build takes half a minute of CPU that the other tests need.
    """
    # Under xdist each worker's base is a folder of this run's own; alone, it is the run's.
    base = tmp_path_factory.getbasetemp()
    shared = (base.parent if "PYTEST_XDIST_WORKER" in os.environ else base) / "package"
    shared.mkdir(exist_ok=True)
    out, log_file = shared / "dev", shared / "package.log"
    with open(shared / "lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not log_file.exists():
            log_file.write_text(_package(out))
    return Packaging(out, log_file.read_text())


def _package(out: Path) -> str:
    """`make package`'s command into `out`; what it logged."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("AWS_")}
    env.update(
        AWS_DEFAULT_REGION=PACKAGING_REGION,
        AWS_CONFIG_FILE=str(out.parent / "no-config"),
        AWS_SHARED_CREDENTIALS_FILE=str(out.parent / "no-credentials"),
    )
    result = subprocess.run(
        [sys.executable, "-m", "infra.package", "--stage", "dev", "--out", str(out)],
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,  # no terminal, as in CI: the budget is not asked for
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    return result.stderr


@pytest.fixture(scope="session")
def packaged(packaging: Packaging) -> Path:
    """The folder holding sam.json and deployment.zip."""
    return packaging.folder


@pytest.fixture
def start_stack(tmp_path: Path) -> Iterator[Callable[..., LocalStack]]:
    """Starts local servers (`make run`'s command by default); kills them after the test."""
    stacks: list[LocalStack] = []

    def start(
        command: list[str] = MAKE_RUN, cwd: Path = PROJECT_DIR, **extra_env: str | None
    ) -> LocalStack:
        stack = LocalStack(tmp_path / f"stack{len(stacks)}.log", extra_env, command, cwd)
        stacks.append(stack)
        return stack

    yield start
    for stack in stacks:
        stack.kill()
