"""Stepping between siblings ("‹ 2/3 ›"): PUT /session/{id}/active with `sibling`, which
names a version by its index, so a client needs no ids but the message it shows."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.core import aws
from chalicelib.services import exchange
from tests.api.test_trees import contents, find
from tests.fake_gemini import FakeGemini, reply_text
from tests.utils import ApiClient, assert_error, counting_dynamodb, seed_exchanges

Session = dict[str, Any]


def flip(api: ApiClient, session: Session, message_id: str, sibling: int) -> list[str]:
    response = api.switch(session, message_id, sibling)
    assert response.status == 200, response.json
    return contents(response.json["messages"])


@pytest.fixture
def session(api: ApiClient, fake_gemini: FakeGemini) -> Session:
    made = api.new_session()
    for number in range(3):
        fake_gemini.queue(reply_text(f"a{number}"))
        assert api.send(made, f"q{number}").status == 200
    return made


def test_each_version_of_an_edited_message_is_one_index_away(
    api: ApiClient, fake_gemini: FakeGemini, session: Session
) -> None:
    q1 = find(api, session, "q1")
    for version in ("v1", "v2"):
        fake_gemini.queue(reply_text(f"answer {version}"))
        shown = api.active_path(session)[2]["id"]
        assert api.edit(session, shown, f"q1 {version}").status == 200
    newest = api.active_path(session)[2]
    assert newest["siblings"] == {"index": 2, "count": 3}
    assert flip(api, session, newest["id"], 0) == ["q0", "a0", "q1", "a1", "q2", "a2"]
    # From any version, by index: the middle one, then the newest again.
    assert flip(api, session, q1["id"], 1) == ["q0", "a0", "q1 v1", "answer v1"]
    shown = api.active_path(session)[2]
    assert shown["siblings"] == {"index": 1, "count": 3}
    assert flip(api, session, shown["id"], 2) == ["q0", "a0", "q1 v2", "answer v2"]
    # Its own index shows itself.
    assert flip(api, session, q1["id"], 0)[2] == "q1"


def test_the_first_message_and_a_regenerated_reply_step_the_same_way(
    api: ApiClient, fake_gemini: FakeGemini, session: Session
) -> None:
    q0 = find(api, session, "q0")
    fake_gemini.queue(reply_text("fresh start"))
    api.edit(session, q0["id"], "q0 again")
    assert flip(api, session, q0["id"], 1) == ["q0 again", "fresh start"]
    assert flip(api, session, q0["id"], 0) == ["q0", "a0", "q1", "a1", "q2", "a2"]
    fake_gemini.queue(reply_text("a2 again"))
    api.regenerate(session)
    a2 = find(api, session, "a2")
    assert flip(api, session, a2["id"], 0)[-1] == "a2"
    assert flip(api, session, a2["id"], 1)[-1] == "a2 again"


def test_a_branch_started_from_an_older_leaf_lists_its_first_child(
    api: ApiClient, fake_gemini: FakeGemini, session: Session
) -> None:
    # Back on an older branch, a send forks from its leaf: that leaf's first child is a
    # fork, not the next message of its run.
    q2 = find(api, session, "q2")
    fake_gemini.queue(reply_text("b2"))
    api.edit(session, q2["id"], "p2")
    api.switch(session, q2["id"])
    fake_gemini.queue(reply_text("a3"))
    api.send(session, "q3")
    q3 = find(api, session, "q3")
    fake_gemini.queue(reply_text("b3"))
    api.edit(session, q3["id"], "p3")
    assert flip(api, session, q3["id"], 0)[-2:] == ["q3", "a3"]
    assert flip(api, session, q3["id"], 1)[-2:] == ["p3", "b3"]
    assert_error(api.switch(session, q3["id"], 2), 404, "message_not_found")


def test_a_session_stored_before_trees_steps_back_to_its_old_messages(
    api: ApiClient, fake_gemini: FakeGemini, session_store: Any
) -> None:
    session = api.new_session()
    seed_exchanges(session_store.table, session["sessionId"], 3)
    old = api.active_path(session)
    fake_gemini.queue(reply_text("new answer"))
    assert api.edit(session, old[4]["id"], "edited q2").status == 200
    assert flip(api, session, old[4]["id"], 1)[4:] == ["edited q2", "new answer"]
    assert flip(api, session, old[4]["id"], 0) == contents(old)
    # The first message: back through it, the newest way down is the edit's.
    fake_gemini.queue(reply_text("new start"))
    assert api.edit(session, old[0]["id"], "edited q0").status == 200
    assert flip(api, session, old[0]["id"], 1) == ["edited q0", "new start"]
    assert flip(api, session, old[0]["id"], 0)[3:] == ["a1", "edited q2", "new answer"]


def test_a_step_is_refused_past_the_last_sibling_or_for_another_sessions_message(
    api: ApiClient, session: Session
) -> None:
    q1 = find(api, session, "q1")
    assert_error(api.switch(session, q1["id"], 1), 404, "message_not_found")
    response = api.switch(session, q1["id"], -1)
    assert_error(response, 400, "validation_error")
    assert response.json["details"]["fields"][0]["field"] == "sibling"
    assert_error(api.switch(session, q1["id"], 1.5), 400, "validation_error")
    other = api.new_session()
    api.send(other, "elsewhere")
    foreign = api.active_path(other)[0]["id"]
    assert_error(api.switch(session, foreign, 0), 404, "message_not_found")
    # Nothing moved.
    assert contents(api.active_path(session)) == ["q0", "a0", "q1", "a1", "q2", "a2"]


def test_a_step_costs_a_few_reads_whatever_the_tree(
    api: ApiClient, fake_gemini: FakeGemini, session: Session
) -> None:
    client = aws.get_dynamodb_resource().meta.client
    q1 = find(api, session, "q1")

    def versions(count: int) -> None:
        for version in range(count):
            fake_gemini.queue(reply_text(f"answer {version}"))
            newest = api.active_path(session)[2]["id"]
            assert api.edit(session, newest, f"v{version}").status == 200

    def step(index: int) -> list[str]:
        with counting_dynamodb(client) as calls:
            flip(api, session, q1["id"], index)
        return [call.operation for call in calls]

    versions(5)
    # The path (the leaf is the newest message: one Query); the message and its parent's
    # list; the first child is the message after its parent (one Query); then the switch:
    # the child and its run's record, the new path, its last page.
    assert step(0) == [
        "Query", "GetItem", "GetItem", "Query", "GetItem", "GetItem", "TransactWriteItems",
        "Query",
    ]  # fmt: skip
    # To a forked version from an older branch: the path (two runs); the message and its
    # parent's list; the switch, which recounts the runs above (BatchGetItem); the page.
    to_fork = step(3)
    assert to_fork == [
        "Query", "Query", "GetItem", "GetItem", "GetItem", "GetItem", "BatchGetItem",
        "TransactWriteItems", "Query", "Query",
    ]  # fmt: skip
    # Ten versions more, and the same step costs the same.
    versions(10)
    step(0)
    assert step(3) == to_fork


def test_a_message_past_its_versions_cap_is_refused_before_the_model(
    api: ApiClient, fake_gemini: FakeGemini, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(exchange, "MAX_VERSIONS", 2)
    q1 = find(api, session, "q1")
    fake_gemini.queue(reply_text("answer v1"))
    assert api.edit(session, q1["id"], "q1 v1").status == 200
    calls = len(fake_gemini.requests)
    refused = api.edit(session, api.active_path(session)[2]["id"], "q1 v2")
    assert_error(refused, 409, "too_many_branches")
    assert refused.json["details"] == {"limit": 2}
    fake_gemini.queue(reply_text("answer v1, again"))
    assert api.regenerate(session).status == 200
    assert_error(api.regenerate(session), 409, "too_many_branches")
    assert len(fake_gemini.requests) == calls + 1
    # Sends go on, and the versions are all there.
    assert api.send(session, "onwards").status == 200
    assert flip(api, session, q1["id"], 0)[2] == "q1"
