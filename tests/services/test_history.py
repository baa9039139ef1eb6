"""What a send reads of its history: one Query page, capped by HISTORY_MAX_MESSAGES.

DynamoDB calls are counted through botocore's own hooks on the app's client.
"""

from __future__ import annotations

import pytest

from chalicelib.stores.sessions import SessionStore
from tests.fake_gemini import DEFAULT_REPLY_PREFIX, FakeGemini
from tests.services.test_exchange import texts
from tests.utils import ApiClient, counting_dynamodb, seed_exchanges


def test_history_max_messages_caps_what_is_sent(
    api: ApiClient, fake_gemini: FakeGemini, monkeypatch: pytest.MonkeyPatch
) -> None:
    session = api.new_session()
    for number in range(4):
        api.send(session, f"q{number}")
    monkeypatch.setenv("HISTORY_MAX_MESSAGES", "3")
    api.send(session, "final")
    # Three earlier messages fit the cap, but a reply never goes without its question.
    assert [text for _, text in texts(fake_gemini.last_request.body)] == [
        "q3",
        DEFAULT_REPLY_PREFIX + "q3",
        "final",
    ]


# Bytes a message item adds to a Query's JSON answer beyond its text: keys, role, date.
ITEM_OVERHEAD_BYTES = 250


@pytest.mark.parametrize("chars", [20, 300, 3000])
def test_a_send_reads_its_history_in_one_query(
    api: ApiClient, fake_gemini: FakeGemini, session_store: SessionStore, chars: int
) -> None:
    """At any message length: one Query page, three DynamoDB calls in all, and
    no more items read than HISTORY_MAX_MESSAGES (50) allows."""
    session = api.new_session()
    seed_exchanges(session_store.table, session["sessionId"], 200, chars=chars)
    with counting_dynamodb(session_store.table.meta.client) as calls:
        response = api.send(session, "q".ljust(chars, "."))
    assert response.status == 200
    assert [c.operation for c in calls] == ["Query", "TransactWriteItems", "TransactWriteItems"]
    query = calls[0]
    assert query.items_read <= 50 + 2  # the session item, the cap, one more
    sent = texts(fake_gemini.last_request.body)[:-1]
    fits = min(50, (60_000 - chars) // chars)  # the new message counts too
    assert len(sent) == fits - fits % 2  # whole exchanges: it starts on a user turn
    read_bound = (50 + 2) * (chars + ITEM_OVERHEAD_BYTES)
    if len(sent) == 50:  # the cap binds: what is read is what is sent, and overhead
        read_bound = sum(len(text) for _, text in sent) + 52 * ITEM_OVERHEAD_BYTES
    assert query.response_bytes <= read_bound


def test_a_regeneration_reads_its_history_in_one_query(
    api: ApiClient, fake_gemini: FakeGemini, session_store: SessionStore
) -> None:
    session = api.new_session()
    seed_exchanges(session_store.table, session["sessionId"], 200, chars=20)
    api.send(session, "last question")
    with counting_dynamodb(session_store.table.meta.client) as calls:
        response = api.post(
            f"/session/{session['sessionId']}/regenerate", token=session["sessionToken"]
        )
    assert response.status == 200
    assert [c.operation for c in calls] == ["Query", "TransactWriteItems", "TransactWriteItems"]
    assert calls[0].items_read <= 50 + 4  # the last exchange comes on top of the cap
    sent = texts(fake_gemini.last_request.body)
    assert sent[-1] == ("user", "last question") and len(sent) == 51
