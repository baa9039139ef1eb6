"""The local AWS's data on disk: the table's items and the bucket's objects, kept across runs.

moto holds everything in memory, so a restart, or chalice local's autoreload after
an edit, would lose every agent and session. Here, after each request that may
change the data, a thread saves a snapshot of it within SAVE_DELAY_SECONDS (and
once more when the process exits normally), and the next start restores it:

- `aws.json` holds the items and, for each object, its key, metadata and the
  SHA-256 of its body; the bodies are files in `objects/`, named by that digest,
  written once each;
- a snapshot is taken under the lock that makes moto answer one request at a time,
  so it holds whole transactions, never part of one;
- it is written to a temporary file and renamed over the last, so a `kill -9`
  leaves the previous snapshot or the new one, at most SAVE_DELAY_SECONDS old;
- a lock file keeps a second local server from writing the same directory.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import hashlib
import json
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

from chalicelib.core import settings as names

log = logging.getLogger("ai_maker.local")

FORMAT = 1
SNAPSHOT = "aws.json"
OBJECTS = "objects"
LOCK = "lock"
DEFAULT_DIRECTORY = ".local"
# Writes within this much of each other are saved together; a kill -9 loses at most this.
SAVE_DELAY_SECONDS = 0.25
PROJECT_DIR = Path(__file__).resolve().parents[2]


def data_directory() -> Path | None:
    """LOCAL_DATA_DIR (relative to the project), `.local` if unset, None if set empty."""
    value = os.environ.get(names.LOCAL_DATA_DIR, DEFAULT_DIRECTORY).strip()
    return PROJECT_DIR / value if value else None


def _backend(backends: Any, has: Callable[[Any], bool]) -> Any:
    """The one moto backend (of any account and region) that holds the table or bucket."""
    for by_region in backends.values():
        for backend in by_region.values():
            if has(backend):
                return backend
    raise LookupError("the local AWS has no such table or bucket")


class LocalData:
    """Saves and restores one table and one bucket of the moto running in this process."""

    def __init__(self, directory: Path, table: str, bucket: str, requests: threading.Lock) -> None:
        self.directory = directory
        self.table = table
        self.bucket = bucket
        self._requests = requests  # held while moto answers a request
        self._changed = threading.Event()
        self._writing = threading.Lock()
        self._lock_file: IO[str] | None = None

    def claim(self) -> bool:
        """Take the directory for this process; False if another local server has it."""
        (self.directory / OBJECTS).mkdir(parents=True, exist_ok=True)
        lock_file = (self.directory / LOCK).open("a+")
        try:
            fcntl.flock(lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock_file.close()
            return False
        self._lock_file = lock_file  # Open, so locked, as long as the process lives.
        return True

    # Restoring

    def restore(self) -> tuple[int, int]:
        """Put the last snapshot's items and objects back; (items, objects) restored."""
        path = self.directory / SNAPSHOT
        if not path.exists():
            return 0, 0
        try:
            snapshot = json.loads(path.read_text())
            if snapshot.get("format") != FORMAT:
                raise ValueError(f"format {snapshot.get('format')!r}, not {FORMAT}")
            items, objects = snapshot["items"], snapshot["objects"]
            bodies = [(self.directory / OBJECTS / entry["body"]).read_bytes() for entry in objects]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            kept = path.with_name(f"{SNAPSHOT}.unreadable-{int(time.time())}")
            path.replace(kept)
            log.warning(
                "The local data in %s could not be read (%s); kept it as %s and started empty",
                path,
                exc,
                kept.name,
            )
            return 0, 0
        with self._requests:
            dynamodb, s3 = self._backends()
            for item in items:
                dynamodb.put_item(self.table, item)
            for entry, body in zip(objects, bodies, strict=True):
                stored = s3.put_object(self.bucket, entry["key"], body)
                stored.set_metadata(entry["metadata"])
        return len(items), len(objects)

    # Saving

    def changed(self) -> None:
        """A request may have changed the data: save it soon."""
        self._changed.set()

    def keep_saving(self) -> None:
        """Save after changes from now on, and once more when the process exits."""
        threading.Thread(target=self._save_after_changes, name="local-data", daemon=True).start()
        atexit.register(self._save_if_changed)

    def _save_after_changes(self) -> None:
        while True:
            self._changed.wait()
            time.sleep(SAVE_DELAY_SECONDS)  # A burst of writes becomes one save.
            self._save_if_changed()

    def _save_if_changed(self) -> None:
        with self._writing:
            if not self._changed.is_set():
                return
            # Cleared before the copy: a write after it sets the flag for the next save.
            self._changed.clear()
            try:
                self.save()
            except Exception:  # A full disk must not stop the server; the next change retries.
                self._changed.set()
                log.exception("Could not save the local data in %s", self.directory)

    def save(self) -> None:
        items, objects = self._copy()
        entries = []
        for key, metadata, body in objects:
            digest = hashlib.sha256(body).hexdigest()
            body_path = self.directory / OBJECTS / digest
            if not body_path.exists():
                _write_atomically(body_path, body)
            entries.append({"key": key, "metadata": metadata, "body": digest})
        snapshot = {"format": FORMAT, "items": items, "objects": entries}
        _write_atomically(self.directory / SNAPSHOT, json.dumps(snapshot).encode())
        # Bodies no snapshot names any more (deleted objects, and unfinished writes).
        kept = {entry["body"] for entry in entries}
        for path in (self.directory / OBJECTS).iterdir():
            if path.name not in kept:
                path.unlink(missing_ok=True)

    def _copy(self) -> tuple[list[Any], list[tuple[str, dict[str, str], bytes]]]:
        """The items and objects as they are between two requests."""
        with self._requests:
            dynamodb, s3 = self._backends()
            items = [
                item.to_json()["Attributes"] for item in dynamodb.get_table(self.table).all_items()
            ]
            objects = [
                (name, dict(stored.metadata), stored.value)
                for name, stored in s3.get_bucket(self.bucket).keys.items()
            ]
        return items, objects

    def _backends(self) -> tuple[Any, Any]:
        from moto.dynamodb.models import dynamodb_backends  # noqa: PLC0415 - dev dependency
        from moto.s3.models import s3_backends  # noqa: PLC0415

        return (
            _backend(dynamodb_backends, lambda backend: self.table in backend.tables),
            _backend(s3_backends, lambda backend: self.bucket in backend.buckets),
        )


def _write_atomically(path: Path, data: bytes) -> None:
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with temporary.open("wb") as file:
        file.write(data)
        file.flush()
        os.fsync(file.fileno())
    temporary.replace(path)
    with _directory(path.parent) as descriptor:
        os.fsync(descriptor)  # The rename itself survives a crash too.


@contextlib.contextmanager
def _directory(path: Path) -> Iterator[int]:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        yield descriptor
    finally:
        os.close(descriptor)
