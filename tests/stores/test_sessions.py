"""The DynamoDB session store, against moto."""

from __future__ import annotations

from typing import Any

from chalicelib.schemas import StoredMessage, Usage
from chalicelib.stores.sessions import SessionRecord, SessionStore, new_exchange_ids
from chalicelib.stores.tree import PathView
from tests.utils import counting_dynamodb, seed_exchanges


def make_session(session_id: str = "s1") -> SessionRecord:
    return SessionRecord(
        session_id=session_id,
        chat_config_id="c1",
        token_hash="h",
        title="T",
        model="gemini-2.5-flash",
        system_prompt="p",
        temperature=0.7,
        allow_session_overrides=True,
        created_at="2026-01-01T00:00:00.000Z",
        updated_at="2026-01-01T00:00:00.000Z",
    )


def message(role: str, content: str) -> StoredMessage:
    return StoredMessage(id="", role=role, content=content, created_at="t")


def append(store: SessionStore, question: str, answer: str) -> tuple[StoredMessage, ...]:
    """A send: an exchange under the active leaf."""
    view = store.load_view("s1", max_messages=1)
    assert view is not None
    user_id, reply_id = new_exchange_ids(after=view.state.top)
    _, added = store.add_messages(
        "s1",
        view.state,
        view.messages[0] if view.messages else None,
        [
            message("user", question).model_copy(update={"id": user_id}),
            message("model", answer).model_copy(update={"id": reply_id}),
        ],
        Usage.of(3, 4),
    )
    return tuple(m.message for m in reversed(added))


def recent(store: SessionStore, max_messages: int, char_budget: int | None = None) -> PathView:
    loaded = store.load_view("s1", max_messages=max_messages, char_budget=char_budget)
    assert loaded is not None
    return loaded


def contents(loaded: PathView) -> list[str]:
    return [m.message.content for m in loaded.messages]


def put_session(store: SessionStore) -> None:
    # Sessions are created with their quota (QuotaStore.create_session); here, directly.
    store.table.put_item(Item=make_session().to_item())


def test_create_get_and_missing(session_store: SessionStore) -> None:
    assert session_store.get("s1") is None
    assert session_store.load_view("s1", max_messages=10) is None
    put_session(session_store)
    assert session_store.get("s1") == make_session()


def test_one_item_per_message(session_store: SessionStore) -> None:
    put_session(session_store)
    append(session_store, "q", "a")
    items = session_store._table.scan()["Items"]
    assert sorted(str(item["sk"])[:4] for item in items) == ["MSG#", "MSG#", "SESS"]
    stored = session_store.get("s1")
    assert stored is not None
    assert (stored.stored_messages, stored.prompt_tokens, stored.reply_tokens) == (2, 3, 4)


def test_append_returns_ordered_adjacent_ids(session_store: SessionStore) -> None:
    put_session(session_store)
    first = append(session_store, "q1", "a1")
    second = append(session_store, "q2", "a2")
    ids = [m.id for m in (*first, *second)]
    assert ids == sorted(ids)
    loaded = recent(session_store, 10)
    assert contents(loaded) == ["a2", "q2", "a1", "q1"]
    assert [m.message.id for m in reversed(loaded.messages)] == ids


def test_the_history_stops_at_the_budget(session_store: SessionStore) -> None:
    put_session(session_store)
    seed_exchanges(session_store._table, "s1", 500)
    loaded = recent(session_store, 100, char_budget=20)
    # Newest first; it reads just past the budget so the caller sees what did not fit.
    assert contents(loaded)[:2] == ["a499", "q499"]
    assert sum(len(m) for m in contents(loaded)[:-1]) <= 20
    assert len(loaded.messages) < 10


def test_the_history_is_at_most_max_messages_read_in_one_query(
    session_store: SessionStore,
) -> None:
    put_session(session_store)
    seed_exchanges(session_store._table, "s1", 300, chars=20)
    with counting_dynamodb(session_store.table.meta.client) as calls:
        loaded = recent(session_store, 50, char_budget=1_000_000)
    assert len(loaded.messages) == 50 and not loaded.complete
    assert contents(loaded)[0].startswith("a299")
    # The session item, the messages, and one more that says older ones exist.
    assert [(c.operation, c.items_read) for c in calls] == [("Query", 52)]


def test_the_history_knows_when_it_read_everything(session_store: SessionStore) -> None:
    put_session(session_store)
    seed_exchanges(session_store._table, "s1", 25)
    loaded = recent(session_store, 50)
    assert len(loaded.messages) == 50 and loaded.complete
    assert contents(loaded)[-1] == "q0"


def test_update_settings(session_store: SessionStore) -> None:
    assert session_store.update_settings("s1", {"title": "x"}, "now") is None
    put_session(session_store)
    updated = session_store.update_settings("s1", {"temperature": 1.5, "title": "New"}, "now")
    assert updated is not None
    assert (updated.temperature, updated.title, updated.updated_at) == (1.5, "New", "now")
    assert session_store.get("s1") == updated


class CancelledResponse:
    status_code = 400
    headers: dict[str, str] = {}
    raw = None
    content = b""
    text = ""


def test_transaction_conflicts_are_retried(session_store: SessionStore) -> None:
    """Real DynamoDB cancels concurrent transactions on one item; moto never does, so
    the first two attempts here are answered with DynamoDB's cancellation error."""
    put_session(session_store)
    attempts: list[int] = []

    def conflict(**_: object) -> Any:
        attempts.append(1)
        if len(attempts) > 2:
            return None  # let the call through to moto
        return CancelledResponse(), {
            "Error": {"Code": "TransactionCanceledException", "Message": "cancelled"},
            "CancellationReasons": [{"Code": "TransactionConflict"}, {"Code": "None"}],
        }

    events = session_store._table.meta.client.meta.events
    events.register("before-call.dynamodb.TransactWriteItems", conflict)
    try:
        stored = append(session_store, "q", "a")
    finally:
        events.unregister("before-call.dynamodb.TransactWriteItems", conflict)
    assert len(attempts) == 3
    loaded = recent(session_store, 10)
    assert [m.message.id for m in reversed(loaded.messages)] == [m.id for m in stored]
