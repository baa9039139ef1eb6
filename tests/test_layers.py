"""chalicelib's imports run one way: transports -> services -> stores and model -> schemas -> core.

Packages form layers (`LAYERS`). A module may import its own package or a package of a
lower layer; never a higher one, and never a sibling package of its own layer (stores and
the model are independent, and so are the transports). Inside `services`, a module imports
only the services before it in `SERVICE_ORDER`. No module imports chalice, and every import
counts: module level, inside a function, or under TYPE_CHECKING. A new package or service
module must be given its place here, so where it belongs is decided once, in review.
"""

from __future__ import annotations

import ast
import re
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# Lowest first; the packages of one layer are independent of each other.
LAYERS: list[tuple[str, ...]] = [
    ("core",),
    ("schemas",),
    ("stores", "model"),
    ("services",),
    ("api", "web", "local"),
]
# Lowest first: a service may import the ones before it.
SERVICE_ORDER = [
    "cost",
    "access",
    "file_kinds",
    "file_removal",
    "file_context",
    "knowledge_search",
    "markdown",
    "caching",
    "configs",
    "keys",
    "exchange",
    "storing",
    "branching",
    "sessions",
    "insights",
    "shares",
    "conversation",
    "files",
    "streaming",
    "agent_api",
]


def layer_of(package: str) -> int | None:
    for layer, packages in enumerate(LAYERS):
        if package in packages:
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
    """(line, module) for every import in a file, `from a import b` resolved to a.b if a module."""
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


def _package(module: str) -> str | None:
    """`chalicelib.stores.files` -> `stores`; None for `chalicelib` itself."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else None


def _service_rank(module: str) -> int | None:
    name = module.split(".")[2] if module.count(".") >= 2 else None
    return SERVICE_ORDER.index(name) if name in SERVICE_ORDER else None


def _problem(module: str, target: str) -> str | None:
    """What is wrong with `module` importing `target` (both in chalicelib), if anything."""
    source, destination = _package(module), _package(target)
    if destination is None:
        return None
    if source is None:
        return f"{module} imports {target}: the root package imports nothing"
    if source == destination:
        if source != "services" or target == "chalicelib.services":
            return None
        rank, target_rank = _service_rank(module), _service_rank(target)
        if rank is not None and target_rank is not None and target_rank >= rank:
            return f"{module} imports {target}, a later service in SERVICE_ORDER"
        return None
    source_layer, destination_layer = layer_of(source), layer_of(destination)
    if destination_layer is None:
        return None  # reported once, as the package without a layer
    assert source_layer is not None
    if destination_layer > source_layer:
        return f"{module} ({source}) imports {target} ({destination}), a higher layer"
    if destination_layer == source_layer:
        return f"{module} ({source}) imports {target} ({destination}), an independent sibling"
    return None


def layer_violations(root: Path) -> list[str]:
    """Every import against the layers, and every package or service without a place, under root."""
    known = _modules(root)
    problems = []
    for module, path in known.items():
        package = _package(module)
        if package is not None and layer_of(package) is None:
            problems.append(f"{module}: package {package} has no layer; add it to LAYERS")
            continue
        if package == "services" and module != "chalicelib.services":
            if _service_rank(module) is None:
                problems.append(f"{module}: no place; add it to SERVICE_ORDER")
                continue
        for line, target in _imported(module, path, known):
            where = f"{path.relative_to(root)}:{line}"
            if target == "chalice" or target.startswith("chalice."):
                problems.append(f"{where}: chalicelib must not import chalice")
            elif target == "chalicelib" or target.startswith("chalicelib."):
                problem = _problem(module, target)
                if problem:
                    problems.append(f"{where}: {problem}")
    return problems


def test_chalicelib_imports_run_one_way() -> None:
    assert layer_violations(ROOT) == []


def test_each_package_says_what_it_holds_and_may_import() -> None:
    """The second line of each package's docstring names exactly the packages below it."""
    for layer, packages in enumerate(LAYERS):
        below = [package for lower in LAYERS[:layer] for package in lower]
        for package in packages:
            doc = ast.get_docstring(
                ast.parse((ROOT / "chalicelib" / package / "__init__.py").read_text())
            )
            assert doc is not None, package
            holds, may_import = doc.splitlines()[:2]
            assert holds.strip(), package
            named = re.findall(r"\b[a-z]+\b", may_import.partition(":")[2].partition("(")[0])
            assert may_import.startswith("May import:"), (package, may_import)
            assert [name for name in named if name != "nothing"] == below


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A copy of chalicelib to break."""
    shutil.copytree(ROOT / "chalicelib", tmp_path / "chalicelib")
    return tmp_path


def _append(path: Path, line: str) -> None:
    path.write_text(path.read_text() + line + "\n")


def test_a_store_importing_a_service_is_caught(root: Path) -> None:
    _append(root / "chalicelib/stores/sessions.py", "from chalicelib.services import sessions")
    assert layer_violations(root) == [
        "chalicelib/stores/sessions.py:"
        f"{len((root / 'chalicelib/stores/sessions.py').read_text().splitlines())}: "
        "chalicelib.stores.sessions (stores) imports chalicelib.services.sessions (services), "
        "a higher layer"
    ]


def test_a_deferred_import_is_caught(root: Path) -> None:
    _append(
        root / "chalicelib/core/clock.py",
        "def later() -> None:\n    from chalicelib.api.http import validate  # noqa\n",
    )
    (problem,) = layer_violations(root)
    assert (
        "chalicelib.core.clock (core) imports chalicelib.api.http (api), a higher layer" in problem
    )


def test_siblings_of_one_layer_are_independent(root: Path) -> None:
    _append(root / "chalicelib/stores/files.py", "from chalicelib.model.base import FilePart")
    _append(root / "chalicelib/web/pages.py", "import chalicelib.api.http")
    problems = layer_violations(root)
    assert len(problems) == 2, problems
    assert "chalicelib.stores.files (stores) imports chalicelib.model.base (model)" in problems[0]
    assert "chalicelib.web.pages (web) imports chalicelib.api.http (api)" in problems[1]
    assert all("an independent sibling" in problem for problem in problems)


def test_services_import_in_their_order(root: Path) -> None:
    _append(root / "chalicelib/services/configs.py", "from chalicelib.services import streaming")
    (problem,) = layer_violations(root)
    assert "chalicelib.services.configs imports chalicelib.services.streaming, a later" in problem


def test_a_package_or_service_without_a_place_or_importing_chalice_is_caught(root: Path) -> None:
    (root / "chalicelib/billing").mkdir()
    (root / "chalicelib/billing/__init__.py").write_text("")
    (root / "chalicelib/services/extra.py").write_text("")
    _append(root / "chalicelib/core/clock.py", "from chalice.app import Response")
    problems = layer_violations(root)
    assert any("package billing has no layer" in p for p in problems), problems
    assert any("chalicelib.services.extra: no place" in p for p in problems), problems
    assert any("must not import chalice" in p for p in problems), problems
