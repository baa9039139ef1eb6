"""`make run` and `chalice local`, started as real processes and driven over HTTP.

Each runs with no AWS credentials, no AWS configuration and no Gemini key, as in
a fresh clone: the dev stage's settings start the in-memory AWS on first use.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import boto3
import pytest
from moto.server import ThreadedMotoServer

from tests.local_stack import (
    CHALICE,
    MAKE_RUN,
    PROJECT_DIR,
    LocalStack,
    copy_of_the_project,
    free_port,
    local_environment,
    raw_request,
)


def assert_answers_like_the_deployed_api(port: int) -> None:
    """Unknown paths, undeclared methods and a browser's preflight, over real HTTP."""
    # "/" is the web app; a static file that does not exist is an unknown path.
    for path in ("/nope", "/session/abc/nope", "/static/nope.js"):
        status, headers, body = raw_request(port, "GET", path)
        assert status == 404, (path, body)
        assert json.loads(body) == {"error": "Nothing is served at this path.", "code": "not_found"}
        assert headers["Content-Type"] == "application/json; charset=utf-8"
        assert headers["Access-Control-Allow-Origin"] == "*"
    # QUERY (which schemathesis sends) and a name no standard knows, as well as those
    # the API has but not on this path.
    for method in ("TRACE", "CONNECT", "QUERY", "BREW", "PATCH", "DELETE"):
        status, headers, body = raw_request(port, method, "/health")
        assert status == 405, (method, body)
        assert json.loads(body)["code"] == "method_not_allowed"
        assert headers["Allow"] == "GET"
    requested = "authorization,content-type,idempotency-key"
    status, headers, _ = raw_request(
        port,
        "OPTIONS",
        "/session-message",
        {
            "Origin": "https://app.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": requested,
        },
    )
    assert status == 200
    allowed = {h.strip().lower() for h in headers["Access-Control-Allow-Headers"].split(",")}
    assert set(requested.split(",")) <= allowed
    assert "Retry-After" in headers["Access-Control-Expose-Headers"]


@pytest.fixture
def moto_endpoint() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.mark.timeout(120)
def test_serves_a_whole_conversation_on_local_aws_and_stops_on_sigterm(
    start_stack: Callable[..., LocalStack],
) -> None:
    stack = start_stack()
    stack.wait_until_healthy()

    status, chat = stack.call(
        "POST",
        "/create-chat",
        {
            "title": "Helper",
            "model": "gemini-2.5-flash",
            "systemPrompt": "Be brief.",
            "temperature": 0.5,
        },
    )
    assert status == 201, chat
    assert chat["chatConfigId"] and chat["editToken"]

    status, session = stack.call("POST", "/chat-session", {"chatConfigId": chat["chatConfigId"]})
    assert status == 201, session
    session_id, token = session["sessionId"], session["sessionToken"]

    status, reply = stack.call(
        "POST", "/session-message", {"sessionId": session_id, "message": "hello"}, token
    )
    assert status == 200, reply
    assert isinstance(reply["message"], str) and reply["message"]

    status, history = stack.call("GET", f"/session/{session_id}", token=token)
    assert status == 200, history
    assert len(history["messages"]) == 2

    # Simultaneous sends all land, though moto itself is not thread-safe.
    statuses: list[int] = []

    def send(number: int) -> None:
        body = {"sessionId": session_id, "message": f"at once {number}"}
        statuses.append(stack.call("POST", "/session-message", body, token)[0])

    threads = [threading.Thread(target=send, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [200] * 8
    assert len(stack.call("GET", f"/session/{session_id}", token=token)[1]["messages"]) == 18

    assert_answers_like_the_deployed_api(stack.port)
    assert "in-memory AWS (moto)" in stack.output()
    assert stack.stop_with_sigterm() == 0, stack.output()
    assert "Traceback" not in stack.output()


@pytest.mark.timeout(120)
def test_provisions_the_bucket_and_table_at_a_given_endpoint(
    start_stack: Callable[..., LocalStack], moto_endpoint: str
) -> None:
    suffix = uuid.uuid4().hex[:8]
    bucket, table = f"configs-{suffix}", f"sessions-{suffix}"
    stack = start_stack(
        AWS_ENDPOINT_URL=moto_endpoint,
        CONFIG_BUCKET=bucket,
        SESSIONS_TABLE=table,
    )
    stack.wait_until_healthy()

    session = boto3.session.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
    )
    session.client("s3", endpoint_url=moto_endpoint).head_bucket(Bucket=bucket)
    dynamodb = session.client("dynamodb", endpoint_url=moto_endpoint)
    assert dynamodb.describe_table(TableName=table)["Table"]["TableStatus"] == "ACTIVE"

    assert moto_endpoint in stack.output()
    assert stack.stop_with_sigterm() == 0, stack.output()


def documentation() -> str:
    """The README and every page of the docs site, as one text."""
    pages = [PROJECT_DIR / "README.md", *sorted((PROJECT_DIR / "docs").glob("*.md"))]
    return "\n".join(page.read_text() for page in pages)


def readme_walkthrough() -> str:
    """The docs' curl walkthrough and its creator-controls sequel, as one script."""
    readme = documentation()
    blocks = []
    for heading in ("Walkthrough with curl", "Creator controls", "The conversation, in full"):
        pattern = r"^#+ " + re.escape(heading) + r"\n.*?```sh\n(.*?)```"
        match = re.search(pattern, readme, re.DOTALL | re.MULTILINE)
        assert match, f"the docs have no curl examples under {heading!r}"
        blocks.append(match.group(1))
    return "\n".join(blocks)


@pytest.mark.timeout(120)
@pytest.mark.skipif(
    not (shutil.which("curl") and shutil.which("jq") and shutil.which("bash")),
    reason="the walkthrough needs bash, curl and jq",
)
def test_the_readme_walkthrough_works_as_written_on_chalice_local(
    start_stack: Callable[..., LocalStack], tmp_path: Path
) -> None:
    """`chalice local` as a user types it, autoreload and all, in the dev stage."""
    project = copy_of_the_project(tmp_path / "project")
    # Neither PORT nor WS_PORT: the WebSocket API goes beside chalice's own --port.
    stack = start_stack([str(CHALICE), "local"], cwd=project, WS_PORT="", PORT="")
    stack.wait_until_healthy()
    assert stack.call("GET", "/health")[1]["websocketUrl"] == f"ws://127.0.0.1:{stack.port + 1}"
    script = readme_walkthrough()
    assert "API=http://127.0.0.1:8000" in script
    script = script.replace("API=http://127.0.0.1:8000", f"API=http://127.0.0.1:{stack.port}")
    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    output = result.stdout
    assert '[offline model] You said: "Hello!"' in output
    assert "I can see 4 earlier message(s)" in output
    assert "\n6\n" in output  # the history holds the three exchanges
    assert '"title":"My pirate"' in output
    assert '"code":"auth_required"' in output
    assert '"title":"Ninja tutor"' in output
    # The creator controls.
    assert '"systemPromptHidden": true' in output
    assert "The answer is 42" not in output
    assert output.count("HTTP 200: ") == 3
    assert 'HTTP 429: {"limit":"messagesPerSession","value":3}' in output
    assert "DELETE: HTTP 204" in output
    # The rest of the conversation API.
    replies = re.findall(r'\{"reply":"([^"]+)","usage"', output)
    assert len(replies) == 2 and replies[0] == replies[1]  # the retry got the same exchange
    assert '["user","model"]' in output
    # The edit of the first message, then back to the whole first branch.
    assert '\n{"index":1,"count":2}\nHello!\n' in output
    assert '{"id":"gemini-2.5-flash","default":true,' in output
    assert "## User · " in output
    assert "DELETE session: HTTP 204" in output


BURST = 50
ROUNDS = 3


@pytest.mark.timeout(180)
def test_make_run_takes_a_burst_of_connections_without_a_reset(
    start_stack: Callable[..., LocalStack],
) -> None:
    """chalice's server listens with socketserver's queue of 5; make run's holds 128."""
    stack = start_stack()
    stack.wait_until_healthy()
    body = {"title": "Burst", "model": "gemini-2.5-flash", "systemPrompt": "", "temperature": 1}

    def create(barrier: threading.Barrier, outcomes: list[int | str]) -> None:
        barrier.wait()
        try:
            outcomes.append(stack.call("POST", "/create-chat", body)[0])
        except OSError as exc:  # a reset or refused connection
            outcomes.append(repr(exc))

    for _ in range(ROUNDS):
        barrier = threading.Barrier(BURST)
        outcomes: list[int | str] = []
        threads = [threading.Thread(target=create, args=(barrier, outcomes)) for _ in range(BURST)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert outcomes == [201] * BURST, [o for o in outcomes if o != 201]


def test_make_run_on_a_busy_port_says_so_in_one_line_and_hints_at_a_free_pair() -> None:
    """The hint skips the taken port's + 1 (its WebSocket gateway's, when it is a make run)
    and any port whose + 1 is taken: here port + 3, so port + 2 is no good either."""
    port = free_port()
    with socket.socket() as taken, socket.socket() as also_taken:
        taken.bind(("127.0.0.1", port))
        taken.listen()
        try:
            also_taken.bind(("127.0.0.1", port + 3))
        except OSError:
            pytest.skip(f"port {port + 3} is in use")
        also_taken.listen()
        env = {k: v for k, v in os.environ.items() if k != "WS_PORT"}
        result = subprocess.run(
            [*MAKE_RUN, "--port", str(port)],
            cwd=PROJECT_DIR,
            capture_output=True,
            text=True,
            timeout=60,
            env=env,
        )
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1, result.stderr
    assert f"127.0.0.1:{port} is already in use" in result.stderr
    hinted = int(re.search(r"PORT=(\d+) make run", result.stderr)[1])  # type: ignore[index]
    assert hinted >= port + 4, result.stderr


@pytest.mark.timeout(120)
def test_sigterm_to_make_runs_process_group_stops_it_once_without_a_traceback(
    tmp_path: Path,
) -> None:
    """What a process manager or `kill -- -PGID` does: make and the server both get it,
    and make sends it on to the server again as it dies; here the second comes while the
    server stops (saving its local data), as make's may."""
    port = free_port()
    log_path = tmp_path / "make-run.log"
    env = local_environment(log_path, {"MAKEFLAGS": None, "MAKELEVEL": None})
    with log_path.open("wb") as log:
        make = subprocess.Popen(
            ["make", "--no-print-directory", "run", f"PORT={port}"],
            cwd=PROJECT_DIR,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 60
        while raw_request_or_none(port) != 200:
            assert make.poll() is None and time.monotonic() < deadline, log_path.read_text()
            time.sleep(0.3)
        agent = b'{"title":"T","model":"gemini-2.5-flash","systemPrompt":"","temperature":1}'
        request = urllib.request.Request(f"http://127.0.0.1:{port}/create-chat", data=agent)
        request.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(request, timeout=30) as response:
            assert response.status == 201
        os.killpg(make.pid, signal.SIGTERM)
        while "Stopped." not in log_path.read_text() and make.poll() is None:
            time.sleep(0.001)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(make.pid, signal.SIGTERM)  # as make's own, while the server stops
        make.wait(timeout=20)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(make.pid, signal.SIGKILL)
    output = log_path.read_text()
    assert "in-memory AWS (moto)" in output
    assert output.count("Stopped.") == 1, output
    assert "Traceback" not in output, output


def raw_request_or_none(port: int) -> int | None:
    try:
        return raw_request(port, "GET", "/health")[0]
    except OSError:
        return None


@pytest.mark.timeout(120)
def test_a_busy_websocket_port_leaves_the_rest_api_serving_and_says_so(
    start_stack: Callable[..., LocalStack],
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        ws_port = taken.getsockname()[1]
        stack = start_stack([str(CHALICE), "local", "--no-autoreload"], WS_PORT=str(ws_port))
        stack.wait_until_healthy()
        status, health = stack.call("GET", "/health")
        assert (status, health["websocketUrl"]) == (200, None)
        status, created = stack.call(
            "POST",
            "/create-chat",
            {"title": "T", "model": "gemini-2.5-flash", "systemPrompt": "", "temperature": 0.5},
        )
        assert status == 201, created
        assert f"no WebSocket API (127.0.0.1:{ws_port}: " in stack.output()
        assert "Traceback" not in stack.output()


@pytest.mark.timeout(120)
def test_chalice_local_itself_answers_like_the_deployed_api(
    start_stack: Callable[..., LocalStack],
) -> None:
    stack = start_stack([str(CHALICE), "local", "--no-autoreload"])
    stack.wait_until_healthy()
    assert_answers_like_the_deployed_api(stack.port)


@pytest.mark.timeout(120)
def test_streams_an_offline_reply_over_the_websocket_api_and_stores_a_stopped_one(
    start_stack: Callable[..., LocalStack],
) -> None:
    from tests.ws_client import action_frame, joined_deltas, send_frame, ws_connect

    ws_port = free_port()
    stack = start_stack(WS_PORT=str(ws_port))
    stack.wait_until_healthy()
    status, health = stack.call("GET", "/health")
    assert health["websocketUrl"] == f"ws://127.0.0.1:{ws_port}"
    _, chat = stack.call(
        "POST",
        "/create-chat",
        {"title": "T", "model": "gemini-2.5-flash", "systemPrompt": "", "temperature": 0.5},
    )
    _, session = stack.call("POST", "/chat-session", {"chatConfigId": chat["chatConfigId"]})
    # The offline model repeats the message, word by word: a long one takes seconds.
    long_message = " ".join(f"word{n}" for n in range(300))
    with ws_connect(health["websocketUrl"]) as ws:
        whole = ws.send_message(session, "hello")
        ws.send(send_frame(session, long_message, "r2"))
        frames = [ws.receive(), ws.receive(), ws.receive()]
        ws.send(action_frame("stop", session, "r2"))
        frames += ws.until_final("r2")
    assert [f["type"] for f in whole][:2] == ["start", "delta"] and whole[-1]["type"] == "done"
    assert len([f for f in whole if f["type"] == "delta"]) > 5
    assert joined_deltas(whole) == whole[-1]["result"]["reply"]["content"]
    assert frames[-1]["type"] == "done" and frames[-1]["stopped"] is True
    _, history = stack.call(
        "GET", f"/session/{session['sessionId']}", token=session["sessionToken"]
    )
    stopped = history["messages"][-1]
    assert stopped["stopped"] is True
    assert stopped["content"] == joined_deltas(frames)
    assert long_message not in stopped["content"]
    assert "WebSocket API" in stack.output()
    assert stack.stop_with_sigterm() == 0, stack.output()


def readme_python_stream_example() -> str:
    section = documentation().split("In Python, with the `websockets` library", 1)[1]
    return section.split("```python\n", 1)[1].split("```", 1)[0]


@pytest.mark.timeout(120)
def test_the_readme_python_streaming_example_streams_and_stops(
    start_stack: Callable[..., LocalStack],
) -> None:
    stack = start_stack()
    stack.wait_until_healthy()
    _, chat = stack.call(
        "POST",
        "/create-chat",
        {"title": "T", "model": "gemini-2.5-flash", "systemPrompt": "", "temperature": 0.5},
    )
    _, session = stack.call("POST", "/chat-session", {"chatConfigId": chat["chatConfigId"]})
    script = readme_python_stream_example()
    assert "http://127.0.0.1:8000/health" in script
    script = script.replace("127.0.0.1:8000", f"127.0.0.1:{stack.port}")
    env = {
        **os.environ,
        "SESSION_ID": session["sessionId"],
        "SESSION_TOKEN": session["sessionToken"],
    }
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, env=env
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("[offline model]")
    assert result.stdout.rstrip().endswith("done True")
    _, history = stack.call(
        "GET", f"/session/{session['sessionId']}", token=session["sessionToken"]
    )
    reply = history["messages"][-1]
    assert reply["stopped"] is True
    assert reply["content"] in result.stdout
    assert stack.stop_with_sigterm() == 0, stack.output()


@pytest.mark.parametrize(
    ("port_variable", "argv", "expected"),
    [
        ("9100", ["chalice", "local", "--port", "8123"], 9100),  # make run's PORT wins
        ("", ["chalice", "local", "--port", "8123"], 8123),
        ("", ["chalice", "local", "--port=8124", "--no-autoreload"], 8124),
        ("", ["chalice", "local"], 8000),  # chalice's default
    ],
)
def test_the_websocket_gateway_goes_beside_the_http_port(
    monkeypatch: pytest.MonkeyPatch, port_variable: str, argv: list[str], expected: int
) -> None:
    from scripts.websocket_gateway import served_port

    monkeypatch.setenv("PORT", port_variable)
    assert served_port(argv) == expected
