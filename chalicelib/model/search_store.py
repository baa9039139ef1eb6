"""Gemini's File Search stores through google-genai: create, upload a file, follow its
indexing, delete a document or the whole store.

A request naming a store (`file_search_store`) sends no knowledge: the model retrieves
the passages it needs. Every failure is a ModelError: the caller then sends inline.
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass
from typing import Any

from chalicelib.core.errors import ModelError
from chalicelib.model.base import FilePart
from chalicelib.model.gemini import _gemini_client

logger = logging.getLogger(__name__)

# Bounds every call but an upload: each runs inside a request (an upload, a send).
STORE_CALL_SECONDS = 10
# An upload carries up to FILE_MAX_BYTES (10 MB by default).
UPLOAD_SECONDS = 20


@dataclass(frozen=True)
class Indexing:
    """Where a file's import stands: its operation, and its document once indexed."""

    operation: str
    done: bool
    document: str | None = None
    # Gemini gave up on it: the file is uploaded again on a later try.
    failed: bool = False


def _options(seconds: float) -> Any:
    from google.genai import types

    return types.HttpOptions(timeout=int(seconds * 1000))


def _failed(what: str, exc: Exception) -> ModelError:
    logger.warning("could not %s (%s)", what, type(exc).__name__)
    return ModelError(f"Could not {what}.")


def _indexing(operation: Any) -> Indexing:
    if not operation.name:
        raise ModelError("The import has no operation name.")
    if operation.error:
        logger.warning("Gemini could not index a knowledge file")
        return Indexing(str(operation.name), True, failed=True)
    response = operation.response
    document = response.document_name if response else None
    return Indexing(str(operation.name), bool(operation.done), document)


class GeminiSearchStores:
    def __init__(self, api_key: str) -> None:
        self._api_key = api_key

    def _client(self) -> Any:
        return _gemini_client(self._api_key)

    def create(self, display_name: str) -> str:
        """A new, empty store; its name."""
        from google.genai import types

        config = types.CreateFileSearchStoreConfig(
            display_name=display_name, http_options=_options(STORE_CALL_SECONDS)
        )
        try:
            store = self._client().file_search_stores.create(config=config)
        except Exception as exc:  # noqa: BLE001 - any failure means: send inline
            raise _failed("create a File Search store", exc) from None
        if not store.name:
            raise ModelError("The File Search store has no name.")
        return str(store.name)

    def upload(self, store: str, file: FilePart) -> Indexing:
        """Start importing one file (its name becomes the document's, and the citations')."""
        from google.genai import types

        config = types.UploadToFileSearchStoreConfig(
            display_name=file.name, mime_type=file.mime_type, http_options=_options(UPLOAD_SECONDS)
        )
        try:
            operation = self._client().file_search_stores.upload_to_file_search_store(
                file_search_store_name=store, file=io.BytesIO(file.data), config=config
            )
        except Exception as exc:  # noqa: BLE001 - the store's state says failed
            raise _failed("upload a knowledge file", exc) from None
        return _indexing(operation)

    def follow(self, operation_name: str) -> Indexing:
        """The import's state now."""
        from google.genai import types

        try:
            operation = self._client().operations.get(
                types.UploadToFileSearchStoreOperation.model_validate({"name": operation_name}),
                config=types.GetOperationConfig(http_options=_options(STORE_CALL_SECONDS)),
            )
        except Exception as exc:  # noqa: BLE001
            raise _failed("follow a knowledge file's import", exc) from None
        return _indexing(operation)

    def delete_document(self, name: str) -> None:
        """Remove one file's passages; raises only if Gemini keeps them (a 404 is done)."""
        from google.genai import types

        config = types.DeleteDocumentConfig(force=True, http_options=_options(STORE_CALL_SECONDS))
        documents = self._client().file_search_stores.documents
        self._delete(lambda: documents.delete(name=name, config=config))

    def delete_store(self, name: str) -> None:
        """Remove the store and every document in it (force)."""
        from google.genai import types

        config = types.DeleteFileSearchStoreConfig(
            force=True, http_options=_options(STORE_CALL_SECONDS)
        )
        self._delete(lambda: self._client().file_search_stores.delete(name=name, config=config))

    def _delete(self, call: Any) -> None:
        from google.genai import errors

        try:
            call()
        except errors.APIError as exc:
            if exc.code != 404:
                raise _failed("delete from a File Search store", exc) from None
        except Exception as exc:  # noqa: BLE001
            raise _failed("delete from a File Search store", exc) from None
