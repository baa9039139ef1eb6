"""chalicelib's imports run one way: transports -> services -> stores and model -> schemas -> core.

Every module has a layer in `LAYERS`; a module may import its own layer or lower ones,
never a higher one, and no module imports chalice. A new module must be given a layer
here, so where it belongs is decided once, in review.
"""

from __future__ import annotations

import ast
import shutil
from fnmatch import fnmatchcase
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# (module name pattern, layer); the first match wins.
LAYERS: list[tuple[str, int]] = [
    ("chalicelib", 0),
    ("chalicelib.core", 0),
    ("chalicelib.core.*", 0),
    ("chalicelib.schemas", 1),
    ("chalicelib.schemas.*", 1),
    ("chalicelib.model", 2),
    ("chalicelib.model.*", 2),
    ("chalicelib.sessions", 2),
    ("chalicelib.sessions.records", 2),
    ("chalicelib.sessions.messages", 2),
    ("chalicelib.sessions.store", 2),
    ("chalicelib.sessions.markdown", 2),
    ("chalicelib.configs", 2),
    ("chalicelib.configs.store", 2),
    ("chalicelib.configs.controls", 2),
    ("chalicelib.configs.quotas", 2),
    ("chalicelib.configs.reservations", 2),
    ("chalicelib.files", 2),
    ("chalicelib.files.kinds", 2),
    ("chalicelib.files.objects", 2),
    ("chalicelib.files.store", 2),
    ("chalicelib.files.removal", 2),
    ("chalicelib.files.context", 2),
    ("chalicelib.caching", 2),
    ("chalicelib.caching.registry", 2),
    ("chalicelib.conversation", 2),
    ("chalicelib.conversation.idempotency", 2),
    ("chalicelib.streaming", 2),
    ("chalicelib.streaming.runs", 2),
    ("chalicelib.*.service", 3),
    ("chalicelib.conversation.exchange", 3),
    ("chalicelib.api", 4),
    ("chalicelib.api.*", 4),
    ("chalicelib.web", 4),
    ("chalicelib.web.pages", 4),
    # Local servers for `chalice local` (dev only): they start beside the transports.
    ("chalicelib.local", 4),
    ("chalicelib.local.*", 4),
]
LAYER_NAMES = ["core", "schemas", "stores and model", "services", "transports"]


def layer_of(module: str) -> int | None:
    for pattern, layer in LAYERS:
        if fnmatchcase(module, pattern):
            return layer
    return None


def _modules(root: Path) -> dict[str, Path]:
    found = {}
    for path in sorted((root / "chalicelib").rglob("*.py")):
        parts = list(path.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def _imported(module: str, path: Path, known: dict[str, Path]) -> list[tuple[int, str]]:
    """(line, module) for each import in a file, `from a import b` resolved to a.b if a module."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    targets = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                targets.append((node.lineno, submodule if submodule in known else base))
    return targets


def layer_violations(root: Path) -> list[str]:
    """Every import against the layers, and every module without a layer, under root."""
    known = _modules(root)
    problems = []
    for module, path in known.items():
        layer = layer_of(module)
        if layer is None:
            problems.append(f"{module}: no layer; add it to LAYERS in tests/test_layers.py")
            continue
        for line, target in _imported(module, path, known):
            where = f"{path.relative_to(root)}:{line}"
            if target == "chalice" or target.startswith("chalice."):
                problems.append(f"{where}: chalicelib must not import chalice")
                continue
            target_layer = layer_of(target) if target.startswith("chalicelib") else None
            if target_layer is not None and target_layer > layer:
                problems.append(
                    f"{where}: {module} ({LAYER_NAMES[layer]}) imports "
                    f"{target} ({LAYER_NAMES[target_layer]}), a higher layer"
                )
    return problems


def test_chalicelib_imports_run_one_way() -> None:
    assert layer_violations(ROOT) == []


def _copy_of_chalicelib(tmp_path: Path) -> Path:
    shutil.copytree(ROOT / "chalicelib", tmp_path / "chalicelib")
    return tmp_path


def _append(path: Path, line: str) -> None:
    path.write_text(path.read_text() + line + "\n")


def test_an_upward_import_is_caught(tmp_path: Path) -> None:
    root = _copy_of_chalicelib(tmp_path)
    _append(root / "chalicelib/core/clock.py", "from chalicelib.api.http import validate")
    _append(root / "chalicelib/sessions/store.py", "from chalicelib.sessions import service")
    problems = layer_violations(root)
    assert len(problems) == 2, problems
    assert "chalicelib.core.clock (core) imports chalicelib.api.http (transports)" in problems[0]
    assert (
        "chalicelib.sessions.store (stores and model) imports chalicelib.sessions.service"
        in (problems[1])
    )


def test_a_module_without_a_layer_or_importing_chalice_is_caught(tmp_path: Path) -> None:
    root = _copy_of_chalicelib(tmp_path)
    (root / "chalicelib/sessions/extra.py").write_text("")
    _append(root / "chalicelib/core/clock.py", "from chalice.app import Response")
    problems = layer_violations(root)
    assert any("chalicelib.sessions.extra: no layer" in p for p in problems), problems
    assert any("must not import chalice" in p for p in problems), problems
