"""The fake Gemini's File Search: stores, the resumable upload into one, its operations,
documents, and the retrieval a generateContent with a `fileSearch` tool does.

Paths as google-genai calls them (any v1* version):
  POST   /v1beta/fileSearchStores                       create a store
  GET    /v1beta/fileSearchStores/{id}                  get it
  DELETE /v1beta/fileSearchStores/{id}?force=true       delete it (and its documents)
  POST   /upload/v1beta/fileSearchStores/{id}:uploadToFileSearchStore   start an upload:
         answered with an `X-Goog-Upload-URL` to send the bytes to (resumable protocol)
  POST   /fake-upload/{session}                         the bytes; `finalize` makes the
         document and answers with its import's operation
  GET    /v1beta/fileSearchStores/{id}/upload/operations/{op}            the operation
  GET    /v1beta/fileSearchStores/{id}/documents        list its documents
  DELETE /v1beta/fileSearchStores/{id}/documents/{doc}?force=true
A retrieval cuts each document's text into chunks, picks those sharing most words with
the last user message, and cites them as `retrievedContext` (title: the document's
display name), counting their tokens as tool-use prompt tokens.
"""

from __future__ import annotations

import itertools
import re
import threading
from collections import deque
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

JsonDict = dict[str, Any]
Answer = tuple[int, JsonDict, dict[str, str]]

_VERSION = r"/v1[a-z0-9]*"
STORE = re.compile(rf"^{_VERSION}/(?P<store>fileSearchStores/[^/:?]+)$")
STORES = re.compile(rf"^{_VERSION}/fileSearchStores$")
UPLOAD_START = re.compile(
    rf"^/upload{_VERSION}/(?P<store>fileSearchStores/[^/:?]+):uploadToFileSearchStore$"
)
UPLOAD_BYTES = re.compile(r"^/fake-upload/(?P<session>[^/?]+)$")
OPERATION = re.compile(rf"^{_VERSION}/(?P<op>fileSearchStores/[^/]+/upload/operations/[^/?]+)$")
DOCUMENTS = re.compile(rf"^{_VERSION}/(?P<store>fileSearchStores/[^/]+)/documents$")
DOCUMENT = re.compile(rf"^{_VERSION}/(?P<doc>(?P<store>fileSearchStores/[^/]+)/documents/[^/?]+)$")
PATTERNS = (STORE, STORES, UPLOAD_START, UPLOAD_BYTES, OPERATION, DOCUMENTS, DOCUMENT)

_RESPONSE_TYPE = (
    "type.googleapis.com/google.ai.generativelanguage.v1main.UploadToFileSearchStoreResponse"
)
CHUNK_CHARS = 2000
CHUNKS_RETRIEVED = 3


@dataclass
class FakeDocument:
    name: str
    display_name: str
    mime_type: str
    data: bytes

    def resource(self) -> JsonDict:
        return {
            "name": self.name,
            "displayName": self.display_name,
            "mimeType": self.mime_type,
            "sizeBytes": str(len(self.data)),
            "state": "STATE_ACTIVE",
        }

    def chunks(self) -> list[str]:
        text = (
            self.data.decode("utf-8", errors="replace")
            if self.mime_type.startswith("text/")
            else ""
        )
        return [text[i : i + CHUNK_CHARS] for i in range(0, len(text), CHUNK_CHARS)] or [""]


@dataclass
class FakeStore:
    name: str
    display_name: str
    documents: dict[str, FakeDocument] = field(default_factory=dict)
    deleted: bool = False

    def resource(self) -> JsonDict:
        return {
            "name": self.name,
            "displayName": self.display_name,
            "activeDocumentsCount": str(len(self.documents)),
        }


@dataclass
class _Upload:
    store: str
    display_name: str
    mime_type: str
    size: int
    received: bytearray = field(default_factory=bytearray)


@dataclass
class _Operation:
    name: str
    document: str
    polls_left: int
    failed: bool = False

    def resource(self) -> JsonDict:
        operation: JsonDict = {"name": self.name, "done": self.polls_left <= 0}
        if self.failed and self.polls_left <= 0:
            operation["error"] = {"code": 13, "message": "fake indexing failure"}
        elif self.polls_left <= 0:
            parent = self.document.rsplit("/documents/", 1)[0]
            operation["response"] = {
                "@type": _RESPONSE_TYPE,
                "parent": parent,
                "documentName": self.document,
            }
        return operation


def store_names(tool: JsonDict) -> list[str]:
    """The stores a request's tool names; proto JSON takes either spelling, and google-genai
    sends the snake_case one inside the tool."""
    search = tool.get("fileSearch") or tool.get("file_search") or {}
    return list(search.get("fileSearchStoreNames") or search.get("file_search_store_names") or [])


def _not_found(what: str) -> Answer:
    return 404, {"error": {"code": 404, "message": f"{what} not found", "status": "NOT_FOUND"}}, {}


class FakeFileSearch:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self.stores: dict[str, FakeStore] = {}
        self._uploads: dict[str, _Upload] = {}
        self._operations: dict[str, _Operation] = {}
        # Scripted behaviour: answers of the next File Search calls (an HTTP status each),
        # how many polls an import takes, and whether indexing fails.
        self.failures: deque[int] = deque()
        self.polls_until_indexed = 0
        self.fail_indexing = False
        # Bytes of knowledge received through uploads, since the last clear.
        self.uploaded_bytes = 0

    def clear(self) -> None:
        with self._lock:
            self.stores.clear()
            self._uploads.clear()
            self._operations.clear()
            self.failures.clear()
            self.polls_until_indexed = 0
            self.fail_indexing = False
            self.uploaded_bytes = 0

    def live(self) -> list[FakeStore]:
        with self._lock:
            return [store for store in self.stores.values() if not store.deleted]

    def lose(self, name: str) -> None:
        """Gemini forgets the store (as if deleted elsewhere)."""
        with self._lock:
            self.stores[name].deleted = True

    @staticmethod
    def handles(path: str) -> bool:
        return any(pattern.match(path) for pattern in PATTERNS)

    def handle(
        self, method: str, url: str, headers: dict[str, str], raw: bytes, body: JsonDict, host: str
    ) -> Answer:
        parts = urlsplit(url)
        path, query = parts.path, parse_qs(parts.query)
        with self._lock:
            if self.failures:
                status = self.failures.popleft()
                error = {
                    "code": status,
                    "message": "fake File Search failure",
                    "status": "INTERNAL",
                }
                final = {"x-goog-upload-status": "final"} if UPLOAD_BYTES.match(path) else {}
                return status, {"error": error}, final
            if method == "POST" and STORES.match(path):
                return self._create(body)
            if (match := UPLOAD_START.match(path)) and method == "POST":
                return self._start_upload(match["store"], headers, body, host)
            if (match := UPLOAD_BYTES.match(path)) and method == "POST":
                return self._receive(match["session"], headers, raw)
            if (match := OPERATION.match(path)) and method == "GET":
                return self._poll(match["op"])
            if match := DOCUMENTS.match(path):
                store = self._store(match["store"])
                if store is None:
                    return _not_found("FileSearchStore")
                return 200, {"documents": [d.resource() for d in store.documents.values()]}, {}
            if match := DOCUMENT.match(path):
                return self._document(method, match["store"], match["doc"])
            if match := STORE.match(path):
                return self._store_call(method, match["store"], query)
        return _not_found("Method")

    def _store(self, name: str) -> FakeStore | None:
        store = self.stores.get(name)
        return None if store is None or store.deleted else store

    def _create(self, body: JsonDict) -> Answer:
        store = FakeStore(
            f"fileSearchStores/fake-store-{next(self._ids)}", str(body.get("displayName", ""))
        )
        self.stores[store.name] = store
        return 200, store.resource(), {}

    def _store_call(self, method: str, name: str, query: dict[str, list[str]]) -> Answer:
        store = self._store(name)
        if store is None:
            return _not_found("FileSearchStore")
        if method == "GET":
            return 200, store.resource(), {}
        if method == "DELETE":
            if (
                store.documents
                and query.get("force") != ["True"]
                and query.get("force") != ["true"]
            ):
                error = {
                    "code": 400,
                    "message": "store is not empty",
                    "status": "FAILED_PRECONDITION",
                }
                return 400, {"error": error}, {}
            store.deleted = True
            return 200, {}, {}
        return _not_found("Method")

    def _start_upload(
        self, store: str, headers: dict[str, str], body: JsonDict, host: str
    ) -> Answer:
        if self._store(store) is None:
            return _not_found("FileSearchStore")
        if headers.get("x-goog-upload-protocol") != "resumable":
            return 400, {"error": {"code": 400, "message": "resumable uploads only"}}, {}
        session = f"session-{next(self._ids)}"
        self._uploads[session] = _Upload(
            store=store,
            display_name=str(body.get("displayName", "")),
            mime_type=headers.get("x-goog-upload-header-content-type", ""),
            size=int(headers.get("x-goog-upload-header-content-length", "0")),
        )
        answer = {
            "x-goog-upload-url": f"http://{host}/fake-upload/{session}",
            "x-goog-upload-status": "active",
        }
        return 200, {}, answer

    def _receive(self, session: str, headers: dict[str, str], raw: bytes) -> Answer:
        upload = self._uploads.get(session)
        if upload is None or int(headers.get("x-goog-upload-offset", "-1")) != len(upload.received):
            return (
                400,
                {"error": {"code": 400, "message": "bad upload"}},
                {"x-goog-upload-status": "final"},
            )
        upload.received += raw
        self.uploaded_bytes += len(raw)
        if "finalize" not in headers.get("x-goog-upload-command", ""):
            return 200, {}, {"x-goog-upload-status": "active"}
        del self._uploads[session]
        store = self._store(upload.store)
        if store is None or len(upload.received) != upload.size:
            return (
                400,
                {"error": {"code": 400, "message": "bad upload"}},
                {"x-goog-upload-status": "final"},
            )
        document = FakeDocument(
            f"{store.name}/documents/fake-doc-{next(self._ids)}",
            upload.display_name,
            upload.mime_type,
            bytes(upload.received),
        )
        operation = _Operation(
            f"{store.name}/upload/operations/fake-op-{next(self._ids)}",
            document.name,
            self.polls_until_indexed,
            self.fail_indexing,
        )
        self._operations[operation.name] = operation
        if not operation.failed:
            store.documents[document.name] = document
        return 200, operation.resource(), {"x-goog-upload-status": "final"}

    def _poll(self, name: str) -> Answer:
        operation = self._operations.get(name)
        if operation is None:
            return _not_found("Operation")
        operation.polls_left -= 1
        return 200, operation.resource(), {}

    def _document(self, method: str, store_name: str, name: str) -> Answer:
        store = self._store(store_name)
        document = store.documents.get(name) if store else None
        if store is None or document is None:
            return _not_found("Document")
        if method == "DELETE":
            del store.documents[name]
            return 200, {}, {}
        return 200, document.resource(), {}

    def retrieve(self, body: JsonDict, question: str) -> tuple[JsonDict | None, int] | None:
        """For a generateContent naming stores: (groundingMetadata, tokens of the passages);
        None if a named store does not exist (Gemini answers 404)."""
        names = [name for tool in body.get("tools") or [] for name in store_names(tool)]
        if not names:
            return None, 0
        with self._lock:
            stores = [self._store(name) for name in names]
            if any(store is None for store in stores):
                return None
            words = set(re.findall(r"\w{4,}", question.lower()))
            scored = [
                (
                    len(words & set(re.findall(r"\w{4,}", chunk.lower()))),
                    store.name,
                    document,
                    chunk,
                )
                for store in stores
                if store is not None
                for document in store.documents.values()
                for chunk in document.chunks()
            ]
        scored.sort(key=lambda item: -item[0])
        chosen = scored[:CHUNKS_RETRIEVED]
        if not chosen:
            return None, 0
        chunks = [
            {
                "retrievedContext": {
                    "title": doc.display_name,
                    "text": text,
                    "fileSearchStore": store,
                }
            }
            for _, store, doc, text in chosen
        ]
        supports = [{"segment": {"startIndex": 0, "endIndex": 5}, "groundingChunkIndices": [0]}]
        passages = sum(len(text) for *_, text in chosen) // 4
        return {"groundingChunks": chunks, "groundingSupports": supports}, passages
