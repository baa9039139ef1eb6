"""When an agent's knowledge is searched (a File Search store) rather than sent, and
keeping its store in step with the knowledge.

An agent's `knowledgeMode` is `context`, `search`, or `auto` (search from
KNOWLEDGE_SEARCH_MIN_TOKENS of estimated knowledge up), on models that take File
Search. Its store is brought up to date where the knowledge changes (a completed
upload, a deleted file, an edit of the agent), inside that request: the store is
made, new files uploaded, removed files' documents deleted, each call bounded; the
indexing is not waited for. A send whose store is not ready follows the imports
(and uploads what is missing, within a few seconds) and meanwhile sends the
knowledge inline, as before. A store Gemini lost is unrecorded and imported again.
Whatever fails leaves the state `failed` and sends inline; a send retries it later.
"""

from __future__ import annotations

import logging
import secrets
import time

from chalicelib.core.aws import get_sessions_table
from chalicelib.core.errors import AppError, ModelError
from chalicelib.core.settings import Settings, get_settings
from chalicelib.core.tools import searches_files, tools_in_force
from chalicelib.model.base import FilePart
from chalicelib.model.choice import gemini_key, model_mode
from chalicelib.model.search_store import GeminiSearchStores
from chalicelib.schemas import Attachment, ChatSettings
from chalicelib.schemas.files import KnowledgeSearch
from chalicelib.services.file_context import load_parts, ready_files
from chalicelib.stores.files import Owner
from chalicelib.stores.search_stores import SearchRecord, SearchStoreRegistry

logger = logging.getLogger(__name__)

# How long an update may hold the record: past it, another may take over.
CLAIM_SECONDS = 90
# Time for uploads where the knowledge changed (under API Gateway's 29 s), and in a send.
CHANGE_UPLOAD_SECONDS = 18
SEND_UPLOAD_SECONDS = 5
# A failed import is tried again by a send this long after it failed (or at the next change).
RETRY_FAILED_SECONDS = 600


def registry() -> SearchStoreRegistry:
    return SearchStoreRegistry(get_sessions_table())


def knowledge_tokens(knowledge: list[Attachment]) -> int:
    """About 4 characters a token, with each file's estimate (see Attachment.estimated_chars)."""
    return sum(file.estimated_chars() for file in knowledge) // 4


def searchable(file: Attachment) -> bool:
    """Whether File Search takes the file (text and PDFs); images are sent beside the store."""
    return file.content_type.startswith("text/") or file.content_type == "application/pdf"


def mode_in_force(agent: ChatSettings) -> str:
    """The agent's knowledge mode as its sends use it. Gemini does not combine File Search
    with its other built-in tools, so `auto` sends the knowledge where a tool is on."""
    tools = tools_in_force(agent.model, agent.tools.enabled(), get_settings().allowed_tools)
    return "context" if tools and agent.knowledge_mode == "auto" else agent.knowledge_mode


def searched(mode: str, model: str, knowledge: list[Attachment], settings: Settings) -> bool:
    """Whether this knowledge is searched rather than sent, for an agent of this mode and model."""
    if not any(map(searchable, knowledge)) or not searches_files(model) or mode == "context":
        return False
    return mode == "search" or knowledge_tokens(knowledge) >= settings.knowledge_search_min_tokens


def _stores(settings: Settings) -> GeminiSearchStores | None:
    """Gemini's stores, or None where sends do not go to Gemini (the offline model)."""
    if model_mode(settings) != "gemini":
        return None
    key = gemini_key(settings)
    return GeminiSearchStores(key) if key else None


def _now_ms() -> int:
    return int(time.time() * 1000)


def _owner(config_id: str) -> Owner:
    return Owner("config", config_id, config_id)


def sync(config_id: str, mode: str, model: str, upload_seconds: float) -> SearchRecord | None:
    """Bring the agent's store in step with its knowledge and mode; the record as saved.

    Without knowledge to search, the store goes. Nothing is done while another update
    holds the record. Raises only AppError (storage); Gemini's failures are recorded.
    """
    settings = get_settings()
    stores = _stores(settings)
    if stores is None:
        return None
    knowledge = ready_files(_owner(config_id))
    on = searched(mode, model, knowledge, settings)
    wanted = {f.file_id: f for f in knowledge if searchable(f)} if on else {}
    store_registry = registry()
    record = store_registry.read(config_id)
    if not wanted and record is None:
        return None
    claim, now = secrets.token_hex(8), _now_ms()
    if not store_registry.claim(config_id, claim, now, now + CLAIM_SECONDS * 1000):
        return record  # another update is under way
    record = store_registry.read(config_id) or SearchRecord()
    if not wanted:
        store_registry.forget(config_id)
        _drop(stores, record.store_name)
        return None
    try:
        updated = _import(stores, config_id, record, wanted, time.monotonic() + upload_seconds)
    except AppError:
        store_registry.release(config_id, claim)  # S3 failed: the next update tries again
        raise
    if not store_registry.save(config_id, claim, updated):
        # The agent was deleted meanwhile (its record with it): a store made here goes too.
        if updated.store_name != record.store_name:
            _drop(stores, updated.store_name)
        return None
    return updated


def _import(
    stores: GeminiSearchStores,
    config_id: str,
    record: SearchRecord,
    wanted: dict[str, Attachment],
    deadline: float,
) -> SearchRecord:
    """The record after one round of work: follow the imports under way, delete removed
    files' documents, upload what is missing (until `deadline`)."""
    documents, pending = dict(record.documents), dict(record.pending)
    name = record.store_name
    try:
        name = name or stores.create(f"ai-maker agent {config_id}")
        for file_id, operation in list(pending.items()):
            indexing = stores.follow(operation)
            if indexing.done:
                del pending[file_id]
                if indexing.document:
                    documents[file_id] = indexing.document
                elif indexing.failed and file_id in wanted:
                    raise ModelError("A knowledge file could not be indexed.")
        for file_id in [file_id for file_id in documents if file_id not in wanted]:
            stores.delete_document(documents[file_id])
            del documents[file_id]  # only once gone: a removed file is never searched
        missing = [f for f in wanted.values() if f.file_id not in documents | pending]
        for file in missing:
            if time.monotonic() > deadline:
                break  # the next update goes on from here
            for part in load_parts(_owner(config_id), [file]):
                indexing = stores.upload(name, part)
                if indexing.failed:
                    raise ModelError("A knowledge file could not be indexed.")
                if indexing.done and indexing.document:
                    documents[file.file_id] = indexing.document
                else:
                    pending[file.file_id] = indexing.operation
    except ModelError:
        logger.warning("config %s: its knowledge could not be imported for search", config_id)
        return SearchRecord(name, "failed", documents, pending, failed_at=_now_ms())
    ready = all(file_id in documents for file_id in wanted)
    return SearchRecord(name, "ready" if ready else "importing", documents, pending)


def _drop(stores: GeminiSearchStores, name: str | None) -> None:
    if not name:
        return
    try:
        stores.delete_store(name)
    except ModelError:
        logger.warning("a File Search store could not be deleted; it stays at Gemini")


def knowledge_changed(config_id: str, mode: str, model: str) -> None:
    """Import new knowledge, drop removed files' documents (or the whole store, when the
    knowledge is no longer searched). Best effort: sends read the knowledge inline."""
    try:
        sync(config_id, mode, model, CHANGE_UPLOAD_SECONDS)
    except AppError:
        logger.warning("config %s: its File Search store was not brought up to date", config_id)


def store_for(
    config_id: str, mode: str, model: str, knowledge: list[Attachment], settings: Settings
) -> str | None:
    """The store a send names instead of sending its searchable knowledge, if one is ready
    with exactly that; None sends it inline (a store still importing is followed first)."""
    if not searched(mode, model, knowledge, settings) or _stores(settings) is None:
        return None
    file_ids = {file.file_id for file in knowledge if searchable(file)}
    try:
        record = registry().read(config_id)
        if record is not None and record.holds(file_ids):
            return record.store_name
        if record is None or record.state == "importing" or _retry_due(record):
            record = sync(config_id, mode, model, SEND_UPLOAD_SECONDS)
    except AppError:
        logger.warning("the File Search store is not available; sending the knowledge inline")
        return None
    return record.store_name if record is not None and record.holds(file_ids) else None


def sent_beside_search(config_id: str, knowledge: list[Attachment]) -> tuple[FilePart, ...]:
    """The knowledge File Search does not take (images), read for a send naming the store."""
    return load_parts(_owner(config_id), [file for file in knowledge if not searchable(file)])


def _retry_due(record: SearchRecord) -> bool:
    return record.state == "failed" and record.failed_at < _now_ms() - RETRY_FAILED_SECONDS * 1000


def store_lost(config_id: str, store_name: str) -> None:
    """Gemini no longer has the store a send named: unrecord it, so it is imported again."""
    logger.warning("the File Search store is gone at Gemini; sending the knowledge inline")
    try:
        registry().lost(config_id, store_name)
    except AppError:
        logger.warning("config %s: its lost File Search store is still recorded", config_id)


def drop_store(config_id: str) -> None:
    """The agent's store goes with it (force: its documents too). Best effort."""
    try:
        record = registry().forget(config_id)
    except AppError:
        logger.warning("config %s: its File Search store was not dropped", config_id)
        return
    stores = _stores(get_settings())
    if record is not None and stores is not None:
        _drop(stores, record.store_name)


def search_status(
    config_id: str, mode: str, model: str, knowledge: list[Attachment]
) -> KnowledgeSearch:
    """How the knowledge reaches the model now, for the knowledge file list."""
    settings = get_settings()
    on = searched(mode, model, knowledge, settings) and _stores(settings) is not None
    record = registry().read(config_id) if on else None
    wanted = {file.file_id for file in knowledge if searchable(file)}
    return KnowledgeSearch(
        mode="search" if on else "context",
        estimated_tokens=knowledge_tokens(knowledge),
        state=record.state if record else None,
        imported_file_ids=sorted(wanted & set(record.documents)) if record else [],
    )
