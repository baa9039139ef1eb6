"""Conversations as trees in the session store, against moto: the active path, edits,
regenerations, switches, paging, old sessions, and what each costs in calls."""

from __future__ import annotations

import pytest

from chalicelib.core import aws
from chalicelib.core.errors import ConcurrentUpdate, MessageNotFound
from chalicelib.schemas import StoredMessage, Usage
from chalicelib.stores.branches import TreeStore
from chalicelib.stores.messages import new_exchange_ids
from chalicelib.stores.tree import PathMessage, PathView
from tests.stores.test_sessions import make_session
from tests.utils import counting_dynamodb, seed_exchanges

SESSION = "s1"


@pytest.fixture
def tree() -> TreeStore:
    store = TreeStore(aws.get_sessions_table())
    store.table.put_item(Item=make_session(SESSION).to_item())
    return store


def view(tree: TreeStore, max_messages: int = 50) -> PathView:
    loaded = tree.load_view(SESSION, max_messages=max_messages)
    assert loaded is not None
    return loaded


def texts(loaded: PathView) -> list[str]:
    """The active path's texts, oldest first."""
    return [m.message.content for m in reversed(loaded.messages)]


def find(loaded: PathView, content: str) -> PathMessage:
    return next(m for m in loaded.messages if m.message.content == content)


def stored(role: str, content: str, message_id: str) -> StoredMessage:
    return StoredMessage(id=message_id, role=role, content=content, created_at="t")


def send(tree: TreeStore, question: str, answer: str) -> None:
    """A send: an exchange under the active leaf."""
    loaded = view(tree)
    parent = loaded.messages[0] if loaded.messages else None
    exchange(tree, loaded, parent, question, answer)


def exchange(
    tree: TreeStore, loaded: PathView, parent: PathMessage | None, question: str, answer: str
) -> None:
    user_id, reply_id = new_exchange_ids(after=loaded.state.top)
    messages = [stored("user", question, user_id), stored("model", answer, reply_id)]
    _, added = tree.add_messages(SESSION, loaded.state, parent, messages, Usage.of(1, 1))
    # What a write hands back is what a read then finds.
    assert added == view(tree).messages[:2]


def edit(tree: TreeStore, content: str, question: str, answer: str) -> None:
    """An edit of a user message of the active path: a sibling under its parent."""
    loaded = view(tree)
    edited = find(loaded, content)
    parent = find_id(loaded, edited.parent_id)
    exchange(tree, loaded, parent, question, answer)


def find_id(loaded: PathView, message_id: str | None) -> PathMessage | None:
    return next((m for m in loaded.messages if m.message.id == message_id), None)


def regenerate(tree: TreeStore, answer: str) -> None:
    """A new sibling of the last reply."""
    loaded = view(tree)
    reply_id = new_exchange_ids(after=loaded.state.top)[1]
    tree.add_messages(
        SESSION,
        loaded.state,
        loaded.messages[1],
        [stored("model", answer, reply_id)],
        Usage.of(1, 1),
    )


def switch(tree: TreeStore, content: str) -> None:
    """Switch to a message found anywhere in the tree, by its text."""
    message = next(m for m, _ in tree.load_tree(SESSION) if m.content == content)
    tree.switch(SESSION, view(tree).state, message.id)


def three_exchanges(tree: TreeStore) -> None:
    for number in range(3):
        send(tree, f"q{number}", f"a{number}")


def test_sends_make_one_straight_path(tree: TreeStore) -> None:
    three_exchanges(tree)
    loaded = view(tree)
    assert texts(loaded) == ["q0", "a0", "q1", "a1", "q2", "a2"]
    assert loaded.complete
    oldest_first = list(reversed(loaded.messages))
    assert oldest_first[0].parent_id is None
    for parent, child in zip(oldest_first, oldest_first[1:], strict=False):
        assert child.parent_id == parent.message.id
    assert all(m.siblings is None for m in loaded.messages)
    # One run, so no run record: a send writes only its messages and the session.
    assert loaded.state.runs[0].first == "" and len(loaded.state.runs) == 1
    items = tree.table.scan()["Items"]
    assert sorted(str(i["sk"])[:4] for i in items) == ["MSG#"] * 6 + ["SESS"]


def test_edit_keeps_both_answers(tree: TreeStore) -> None:
    three_exchanges(tree)
    edit(tree, "q1", "q1 edited", "a1 new")
    loaded = view(tree)
    assert texts(loaded) == ["q0", "a0", "q1 edited", "a1 new"]
    assert find(loaded, "q1 edited").siblings == (1, 2)
    assert find(loaded, "a1 new").siblings is None
    assert find(loaded, "q1 edited").parent_id == find(loaded, "a0").message.id
    # Nothing of the other branch was lost.
    everything = [m.content for m, _ in tree.load_tree(SESSION)]
    assert sorted(everything) == sorted(["q0", "a0", "q1", "a1", "q2", "a2", "q1 edited", "a1 new"])


def test_regenerate_keeps_the_old_reply(tree: TreeStore) -> None:
    three_exchanges(tree)
    regenerate(tree, "a2 again")
    loaded = view(tree)
    assert texts(loaded) == ["q0", "a0", "q1", "a1", "q2", "a2 again"]
    assert find(loaded, "a2 again").siblings == (1, 2)
    regenerate(tree, "a2 third")
    assert find(view(tree), "a2 third").siblings == (2, 3)


def test_editing_the_first_message_makes_a_second_root(tree: TreeStore) -> None:
    three_exchanges(tree)
    loaded = view(tree)
    exchange(tree, loaded, None, "q0 edited", "a0 new")
    loaded = view(tree)
    assert texts(loaded) == ["q0 edited", "a0 new"]
    assert find(loaded, "q0 edited").siblings == (1, 2)
    assert find(loaded, "q0 edited").parent_id is None
    switch(tree, "q0")
    assert texts(view(tree)) == ["q0", "a0", "q1", "a1", "q2", "a2"]
    assert find(view(tree), "q0").siblings == (0, 2)


def test_switch_takes_the_deepest_path_through_a_message(tree: TreeStore) -> None:
    three_exchanges(tree)
    edit(tree, "q1", "q1 edited", "a1 new")
    send(tree, "q2 on the edit", "a2 on the edit")
    switch(tree, "q1")
    loaded = view(tree)
    assert texts(loaded) == ["q0", "a0", "q1", "a1", "q2", "a2"]
    assert find(loaded, "q1").siblings == (0, 2)
    # From the fork's parent, the newest child is the edit, and then its newest path.
    switch(tree, "a0")
    assert texts(view(tree)) == [
        "q0",
        "a0",
        "q1 edited",
        "a1 new",
        "q2 on the edit",
        "a2 on the edit",
    ]
    switch(tree, "q1 edited")
    assert texts(view(tree))[-1] == "a2 on the edit"


def test_a_send_after_a_switch_continues_the_older_branch(tree: TreeStore) -> None:
    three_exchanges(tree)
    edit(tree, "q1", "q1 edited", "a1 new")
    switch(tree, "q1")
    send(tree, "q3", "a3")
    loaded = view(tree)
    assert texts(loaded) == ["q0", "a0", "q1", "a1", "q2", "a2", "q3", "a3"]
    assert find(loaded, "q3").siblings is None
    # The continuation is where the older branch now leads.
    switch(tree, "a1 new")
    switch(tree, "q2")
    assert texts(view(tree))[-2:] == ["q3", "a3"]
    # And an edit on it forks from its own run.
    edit(tree, "q3", "q3 edited", "a3 new")
    assert texts(view(tree))[-3:] == ["a2", "q3 edited", "a3 new"]
    assert find(view(tree), "q3 edited").siblings == (1, 2)


def test_nested_forks_read_across_runs(tree: TreeStore) -> None:
    three_exchanges(tree)
    edit(tree, "q1", "q1 b", "a1 b")
    send(tree, "q2 b", "a2 b")
    edit(tree, "q2 b", "q2 c", "a2 c")
    regenerate(tree, "a2 d")
    loaded = view(tree)
    assert texts(loaded) == ["q0", "a0", "q1 b", "a1 b", "q2 c", "a2 d"]
    assert [m.siblings for m in reversed(loaded.messages)] == [
        None,
        None,
        (1, 2),
        None,
        (1, 2),
        (1, 2),
    ]
    assert len(loaded.state.runs) == 4
    switch(tree, "q0")
    assert texts(view(tree)) == ["q0", "a0", "q1 b", "a1 b", "q2 c", "a2 d"]


def test_pages_of_the_active_path(tree: TreeStore) -> None:
    three_exchanges(tree)
    edit(tree, "q1", "q1 b", "a1 b")
    for number in range(3):
        send(tree, f"q{number} more", f"a{number} more")
    state = view(tree).state
    whole = texts(view(tree))
    pages, cursor = [], None
    while True:
        page, cursor = tree.load_path_page(SESSION, state, 3, cursor)
        pages.append([m.message.content for m in page])
        if cursor is None:
            break
    assert [text for page in reversed(pages) for text in page] == whole
    assert all(len(page) == 3 for page in pages[:-1])
    last_page, _ = tree.load_path_page(SESSION, state, 3, None)
    assert [m.message.content for m in last_page] == whole[-3:]


def test_an_old_session_reads_as_one_path_and_can_be_edited(tree: TreeStore) -> None:
    seed_exchanges(tree.table, SESSION, 4)
    loaded = view(tree)
    assert texts(loaded) == [t for n in range(4) for t in (f"q{n}", f"a{n}")]
    assert not loaded.state.stored
    oldest_first = list(reversed(loaded.messages))
    assert oldest_first[0].parent_id is None
    assert oldest_first[3].parent_id == oldest_first[2].message.id
    edit(tree, "q2", "q2 edited", "a2 new")
    loaded = view(tree)
    assert texts(loaded) == ["q0", "a0", "q1", "a1", "q2 edited", "a2 new"]
    assert find(loaded, "q2 edited").siblings == (1, 2)
    switch(tree, "q3")
    assert texts(view(tree))[-2:] == ["q3", "a3"]
    parents = {m.content: p for m, p in tree.load_tree(SESSION)}
    assert parents["q0"] is None
    assert parents["q2 edited"] == parents["q2"]


def test_an_old_session_takes_sends(tree: TreeStore) -> None:
    seed_exchanges(tree.table, SESSION, 2)
    send(tree, "q2", "a2")
    loaded = view(tree)
    assert texts(loaded) == ["q0", "a0", "q1", "a1", "q2", "a2"]
    assert loaded.state.stored and len(loaded.state.runs) == 1


def test_a_write_from_a_stale_read_is_refused_and_stores_nothing(tree: TreeStore) -> None:
    three_exchanges(tree)
    stale = view(tree)
    send(tree, "q3", "a3")
    before = tree.table.scan()["Items"]
    with pytest.raises(ConcurrentUpdate):
        exchange(tree, stale, stale.messages[0], "late", "late answer")
    with pytest.raises(ConcurrentUpdate):
        tree.switch(SESSION, stale.state, stale.messages[-1].message.id)
    assert tree.table.scan()["Items"] == before


def test_switch_to_a_missing_message(tree: TreeStore) -> None:
    three_exchanges(tree)
    with pytest.raises(MessageNotFound):
        tree.switch(SESSION, view(tree).state, "0000000000000-nothing00-0")


def test_what_reads_and_writes_cost(tree: TreeStore) -> None:
    seed_exchanges(tree.table, SESSION, 1000)
    client = tree.table.meta.client
    # A send on an old session: one Query, one transaction.
    with counting_dynamodb(client) as calls:
        loaded = view(tree)
        user_id, reply_id = new_exchange_ids(after=loaded.state.top)
        sent = [stored("user", "q1000", user_id), stored("model", "a1000", reply_id)]
        tree.add_messages(SESSION, loaded.state, loaded.messages[0], sent, Usage.of(1, 1))
    assert [c.operation for c in calls] == ["Query", "TransactWriteItems"]
    # An edit at depth 1,000 (a few reads, whatever the depth), then sends on the
    # new branch: its run holds a page after 50 messages, and the read is one Query again.
    deep = next(m for m, _ in tree.load_tree(SESSION) if m.content == "q500")
    with counting_dynamodb(client) as calls:
        loaded = view(tree)
        # The history up to the edited message's parent: a page that ends there.
        history, _ = tree.load_path_page(SESSION, loaded.state, 50, deep.id)
        user_id, reply_id = new_exchange_ids(after=loaded.state.top)
        edited = [stored("user", "q500 edited", user_id), stored("model", "a500 new", reply_id)]
        tree.add_messages(SESSION, loaded.state, history[-1], edited, Usage.of(1, 1))
    assert [c.operation for c in calls] == ["Query", "Query", "TransactWriteItems"]
    assert texts(view(tree))[-3:] == ["a499", "q500 edited", "a500 new"]
    for number in range(25):
        send(tree, f"more {number}", "answer")
    with counting_dynamodb(client) as calls:
        loaded = view(tree)
    assert [c.operation for c in calls] == ["Query"]
    assert len(loaded.messages) == 50
    # A switch back: the message, its run's record, and the session's Update.
    with counting_dynamodb(client) as calls:
        tree.switch(SESSION, loaded.state, deep.id)
    assert [c.operation for c in calls] == ["GetItem", "GetItem", "TransactWriteItems"]
    assert texts(view(tree))[-2:] == ["q1000", "a1000"]
    # Right after it, the active leaf is not the newest message: one Query more.
    with counting_dynamodb(client) as calls:
        assert len(view(tree).messages) == 50
    assert [c.operation for c in calls] == ["Query", "Query"]


def test_a_switch_counts_siblings_added_since_a_branch_started(tree: TreeStore) -> None:
    three_exchanges(tree)
    edit(tree, "q1", "q1 b", "a1 b")
    send(tree, "q2 b", "a2 b")
    switch(tree, "q1")
    edit(tree, "q1", "q1 c", "a1 c")
    # The record of "q1 b"'s run was written when a0 had two children; it now has three.
    switch(tree, "a2 b")
    loaded = view(tree)
    assert texts(loaded) == ["q0", "a0", "q1 b", "a1 b", "q2 b", "a2 b"]
    assert find(loaded, "q1 b").siblings == (1, 3)
    # Deeper: the runs above a message are recounted in one BatchGetItem.
    edit(tree, "q2 b", "q2 c", "a2 c")
    switch(tree, "q1")
    edit(tree, "q1", "q1 d", "a1 d")
    with counting_dynamodb(tree.table.meta.client) as calls:
        switch(tree, "a2 c")
    assert [c.operation for c in calls].count("BatchGetItem") == 1
    loaded = view(tree)
    assert texts(loaded) == ["q0", "a0", "q1 b", "a1 b", "q2 c", "a2 c"]
    assert find(loaded, "q1 b").siblings == (1, 4)
    assert find(loaded, "q2 c").siblings == (1, 2)


def test_the_history_stops_at_the_character_budget(tree: TreeStore) -> None:
    three_exchanges(tree)
    edit(tree, "q2", "q2 b", "a2 b")
    loaded = tree.load_view(SESSION, max_messages=50, char_budget=10)
    assert loaded is not None
    # Over the budget with the fourth message back: it is returned, the rest is not.
    assert [m.message.content for m in loaded.messages] == ["a2 b", "q2 b", "a1", "q1"]
    assert not loaded.complete


def test_deleting_a_session_removes_its_tree(tree: TreeStore) -> None:
    from chalicelib.stores.sessions import SessionStore

    three_exchanges(tree)
    edit(tree, "q1", "q1 b", "a1 b")
    switch(tree, "q1")
    send(tree, "q3", "a3")
    assert any(str(i["sk"]).startswith("BRANCH#") for i in tree.table.scan()["Items"])
    SessionStore(tree.table).delete(SESSION, "2026-01-01T00:00:00.000Z")
    assert tree.table.scan()["Items"] == []


def test_the_path_at_an_earlier_message(tree: TreeStore) -> None:
    three_exchanges(tree)
    edit(tree, "q1", "q1 b", "a1 b")
    send(tree, "q2 b", "a2 b")
    user = find(view(tree), "q1 b").message.id
    with counting_dynamodb(tree.table.meta.client) as calls:
        loaded = tree.load_view(SESSION, max_messages=50, at=user)
    # The top of the partition, then the runs from the message down.
    assert [c.operation for c in calls] == ["Query", "Query", "Query"]
    assert loaded is not None
    assert texts(loaded) == ["q0", "a0", "q1 b"]
    assert loaded.messages[0].siblings == (1, 2)
    # Read at a message, the first page holds only the session and the newest item (an
    # edit's message is never the leaf): at the leaf, the top of the partition serves
    # with one page more (while its run holds what is read: this one has four messages).
    leaf = view(tree).state.leaf
    with counting_dynamodb(tree.table.meta.client) as calls:
        at_leaf = tree.load_view(SESSION, max_messages=3, at=leaf)
    assert [c.operation for c in calls] == ["Query", "Query"]
    assert at_leaf is not None and texts(at_leaf) == ["a1 b", "q2 b", "a2 b"]
    # A message of another branch, or none at all, is not on the active path.
    other = next(m for m, _ in tree.load_tree(SESSION) if m.content == "a2")
    for missing in (other.id, "9999999999999-nothing00-0"):
        with pytest.raises(MessageNotFound):
            tree.load_view(SESSION, max_messages=50, at=missing)
