"""Conversations as trees when the app process is killed (SIGKILL) mid-edit: the tree is
whole (the exchange is stored, with its path, or nothing is), and a retry with the
edit's Idempotency-Key gets the stored answer. As in test_crash.py, the fault proxy
applies a DynamoDB call and holds its answer back, so the process dies right after it."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest

from tests.fault_proxy import FaultProxy, late
from tests.local_stack import LocalStack
from tests.resilience.client import call
from tests.resilience.harness import Storage
from tests.resilience.test_crash import MODEL_TIMEOUT, Partition, kill_when, new_session

pytestmark = pytest.mark.timeout(120)


def edit_in_background(
    app: LocalStack, session: dict[str, Any], message_id: str, text: str, key: str
) -> None:
    def edit() -> None:
        path = f"/session/{session['sessionId']}/messages/{message_id}/edit"
        try:
            call(
                app.port,
                "POST",
                path,
                {"message": text},
                token=session["sessionToken"],
                headers={"Idempotency-Key": key},
            )
        except OSError:
            pass  # The process was killed under it.

    threading.Thread(target=edit, daemon=True).start()


def active_path(app: LocalStack, session: dict[str, Any]) -> list[dict[str, Any]]:
    view = call(app.port, "GET", f"/session/{session['sessionId']}", token=session["sessionToken"])
    assert view.status == 200, view.body
    return list(view.body["messages"])


@pytest.mark.parametrize("nth", [1, 2], ids=["after reserving", "after storing"])
def test_killed_mid_edit_the_tree_is_whole_and_a_retry_answers_once(
    proxy: FaultProxy, storage: Storage, start_app: Callable[..., LocalStack], nth: int
) -> None:
    app = start_app(**MODEL_TIMEOUT)
    session = new_session(app)
    token = session["sessionToken"]
    for text in ("one", "two"):
        body = {"sessionId": session["sessionId"], "message": text}
        assert call(app.port, "POST", "/session-message", body, token=token).status == 200
    before = active_path(app, session)
    # The reservation's transaction (1), or the exchange's (2).
    proxy.add("dynamodb.TransactWriteItems", late(300), nth=nth)
    edit_in_background(app, session, before[2]["id"], "two edited", "e1")
    kill_when(app, lambda: proxy.tally.held_back == 1)
    proxy.clear()

    stored = Partition(storage, session)
    stored_edit = nth == 2
    assert len(stored.messages) == 4 + (2 if stored_edit else 0)
    app = start_app(**MODEL_TIMEOUT)
    path = active_path(app, session)
    # One path, first message to leaf: the old one, or the edit's.
    assert path[0]["parentId"] is None
    for parent, child in zip(path, path[1:], strict=False):
        assert child["parentId"] == parent["id"]
    expected = ["one", before[1]["content"], "two edited"] if stored_edit else None
    assert [m["content"] for m in path][:3] == (expected or [m["content"] for m in before][:3])
    if not stored_edit:
        assert path == before
        return
    # The retry names the old message, now off the active path: the stored answer comes back.
    retry = call(
        app.port,
        "POST",
        f"/session/{session['sessionId']}/messages/{before[2]['id']}/edit",
        {"message": "two edited"},
        token=token,
        headers={"Idempotency-Key": "e1"},
    )
    assert retry.status == 200, retry.body
    assert retry.body["reply"] == path[-1] and retry.body["userMessage"] == path[-2]
    assert len(Partition(storage, session).messages) == 6
