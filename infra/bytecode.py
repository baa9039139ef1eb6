"""Adds compiled bytecode (.pyc) to the Lambda zip.

Lambda's code folder is read-only, so Python cannot cache the bytecode it
compiles: without .pyc files in the zip, every cold start compiles every
module it imports from source (pydantic and google-genai are large). The files
are written in "unchecked hash" mode, so Python loads them without comparing
timestamps, which a zip does not preserve faithfully anyway.
"""

from __future__ import annotations

import compileall
import logging
import py_compile
import sys
import tempfile
import zipfile
from pathlib import Path

log = logging.getLogger(__name__)


def runtime_version(runtime: str) -> tuple[int, int]:
    """(3, 11) from a Lambda runtime name such as "python3.11"."""
    major, minor = runtime.removeprefix("python").split(".")
    return int(major), int(minor)


def add_bytecode(zip_path: Path, runtime: str) -> int:
    """Compile every module in the zip and add the .pyc files; returns how many.

    Bytecode is specific to a Python minor version, so this runs only on the
    runtime's version; elsewhere it logs why and leaves the zip as it is.
    """
    if sys.version_info[:2] != runtime_version(runtime):
        log.warning(
            "not adding bytecode: packaging with Python %d.%d for %s",
            *sys.version_info[:2],
            runtime,
        )
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        with zipfile.ZipFile(zip_path) as archive:
            archive.extractall(root)
            existing = set(archive.namelist())
            # Reuse the archive's own entry date, so the zip stays reproducible.
            date_time = archive.infolist()[0].date_time
        compileall.compile_dir(
            root,
            quiet=2,
            workers=0,
            invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH,
        )
        compiled = sorted(
            path
            for path in root.rglob("*.pyc")
            if path.relative_to(root).as_posix() not in existing
        )
        with zipfile.ZipFile(zip_path, "a", compression=zipfile.ZIP_DEFLATED) as archive:
            for path in compiled:
                entry = zipfile.ZipInfo(path.relative_to(root).as_posix(), date_time)
                entry.compress_type = zipfile.ZIP_DEFLATED
                entry.external_attr = 0o644 << 16
                archive.writestr(entry, path.read_bytes())
    log.info("added %d .pyc files to %s", len(compiled), zip_path.name)
    return len(compiled)
