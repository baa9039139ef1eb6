"""Knowledge past the context window: `knowledgeMode` (context, search, auto), one File
Search store per agent kept in step with its knowledge, sends that name the store and carry
no file bytes, citations of the files read, and the inline fallback whenever the store is
not there (importing, failed, or lost at Gemini)."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.services import knowledge_search
from tests.fake_file_search import store_names as tools_stores
from tests.fake_gemini import FakeGemini, RecordedRequest
from tests.uploads import PNG, config_owner, handbook, upload
from tests.utils import DEFAULT_CONFIG, ApiClient, assert_error
from tests.ws_client import ws_connect

MARS = ("The sky over Mars is butterscotch at noon and blue at sunset. " * 40).encode()
VENUS = ("Venus turns backwards, so its sun rises in the west. " * 40).encode()


def agent(api: ApiClient, mode: str | None = "search", **files: bytes) -> dict[str, Any]:
    created = api.create_chat(knowledgeMode=mode) if mode else api.create_chat()
    for name, data in files.items():
        upload(api, config_owner(created), name.replace("_", "."), "text/plain", data)
    return created


def listed(api: ApiClient, created: dict[str, Any]) -> dict[str, Any]:
    response = api.get(f"/chat-config/{created['chatConfigId']}/files", token=created["editToken"])
    assert response.status == 200, response.json
    return dict(response.json)


def generated(fake: FakeGemini) -> list[RecordedRequest]:
    return [r for r in fake.requests if r.path.split("?")[0].endswith("enerateContent")]


def store_names(request: RecordedRequest) -> list[str]:
    return [name for tool in request.body.get("tools") or [] for name in tools_stores(tool)]


def carries_knowledge(request: RecordedRequest) -> bool:
    return bool(request.inline_files()) or any("--- file:" in text for text in request.texts())


def test_the_mode_is_validated_shown_copied_and_the_creators_alone(api: ApiClient) -> None:
    assert api.create_chat()["config"]["knowledgeMode"] == "auto"
    created = api.create_chat(knowledgeMode="search")
    config_id = created["chatConfigId"]
    assert api.get(f"/chat-config/{config_id}").json["knowledgeMode"] == "search"
    session = api.start_session(config_id)
    assert session["knowledgeMode"] == "search"
    wrong = api.post("/create-chat", {**DEFAULT_CONFIG, "knowledgeMode": "rag"})
    assert_error(wrong, 400, "validation_error")
    assert wrong.json["details"]["fields"][0]["field"] == "knowledgeMode"
    body = {**DEFAULT_CONFIG, "model": "gemini-2.0-flash", "knowledgeMode": "search"}
    old = api.post("/create-chat", body)
    assert_error(old, 400, "validation_error")
    assert old.json["details"]["fields"][0]["field"] == "knowledgeMode"
    moved = api.put(
        f"/chat-config/{config_id}",
        {**DEFAULT_CONFIG, "model": "gemini-2.0-flash"},
        token=created["editToken"],
    )
    assert moved.json["details"]["fields"][0]["field"] == "model"
    override = api.put(
        f"/session/{session['sessionId']}",
        {"knowledgeMode": "context"},
        token=session["sessionToken"],
    )
    assert_error(override, 400, "validation_error")
    exported = api.get(f"/session/{session['sessionId']}/export", token=session["sessionToken"])
    assert exported.json["knowledgeMode"] == "search"


def test_a_send_names_the_store_and_carries_no_file_bytes_whole_and_streamed(
    api: ApiClient, fake_gemini: FakeGemini, ws_url: str
) -> None:
    created = agent(api, mars_txt=MARS)
    [store] = fake_gemini.file_search.live()
    [document] = store.documents.values()
    assert (document.display_name, document.data) == ("mars.txt", MARS)
    files = listed(api, created)
    assert files["search"]["mode"] == "search" and files["search"]["state"] == "ready"
    assert files["search"]["importedFileIds"] == [files["files"][0]["fileId"]]

    session = api.start_session(created["chatConfigId"])
    reply = api.send(session, "What colour is the sky over Mars?").json["reply"]
    whole = fake_gemini.last_request
    with ws_connect(ws_url) as ws:
        frames = ws.send_message(session, "And at sunset, the sky over Mars?")
    streamed = fake_gemini.last_request
    assert "streamGenerateContent" in streamed.path
    for request in (whole, streamed):
        # As google-genai sends it (Gemini reads either spelling of a field).
        assert request.body["tools"] == [{"fileSearch": {"file_search_store_names": [store.name]}}]
        assert not carries_knowledge(request)
        assert request.body["systemInstruction"]
        assert "cachedContent" not in request.body
    for citations in (reply["citations"], frames[-1]["result"]["reply"]["citations"]):
        assert citations["sources"] == [{"title": "mars.txt", "uri": ""}]
    path = f"/session/{session['sessionId']}/export?format=markdown"
    markdown = api.get(path, token=session["sessionToken"]).raw.decode()
    assert "[^1]: mars.txt\n" in markdown  # a file, not a link


def test_600_pages_are_searched_not_sent_and_cited_by_name(
    api: ApiClient, fake_gemini: FakeGemini
) -> None:
    pages = handbook(600)
    assert pages.count(b"\f") == 599
    created = agent(api, mode=None, handbook_txt=pages)  # auto: far above the threshold
    assert listed(api, created)["search"]["estimatedTokens"] > 400_000
    assert fake_gemini.file_search.uploaded_bytes == len(pages)
    session = api.start_session(created["chatConfigId"])
    sent = api.send(session, "How is the valve on deck 417 opened?").json
    request = fake_gemini.last_request
    assert store_names(request) and not carries_knowledge(request)
    assert "cachedContent" not in request.body and fake_gemini.caches.all == []
    assert request.size < 5_000  # the message and prompt, not 1.8 MB of pages
    assert sent["reply"]["citations"]["sources"] == [{"title": "handbook.txt", "uri": ""}]
    # The passages Gemini read count, as tool-use prompt tokens: a few thousand, not 450,000.
    assert 0 < sent["usage"]["toolUsePromptTokens"] < 5_000


def test_auto_searches_from_the_threshold_and_back(
    api: ApiClient, fake_gemini: FakeGemini, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KNOWLEDGE_SEARCH_MIN_TOKENS", str(len(MARS) // 4 + 10))
    created = agent(api, mode="auto", mars_txt=MARS)
    assert listed(api, created)["search"] == {
        "mode": "context",
        "estimatedTokens": len(MARS) // 4,
        "state": None,
        "importedFileIds": [],
    }
    assert fake_gemini.file_search.live() == []
    api.send(api.start_session(created["chatConfigId"]), "Mars?")
    assert carries_knowledge(fake_gemini.last_request)
    assert not store_names(fake_gemini.last_request)

    venus = upload(api, config_owner(created), "venus.txt", "text/plain", VENUS)
    [store] = fake_gemini.file_search.live()
    assert sorted(d.display_name for d in store.documents.values()) == ["mars.txt", "venus.txt"]
    assert listed(api, created)["search"]["mode"] == "search"
    api.send(api.start_session(created["chatConfigId"]), "Venus?")
    assert store_names(fake_gemini.last_request) == [store.name]

    owner = config_owner(created)
    api.request("DELETE", f"{owner.base}/files/{venus['fileId']}", token=owner.token)
    assert fake_gemini.file_search.live() == []  # below the threshold again: the store goes
    assert listed(api, created)["search"]["mode"] == "context"


def test_file_search_never_goes_beside_a_built_in_tool(
    api: ApiClient, fake_gemini: FakeGemini
) -> None:
    # Gemini does not combine File Search with its other tools: search is refused with
    # one on, naming what the client changed.
    created = agent(api, mars_txt=MARS)
    path, token = f"/chat-config/{created['chatConfigId']}", created["editToken"]
    edit = {**DEFAULT_CONFIG, "knowledgeMode": "search", "tools": {"googleSearch": True}}
    refused = api.put(path, edit, token=token)
    assert_error(refused, 400, "validation_error")
    assert refused.json["details"]["fields"][0]["field"] == "tools"
    both = {**DEFAULT_CONFIG, "knowledgeMode": "search", "tools": {"codeExecution": True}}
    refused = api.post("/create-chat", both)
    assert_error(refused, 400, "validation_error")
    assert refused.json["details"]["fields"][0]["field"] == "knowledgeMode"
    # In auto, a tool sends the knowledge inline, and the store is dropped.
    auto = {**DEFAULT_CONFIG, "knowledgeMode": "auto", "tools": {"googleSearch": True}}
    assert api.put(path, auto, token=token).status == 200
    api.send(api.start_session(created["chatConfigId"]), "Mars?")
    assert fake_gemini.last_request.body["tools"] == [{"googleSearch": {}}]
    assert carries_knowledge(fake_gemini.last_request)
    assert listed(api, created)["search"]["mode"] == "context"


def test_images_are_sent_beside_the_store(api: ApiClient, fake_gemini: FakeGemini) -> None:
    created = agent(api, mars_txt=MARS)
    upload(api, config_owner(created), "crater.png", "image/png", PNG)
    [store] = fake_gemini.file_search.live()
    assert [d.display_name for d in store.documents.values()] == ["mars.txt"]
    assert listed(api, created)["search"]["state"] == "ready"
    api.send(api.start_session(created["chatConfigId"]), "What does the crater show?")
    request = fake_gemini.last_request
    assert store_names(request) == [store.name]
    assert request.inline_files() == [("image/png", PNG)]
    assert not any("butterscotch" in text for text in request.texts())


def test_removing_a_file_deletes_its_document(api: ApiClient, fake_gemini: FakeGemini) -> None:
    created = agent(api, mars_txt=MARS, venus_txt=VENUS)
    [store] = fake_gemini.file_search.live()
    assert len(store.documents) == 2
    mars = next(f for f in listed(api, created)["files"] if f["filename"] == "mars.txt")
    owner = config_owner(created)
    assert (
        api.request("DELETE", f"{owner.base}/files/{mars['fileId']}", token=owner.token).status
        == 204
    )
    assert [d.display_name for d in store.documents.values()] == ["venus.txt"]
    deletions = [r for r in fake_gemini.requests if "/documents/" in r.path]
    assert len(deletions) == 1 and "force=" in deletions[0].path
    session = api.start_session(created["chatConfigId"])
    assert api.send(session, "Venus?").json["reply"]["citations"]["sources"] == [
        {"title": "venus.txt", "uri": ""}
    ]


def test_deleting_the_agent_deletes_its_store(api: ApiClient, fake_gemini: FakeGemini) -> None:
    created = agent(api, mars_txt=MARS)
    [store] = fake_gemini.file_search.live()
    response = api.request(
        "DELETE", f"/chat-config/{created['chatConfigId']}", token=created["editToken"]
    )
    assert response.status == 204
    assert store.deleted and fake_gemini.file_search.live() == []
    [deletion] = [r for r in fake_gemini.requests if f"/{store.name}?" in r.path]
    assert "force=" in deletion.path


@pytest.mark.parametrize("streamed", [False, True])
def test_a_lost_store_is_rebuilt_and_the_send_goes_inline_meanwhile(
    api: ApiClient, fake_gemini: FakeGemini, ws_url: str, streamed: bool
) -> None:
    created = agent(api, mars_txt=MARS)
    [lost] = fake_gemini.file_search.live()
    fake_gemini.file_search.lose(lost.name)
    session = api.start_session(created["chatConfigId"])
    before = len(generated(fake_gemini))
    if streamed:
        with ws_connect(ws_url) as ws:
            frames = ws.send_message(session, "Mars?")
        assert frames[-1]["type"] == "done"
    else:
        assert api.send(session, "Mars?").status == 200
    refused, inline = generated(fake_gemini)[before:]
    assert store_names(refused) == [lost.name]
    assert not store_names(inline) and carries_knowledge(inline)

    assert api.send(session, "Mars again?").status == 200
    [rebuilt] = fake_gemini.file_search.live()
    assert rebuilt.name != lost.name
    assert [d.data for d in rebuilt.documents.values()] == [MARS]
    assert store_names(fake_gemini.last_request) == [rebuilt.name]


def test_a_failed_import_is_recorded_sends_go_inline_and_a_later_send_retries(
    api: ApiClient, fake_gemini: FakeGemini, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_gemini.file_search.failures.append(500)  # the store cannot be made
    created = agent(api, mars_txt=MARS)
    assert listed(api, created)["search"]["state"] == "failed"
    session = api.start_session(created["chatConfigId"])
    sent = api.send(session, "Mars?")
    assert sent.status == 200
    assert carries_knowledge(fake_gemini.last_request)
    assert not store_names(fake_gemini.last_request)

    fake_gemini.file_search.fail_indexing = True  # now the store is made, the indexing fails
    upload(api, config_owner(created), "venus.txt", "text/plain", VENUS)
    assert listed(api, created)["search"]["state"] == "failed"
    session = api.start_session(created["chatConfigId"])
    assert api.send(session, "Venus?").status == 200
    assert carries_knowledge(fake_gemini.last_request)

    # A send retries once the failure is old enough; Gemini is well again.
    fake_gemini.file_search.fail_indexing = False
    monkeypatch.setattr(knowledge_search, "RETRY_FAILED_SECONDS", 0)
    assert api.send(session, "Venus?").status == 200
    [store] = fake_gemini.file_search.live()
    assert store_names(fake_gemini.last_request) == [store.name]
    assert sorted(d.display_name for d in store.documents.values()) == ["mars.txt", "venus.txt"]
    assert listed(api, created)["search"]["state"] == "ready"


def test_a_send_follows_an_import_still_indexing(api: ApiClient, fake_gemini: FakeGemini) -> None:
    fake_gemini.file_search.polls_until_indexed = 2
    created = agent(api, mars_txt=MARS)
    assert listed(api, created)["search"]["state"] == "importing"
    session = api.start_session(created["chatConfigId"])
    api.send(session, "Mars?")  # the first poll: not yet
    assert carries_knowledge(fake_gemini.last_request)
    api.send(session, "Mars?")  # the second: indexed
    assert store_names(fake_gemini.last_request) and not carries_knowledge(fake_gemini.last_request)
    assert listed(api, created)["search"]["state"] == "ready"
