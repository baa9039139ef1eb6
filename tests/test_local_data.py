"""The local AWS's data outlasts its process: Ctrl-C, kill -9 and chalice local's autoreload."""

from __future__ import annotations

import signal
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from chalicelib.local.snapshot import DEFAULT_DIRECTORY, SAVE_DELAY_SECONDS, SNAPSHOT
from tests.local_stack import (
    CHALICE,
    MAKE_RUN,
    STOP_SECONDS,
    LocalStack,
    copy_of_the_project,
)
from tests.uploads import PDF, post_to_s3

AGENT = {"title": "Keeper", "model": "gemini-2.5-flash", "systemPrompt": "Hi", "temperature": 1}
RESTART = "Restarting local dev server"


# What `chalice local` needs to serve the app from a copy of the project.
@dataclass(frozen=True)
class Made:
    """An agent with a file, and a session with one exchange, as a user makes them."""

    config_id: str
    edit_token: str
    file_id: str
    session_id: str
    session_token: str


def make_an_agent_and_a_session(stack: LocalStack) -> Made:
    status, created = stack.call("POST", "/create-chat", AGENT)
    assert status == 201, created
    config_id, edit_token = created["chatConfigId"], created["editToken"]
    announced = {"filename": "notes.pdf", "contentType": "application/pdf", "size": len(PDF)}
    status, started = stack.call("POST", f"/chat-config/{config_id}/files", announced, edit_token)
    assert status == 201, started
    assert post_to_s3(started, PDF) == 204
    file_id = started["fileId"]
    status, done = stack.call(
        "POST", f"/chat-config/{config_id}/files/{file_id}/complete", token=edit_token
    )
    assert status == 200, done
    status, session = stack.call("POST", "/chat-session", {"chatConfigId": config_id})
    assert status == 201, session
    session_id, session_token = session["sessionId"], session["sessionToken"]
    message = {"sessionId": session_id, "message": "remember me"}
    status, reply = stack.call("POST", "/session-message", message, session_token)
    assert status == 200, reply
    return Made(config_id, edit_token, file_id, session_id, session_token)


def assert_still_there(stack: LocalStack, made: Made) -> None:
    status, config = stack.call("GET", f"/chat-config/{made.config_id}", token=made.edit_token)
    assert status == 200, config
    assert config["title"] == "Keeper"
    status, session = stack.call("GET", f"/session/{made.session_id}", token=made.session_token)
    assert status == 200, session
    assert [m["content"] for m in session["messages"]][:1] == ["remember me"]
    assert len(session["messages"]) == 2
    path = f"/chat-config/{made.config_id}/files/{made.file_id}/link"
    status, link = stack.call("GET", path, token=made.edit_token)
    assert status == 200, link
    with urllib.request.urlopen(link["url"], timeout=10) as response:
        assert response.read() == PDF


def stop_with_ctrl_c(stack: LocalStack) -> None:
    stack.process.send_signal(signal.SIGINT)
    assert stack.process.wait(timeout=STOP_SECONDS) == 0, stack.output()


@pytest.mark.timeout(180)
def test_an_agent_and_a_session_outlast_ctrl_c_and_a_second_make_run(
    start_stack: Callable[..., LocalStack], tmp_path: Path
) -> None:
    data = str(tmp_path / "data")
    first = start_stack(MAKE_RUN, LOCAL_DATA_DIR=data)
    first.wait_until_healthy()
    made = make_an_agent_and_a_session(first)
    stop_with_ctrl_c(first)

    second = start_stack(MAKE_RUN, LOCAL_DATA_DIR=data)
    second.wait_until_healthy()
    assert_still_there(second, made)
    assert f"its data kept in {data}" in second.output()
    # Changed in the second run, after a restore: kept again.
    status, _ = second.call(
        "PUT", f"/chat-config/{made.config_id}", {**AGENT, "title": "Keeper 2"}, made.edit_token
    )
    assert status == 200
    stop_with_ctrl_c(second)
    third = start_stack(MAKE_RUN, LOCAL_DATA_DIR=data)
    third.wait_until_healthy()
    _, config = third.call("GET", f"/chat-config/{made.config_id}", token=made.edit_token)
    assert config["title"] == "Keeper 2"


@pytest.mark.timeout(180)
def test_a_kill_9_loses_at_most_the_last_moment(
    start_stack: Callable[..., LocalStack], tmp_path: Path
) -> None:
    data = str(tmp_path / "data")
    first = start_stack(MAKE_RUN, LOCAL_DATA_DIR=data)
    first.wait_until_healthy()
    made = make_an_agent_and_a_session(first)
    time.sleep(4 * SAVE_DELAY_SECONDS)  # The README's promise: at most the last second.
    first.kill()  # SIGKILL: no exit handler runs.

    second = start_stack(MAKE_RUN, LOCAL_DATA_DIR=data)
    second.wait_until_healthy()
    assert_still_there(second, made)


def wait_for(condition: Callable[[], bool], what: str, stack: LocalStack) -> None:
    deadline = time.monotonic() + 60
    while not condition():
        assert time.monotonic() < deadline, f"{what} did not happen:\n{stack.output()}"
        time.sleep(0.2)


@pytest.mark.timeout(180)
def test_chalice_local_keeps_the_data_in_dot_local_through_an_autoreload(
    start_stack: Callable[..., LocalStack], tmp_path: Path
) -> None:
    """`chalice local` as a user types it, in a project of its own, so an edit there
    restarts only this server; its data goes to the default place, `.local`."""
    project = copy_of_the_project(tmp_path / "project")
    stack = start_stack([str(CHALICE), "local"], cwd=project, LOCAL_DATA_DIR=None)
    stack.wait_until_healthy()
    made = make_an_agent_and_a_session(stack)
    snapshot = project / DEFAULT_DIRECTORY / SNAPSHOT
    wait_for(snapshot.exists, "the first save", stack)
    # Its own saves are no edit: the watcher (polling once a second) passes over them.
    time.sleep(3)
    assert RESTART not in stack.output()

    with (project / "app.py").open("a") as app:
        app.write("\n# An edit.\n")
    wait_for(lambda: RESTART in stack.output(), "the autoreload", stack)
    stack.wait_until_healthy()
    assert_still_there(stack, made)
    assert stack.output().count(RESTART) == 1


def test_an_unreadable_snapshot_is_kept_aside_and_the_server_starts_empty(
    start_stack: Callable[..., LocalStack], tmp_path: Path
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / SNAPSHOT).write_text('{"format": 1, "items": [')  # cut short
    stack = start_stack(MAKE_RUN, LOCAL_DATA_DIR=str(data))
    stack.wait_until_healthy()
    assert "could not be read" in stack.output()
    (kept,) = data.glob(f"{SNAPSHOT}.unreadable-*")
    assert kept.read_text() == '{"format": 1, "items": ['
    made = make_an_agent_and_a_session(stack)  # and it saves anew
    wait_for((data / SNAPSHOT).exists, "the first save", stack)
    stop_with_ctrl_c(stack)
    again = start_stack(MAKE_RUN, LOCAL_DATA_DIR=str(data))
    again.wait_until_healthy()
    assert_still_there(again, made)


def test_a_second_server_on_the_same_data_keeps_its_own_in_memory(
    start_stack: Callable[..., LocalStack], tmp_path: Path
) -> None:
    data = str(tmp_path / "data")
    first = start_stack(MAKE_RUN, LOCAL_DATA_DIR=data)
    first.wait_until_healthy()
    made = make_an_agent_and_a_session(first)
    second = start_stack(MAKE_RUN, LOCAL_DATA_DIR=data)
    second.wait_until_healthy()
    assert "in use by another local server" in second.output()
    assert "its data in memory only" in second.output()
    status, _ = second.call("GET", f"/chat-config/{made.config_id}", token=made.edit_token)
    assert status == 404
    stop_with_ctrl_c(second)  # It leaves the first one's data alone.
    stop_with_ctrl_c(first)
    third = start_stack(MAKE_RUN, LOCAL_DATA_DIR=data)
    third.wait_until_healthy()
    assert_still_there(third, made)
