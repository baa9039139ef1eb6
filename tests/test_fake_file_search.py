"""The real google-genai client speaks File Search with tests/fake_file_search.py as it would
with Gemini: a store, a resumable upload into it, the import's operation, its documents, a
generateContent that searches it, and deletions."""

import io
from collections.abc import Iterator

import pytest
from google import genai
from google.genai import errors, types

from tests.fake_gemini import FakeGemini

TEXT = ("Penguins nest on the ice of Antarctica in winter. " * 200).encode()


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeGemini]:
    with FakeGemini() as server:
        monkeypatch.setenv("GOOGLE_GEMINI_BASE_URL", server.base_url)
        yield server


@pytest.fixture
def client(fake: FakeGemini) -> genai.Client:
    return genai.Client(api_key="test-key")


def upload(
    client: genai.Client, store: str, data: bytes = TEXT
) -> types.UploadToFileSearchStoreOperation:
    return client.file_search_stores.upload_to_file_search_store(
        file_search_store_name=store,
        file=io.BytesIO(data),
        config=types.UploadToFileSearchStoreConfig(
            display_name="penguins.txt", mime_type="text/plain"
        ),
    )


def test_a_file_is_uploaded_indexed_searched_and_deleted(
    fake: FakeGemini, client: genai.Client
) -> None:
    store = client.file_search_stores.create(config={"display_name": "birds"})
    assert store.name and store.display_name == "birds"
    fake.file_search.polls_until_indexed = 1
    operation = upload(client, store.name)
    assert operation.done is False and operation.name
    operation = client.operations.get(operation)
    assert operation.done and operation.response and operation.response.document_name
    document = operation.response.document_name
    assert fake.file_search.uploaded_bytes == len(TEXT)
    [listed] = client.file_search_stores.documents.list(parent=store.name)
    assert (listed.name, listed.display_name, listed.size_bytes) == (
        document,
        "penguins.txt",
        len(TEXT),
    )

    tool = types.Tool(file_search=types.FileSearch(file_search_store_names=[store.name]))
    answer = client.models.generate_content(
        model="gemini-2.5-flash",
        contents="Where do penguins nest?",
        config=types.GenerateContentConfig(tools=[tool]),
    )
    assert answer.candidates and answer.candidates[0].grounding_metadata
    chunks = answer.candidates[0].grounding_metadata.grounding_chunks or []
    context = chunks[0].retrieved_context
    assert context is not None
    assert (context.title, context.file_search_store) == ("penguins.txt", store.name)
    assert "Penguins nest" in (context.text or "")
    assert answer.usage_metadata and answer.usage_metadata.tool_use_prompt_token_count

    client.file_search_stores.documents.delete(name=document, config={"force": True})
    assert list(client.file_search_stores.documents.list(parent=store.name)) == []
    client.file_search_stores.delete(name=store.name, config={"force": True})
    with pytest.raises(errors.ClientError) as gone:
        client.file_search_stores.get(name=store.name)
    assert gone.value.code == 404
    with pytest.raises(errors.ClientError) as searched:
        client.models.generate_content(
            model="gemini-2.5-flash", contents="?", config=types.GenerateContentConfig(tools=[tool])
        )
    assert searched.value.code == 404


def test_a_store_with_documents_needs_force_and_failures_are_scripted(
    fake: FakeGemini, client: genai.Client
) -> None:
    store = client.file_search_stores.create(config={"display_name": "birds"})
    assert store.name
    upload(client, store.name)
    with pytest.raises(errors.ClientError) as refused:
        client.file_search_stores.delete(name=store.name)
    assert refused.value.code == 400
    fake.file_search.fail_indexing = True
    failed = upload(client, store.name)
    assert failed.done and failed.error
    fake.file_search.failures.append(500)
    with pytest.raises(errors.ServerError):
        upload(client, store.name)
