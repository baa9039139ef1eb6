"""One context cache per agent: made once, named by every session's request, extended while
in use, dropped on edit or deletion, and never needed for a reply."""

from __future__ import annotations

import pytest

from chalicelib.services import caching
from tests.fake_gemini import FakeGemini, error
from tests.uploads import PDF, config_owner, upload
from tests.utils import DEFAULT_CONFIG, ApiClient

KNOWLEDGE = ("The sky over Mars is butterscotch. " * 60).encode()


@pytest.fixture(autouse=True)
def small_threshold(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONTEXT_CACHE_MIN_TOKENS", "200")


def agent(api: ApiClient) -> dict:
    created = api.create_chat(systemPrompt="Answer from the knowledge.")
    upload(api, config_owner(created), "mars.txt", "text/plain", KNOWLEDGE)
    upload(api, config_owner(created), "mars.pdf", "application/pdf", PDF)
    return created


def send(api: ApiClient, session: dict, message: str = "hi") -> dict:
    response = api.send(session, message)
    assert response.status == 200, response.json
    return dict(response.json)


def test_one_cache_serves_every_session(api: ApiClient, fake_gemini: FakeGemini) -> None:
    created = agent(api)
    first = send(api, api.start_session(created["chatConfigId"]))
    second = send(api, api.start_session(created["chatConfigId"]))
    [cache] = fake_gemini.caches.all
    body = cache.body
    assert body["model"] == "models/gemini-2.5-flash"
    assert body["systemInstruction"]["parts"][0]["text"] == "Answer from the knowledge."
    cached_texts = [part.get("text", "") for part in body["contents"][0]["parts"]]
    assert any("butterscotch" in text for text in cached_texts)
    generated = [r for r in fake_gemini.requests if r.path.endswith(":generateContent")]
    assert len(generated) == 2 and cache.uses == 2
    for request in generated:
        assert request.body["cachedContent"] == cache.name
        assert "systemInstruction" not in request.body
        assert request.inline_files() == []
        assert not any("butterscotch" in text for text in request.texts())
    for reply in (first, second):
        assert reply["usage"]["cachedTokens"] == cache.tokens
        assert reply["usage"]["promptTokens"] > cache.tokens


def test_a_cache_near_its_expiry_is_extended(
    api: ApiClient, fake_gemini: FakeGemini, monkeypatch: pytest.MonkeyPatch
) -> None:
    session = api.start_session(agent(api)["chatConfigId"])
    send(api, session)
    [cache] = fake_gemini.caches.all
    assert cache.updates == 0
    monkeypatch.setattr(caching, "REFRESH_WITHIN_SECONDS", caching.TTL_SECONDS + 60)
    send(api, session)
    assert cache.updates == 1
    assert [r.body.get("ttl") for r in fake_gemini.requests if r.path.endswith(cache.name)] == [
        "3600s"
    ]
    assert len(fake_gemini.caches.all) == 1


def test_an_edit_drops_the_cache_and_old_sessions_send_inline(
    api: ApiClient, fake_gemini: FakeGemini
) -> None:
    created = agent(api)
    old_session = api.start_session(created["chatConfigId"])
    send(api, old_session)
    [old] = fake_gemini.caches.all
    edit = {**DEFAULT_CONFIG, "systemPrompt": "Answer briefly from the knowledge."}
    response = api.put(f"/chat-config/{created['chatConfigId']}", edit, token=created["editToken"])
    assert response.status == 200
    assert old.deleted
    send(api, old_session)
    inline = fake_gemini.last_request.body
    assert "cachedContent" not in inline
    assert inline["systemInstruction"]["parts"][0]["text"] == "Answer from the knowledge."
    assert any("butterscotch" in text for text in fake_gemini.last_request.texts())
    send(api, api.start_session(created["chatConfigId"]))
    new = fake_gemini.caches.all[-1]
    assert new is not old and not new.deleted
    assert new.body["systemInstruction"]["parts"][0]["text"] == edit["systemPrompt"]


def test_new_knowledge_and_deletion_drop_the_cache(api: ApiClient, fake_gemini: FakeGemini) -> None:
    created = agent(api)
    send(api, api.start_session(created["chatConfigId"]))
    upload(api, config_owner(created), "more.md", "text/markdown", b"# More")
    assert fake_gemini.caches.live() == []
    send(api, api.start_session(created["chatConfigId"]))
    assert len(fake_gemini.caches.live()) == 1
    token = created["editToken"]
    assert (
        api.request("DELETE", f"/chat-config/{created['chatConfigId']}", token=token).status == 204
    )
    assert fake_gemini.caches.live() == []


def test_a_failed_cache_sends_the_context_inline(api: ApiClient, fake_gemini: FakeGemini) -> None:
    session = api.start_session(agent(api)["chatConfigId"])
    fake_gemini.queue(error(500, "cache service down"))
    reply = send(api, session)
    assert "cachedTokens" not in reply["usage"]
    body = fake_gemini.last_request.body
    assert "cachedContent" not in body
    assert body["systemInstruction"]["parts"][0]["text"] == "Answer from the knowledge."
    assert fake_gemini.last_request.inline_files() == [("application/pdf", PDF)]


def test_a_small_context_is_sent_inline(
    api: ApiClient, fake_gemini: FakeGemini, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CONTEXT_CACHE_MIN_TOKENS", "100000")
    send(api, api.start_session(agent(api)["chatConfigId"]))
    assert fake_gemini.caches.all == []
    assert "cachedContent" not in fake_gemini.last_request.body


def test_the_offline_model_needs_no_cache(api: ApiClient) -> None:
    reply = send(api, api.start_session(agent(api)["chatConfigId"]))
    assert "2 knowledge file(s)" in reply["message"]


def _lose_the_cache(fake_gemini: FakeGemini) -> str:
    """Gemini drops the cache outside the app (deleted elsewhere, or expired early)."""
    [cache] = fake_gemini.caches.live()
    cache.deleted = True
    return cache.name


def test_a_cache_gemini_lost_is_replaced_by_the_context_inline_then_a_new_cache(
    api: ApiClient, fake_gemini: FakeGemini
) -> None:
    session = api.start_session(agent(api)["chatConfigId"])
    send(api, session)
    lost = _lose_the_cache(fake_gemini)
    before = len(fake_gemini.requests)
    reply = send(api, session, "after the loss")
    tried, answered = [r for r in fake_gemini.requests[before:] if ":generate" in r.path]
    assert tried.body["cachedContent"] == lost  # refused by Gemini (404)...
    assert "cachedContent" not in answered.body  # ...then the same request inline
    assert answered.body["systemInstruction"]["parts"][0]["text"] == "Answer from the knowledge."
    assert answered.inline_files() == [("application/pdf", PDF)]
    assert "cachedTokens" not in reply["usage"]
    assert (
        len(
            api.get(f"/session/{session['sessionId']}", token=session["sessionToken"]).json[
                "messages"
            ]
        )
        == 4
    )
    # The lost cache's record went: the next send makes a new cache and names it.
    send(api, session, "and again")
    [new] = fake_gemini.caches.live()
    assert new.name != lost
    assert fake_gemini.last_request.body["cachedContent"] == new.name


def test_a_streamed_send_replaces_a_lost_cache_too(
    api: ApiClient, fake_gemini: FakeGemini, ws_url: str
) -> None:
    from tests.ws_client import joined_deltas, ws_connect

    session = api.start_session(agent(api)["chatConfigId"])
    send(api, session)
    lost = _lose_the_cache(fake_gemini)
    with ws_connect(ws_url) as ws:
        frames = ws.send_message(session, "streamed after the loss")
    assert [f["type"] for f in frames][0] == "start" and frames[-1]["type"] == "done"
    assert [f["seq"] for f in frames] == list(range(len(frames)))
    assert joined_deltas(frames) == frames[-1]["result"]["reply"]["content"]
    streamed = [r for r in fake_gemini.requests if "streamGenerateContent" in r.path]
    assert [r.body.get("cachedContent") for r in streamed] == [lost, None]
    assert streamed[-1].inline_files() == [("application/pdf", PDF)]


def test_an_agent_with_tools_sends_its_context_inline(
    api: ApiClient, fake_gemini: FakeGemini
) -> None:
    """Gemini refuses tools beside a cache made without them, so a searching agent's
    context never goes to a cache."""
    created = api.create_chat(
        systemPrompt="Answer from the knowledge.", tools={"googleSearch": True}
    )
    upload(api, config_owner(created), "mars.txt", "text/plain", KNOWLEDGE)
    send(api, api.start_session(created["chatConfigId"]))
    assert fake_gemini.caches.all == []
    body = fake_gemini.last_request.body
    assert "cachedContent" not in body
    assert body["tools"] == [{"googleSearch": {}}]
    assert any("butterscotch" in text for text in fake_gemini.last_request.texts())
