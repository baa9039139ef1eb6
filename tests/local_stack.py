"""Local servers for the tests: `make run`'s command or `chalice local`, as real processes.

Each runs with no AWS credentials, no AWS configuration and no Gemini key, as in
a fresh clone, and keeps its local data in a directory of its own.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

PROJECT_DIR = Path(__file__).resolve().parent.parent
# What `chalice local` reads of the project.
PROJECT_PARTS = ("app.py", "chalicelib", "scripts", ".chalice/config.json")
CHALICE = Path(sys.executable).with_name("chalice")
STARTUP_SECONDS = 60
STOP_SECONDS = 10
# Variables that would point the stack at real services instead of local ones
# (and every AWS_ one: the test process's fake credentials would read as real ones).
REMOVED_VARIABLES = ("GEMINI_API_KEY", "GEMINI_API_KEY_PARAMETER", "GOOGLE_GEMINI_BASE_URL")
MAKE_RUN = [sys.executable, "-m", "scripts.run_local"]


# Ports handed out by free_port in this run, whether their server has bound them yet or not.
_HANDED_OUT: set[int] = set()


def _ephemeral_range() -> tuple[int, int]:
    try:
        low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return int(low), int(high)
    except (OSError, ValueError):
        return 32768, 60999  # Linux's default


def free_port() -> int:
    """A port nothing listens on, for a server started later, outside the ephemeral range:
    a port from that range (what binding to port 0 gives) may be given to one of the many
    outgoing connections made before the server binds it, which then fails to start."""
    low, _ = _ephemeral_range()
    top = low - 1 if low > 11_000 else 65_535  # no room below it: any port, then
    # Each pytest-xdist worker draws from its own slice, so two never pick one port.
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    worker = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw"))
    width = (top - 10_000) // workers
    first = 10_000 + worker * width
    while True:
        port = random.randint(first, first + width - 1)
        if port in _HANDED_OUT:
            continue
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
        _HANDED_OUT.add(port)
        return port


def raw_request(
    port: int, method: str, path: str, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    """Any method, headers as given: status, headers and body as the server sent them."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request(method, path, headers=headers or {})
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


# Per-client rate limits: every test's requests come from one address.
PER_CLIENT_LIMITS = (
    "LIMIT_AGENTS_PER_CLIENT_PER_DAY",
    "LIMIT_SESSIONS_PER_CLIENT_PER_HOUR",
    "LIMIT_MESSAGES_PER_CLIENT_PER_MINUTE",
)


def local_environment(log_path: Path, extra_env: Mapping[str, str | None]) -> dict[str, str]:
    """A fresh clone's environment: no AWS or Gemini settings; `extra_env`'s None unsets."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in REMOVED_VARIABLES and not k.startswith("AWS_")
    }
    env.update(
        # No shared AWS files either: a developer's ~/.aws would switch local AWS off.
        AWS_CONFIG_FILE=str(log_path.with_suffix(".no-aws-config")),
        AWS_SHARED_CREDENTIALS_FILE=str(log_path.with_suffix(".no-aws-credentials")),
        PYTHONUNBUFFERED="1",
    )
    # The WebSocket gateway beside it, on a free port too; its local data beside its log.
    env.update(WS_PORT=str(free_port()), LOCAL_DATA_DIR=str(log_path.with_suffix(".data")))
    # Off unless a test sets them.
    env.update(dict.fromkeys(PER_CLIENT_LIMITS, "0"))
    for name, value in extra_env.items():  # None: unset
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


class LocalStack:
    """A local server (`make run`'s command by default), with its output kept in a file."""

    def __init__(
        self,
        log_path: Path,
        extra_env: Mapping[str, str | None],
        command: list[str],
        cwd: Path = PROJECT_DIR,
    ) -> None:
        env = local_environment(log_path, extra_env)
        self.port = free_port()
        self.log_path = log_path
        with log_path.open("wb") as log:
            # A session of its own: `chalice local` is a parent and a worker, stopped together.
            self.process = subprocess.Popen(
                [*command, "--port", str(self.port)],
                cwd=cwd,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def call(
        self, method: str, path: str, body: dict[str, Any] | None = None, token: str | None = None
    ) -> tuple[int, Any]:
        headers = {"Content-Type": "application/json"}
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}{path}", data=data, headers=headers, method=method
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"null")

    def raw(
        self, method: str, path: str, headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, str], bytes]:
        return raw_request(self.port, method, path, headers)

    def wait_until_healthy(self) -> None:
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            assert self.process.poll() is None, f"stack exited early:\n{self.output()}"
            try:
                if self.call("GET", "/health")[0] == 200:
                    return
            except (OSError, ValueError):
                pass  # Not listening yet, or answering before the app is ready.
            time.sleep(0.3)
        pytest.fail(f"/health did not answer within {STARTUP_SECONDS}s:\n{self.output()}")

    def stop_with_sigterm(self) -> int:
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=STOP_SECONDS)
        except subprocess.TimeoutExpired:
            pytest.fail(f"stack ignored SIGTERM for {STOP_SECONDS}s:\n{self.output()}")

    def kill(self) -> None:
        try:
            os.killpg(self.process.pid, signal.SIGKILL)  # the group this test started
        except ProcessLookupError:
            pass
        self.process.wait()


def copy_of_the_project(into: Path, parts: tuple[str, ...] = PROJECT_PARTS) -> Path:
    """`parts` of the project (by default what `chalice local` needs), in a folder of its
    own: its autoreload restarts on any file changed under the project, as other tests
    change files here."""
    for part in parts:
        source, target = PROJECT_DIR / part, into / part
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, target)
    return into


@contextlib.contextmanager
def serve_in_process() -> Iterator[str]:
    """The app under chalice.local's own server in this process, as `chalice local` serves
    it (with its local gateway's hooks), on a free port; yields its URL."""
    from chalice.config import Config
    from chalice.local import create_local_server

    from app import CORS, JSON, app
    from chalicelib.api.http import SECURITY_HEADERS
    from scripts import local_gateway

    config = Config(
        chalice_stage="dev",
        user_provided_params={"project_dir": str(PROJECT_DIR), "chalice_app": app},
        config_from_disk={},
    )
    local_gateway.install({**CORS.get_access_control_headers(), **SECURITY_HEADERS, **JSON})
    original_class = app.__class__
    server = create_local_server(app, config, "127.0.0.1", 0)  # port 0: any free one
    thread = threading.Thread(
        target=server.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    try:
        host, port = server.server.server_address[:2]
        yield f"http://{host!s}:{port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server.server_close()
        # create_local_server swaps the app's class for a thread-local one; undo it, or
        # the next server's swap would make the class its own base.
        app.__class__ = original_class
