"""The Makefile's own checks: the Python it needs, a .venv made by another, a lean `make run`."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OLD_PYTHON = """#!/bin/sh
case "$1" in -V|--version) echo "Python 3.9.18";; -c) echo False;; *) exit 1;; esac
"""

# What `make run` runs to install the serving requirements into the venv.
INSTALL_SERVING = (
    "uv pip install --quiet --compile-bytecode --python .venv/bin/python -r requirements-local.txt"
)


def _project(tmp_path: Path) -> Path:
    for name in ("Makefile", "requirements.txt", "requirements-local.txt", "requirements-dev.txt"):
        shutil.copy(ROOT / name, tmp_path / name)
    return tmp_path


def _old_python(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(OLD_PYTHON)
    path.chmod(0o755)
    return path


def _make(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["make", "--no-print-directory", *args], cwd=project, capture_output=True, text=True
    )


def test_an_old_python_stops_make_run_at_once_with_one_line(tmp_path: Path) -> None:
    project = _project(tmp_path)
    old = _old_python(tmp_path / "bin" / "python3")
    result = _make(project, "run", f"PYTHON={old}")
    assert result.returncode == 2
    assert result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert "needs Python 3.11 or newer" in line
    assert "Python 3.9.18" in line
    assert not (project / ".venv").exists()


def test_a_venv_made_by_an_old_python_is_made_again(tmp_path: Path) -> None:
    project = _project(tmp_path)
    _old_python(project / ".venv" / "bin" / "python")
    (project / ".venv" / ".installed-run").touch()
    result = _make(project, "-n", "run", f"PYTHON={sys.executable}")
    assert result.returncode == 0, result.stderr
    assert "was made by another Python; making it again" in result.stdout
    assert not (project / ".venv").exists()
    # A dry run, so the venv is not made; what would be run is.
    assert f"{sys.executable} -m venv .venv" in result.stdout
    assert INSTALL_SERVING in result.stdout


def test_a_good_venv_is_kept_and_make_run_installs_only_what_serving_needs(
    tmp_path: Path,
) -> None:
    project = _project(tmp_path)
    (project / ".venv" / "bin").mkdir(parents=True)
    (project / ".venv" / "bin" / "python").symlink_to(sys.executable)
    result = _make(project, "-n", "run", "PYTHON=/no/such/python")
    assert result.returncode == 0, result.stderr
    assert "making it again" not in result.stdout
    assert "-m venv" not in result.stdout
    assert INSTALL_SERVING in result.stdout
    assert "requirements-dev.txt" not in result.stdout


def test_serving_requirements_hold_no_test_toolchain() -> None:
    serving = (ROOT / "requirements-local.txt").read_text()
    for tool in ("pytest", "ruff", "mypy", "selenium", "schemathesis", "cfn-lint", "stubs"):
        assert tool not in serving
    assert "-r requirements-local.txt" in (ROOT / "requirements-dev.txt").read_text()


def test_make_reset_local_empties_the_local_data_and_needs_no_venv(tmp_path: Path) -> None:
    project = _project(tmp_path)
    data = project / ".local"
    (data / "objects").mkdir(parents=True)
    (data / "aws.json").write_text("{}")
    (project / "keep.txt").write_text("not local data")
    result = _make(project, "reset-local", f"PYTHON={sys.executable}")
    assert result.returncode == 0, result.stderr
    assert not data.exists()
    assert (project / "keep.txt").exists()
    assert not (project / ".venv").exists()


# A venv's python that answers the Makefile's version check and logs the rest, and an AWS
# CLI that logs: what `make deploy` runs, in order, without AWS.
FAKE_PYTHON = """#!/bin/sh
if [ "$1" = -c ]; then echo True; exit 0; fi
echo "python $*" >> "$CALLS"
"""
FAKE_AWS = """#!/bin/sh
echo "aws $*" >> "$CALLS"
"""


def _fake(path: Path, script: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(script)
    path.chmod(0o755)
    return path


def _deploy(tmp_path: Path, overrides: str, *args: str) -> list[str]:
    """`make deploy` with the package step already done (-o), its calls in order."""
    project = _project(tmp_path)
    _fake(project / ".venv" / "bin" / "python", FAKE_PYTHON)
    aws = _fake(tmp_path / "aws", FAKE_AWS)
    (project / "build" / "dev").mkdir(parents=True)
    (project / "build" / "dev" / "parameter-overrides").write_text(overrides)
    calls = tmp_path / "calls"
    env = {"PATH": os.environ["PATH"], "CALLS": str(calls)}
    result = subprocess.run(
        ["make", "--no-print-directory", "-o", "package", "deploy", "ARTIFACT_BUCKET=artifacts"]
        + [f"AWS={aws}", f"PYTHON={sys.executable}", *args],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    return calls.read_text().splitlines()


def _deploy_overrides(calls: list[str]) -> list[str]:
    (deploy,) = [call for call in calls if call.startswith("aws cloudformation deploy ")]
    words = deploy.split()
    if "--parameter-overrides" not in words:
        return []
    return words[words.index("--parameter-overrides") + 1 :]


def test_make_deploy_creates_the_secret_first_and_passes_the_budget_and_throttling(
    tmp_path: Path,
) -> None:
    calls = _deploy(
        tmp_path,
        "BudgetTokensPerDay=5000\n",
        "THROTTLE_RATE=10",
        "THROTTLE_BURST=20",
        "PARAMS=FrontendBaseUrl=https://chat.example.com AllowedOrigin=https://chat.example.com",
    )
    assert calls[0] == "python -m infra.secrets --stage dev"
    assert calls[1].startswith("aws cloudformation package ")
    # PARAMS last, so what the operator writes there wins.
    assert _deploy_overrides(calls) == [
        "BudgetTokensPerDay=5000",
        "ThrottleRate=10",
        "ThrottleBurst=20",
        "FrontendBaseUrl=https://chat.example.com",
        "AllowedOrigin=https://chat.example.com",
    ]


def test_make_deploy_without_overrides_leaves_the_stacks_values(tmp_path: Path) -> None:
    """A budget taken without asking and no throttling given: CloudFormation keeps a deployed
    stack's values (a new one gets the template's defaults)."""
    assert _deploy_overrides(_deploy(tmp_path, "")) == []


def _dry_run(tmp_path: Path, *args: str, **env: str) -> str:
    tmp_path.mkdir()
    project = _project(tmp_path)
    (project / ".venv" / "bin").mkdir(parents=True)
    (project / ".venv" / "bin" / "python").symlink_to(sys.executable)
    result = subprocess.run(
        ["make", "--no-print-directory", "-n", *args],
        cwd=project,
        env={"PATH": os.environ["PATH"], **env},
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_the_budget_given_to_make_reaches_package_and_bootstrap(tmp_path: Path) -> None:
    assert "--budget-tokens-per-day '0'" in _dry_run(
        tmp_path / "a", "package", "BUDGET_TOKENS_PER_DAY=0"
    )
    # From the environment too, as any make variable.
    bootstrap = _dry_run(tmp_path / "b", "bootstrap", BUDGET_TOKENS_PER_DAY="750000")
    assert "--budget-tokens-per-day '750000'" in bootstrap
    # Not given: the step itself asks, or takes the default.
    assert "--budget-tokens-per-day" not in _dry_run(tmp_path / "c", "package")


def test_the_throttling_given_to_make_reaches_the_after_deploy_step(tmp_path: Path) -> None:
    output = _dry_run(tmp_path / "a", "chalice-deploy", "THROTTLE_RATE=10", "THROTTLE_BURST=20")
    (step,) = [line for line in output.splitlines() if "infra.after_deploy" in line]
    assert step.split()[-4:] == ["--throttle-rate", "'10'", "--throttle-burst", "'20'"]
    output = _dry_run(tmp_path / "b", "after-deploy")
    (step,) = [line for line in output.splitlines() if "infra.after_deploy" in line]
    assert "--throttle" not in step
