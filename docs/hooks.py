"""The API documents in the site are the repository's own openapi.json and asyncapi.json,
read at build time, so the rendered contract can never drift from the committed one."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mkdocs.structure.files import File, Files

ROOT = Path(__file__).resolve().parent.parent
DOCUMENTS = ("openapi.json", "asyncapi.json")


def on_files(files: Files, config: Any) -> Files:
    for name in DOCUMENTS:
        files.append(File.generated(config, name, abs_src_path=str(ROOT / name)))
    return files
