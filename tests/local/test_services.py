"""When `chalice local`'s in-memory AWS starts, and when it never does."""

from __future__ import annotations

import ast
import json
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from chalicelib.core.settings import get_settings
from chalicelib.local import aws, services
from tests.utils import ApiClient

ROOT = Path(__file__).resolve().parent.parent.parent


@pytest.fixture(autouse=True)
def fresh_services(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    services.reset()
    # ensure_started() stops bytecode writes for the process; keep that inside the test.
    monkeypatch.setattr(sys, "dont_write_bytecode", sys.dont_write_bytecode)
    yield
    services.reset()


def stage_variables(stage: str) -> dict[str, str]:
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    variables: dict[str, str] = config["stages"][stage]["environment_variables"]
    return variables


def test_only_the_dev_stage_asks_for_local_aws() -> None:
    assert stage_variables("dev")["LOCAL_AWS"] == "moto"
    assert "LOCAL_AWS" not in stage_variables("prod")


@pytest.mark.parametrize(
    ("cli_mode", "stage", "local_aws", "wanted"),
    [
        ("true", "dev", "moto", True),
        (None, "dev", "moto", False),  # Lambda, or any process that is not chalice's CLI
        ("true", "prod", "moto", False),  # the prod stage never, whatever its variables say
        ("true", "dev", None, False),
    ],
)
def test_local_servers_are_wanted_only_by_chalices_cli_in_a_stage_that_asks(
    monkeypatch: pytest.MonkeyPatch,
    cli_mode: str | None,
    stage: str,
    local_aws: str | None,
    wanted: bool,
) -> None:
    for name, value in (("AWS_CHALICE_CLI_MODE", cli_mode), ("LOCAL_AWS", local_aws)):
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
    monkeypatch.setenv("STAGE", stage)
    assert services.wanted() is wanted


def test_a_request_outside_chalices_cli_starts_nothing(
    api: ApiClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LOCAL_AWS", "moto")
    monkeypatch.delenv("AWS_CHALICE_CLI_MODE", raising=False)
    assert api.get("/health").status == 200
    assert aws._servers == []
    assert "AWS_ENDPOINT_URL" not in os.environ


def test_real_credentials_switch_local_aws_off(
    api: ApiClient, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # The test's fake credentials stand in for a developer's real ones.
    monkeypatch.setenv("AWS_CHALICE_CLI_MODE", "true")
    monkeypatch.setenv("LOCAL_AWS", "moto")
    with caplog.at_level(logging.INFO, logger="ai_maker.local"):
        assert api.get("/health").status == 200
    assert aws._servers == []
    assert "AWS_ENDPOINT_URL" not in os.environ
    assert "using AWS with your credentials and the offline model" in caplog.text


def test_credentials_are_looked_for_without_the_network(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    assert aws.credentials_configured() is False
    (tmp_path / "credentials").write_text(
        "[default]\naws_access_key_id = A\naws_secret_access_key = B\n"
    )
    assert aws.credentials_configured() is True


PROD_PROCESS = """
import os, sys
from chalicelib.local import services
services.ensure_started()
moto = sorted(m for m in sys.modules if m == "moto" or m.startswith("moto."))
print(moto, os.environ.get("AWS_ENDPOINT_URL"))
"""


def test_the_prod_stage_never_starts_it_even_in_chalices_cli(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        AWS_CHALICE_CLI_MODE="true",
        STAGE="prod",
        LOCAL_AWS="moto",
        AWS_CONFIG_FILE=str(tmp_path / "none"),
        AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "none"),
    )
    result = subprocess.run(
        [sys.executable, "-c", PROD_PROCESS],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[] None"


def test_chalicelib_imports_moto_only_inside_the_function_that_starts_it() -> None:
    """Lambda's package has no moto: no module may import it when loaded."""
    for path in (ROOT / "chalicelib").rglob("*.py"):
        tree = ast.parse(path.read_text())
        for node in tree.body:
            names = (
                [alias.name for alias in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            assert not [n for n in names if n.split(".")[0] == "moto"], path
    assert get_settings().local_aws == ""
