"""Conversations as trees through the API: edits, regenerations and switches; the active
path and siblings after each step; the exact history Gemini receives; quotas, retries,
races, old sessions, exports, shares and faults."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.core import aws
from chalicelib.schemas import MessageEdit, MessageSend
from chalicelib.services import conversation as message_service
from chalicelib.services import exchange
from tests.fake_gemini import FakeGemini, error, reply_text
from tests.utils import ApiClient, assert_error, at_once, counting_dynamodb, failing, seed_exchanges

Session = dict[str, Any]


def contents(path: list[dict[str, Any]]) -> list[str]:
    return [m["content"] for m in path]


def sent_texts(fake: FakeGemini) -> list[str]:
    """The texts of the turns Gemini last received, oldest first."""
    return fake.last_request.texts()


def find(api: ApiClient, session: Session, content: str) -> dict[str, Any]:
    """A message anywhere in the tree, by its text."""
    return next(m for m in api.tree(session)["messages"] if m["content"] == content)


def assert_whole_path(path: list[dict[str, Any]]) -> None:
    """A path: the first has no parent, each later one's parent is the one before it."""
    assert path[0]["parentId"] is None
    for parent, child in zip(path, path[1:], strict=False):
        assert child["parentId"] == parent["id"]


def three_exchanges(api: ApiClient, session: Session, fake: FakeGemini) -> None:
    for number in range(3):
        fake.queue(reply_text(f"a{number}"))
        assert api.send(session, f"q{number}").status == 200


@pytest.fixture
def session(api: ApiClient, fake_gemini: FakeGemini) -> Session:
    made = api.new_session()
    three_exchanges(api, made, fake_gemini)
    return made


# --- edit ------------------------------------------------------------------------------


def test_an_edit_keeps_both_answers_and_sends_only_its_history(
    api: ApiClient, fake_gemini: FakeGemini, session: Session
) -> None:
    q1 = find(api, session, "q1")
    fake_gemini.queue(reply_text("a1 new"))
    response = api.edit(session, q1["id"], "q1 edited")
    assert response.status == 200, response.json
    body = response.json
    # Gemini got the history up to the edited message's parent, then the new text.
    assert sent_texts(fake_gemini) == ["q0", "a0", "q1 edited"]
    assert body["userMessage"]["parentId"] == q1["parentId"]
    assert body["userMessage"]["siblings"] == {"index": 1, "count": 2}
    assert body["reply"]["parentId"] == body["userMessage"]["id"]
    assert "siblings" not in body["reply"]
    path = api.active_path(session)
    assert contents(path) == ["q0", "a0", "q1 edited", "a1 new"]
    assert_whole_path(path)
    assert path[2]["siblings"] == {"index": 1, "count": 2}
    assert all("siblings" not in m for m in path[:2] + path[3:])
    # The next send follows the new branch only.
    fake_gemini.queue(reply_text("a2 new"))
    api.send(session, "q2 new")
    assert sent_texts(fake_gemini) == ["q0", "a0", "q1 edited", "a1 new", "q2 new"]


def test_editing_the_first_message_makes_a_sibling_at_the_root(
    api: ApiClient, fake_gemini: FakeGemini, session: Session
) -> None:
    q0 = find(api, session, "q0")
    assert api.edit(session, q0["id"], "q0 again").status == 200
    assert sent_texts(fake_gemini) == ["q0 again"]
    path = api.active_path(session)
    assert contents(path)[0] == "q0 again" and len(path) == 2
    assert path[0]["parentId"] is None and path[0]["siblings"] == {"index": 1, "count": 2}
    # Twice: three first messages.
    assert api.edit(session, path[0]["id"], "q0 third").status == 200
    assert api.active_path(session)[0]["siblings"] == {"index": 2, "count": 3}


def test_edits_are_refused_off_the_path_and_for_replies(
    api: ApiClient, fake_gemini: FakeGemini, session: Session
) -> None:
    q1, a1 = find(api, session, "q1"), find(api, session, "a1")
    assert_error(api.edit(session, a1["id"], "no"), 400, "validation_error")
    api.edit(session, q1["id"], "q1 edited")
    before = api.tree(session)
    # q2 is now on another branch: an edit names a message of the active path.
    q2 = find(api, session, "q2")
    assert_error(api.edit(session, q2["id"], "no"), 404, "message_not_found")
    assert_error(api.edit(session, "nosuchmessage", "no"), 404, "message_not_found")
    assert_error(api.edit(session, q1["id"], "   "), 400, "validation_error")
    response = api.post(f"/session/{session['sessionId']}/messages/{q1['id']}/edit", {"x": 1})
    assert_error(response, 401, "auth_required")
    assert api.tree(session)["messages"] == before["messages"]


def test_an_edit_retried_with_its_key_answers_once(
    api: ApiClient, fake_gemini: FakeGemini, session: Session
) -> None:
    q1 = find(api, session, "q1")
    calls = len(fake_gemini.requests)
    key = {"Idempotency-Key": "edit-1"}
    first = api.edit(session, q1["id"], "q1 edited", headers=key)
    again = api.edit(session, q1["id"], "q1 edited", headers=key)
    assert first.status == again.status == 200
    assert again.json == first.json
    assert len(fake_gemini.requests) == calls + 1
    assert len(api.tree(session)["messages"]) == 8
    # The key names that edit: another text, or another message, is a conflict.
    assert_error(api.edit(session, q1["id"], "other", headers=key), 409, "idempotency_conflict")
    q0 = find(api, session, "q0")
    assert_error(api.edit(session, q0["id"], "q1 edited", headers=key), 409, "idempotency_conflict")
    # A retry of an edit is still checked against its token.
    other = {**session, "sessionToken": api.new_session()["sessionToken"]}
    assert_error(api.edit(other, q1["id"], "q1 edited", headers=key), 403, "forbidden")


def test_concurrent_edits_of_one_message_all_store_with_one_active_leaf(
    api: ApiClient, fake_gemini: FakeGemini, session: Session
) -> None:
    q1 = find(api, session, "q1")
    statuses: list[int] = []

    # Through the service: Chalice's test client swaps os.environ per request, which
    # threads would leave swapped.
    def edit(number: int) -> None:
        request = MessageEdit(message=f"edit {number}")
        message_service.edit_message(
            session["sessionId"], q1["id"], session["sessionToken"], request, None
        )
        statuses.append(200)

    assert at_once(5, edit) == []
    assert statuses == [200] * 5
    tree = api.tree(session)
    assert len(tree["messages"]) == 6 + 10
    versions = [m for m in tree["messages"] if m["parentId"] == q1["parentId"]]
    assert sorted(m["content"] for m in versions) == sorted(
        ["q1", *(f"edit {n}" for n in range(5))]
    )
    assert [m["siblings"] for m in versions] == [{"index": n, "count": 6} for n in range(6)]
    path = api.active_path(session)
    assert_whole_path(path)
    assert path[-1]["id"] == tree["activeLeafId"]
    assert path[2]["content"].startswith("edit ") and len(path) == 4


def test_concurrent_sends_on_one_session_all_show_on_its_path(
    api: ApiClient, session: Session
) -> None:
    statuses: list[int] = []

    def send(number: int) -> None:
        request = MessageSend(session_id=session["sessionId"], message=f"at once {number}")
        message_service.send_message(session["sessionToken"], request, None)
        statuses.append(200)

    assert at_once(5, send) == []
    assert statuses == [200] * 5
    # As from two tabs: each exchange after the one stored before it, none hidden.
    path = api.active_path(session)
    assert_whole_path(path)
    assert len(path) == 6 + 10 == len(api.tree(session)["messages"])
    assert sorted(m["content"] for m in path[6::2]) == [f"at once {n}" for n in range(5)]
    assert all("siblings" not in m for m in path)


# --- regenerate -------------------------------------------------------------------------


def test_regenerate_keeps_the_old_reply_one_step_away(
    api: ApiClient, fake_gemini: FakeGemini, session: Session
) -> None:
    fake_gemini.queue(reply_text("a2 better"))
    response = api.regenerate(session)
    assert response.status == 200
    assert sent_texts(fake_gemini) == ["q0", "a0", "q1", "a1", "q2"]
    path = api.active_path(session)
    assert contents(path) == ["q0", "a0", "q1", "a1", "q2", "a2 better"]
    assert path[-1]["siblings"] == {"index": 1, "count": 2}
    # Back to the old reply.
    old = find(api, session, "a2")
    page = api.switch(session, old["id"])
    assert page.status == 200
    assert contents(page.json["messages"]) == ["q0", "a0", "q1", "a1", "q2", "a2"]
    assert page.json["messages"][-1]["siblings"] == {"index": 0, "count": 2}
    assert contents(api.active_path(session))[-1] == "a2"


def test_regenerating_an_earlier_reply_asks_with_its_history(
    api: ApiClient, fake_gemini: FakeGemini, session: Session
) -> None:
    a0 = find(api, session, "a0")
    fake_gemini.queue(reply_text("a0 again"))
    response = api.regenerate(session, a0["id"])
    assert response.status == 200, response.json
    assert sent_texts(fake_gemini) == ["q0"]
    assert response.json["userMessage"]["content"] == "q0"
    assert contents(api.active_path(session)) == ["q0", "a0 again"]
    q0 = find(api, session, "q0")
    assert_error(api.regenerate(session, q0["id"]), 400, "validation_error")
    assert_error(api.regenerate(session, "nosuchmessage"), 404, "message_not_found")


# --- switch -----------------------------------------------------------------------------


def test_a_switch_shows_the_deepest_newest_path_and_sends_follow_it(
    api: ApiClient, fake_gemini: FakeGemini, session: Session
) -> None:
    q1 = find(api, session, "q1")
    fake_gemini.queue(reply_text("b1"))
    api.edit(session, q1["id"], "p1")
    fake_gemini.queue(reply_text("b2"))
    api.send(session, "p2")
    # Back to the first branch through its q1: the newest descendant at each step.
    page = api.switch(session, q1["id"]).json
    assert contents(page["messages"]) == ["q0", "a0", "q1", "a1", "q2", "a2"]
    assert page["nextCursor"] is None
    assert page["messages"][2]["siblings"] == {"index": 0, "count": 2}
    fake_gemini.queue(reply_text("a3"))
    api.send(session, "q3")
    assert sent_texts(fake_gemini) == ["q0", "a0", "q1", "a1", "q2", "a2", "q3"]
    # And to the second branch by its first message: its deepest path.
    p1 = find(api, session, "p1")
    assert contents(api.switch(session, p1["id"]).json["messages"]) == [
        "q0", "a0", "p1", "b1", "p2", "b2",
    ]  # fmt: skip
    fake_gemini.queue(reply_text("b3"))
    api.send(session, "p3")
    assert sent_texts(fake_gemini) == ["q0", "a0", "p1", "b1", "p2", "b2", "p3"]
    for text in ("q1", "a1", "q2", "a2", "q3", "a3"):
        assert text not in sent_texts(fake_gemini)


def test_a_switch_to_a_message_in_the_middle_goes_down_to_its_newest_leaf(
    api: ApiClient, fake_gemini: FakeGemini, session: Session
) -> None:
    a0 = find(api, session, "a0")
    assert contents(api.switch(session, a0["id"]).json["messages"])[-1] == "a2"
    a2 = find(api, session, "a2")
    fake_gemini.queue(reply_text("a2 again"))
    api.regenerate(session)
    # Through a1, the newest of a2's siblings is the way down.
    a1 = find(api, session, "a1")
    assert contents(api.switch(session, a1["id"]).json["messages"])[-1] == "a2 again"
    assert contents(api.switch(session, a2["id"]).json["messages"])[-1] == "a2"


def test_a_switch_checks_its_message_and_token(api: ApiClient, session: Session) -> None:
    assert_error(api.switch(session, "nosuchmessage"), 404, "message_not_found")
    other = api.new_session()
    api.send(other, "elsewhere")
    foreign = api.active_path(other)[0]
    assert_error(api.switch(session, foreign["id"]), 404, "message_not_found")
    path = f"/session/{session['sessionId']}/active"
    assert_error(api.put(path, {"messageId": foreign["id"]}), 401, "auth_required")
    response = api.put(path, {}, token=session["sessionToken"])
    assert_error(response, 400, "validation_error")


# --- quotas, old sessions, paging, exports, shares, faults --------------------------------


def test_an_edit_and_a_regeneration_each_count_one_message(
    api: ApiClient, fake_gemini: FakeGemini
) -> None:
    session = api.new_session(limits={"messagesPerSession": 3})
    fake_gemini.queue(reply_text("a", prompt_tokens=2, reply_tokens=1))
    first = api.send(session, "q").json
    fake_gemini.queue(reply_text("b", prompt_tokens=3, reply_tokens=1))
    assert api.edit(session, first["userMessage"]["id"], "q again").status == 200
    fake_gemini.queue(reply_text("c", prompt_tokens=4, reply_tokens=1))
    assert api.regenerate(session).status == 200
    assert_error(api.send(session, "one more"), 429, "quota_exceeded")
    view = api.get(f"/session/{session['sessionId']}", token=session["sessionToken"]).json
    assert view["usage"]["promptTokens"] == 9 and view["usage"]["replyTokens"] == 3


def test_a_session_stored_before_trees_reads_as_one_path_and_can_be_edited(
    api: ApiClient, fake_gemini: FakeGemini, session_store: Any
) -> None:
    session = api.new_session()
    seed_exchanges(session_store.table, session["sessionId"], 4)
    path = api.active_path(session)
    assert contents(path) == [f"{kind}{n}" for n in range(4) for kind in ("q", "a")]
    assert_whole_path(path)
    export = api.tree(session)
    assert export["activeLeafId"] == path[-1]["id"]
    assert [m["parentId"] for m in export["messages"]] == [None, *(m["id"] for m in path[:-1])]
    fake_gemini.queue(reply_text("a2 new"))
    assert api.edit(session, path[4]["id"], "q2 new").status == 200
    assert sent_texts(fake_gemini) == ["q0", "a0", "q1", "a1", "q2 new"]
    new_path = api.active_path(session)
    assert contents(new_path) == ["q0", "a0", "q1", "a1", "q2 new", "a2 new"]
    assert_whole_path(new_path)
    assert new_path[4]["siblings"] == {"index": 1, "count": 2}
    # Back to the old messages, which kept their items as they were.
    old = api.switch(session, path[4]["id"]).json["messages"]
    assert contents(old) == contents(path)
    assert old[4]["siblings"] == {"index": 0, "count": 2}


def test_pages_follow_the_active_path(
    api: ApiClient, fake_gemini: FakeGemini, session: Session
) -> None:
    q1 = find(api, session, "q1")
    api.edit(session, q1["id"], "q1 edited")
    for number in range(3):
        api.send(session, f"more{number}")
    path = api.active_path(session)
    seen: list[dict[str, Any]] = []
    cursor = None
    while True:
        query = "?limit=3" + (f"&before={cursor}" if cursor else "")
        page = api.get(
            f"/session/{session['sessionId']}/messages{query}", token=session["sessionToken"]
        ).json
        seen = page["messages"] + seen
        cursor = page["nextCursor"]
        if cursor is None:
            break
    assert seen == path
    assert "q2" not in contents(seen)


def test_the_json_export_holds_the_tree_and_markdown_the_active_path(
    api: ApiClient, fake_gemini: FakeGemini, session: Session
) -> None:
    q1 = find(api, session, "q1")
    fake_gemini.queue(reply_text("a1 new"))
    api.edit(session, q1["id"], "q1 edited")
    fake_gemini.queue(reply_text("a1 newer"))
    api.regenerate(session)
    export = api.tree(session)
    assert contents(export["messages"]) == [
        "q0", "a0", "q1", "a1", "q2", "a2", "q1 edited", "a1 new", "a1 newer",
    ]  # fmt: skip
    assert export["activeLeafId"] == export["messages"][-1]["id"]
    by_content = {m["content"]: m for m in export["messages"]}
    assert by_content["q1 edited"]["siblings"] == {"index": 1, "count": 2}
    assert by_content["a1 new"]["siblings"] == {"index": 0, "count": 2}
    assert by_content["a1 newer"]["parentId"] == by_content["q1 edited"]["id"]
    markdown = api.get(
        f"/session/{session['sessionId']}/export?format=markdown", token=session["sessionToken"]
    ).raw.decode()
    assert "a1 newer" in markdown and "q1 edited" in markdown
    for other in ("\nq1\n", "\na1\n", "\nq2\n", "\na1 new\n"):
        assert other not in markdown
    assert "2 other branches are in the JSON export" in markdown


def test_a_share_snapshots_the_active_path(
    api: ApiClient, fake_gemini: FakeGemini, session: Session
) -> None:
    q2 = find(api, session, "q2")
    api.edit(session, q2["id"], "q2 edited")
    made = api.post(
        f"/session/{session['sessionId']}/shares", {}, token=session["sessionToken"]
    ).json
    shared = api.get(f"/shares/{made['shareId']}").json
    assert [m["content"] for m in shared["messages"]][:5] == ["q0", "a0", "q1", "a1", "q2 edited"]
    assert "a2" not in [m["content"] for m in shared["messages"]]
    refused = api.post(
        f"/session/{session['sessionId']}/shares",
        {"upToMessageId": q2["id"]},
        token=session["sessionToken"],
    )
    assert_error(refused, 404, "message_not_found")


@pytest.mark.parametrize("operation", ["dynamodb.TransactWriteItems", "dynamodb.Query"])
def test_a_failed_write_or_read_leaves_the_tree_whole(
    api: ApiClient, fake_gemini: FakeGemini, session: Session, operation: str
) -> None:
    before = api.tree(session)
    q1 = find(api, session, "q1")
    client = aws.get_dynamodb_resource().meta.client
    # The exchange's transaction (past the reservation's), or the first read.
    after = 1 if operation.endswith("TransactWriteItems") else 0
    with failing(client, operation, after=after):
        edited = api.edit(session, q1["id"], "q1 edited")
        regenerated = api.regenerate(session)
    assert edited.status >= 500 and regenerated.status >= 500
    assert api.tree(session)["messages"] == before["messages"]
    # Nothing was held either: the edit goes through afterwards.
    fake_gemini.queue(reply_text("a1 new"))
    assert api.edit(session, q1["id"], "q1 edited").status == 200
    assert contents(api.active_path(session)) == ["q0", "a0", "q1 edited", "a1 new"]


def test_a_model_failure_during_an_edit_stores_nothing(
    api: ApiClient, fake_gemini: FakeGemini, session: Session
) -> None:
    before = api.tree(session)
    fake_gemini.queue(*[error(503, "down")] * 3)
    assert_error(api.edit(session, find(api, session, "q1")["id"], "x"), 503, "model_unavailable")
    assert api.tree(session) | {"exportedAt": ""} == before | {"exportedAt": ""}


def test_what_a_send_a_page_an_edit_and_a_switch_cost_in_calls(
    api: ApiClient, fake_gemini: FakeGemini, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A send's history is short here, so a young branch soon holds it.
    monkeypatch.setenv("HISTORY_MAX_MESSAGES", "4")
    client = aws.get_dynamodb_resource().meta.client
    q1 = find(api, session, "q1")
    for number in range(3):
        newest = api.active_path(session)[2]["id"]
        assert api.edit(session, newest, f"q1 v{number}").status == 200
    # Right after a fork the history reaches into the run before it: one Query more.
    with counting_dynamodb(client) as young_calls:
        api.send(session, "more0")
    # Once the branch holds a send's history: as before trees.
    for number in range(1, 3):
        api.send(session, f"more{number}")
    with counting_dynamodb(client) as send_calls:
        assert api.send(session, "one more").status == 200
    with counting_dynamodb(client) as page_calls:
        api.get(f"/session/{session['sessionId']}/messages?limit=5", token=session["sessionToken"])
    more1 = find(api, session, "more1")
    with counting_dynamodb(client) as edit_calls:
        assert api.edit(session, more1["id"], "more1 again").status == 200
    with counting_dynamodb(client) as switch_calls:
        assert api.switch(session, q1["id"]).status == 200
    assert [c.operation for c in young_calls].count("Query") == 2
    assert [c.operation for c in send_calls] == [
        "Query",
        "TransactWriteItems",
        "TransactWriteItems",
    ]
    assert [c.operation for c in page_calls] == ["Query"]
    # The session and the top of the partition, then the edited message's run down from it;
    # the reservation; the exchange.
    assert [c.operation for c in edit_calls] == ["Query", "Query", *["TransactWriteItems"] * 2]
    # The path; the message and its run's record (no run below it: it is a leaf's run);
    # the new path; its last page.
    assert [c.operation for c in switch_calls] == [
        "Query", "GetItem", "GetItem", "TransactWriteItems", "Query",
    ]  # fmt: skip


def test_a_branch_past_the_paths_run_cap_is_refused_before_the_model(
    api: ApiClient, fake_gemini: FakeGemini, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(exchange, "MAX_PATH_RUNS", 2)
    q1 = find(api, session, "q1")
    # A first branch: the path is two runs (up to a0, then the edit's).
    assert api.edit(session, q1["id"], "q1 edited").status == 200
    # Another at the same place still fits; one below it would make a third run.
    path = api.active_path(session)
    assert api.edit(session, path[2]["id"], "q1 again").status == 200
    calls = len(fake_gemini.requests)
    refused = api.regenerate(session)
    assert_error(refused, 409, "too_many_branches")
    assert refused.json["details"] == {"limit": 2}
    assert len(fake_gemini.requests) == calls
    # A send on the newest message extends its run: no new one.
    assert api.send(session, "on we go").status == 200
