"""(b) Cold import: fresh interpreters importing the app, with and without google.genai.

Each figure is the median of several fresh `python -m bench.cold_probe` runs,
after one unmeasured run that leaves the bytecode cache warm. When a packaged
zip exists (`make package`), the same import is also timed from the zip's own
files, read-only as on Lambda, once as packaged and once with its .pyc files
left out, which is what Lambda would compile at every cold start without them;
and the zip's size is reported, since Lambda downloads and unpacks it too.
"""

from __future__ import annotations

import json
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from bench.stack import ROOT

log = logging.getLogger(__name__)

RUNS = 5
PACKAGED_ZIP = ROOT / "build" / "dev" / "deployment.zip"


@dataclass(frozen=True)
class ColdStart:
    import_ms: float
    eager_import_ms: float
    import_and_send_ms: float
    lazy_genai: bool  # google.genai absent after `import app`, present after the send
    zip_with_bytecode_ms: float | None
    zip_without_bytecode_ms: float | None
    zip_bytes: int | None

    @property
    def eager_ratio(self) -> float:
        return self.eager_import_ms / self.import_ms


def _probe(mode: str, env: dict[str, str] | None = None, cwd: Path = ROOT) -> dict[str, float]:
    completed = subprocess.run(
        [sys.executable, "-m", "bench.cold_probe", mode],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, float] = json.loads(completed.stdout.strip().splitlines()[-1])
    return result


def _medians(modes: list[str]) -> dict[str, list[dict[str, float]]]:
    """Runs the modes in turn, RUNS times, so machine noise falls on all alike."""
    for mode in modes:
        _probe(mode)  # Unmeasured: compiles and caches the bytecode.
    runs: dict[str, list[dict[str, float]]] = {mode: [] for mode in modes}
    for _ in range(RUNS):
        for mode in modes:
            runs[mode].append(_probe(mode))
    return runs


def _median(results: list[dict[str, float]], *keys: str) -> float:
    return statistics.median(sum(result[key] for key in keys) for result in results)


def _zip_import_ms(zip_path: Path, with_bytecode: bool) -> float:
    """`import app` from the zip's files, as Lambda does: nothing compiled is written."""
    with tempfile.TemporaryDirectory() as tmp:
        task = Path(tmp) / "task"
        with zipfile.ZipFile(zip_path) as archive:
            names = [n for n in archive.namelist() if with_bytecode or not n.endswith(".pyc")]
            archive.extractall(task, members=names)
        # The probe module comes along; the app and its libraries come from the zip.
        (task / "bench").mkdir(exist_ok=True)
        for name in ("__init__.py", "cold_probe.py"):
            (task / "bench" / name).write_bytes((ROOT / "bench" / name).read_bytes())
        env = {**os.environ, "PYTHONPATH": str(task), "PYTHONDONTWRITEBYTECODE": "1"}
        times = [_probe("import", env, cwd=task)["import_ms"] for _ in range(RUNS)]
    return statistics.median(times)


def run() -> ColdStart:
    runs = _medians(["import", "eager", "send"])
    lazy = all(
        not result["genai_after_import"] and result["genai_after_send"] for result in runs["send"]
    )
    with_bytecode = without_bytecode = zip_bytes = None
    if PACKAGED_ZIP.exists():
        zip_bytes = PACKAGED_ZIP.stat().st_size
        with_bytecode = _zip_import_ms(PACKAGED_ZIP, with_bytecode=True)
        without_bytecode = _zip_import_ms(PACKAGED_ZIP, with_bytecode=False)
    else:
        log.warning("no %s: run `make package` to time the zip's import too", PACKAGED_ZIP)
    return ColdStart(
        import_ms=_median(runs["import"], "import_ms"),
        eager_import_ms=_median(runs["eager"], "import_ms"),
        import_and_send_ms=_median(runs["send"], "import_ms", "first_send_ms"),
        lazy_genai=lazy,
        zip_with_bytecode_ms=with_bytecode,
        zip_without_bytecode_ms=without_bytecode,
        zip_bytes=zip_bytes,
    )
