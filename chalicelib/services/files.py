"""The file routes: announce an upload, complete it, list, delete, link.

An owner is a config (its edit token: knowledge) or a session (its session token:
attachments). The browser sends the bytes straight to S3 with a presigned POST;
completing the upload checks what arrived, and only then is the file usable.
"""

from __future__ import annotations

import logging
import secrets
import time
from datetime import UTC, datetime
from typing import Any, Literal

from chalicelib.core.aws import get_sessions_table
from chalicelib.core.clock import seconds_until_midnight, utc_now_iso
from chalicelib.core.errors import (
    ConfigDeleted,
    ConfigNotFound,
    FileNotFound,
    FileRejected,
    FileTooLarge,
    Forbidden,
    QuotaExceeded,
    SessionNotFound,
    StorageUnavailable,
    UploadExpired,
    UploadIncomplete,
)
from chalicelib.core.logs import note_ids
from chalicelib.core.settings import get_settings
from chalicelib.core.tokens import is_valid_id, new_id, token_matches
from chalicelib.schemas.configs import limit_in_force
from chalicelib.schemas.files import (
    FileLink,
    FileList,
    FilePublic,
    FileUploadCreate,
    FileUploadStarted,
    UploadForm,
)
from chalicelib.services import file_kinds
from chalicelib.services.caching import agent_changed
from chalicelib.services.configs import load_config
from chalicelib.services.exchange import authorize
from chalicelib.services.file_removal import file_objects, file_store
from chalicelib.services.knowledge_search import knowledge_changed, mode_in_force, search_status
from chalicelib.services.sessions import session_store
from chalicelib.stores.controls import ControlsStore
from chalicelib.stores.files import FileQuota, FileRecord, Owner, Refused
from chalicelib.stores.objects import pending_key, ready_key

logger = logging.getLogger(__name__)

# How long a presigned form works, and how long after that an upload may still be completed.
UPLOAD_SECONDS = 300
COMPLETE_GRACE_SECONDS = 600
# How long a presigned GET of a file works.
LINK_SECONDS = 300
# Re-reads of the limits when they change during an announcement.
ATTEMPTS = 6

# Limit name, setting of its ceiling, by owner kind: what counts files.
_FILE_COUNT_LIMIT = {
    "config": ("filesPerConfig", "limit_files_per_config"),
    "session": ("filesPerSession", "limit_files_per_session"),
}


def config_owner(config_id: str, token: str) -> Owner:
    """The config's knowledge, for its edit token's holder."""
    config, _ = load_config(config_id)
    if not token_matches(token, config.edit_token_hash):
        raise Forbidden("That token is not this configuration's edit token.")
    return Owner("config", config.chat_config_id, config.chat_config_id)


def session_owner(session_id: str, token: str) -> Owner:
    """The session's attachments, for its token's holder."""
    session = authorize(session_store().get(session_id), token)
    note_ids(config_id=session.chat_config_id, session_id=session_id)
    return Owner("session", session.session_id, session.chat_config_id)


def owner_of(kind: Literal["config", "session"], owner_id: str, token: str) -> Owner:
    return config_owner(owner_id, token) if kind == "config" else session_owner(owner_id, token)


def _in_force(state: dict[str, Any], name: str, setting: str) -> int:
    chosen = state.get(name)
    ceiling: int = getattr(get_settings(), setting)
    return limit_in_force(None if chosen is None else int(chosen), ceiling)


def _controls(owner: Owner) -> dict[str, Any]:
    state = ControlsStore(get_sessions_table()).read(owner.config_id)
    if state is None or "deletedAt" in state:
        raise ConfigNotFound() if owner.kind == "config" else ConfigDeleted()
    return state


def _quota(owner: Owner, state: dict[str, Any]) -> FileQuota:
    return FileQuota(
        files=_in_force(state, *_FILE_COUNT_LIMIT[owner.kind]),
        bytes_per_day=_in_force(state, "fileBytesPerDay", "limit_file_bytes_per_day"),
        limits_version=int(state["limitsVersion"]),
    )


def _now_ms() -> int:
    return int(time.time() * 1000)


def _iso(epoch_seconds: float) -> str:
    return datetime.fromtimestamp(int(epoch_seconds), UTC).isoformat().replace("+00:00", "Z")


def _release_expired(owner: Owner) -> None:
    released = file_store().release_expired(owner, _now_ms())
    keys = [pending_key(owner.path, record.file_id) for record in released]
    if keys:
        logger.info("gave back %d upload(s) never completed", len(keys))
        file_objects().delete(keys, best_effort=True)


OwnerKind = Literal["config", "session"]


def start_upload(
    kind: OwnerKind, owner_id: str, token: str, request: FileUploadCreate
) -> FileUploadStarted:
    """Count a file against the limits, and give the browser a form for exactly it."""
    owner = owner_of(kind, owner_id, token)
    state = _controls(owner)
    max_bytes = _in_force(state, "fileMaxBytes", "file_max_bytes")
    if request.size > max_bytes:
        raise FileTooLarge(
            f"The file has {request.size} bytes; this chat takes at most {max_bytes}.",
            details={"limit": "fileMaxBytes", "value": max_bytes},
        )
    _release_expired(owner)
    now = time.time()
    record = FileRecord(
        file_id=new_id(),
        filename=request.filename,
        content_type=request.content_type,
        size=request.size,
        status="pending",
        created_at=utc_now_iso(),
        complete_by=int((now + UPLOAD_SECONDS + COMPLETE_GRACE_SECONDS) * 1000),
        day=datetime.fromtimestamp(now, UTC).date().isoformat(),
        config_id=owner.config_id,
        nonce=secrets.token_hex(8),
    )
    _announce(owner, record, state)
    url, fields, expires_at = file_objects().upload_form(
        pending_key(owner.path, record.file_id), record.content_type, record.size, UPLOAD_SECONDS
    )
    return FileUploadStarted(
        file_id=record.file_id,
        upload=UploadForm(url=url, fields=fields),
        expires_at=expires_at,
        file=record.public(),
    )


def _announce(owner: Owner, record: FileRecord, state: dict[str, Any]) -> None:
    for _ in range(ATTEMPTS):
        quota = _quota(owner, state)
        try:
            file_store().announce(owner, record, quota)
            return
        except Refused as refused:
            if refused.reason == "session":
                raise SessionNotFound() from None
            if refused.reason == "files":
                name = _FILE_COUNT_LIMIT[owner.kind][0]
                raise QuotaExceeded(
                    f"This {owner.kind} already holds its limit of {quota.files} files.",
                    details={"limit": name, "value": quota.files},
                ) from None
            if refused.reason == "bytes":
                raise QuotaExceeded(
                    "This chat has reached its upload limit for today.",
                    details={"limit": "fileBytesPerDay", "value": quota.bytes_per_day},
                    retry_after=seconds_until_midnight(datetime.now(UTC)),
                ) from None
            state = _controls(owner)  # the limits changed meanwhile: count against the new ones
    raise StorageUnavailable()


def _record(owner: Owner, file_id: str) -> FileRecord:
    record = file_store().get(owner, file_id) if is_valid_id(file_id) else None
    if record is None:
        raise FileNotFound()
    return record


def _refuse(owner: Owner, record: FileRecord, keys: list[str], reason: str) -> FileRejected:
    """Delete a refused upload and give back its share; the error to raise."""
    file_objects().delete(keys, best_effort=True)
    file_store().release(owner, record)
    return FileRejected(details={"reason": reason})


def complete_upload(kind: OwnerKind, owner_id: str, token: str, file_id: str) -> FilePublic:
    """Check what arrived; keep it if it is what was announced, else delete it."""
    owner = owner_of(kind, owner_id, token)
    record = _record(owner, file_id)
    if record.status == "ready":
        return record.public()
    source = pending_key(owner.path, file_id)
    if record.complete_by < _now_ms():
        raise _expired(owner, record, source)
    objects = file_objects()
    arrived = objects.arrived(source)
    if arrived is None:
        raise UploadIncomplete()
    if arrived.size != record.size:
        raise _refuse(owner, record, [source], "size")
    if arrived.content_type.split(";")[0].strip().lower() != record.content_type:
        raise _refuse(owner, record, [source], "content_type")
    text = file_kinds.is_text(record.content_type)
    data = objects.read(source, None if text else file_kinds.SNIFF_BYTES)
    if data is None:
        raise UploadIncomplete()
    if not file_kinds.matches(record.content_type, data):
        raise _refuse(owner, record, [source], "content")
    target = ready_key(owner.path, file_id)
    objects.promote(source, target)
    try:
        completed = file_store().mark_ready(owner, record, _now_ms())
    except StorageUnavailable:
        objects.delete([target], best_effort=True)
        raise
    if not completed:
        objects.delete([target], best_effort=True)
        raise _expired(owner, record, source)
    _knowledge_changed(owner)
    return record.model_copy(update={"status": "ready"}).public()


def _expired(owner: Owner, record: FileRecord, source: str) -> UploadExpired:
    file_objects().delete([source], best_effort=True)
    file_store().release(owner, record)
    return UploadExpired()


def list_files(kind: OwnerKind, owner_id: str, token: str) -> FileList:
    """The owner's files, oldest first; uploads whose time is over are left out."""
    owner = owner_of(kind, owner_id, token)
    now_ms = _now_ms()
    records = [
        record
        for record in file_store().list_files(owner)
        if record.status == "ready" or record.complete_by >= now_ms
    ]
    records.sort(key=lambda record: (record.created_at, record.file_id))
    files = FileList(files=[record.public() for record in records])
    if owner.kind == "config":
        config, _ = load_config(owner.config_id)
        ready = [record.attachment() for record in records if record.status == "ready"]
        files.search = search_status(owner.config_id, mode_in_force(config), config.model, ready)
    return files


def delete_file(kind: OwnerKind, owner_id: str, token: str, file_id: str) -> None:
    """Delete the file's objects, then its record and count."""
    owner = owner_of(kind, owner_id, token)
    record = _record(owner, file_id)
    file_objects().delete([ready_key(owner.path, file_id), pending_key(owner.path, file_id)])
    file_store().release(owner, record)
    if record.status == "ready":
        _knowledge_changed(owner)


def _knowledge_changed(owner: Owner) -> None:
    """New sessions of the agent get the new knowledge; its context cache is dropped, and
    its File Search store brought up to date."""
    if owner.kind == "config":
        config, _ = load_config(owner.config_id)
        agent_changed(owner.config_id, config.model, config.prompt_text)
        knowledge_changed(owner.config_id, mode_in_force(config), config.model)


def file_link(kind: OwnerKind, owner_id: str, token: str, file_id: str) -> FileLink:
    """A short-lived GET of a completed file (an image's thumbnail, say)."""
    owner = owner_of(kind, owner_id, token)
    record = _record(owner, file_id)
    if record.status != "ready":
        raise FileNotFound("That file's upload is not completed.")
    url = file_objects().link(ready_key(owner.path, file_id), LINK_SECONDS)
    return FileLink(url=url, expires_at=_iso(time.time() + LINK_SECONDS))
