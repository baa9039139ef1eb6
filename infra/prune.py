"""What the Lambda zip leaves out: the libraries, and parts of them, that the app never imports.

`chalice package` ships every file of every requirement, but the app reaches
Gemini with an API key through google-genai and needs none of Google's other
ways to sign in. An import trace of every route served from the zip, a
google-genai send and its error and retry paths included, never loads what is
listed here; tests/test_zip.py serves every route from the pruned zip with
nothing else on sys.path, so a rule that removes something the app needs fails
the suite. What goes: Application Default Credentials, service accounts and
Vertex AI (they need cryptography, requests and google.oauth2), which the app
does not support.
"""

from __future__ import annotations

import logging
import re
import zipfile
from dataclasses import dataclass, field
from email.parser import HeaderParser
from pathlib import Path

log = logging.getLogger("infra.prune")

# Whole distributions, removed file by file from their dist-info RECORD.
UNUSED_DISTRIBUTIONS = {
    "cryptography": "google-auth signs service-account and ID-token credentials with it",
    "cffi": "cryptography's C bindings",
    "pycparser": "cffi's C parser",
    "pyasn1": "google-auth reads service-account key files with it",
    "pyasn1-modules": "the ASN.1 structures of those key files",
    "requests": "google-auth refreshes Google credentials with it; google-genai sends with httpx2",
    "charset-normalizer": "requests' encoding detection",
    # botocore needs urllib3 too, and uses the copy that comes with it in the Lambda runtime.
    "urllib3": "requests' transport",
}
# Parts of distributions the app does use.
UNUSED_PATHS = {
    "google/genai/_gaos/": "the clients of the Interactions API family (interactions, agents, "
    "webhooks, ...), imported only by the Client properties of those names; the app calls "
    "models.generate_content",
    "google/oauth2/": "the credentials of Application Default Credentials and service accounts",
    "pydantic/v1/": "pydantic 1's API, kept for old code; the app and google-genai use pydantic 2",
}
# The test suites, test helpers and pytest plugins that libraries ship: only pytest loads them.
TEST_CODE = "test code"
_TEST_CODE = re.compile(r"(^|/)_?tests/|(^|/)(_?test_\w*|conftest|pytest_plugin|test_cases)\.py$")
RULES = (*UNUSED_DISTRIBUTIONS, *UNUSED_PATHS, TEST_CODE)


@dataclass
class PruneReport:
    """What each rule took out of the zip: entries and uncompressed bytes."""

    removed: dict[str, list[str]] = field(default_factory=lambda: {rule: [] for rule in RULES})
    bytes_removed: int = 0

    def unmatched(self) -> list[str]:
        """Rules that found nothing: a dependency changed, and the rule is stale."""
        return sorted(rule for rule, names in self.removed.items() if not names)


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _distribution_files(archive: zipfile.ZipFile) -> dict[str, set[str]]:
    """Each distribution in the zip (canonical name) -> its files: its RECORD and dist-info."""
    names = set(archive.namelist())
    files: dict[str, set[str]] = {}
    for metadata in sorted(n for n in names if n.endswith(".dist-info/METADATA")):
        dist_info = metadata.removesuffix("METADATA")
        name = HeaderParser().parsestr(archive.read(metadata).decode("utf-8"))["Name"]
        record = archive.read(dist_info + "RECORD").decode("utf-8").splitlines()
        listed = {line.split(",")[0] for line in record if line.strip()}
        files[_canonical(name)] = (listed & names) | {n for n in names if n.startswith(dist_info)}
    return files


def rule_for(name: str, distributions: dict[str, set[str]]) -> str | None:
    """The rule that removes this entry of the zip, or None to keep it."""
    for distribution in UNUSED_DISTRIBUTIONS:
        if name in distributions.get(distribution, set()):
            return distribution
    if _TEST_CODE.search(name):
        return TEST_CODE
    return next((path for path in UNUSED_PATHS if name.startswith(path)), None)


def prune_zip(zip_path: Path) -> PruneReport:
    """Rewrite the zip without the unused code; entries keep their dates and modes."""
    report = PruneReport()
    pruned = zip_path.with_name(zip_path.name + ".pruned")
    with zipfile.ZipFile(zip_path) as source:
        distributions = _distribution_files(source)
        with zipfile.ZipFile(pruned, "w", compression=zipfile.ZIP_DEFLATED) as target:
            for entry in source.infolist():
                rule = rule_for(entry.filename, distributions)
                if rule is None:
                    target.writestr(entry, source.read(entry), compress_type=entry.compress_type)
                else:
                    report.removed[rule].append(entry.filename)
                    report.bytes_removed += entry.file_size
    pruned.replace(zip_path)
    for rule in report.unmatched():
        log.warning("prune rule %r matched nothing: remove it from infra/prune.py", rule)
    log.info(
        "pruned %d files (%.1f MB uncompressed) the app never imports",
        sum(len(names) for names in report.removed.values()),
        report.bytes_removed / 1e6,
    )
    return report
