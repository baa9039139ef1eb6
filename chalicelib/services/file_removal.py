"""Deleting every file of an owner, for the deletion of its config or session."""

from __future__ import annotations

from chalicelib.core.aws import get_s3_client, get_sessions_table
from chalicelib.core.settings import get_settings
from chalicelib.stores.files import FileStore, Owner
from chalicelib.stores.objects import PENDING_PREFIX, READY_PREFIX, FileObjects


def file_objects() -> FileObjects:
    return FileObjects(get_s3_client(), get_settings().config_bucket)


def file_store() -> FileStore:
    return FileStore(get_sessions_table())


def delete_all_files(owner: Owner) -> None:
    """The owner's objects (completed and pending), then its records. Repeatable."""
    objects = file_objects()
    keys: list[str] = []
    for prefix in (READY_PREFIX, PENDING_PREFIX):
        keys += objects.keys_under(f"{prefix}{owner.path}/")
    objects.delete(keys)
    file_store().forget_all(owner)
