"""Files as the model reads them: a session's knowledge and a message's attachments."""

from __future__ import annotations

import logging

from chalicelib.model.base import FilePart
from chalicelib.schemas import Attachment
from chalicelib.services.file_removal import file_objects, file_store
from chalicelib.stores.files import Owner
from chalicelib.stores.objects import ready_key

logger = logging.getLogger(__name__)


def ready_files(owner: Owner, file_ids: list[str] | None = None) -> list[Attachment]:
    """The owner's completed files, oldest first; only these ids (in their order) if given.

    None of an id that is not a completed file of the owner.
    """
    ready = {r.file_id: r for r in file_store().list_files(owner) if r.status == "ready"}
    if file_ids is None:
        records = sorted(ready.values(), key=lambda record: (record.created_at, record.file_id))
        return [record.attachment() for record in records]
    return [ready[file_id].attachment() for file_id in file_ids if file_id in ready]


def load_parts(owner: Owner, files: list[Attachment]) -> tuple[FilePart, ...]:
    """The files' bytes for the model; a file deleted since is left out (and logged)."""
    objects = file_objects()
    parts = []
    for file in files:
        data = objects.read(ready_key(owner.path, file.file_id))
        if data is None:
            logger.info("a file sent before was deleted; it is left out")
            continue
        parts.append(FilePart(file.filename, file.content_type, data))
    return tuple(parts)
