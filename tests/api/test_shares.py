"""Shares: frozen, anonymous, revocable, continuable snapshots of a conversation."""

from __future__ import annotations

import json
import re
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.fake_gemini import FakeGemini, reply_text
from tests.utils import ApiClient, assert_error

PROMPT = "Secret instructions: always answer like a pirate."


def share(api: ApiClient, session: dict, body: dict | None = None) -> dict:
    response = api.post(
        f"/session/{session['sessionId']}/shares", body or {}, token=session["sessionToken"]
    )
    assert response.status == 201, response.json
    return dict(response.json)


def shared(api: ApiClient, share_id: str) -> dict:
    response = api.get(f"/shares/{share_id}")
    assert response.status == 200, response.json
    return dict(response.json)


def chat_with_two_exchanges(api: ApiClient, **config: object) -> tuple[dict, dict]:
    created = api.create_chat(systemPrompt=PROMPT, promptVisibility="private", **config)
    session = api.start_session(created["chatConfigId"])
    assert api.send(session, "first question").status == 200
    assert api.send(session, "second question").status == 200
    return created, session


def test_a_share_is_frozen(api: ApiClient, fake_gemini: FakeGemini) -> None:
    _, session = chat_with_two_exchanges(api)
    created = share(api, session)
    assert created["messageCount"] == 4
    assert created["url"].endswith(f"/shared/{created['shareId']}")
    before = shared(api, created["shareId"])
    assert [m["role"] for m in before["messages"]] == ["user", "model", "user", "model"]
    assert before["messages"][0]["content"] == "first question"

    fake_gemini.queue(reply_text("a different answer"))
    path = f"/session/{session['sessionId']}"
    assert api.post(path + "/regenerate", token=session["sessionToken"]).status == 200
    assert api.send(session, "third question").status == 200
    assert api.put(path, {"title": "Renamed"}, token=session["sessionToken"]).status == 200

    assert shared(api, created["shareId"]) == before


def test_up_to_a_message(api: ApiClient) -> None:
    _, session = chat_with_two_exchanges(api)
    messages = api.get(f"/session/{session['sessionId']}", token=session["sessionToken"]).json
    first_reply = messages["messages"][1]
    created = share(api, session, {"upToMessageId": first_reply["id"]})
    assert created["messageCount"] == 2
    body = shared(api, created["shareId"])
    assert [m["id"] for m in body["messages"]] == [m["id"] for m in messages["messages"][:2]]
    listed = api.get(f"/session/{session['sessionId']}/shares", token=session["sessionToken"])
    assert listed.json["shares"][0]["upToMessageId"] == first_reply["id"]


def test_a_share_is_anonymous(api: ApiClient) -> None:
    config, session = chat_with_two_exchanges(api)
    created = share(api, session)
    raw = api.get(f"/shares/{created['shareId']}").raw
    page = api.get(f"/shared/{created['shareId']}").raw
    for secret in (session["sessionToken"], config["editToken"], session["sessionId"], PROMPT):
        assert secret.encode() not in raw
        assert secret.encode() not in page
        assert secret.encode() not in json.dumps(created).encode()
    body = json.loads(raw)
    assert body["agent"]["chatConfigId"] == config["chatConfigId"]
    assert set(body) == {"shareId", "title", "agent", "messages", "createdAt"}


def test_the_page_unfurls_escaped_and_is_not_indexed(api: ApiClient) -> None:
    created = api.create_chat(title='<b>"Pirates" & co</b>')
    session = api.start_session(created["chatConfigId"])
    api.send(session, "<script>alert(1)</script> ahoy")
    page = api.get(f"/shared/{share(api, session)['shareId']}")
    html = page.raw.decode()
    assert page.headers["Content-Type"].startswith("text/html")
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    assert '<meta name="robots" content="noindex">' in html
    assert 'property="og:title" content="&lt;b&gt;&quot;Pirates&quot; &amp; co&lt;/b&gt;"' in html
    description = re.search(r'property="og:description" content="([^"]*)"', html)
    assert description and "&lt;script&gt;alert(1)&lt;/script&gt; ahoy" in description[1]
    assert "<script>alert" not in html
    assert "Continue this chat" in html


def test_revoking(api: ApiClient) -> None:
    _, session = chat_with_two_exchanges(api)
    created = share(api, session)
    path = f"/session/{session['sessionId']}/shares/{created['shareId']}"
    assert api.request("DELETE", path, token=session["sessionToken"]).status == 204
    assert_error(api.get(f"/shares/{created['shareId']}"), 404, "share_not_found")
    assert "does not exist or was revoked" in api.get(f"/shared/{created['shareId']}").raw.decode()
    assert_error(api.request("DELETE", path, token=session["sessionToken"]), 404, "share_not_found")
    listed = api.get(f"/session/{session['sessionId']}/shares", token=session["sessionToken"])
    assert listed.json == {"shares": []}
    other = api.new_session()
    assert_error(api.request("DELETE", path, token=other["sessionToken"]), 403, "forbidden")


def test_deleting_the_session_revokes_its_shares(api: ApiClient) -> None:
    _, session = chat_with_two_exchanges(api)
    created = share(api, session)
    path = f"/session/{session['sessionId']}"
    assert api.request("DELETE", path, token=session["sessionToken"]).status == 204
    assert_error(api.get(f"/shares/{created['shareId']}"), 404, "share_not_found")


def test_continuing_a_share(api: ApiClient, fake_gemini: FakeGemini) -> None:
    config, session = chat_with_two_exchanges(api)
    snapshot = shared(api, share(api, session)["shareId"])
    response = api.post(
        "/chat-session", {"chatConfigId": config["chatConfigId"], "fromShare": snapshot["shareId"]}
    )
    assert response.status == 201, response.json
    continued = response.json
    assert continued["sessionId"] != session["sessionId"]
    page = api.get(
        f"/session/{continued['sessionId']}/messages", token=continued["sessionToken"]
    ).json
    assert [(m["role"], m["content"]) for m in page["messages"]] == [
        (m["role"], m["content"]) for m in snapshot["messages"]
    ]
    assert api.send(continued, "third question").status == 200
    texts = fake_gemini.last_request.texts()
    assert texts[:4] == [m["content"] for m in snapshot["messages"]]
    assert texts[-1] == "third question"


def test_continuing_checks_the_agent(api: ApiClient) -> None:
    config, session = chat_with_two_exchanges(api, limits={"sessionsPerDay": 2})
    share_id = share(api, session)["shareId"]
    other = api.create_chat()["chatConfigId"]
    assert_error(
        api.post("/chat-session", {"chatConfigId": other, "fromShare": share_id}),
        400,
        "validation_error",
    )
    unknown = {"chatConfigId": config["chatConfigId"], "fromShare": "x" * 32}
    assert_error(api.post("/chat-session", unknown), 404, "share_not_found")
    again = {"chatConfigId": config["chatConfigId"], "fromShare": share_id}
    assert api.post("/chat-session", again).status == 201  # the second session of the day
    assert_error(api.post("/chat-session", again), 429, "quota_exceeded")


def test_a_deleted_agent_leaves_shares_readable_but_not_continuable(api: ApiClient) -> None:
    config, session = chat_with_two_exchanges(api)
    share_id = share(api, session)["shareId"]
    path = f"/chat-config/{config['chatConfigId']}"
    assert api.request("DELETE", path, token=config["editToken"]).status == 204
    assert shared(api, share_id)["messages"]
    body = {"chatConfigId": config["chatConfigId"], "fromShare": share_id}
    assert_error(api.post("/chat-session", body), 410, "config_deleted")


def test_errors_have_codes(api: ApiClient) -> None:
    empty = api.new_session()
    path = f"/session/{empty['sessionId']}/shares"
    assert_error(api.post(path, {}, token=empty["sessionToken"]), 409, "nothing_to_share")
    _, session = chat_with_two_exchanges(api)
    path = f"/session/{session['sessionId']}/shares"
    token = session["sessionToken"]
    missing = api.post(path, {"upToMessageId": "0000000000000-abcdef0123-0"}, token=token)
    assert_error(missing, 404, "message_not_found")
    assert_error(api.post(path, {"upToMessageId": "a/b"}, token=token), 400, "validation_error")
    assert_error(api.post(path, {"extra": 1}, token=token), 400, "validation_error")
    assert_error(api.post(path, {}), 401, "auth_required")
    assert_error(api.get("/shares/nope"), 404, "share_not_found")
    assert_error(api.get("/shares/a.b"), 404, "share_not_found")


def test_share_ids_carry_at_least_128_random_bits(api: ApiClient) -> None:
    _, session = chat_with_two_exchanges(api)
    ids = {share(api, session)["shareId"] for _ in range(5)}
    assert len(ids) == 5
    for share_id in ids:
        # URL-safe base64: 6 bits a character.
        assert re.fullmatch(r"[A-Za-z0-9_-]+", share_id) and len(share_id) * 6 >= 128


def test_the_limit_holds_exactly_under_concurrency(
    api: ApiClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib.core.errors import TooManyShares
    from chalicelib.schemas.shares import ShareCreate
    from chalicelib.services import shares

    _, session = chat_with_two_exchanges(api)
    monkeypatch.setenv("LIMIT_SHARES_PER_SESSION", "3")

    def attempt(_: int) -> str:
        try:
            shares.create_share(session["sessionId"], session["sessionToken"], ShareCreate(), "")
            return "made"
        except TooManyShares:
            return "refused"

    with ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = list(pool.map(attempt, range(12)))
    assert outcomes.count("made") == 3
    listed = shares.list_shares(session["sessionId"], session["sessionToken"], "")
    assert len(listed.shares) == 3
    # Revoking one frees its place.
    shares.revoke_share(session["sessionId"], session["sessionToken"], listed.shares[0].share_id)
    assert attempt(0) == "made"
    assert attempt(0) == "refused"


def test_copied_messages_are_stored_not_sent(api: ApiClient, session_store) -> None:
    config, session = chat_with_two_exchanges(api, limits={"messagesPerSession": 2})
    body = {"chatConfigId": config["chatConfigId"], "fromShare": share(api, session)["shareId"]}
    continued = api.post("/chat-session", body).json
    record = session_store.get(continued["sessionId"])
    assert record.stored_messages == 4
    # Both of its own messages are still to send.
    assert api.send(continued, "one").status == 200
    assert api.send(continued, "two").status == 200
    assert_error(api.send(continued, "three"), 429, "quota_exceeded")
