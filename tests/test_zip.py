"""The Lambda zip holds what the app imports and little else, and serves every route alone.

The zip is built once per session (the `packaging` fixture). The route test
unpacks it into an empty folder and serves every route from there, in an
interpreter that sees nothing else but the standard library and what the
Lambda runtime provides (boto3, botocore and their dependencies), the way the
function runs on AWS.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import platform
import re
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from moto.server import ThreadedMotoServer

from infra.prune import TEST_CODE, UNUSED_DISTRIBUTIONS, UNUSED_PATHS, prune_zip
from tests.conftest import ROOT, Packaging
from tests.fake_gemini import FakeGemini, FakeReply, error

pytestmark = pytest.mark.timeout(900)

PROBE = Path(__file__).with_name("zip_probe.py")
GOAL_BYTES = 9_000_000
# What Lambda's Python runtime puts on sys.path besides the function's code.
RUNTIME_DISTRIBUTIONS = ("boto3",)
LINUX_PYTHON_311 = pytest.mark.skipif(
    (platform.system(), platform.machine(), sys.version_info[:2]) != ("Linux", "x86_64", (3, 11)),
    reason="the zip holds Lambda's Linux x86_64 Python 3.11 wheels",
)


def zip_names(packaged: Path) -> list[str]:
    with zipfile.ZipFile(packaged / "deployment.zip") as archive:
        return archive.namelist()


def test_zip_is_under_the_goal_and_the_readme_gives_its_size(packaged: Path) -> None:
    size = (packaged / "deployment.zip").stat().st_size
    assert size < GOAL_BYTES
    deployment = (ROOT / "docs" / "deployment.md").read_text()
    stated = re.search(r"`deployment\.zip`, the Lambda code[^*]*\*\*([\d.]+) MB\*\*", deployment)
    assert stated, "docs/deployment.md: say how large deployment.zip is"
    assert abs(float(stated.group(1)) * 1e6 - size) < 300_000, f"the zip is {size / 1e6:.1f} MB"


def test_zip_holds_no_moto_and_no_test_code(packaged: Path) -> None:
    names = zip_names(packaged)
    tops = {name.split("/")[0] for name in names}
    assert not tops & {"moto", "pytest", "_pytest", "tests", "bench", "infra", "scripts"}
    assert not [name for name in names if "moto" in name.lower()]
    test_like = re.compile(r"(^|/)(_?tests?|testing)/|(^|/)(test_|conftest)[^/]*\.py$|pytest")
    assert not [name for name in names if test_like.search(name)]


def test_zip_holds_nothing_the_prune_rules_name(packaging: Packaging) -> None:
    names = zip_names(packaging.folder)
    distributions = {re.sub(r"[-_.]+", "-", d).lower() for d in UNUSED_DISTRIBUTIONS}
    dist_infos = {
        re.sub(r"[-_.]+", "-", name.split("/")[0].split("-")[0]).lower()
        for name in names
        if name.split("/")[0].endswith(".dist-info")
    }
    assert not distributions & dist_infos
    assert not [name for name in names if name.startswith(tuple(UNUSED_PATHS))]
    assert not {"cryptography", "requests", "pyasn1", "charset_normalizer", "urllib3"} & {
        name.split("/")[0] for name in names
    }
    # Each rule removed something from this build: none is stale.
    assert "matched nothing" not in packaging.log
    assert "the app never imports" in packaging.log


def make_zip(path: Path, files: dict[str, str]) -> None:
    with zipfile.ZipFile(path, "w") as archive:
        for name, text in files.items():
            archive.writestr(zipfile.ZipInfo(name, (2020, 1, 2, 3, 4, 6)), text)


def test_prune_removes_a_distribution_by_its_record_and_keeps_the_rest(tmp_path: Path) -> None:
    zip_path = tmp_path / "deployment.zip"
    make_zip(
        zip_path,
        {
            "app.py": "import kept",
            "kept/__init__.py": "",
            "kept-1.0.dist-info/METADATA": "Name: kept\n",
            "kept-1.0.dist-info/RECORD": "kept/__init__.py,,\n",
            "requests/__init__.py": "",
            "requests/api.py": "",
            "requests-2.0.dist-info/METADATA": "Name: requests\n",
            "requests-2.0.dist-info/RECORD": "requests/__init__.py,,\nrequests/api.py,,\n",
            "google/genai/_gaos/sdk.py": "",
            "google/genai/models.py": "",
            "certifi/tests/test_certify.py": "",
            "anyio/_core/_testing.py": "",
        },
    )
    report = prune_zip(zip_path)
    with zipfile.ZipFile(zip_path) as archive:
        assert sorted(archive.namelist()) == [
            "anyio/_core/_testing.py",
            "app.py",
            "google/genai/models.py",
            "kept-1.0.dist-info/METADATA",
            "kept-1.0.dist-info/RECORD",
            "kept/__init__.py",
        ]
        assert archive.read("app.py") == b"import kept"
        assert archive.getinfo("app.py").date_time == (2020, 1, 2, 3, 4, 6)
    assert len(report.removed["requests"]) == 4
    assert report.removed[TEST_CODE] == ["certifi/tests/test_certify.py"]
    assert "requests" not in report.unmatched()
    assert "cryptography" in report.unmatched()


@pytest.fixture(scope="session")
def lambda_runtime(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with boto3 and what it needs, and nothing else: what Lambda's runtime adds."""
    folder = tmp_path_factory.mktemp("runtime")
    pending, seen = list(RUNTIME_DISTRIBUTIONS), set()
    while pending:
        distribution = importlib.metadata.distribution(pending.pop())
        if distribution.name in seen:
            continue
        seen.add(distribution.name)
        pending += [
            re.split(r"[\s<>=!~;\[(]", requirement)[0]
            for requirement in distribution.requires or []
            if "extra ==" not in requirement
        ]
        for top in {Path(str(file)).parts[0] for file in distribution.files or []}:
            source = Path(str(distribution.locate_file(top)))
            if top not in ("..", "__pycache__") and source.exists():
                (folder / top).symlink_to(source)
    return folder


@pytest.fixture
def moto_endpoint() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@LINUX_PYTHON_311
def test_every_route_runs_from_the_zip_alone(
    packaged: Path,
    lambda_runtime: Path,
    moto_endpoint: str,
    fake_gemini: FakeGemini,
    tmp_path: Path,
) -> None:
    task = tmp_path / "task"
    zipfile.ZipFile(packaged / "deployment.zip").extractall(task)
    key = "key-in-ssm"
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("AWS_", "GOOGLE_", "GEMINI_", "PYTHON"))
    }
    env.update(
        AWS_ENDPOINT_URL=moto_endpoint,
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_DEFAULT_REGION="us-east-1",
        CONFIG_BUCKET="zip-configs",
        SESSIONS_TABLE="zip-sessions",
        GEMINI_API_KEY_PARAMETER="/ai-maker/prod/gemini-api-key",
        OPERATOR_TOKEN_PARAMETER="/ai-maker/prod/operator-token",
        GOOGLE_GEMINI_BASE_URL=fake_gemini.base_url,
        # prod: no offline model to fall back on, the replies must come from Gemini.
        STAGE="prod",
        # Lambda's code folder is read-only.
        PYTHONDONTWRITEBYTECODE="1",
    )
    fake_gemini.queue(FakeReply(), error(503), FakeReply(), error(429))
    result = subprocess.run(
        [sys.executable, "-I", "-S", str(PROBE), str(task), str(lambda_runtime), key],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    probe = json.loads(result.stdout.splitlines()[-1])
    calls = probe["calls"]

    assert {(c["method"], c["route"]) for c in calls} == {tuple(r) for r in probe["routes"]}
    refused, created_chat, created_session, hello, retried, limited, *others = calls
    assert (refused["status"], refused["code"]) == (400, "validation_error")
    assert (created_chat["status"], created_session["status"]) == (201, 201)
    assert (hello["status"], hello["reply"]) == (200, "fake reply to: hello")
    assert (retried["status"], retried["reply"]) == (200, "fake reply to: retried")
    assert (limited["status"], limited["code"]) == (429, "model_rate_limited")
    assert [c for c in others if c["status"] not in (200, 201, 204)] == []
    (regenerated,) = [c for c in others if c["route"].endswith("/regenerate")]
    assert regenerated["reply"] == "fake reply to: retried"
    (edited,) = [c for c in others if c["route"].endswith("/edit")]
    assert edited["reply"] == "fake reply to: retried"
    # hello, 503 and its retry, 429, regenerate, an edit, a completion and a response: all
    # through google-genai, with the SSM key.
    assert [r.headers["x-goog-api-key"] for r in fake_gemini.requests] == [key] * 8

    modules = probe["modules"]
    # The probe itself, as __main__ (and __mp_main__, multiprocessing's alias of it).
    assert {name for name, where in modules.items() if where == str(PROBE)} <= {
        "__main__",
        "__mp_main__",
    }
    modules = {name: where for name, where in modules.items() if where != str(PROBE)}
    assert {where.split(":")[0] for where in modules.values()} == {
        "task",
        "runtime",
        "stdlib",
        "builtin",
    }
    for name in ("app", "chalicelib.model.gemini", "google.genai.models", "pydantic_core"):
        assert modules[name].startswith("task:"), (name, modules[name])
    for name in ("boto3", "botocore", "urllib3"):
        assert modules[name].startswith("runtime:"), (name, modules[name])
