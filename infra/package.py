"""`make package`: the Lambda zip and the CloudFormation (SAM) template of one stage.

Runs `chalice package` with infra/template.json merged in, into build/<stage>/,
then finishes what a merge cannot do:

- app.py fixes the CORS origin when it is imported, and `chalice package`
  imports it, so the preflight (OPTIONS) mocks would carry whatever origin the
  packaging machine had. We package with a placeholder origin and replace each
  occurrence by the template's AllowedOrigin parameter.
- API Gateway's own answers (an unknown path, throttling, a timeout) get the API's
  error shape and CORS headers, and a method a path does not serve reaches the
  function, which answers 405 (see infra/gateway.py).
- The SSM parameters' defaults name the stage being packaged, and the operator's
  daily token budget, asked for when not given (infra/budget.py), becomes the
  default of BudgetTokensPerDay. Unless it was taken without asking, it is also
  written to build/<stage>/parameter-overrides for `make deploy`: CloudFormation
  keeps an existing stack's parameter values over a template's new defaults.
- `chalice package` makes the WebSocket handler its own function; it gets the API
  handler's role, logs and environment, and both learn the WebSocket API's URL
  (its stage name is only known here).
- The zip loses the libraries the app never imports (see infra/prune.py), then
  gets compiled bytecode, which Lambda cannot write itself (see infra/bytecode.py).

Needs no AWS credentials and no AWS configuration: chalice wants a region,
but the template and the zip do not depend on it (the template says
${AWS::Region}), so any will do when none is set.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chalicelib.core.settings import API_ORIGIN
from infra import budget
from infra.bytecode import add_bytecode
from infra.gateway import gateway_responses, route_every_method
from infra.prune import prune_zip

log = logging.getLogger("infra.package")

ROOT = Path(__file__).resolve().parent.parent
MERGE_TEMPLATE = ROOT / "infra" / "template.json"
STAGES = ("dev", "prod")
TEMPLATE_NAME = "sam.json"
ZIP_NAME = "deployment.zip"
# `make deploy` passes what this file holds to `cloudformation deploy`.
OVERRIDES_NAME = "parameter-overrides"
BUDGET_PARAMETER = "BudgetTokensPerDay"
# chalice caches one zip per version of the code here; a few are enough.
CHALICE_CACHE = ROOT / ".chalice" / "deployments"
CACHED_ZIPS_KEPT = 3

# A syntactically valid origin that can never be a real one (RFC 2606 .invalid).
ORIGIN_PLACEHOLDER = "https://allowed-origin.invalid"
ORIGIN_PARAMETER = "AllowedOrigin"


@dataclass(frozen=True)
class SecureParameter:
    """An SSM SecureString the function reads: the template parameter holding its name,
    the environment variable that gives the name to the function, and its default name."""

    template_name: str
    variable: str
    leaf: str  # the default name is /ai-maker/<stage>/<leaf>

    def default_name(self, stage: str) -> str:
        return f"/ai-maker/{stage}/{self.leaf}"


GEMINI_KEY = SecureParameter("GeminiApiKeyParameter", "GEMINI_API_KEY_PARAMETER", "gemini-api-key")
# The HMAC key of the app's per-client rate limits, created by a deploy (infra/secrets.py).
CLIENT_HASH_SECRET = SecureParameter(
    "ClientHashSecretParameter", "CLIENT_HASH_SECRET_PARAMETER", "client-hash-secret"
)
# Stored by the operator, to switch the operator's routes on; missing means off.
OPERATOR_TOKEN = SecureParameter(
    "OperatorTokenParameter", "OPERATOR_TOKEN_PARAMETER", "operator-token"
)
# Every SecureString the function reads, so exactly those the role may read.
SECURE_PARAMETERS = (GEMINI_KEY, CLIENT_HASH_SECRET, OPERATOR_TOKEN)

# Variables of the packaging machine that would change what chalice builds or reads.
_SCRUBBED = ("CORS_ALLOW_ORIGIN", "AWS_ENDPOINT_URL", "AWS_PROFILE")
FALLBACK_REGION = "us-east-1"


class PackagingError(RuntimeError):
    """The packaged template is not what the deployment needs."""


def run_chalice(stage: str, out_dir: Path) -> None:
    """`chalice package --merge-template` for one stage, into a fresh out_dir."""
    if out_dir.exists():
        shutil.rmtree(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    env = {name: value for name, value in os.environ.items() if name not in _SCRUBBED}
    env["CORS_ALLOW_ORIGIN"] = ORIGIN_PLACEHOLDER
    if not (env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION")):
        env["AWS_DEFAULT_REGION"] = FALLBACK_REGION
    command = [
        sys.executable,
        "-c",
        "import sys; from chalice.cli import main; sys.exit(main())",
        "--project-dir",
        str(ROOT),
        "package",
        "--stage",
        stage,
        "--pkg-format",
        "cloudformation",
        "--template-format",
        "json",
        "--merge-template",
        str(MERGE_TEMPLATE),
        str(out_dir),
    ]
    log.info("chalice package --stage %s -> %s", stage, out_dir)
    subprocess.run(command, cwd=ROOT, env=env, check=True)


def prune_chalice_cache() -> None:
    """Drop all but the newest cached zips: each is ~11 MB and never reused once stale."""
    zips = sorted(CHALICE_CACHE.glob("*.zip"), key=lambda path: path.stat().st_mtime)
    for stale in zips[:-CACHED_ZIPS_KEPT]:
        stale.unlink(missing_ok=True)


def _replace_placeholder(node: Any) -> tuple[Any, int]:
    """Swap every "'<placeholder>'" string for an Fn::Sub of the origin parameter."""
    if node == f"'{ORIGIN_PLACEHOLDER}'":
        return {"Fn::Sub": f"'${{{ORIGIN_PARAMETER}}}'"}, 1
    if isinstance(node, dict):
        count = 0
        replaced: dict[str, Any] = {}
        for key, value in node.items():
            replaced[key], found = _replace_placeholder(value)
            count += found
        return replaced, count
    if isinstance(node, list):
        results = [_replace_placeholder(item) for item in node]
        return [item for item, _ in results], sum(found for _, found in results)
    return node, 0


def wire_allowed_origin(template: dict[str, Any]) -> int:
    """Point every preflight response at the AllowedOrigin parameter; returns how many."""
    api = template["Resources"]["RestAPI"]["Properties"]
    api["DefinitionBody"], count = _replace_placeholder(api["DefinitionBody"])
    if count == 0:
        raise PackagingError("no preflight response carried the placeholder origin")
    if ORIGIN_PLACEHOLDER in json.dumps(template):
        raise PackagingError("the placeholder origin is left somewhere in the template")
    return count


def wire_websocket_handlers(template: dict[str, Any]) -> None:
    """The WebSocket handlers run as the API handler does; all know where clients connect,
    and the $connect handler where the API's own pages are (the origin it admits)."""
    resources = template["Resources"]
    api = resources["APIHandler"]["Properties"]
    stage_name = resources["WebsocketAPIStage"]["Properties"]["StageName"]
    url = f"wss://${{WebsocketAPI}}.execute-api.${{AWS::Region}}.${{AWS::URLSuffix}}/{stage_name}"
    api["Environment"]["Variables"]["WEBSOCKET_URL"] = {"Fn::Sub": url}
    # Not the API handler's: the REST API refers to that function, so it can't refer back.
    api_origin = {"Fn::Sub": "https://${RestAPI}.execute-api.${AWS::Region}.${AWS::URLSuffix}"}
    for name, description, extra in (
        ("WebsocketMessage", "AI Maker WebSocket API: streamed replies", {}),
        ("WebsocketConnect", "AI Maker WebSocket API: admits sockets", {API_ORIGIN: api_origin}),
    ):
        socket = resources[name]["Properties"]
        socket["Role"] = api["Role"]
        socket["LoggingConfig"] = api["LoggingConfig"]
        socket["Description"] = description
        socket["Environment"] = {"Variables": {**api["Environment"]["Variables"], **extra}}
    timeout = resources["WebsocketMessage"]["Properties"]["Timeout"]
    if timeout <= template["Parameters"]["ModelStreamTimeoutSeconds"]["MaxValue"]:
        raise PackagingError("the WebSocket handler's timeout must exceed the longest stream")


def set_defaults(parameters: dict[str, Any], stage: str, budget_tokens: int) -> None:
    """The stage's own parameter names, and the budget chosen, as the defaults."""
    for secure in SECURE_PARAMETERS:
        parameters[secure.template_name]["Default"] = secure.default_name(stage)
    parameters[BUDGET_PARAMETER]["Default"] = budget_tokens


def finish_template(
    template: dict[str, Any], stage: str, budget_tokens: int = budget.DEFAULT_BUDGET
) -> dict[str, Any]:
    count = wire_allowed_origin(template)
    definition = template["Resources"]["RestAPI"]["Properties"]["DefinitionBody"]
    definition["x-amazon-apigateway-gateway-responses"] = gateway_responses()
    route_every_method(definition)
    wire_websocket_handlers(template)
    set_defaults(template["Parameters"], stage, budget_tokens)
    log.info("wired %d preflight responses to the %s parameter", count, ORIGIN_PARAMETER)
    return template


def parameter_overrides(chosen: budget.Budget) -> str:
    """What `make deploy` overrides: a budget taken without asking leaves a stack's own."""
    return f"{BUDGET_PARAMETER}={chosen.tokens}\n" if chosen.chosen else ""


def package(stage: str, out_dir: Path, chosen: budget.Budget | None = None) -> Path:
    """Build out_dir/sam.json and out_dir/deployment.zip; returns the template's path."""
    if stage not in STAGES:
        raise PackagingError(f"unknown stage {stage!r}; expected one of {', '.join(STAGES)}")
    chosen = chosen or budget.Budget(budget.DEFAULT_BUDGET, chosen=False)
    run_chalice(stage, out_dir)
    prune_chalice_cache()
    template_path = out_dir / TEMPLATE_NAME
    template = finish_template(json.loads(template_path.read_text()), stage, chosen.tokens)
    template_path.write_text(json.dumps(template, indent=2) + "\n")
    (out_dir / OVERRIDES_NAME).write_text(parameter_overrides(chosen))
    log.info("%s defaults to %d tokens/day (0: none)", BUDGET_PARAMETER, chosen.tokens)
    prune_zip(out_dir / ZIP_NAME)
    add_bytecode(out_dir / ZIP_NAME, template["Resources"]["APIHandler"]["Properties"]["Runtime"])
    size = (out_dir / ZIP_NAME).stat().st_size
    log.info("%s: %s and %s (%.1f MB)", stage, template_path, ZIP_NAME, size / 1e6)
    return template_path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stage", default="dev", choices=STAGES)
    parser.add_argument("--out", type=Path, help="output folder (default: build/<stage>)")
    parser.add_argument(
        "--budget-tokens-per-day", help="the operator's daily token budget (asked when absent)"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    try:
        chosen = budget.choose(args.budget_tokens_per_day)
        package(args.stage, args.out or ROOT / "build" / args.stage, chosen)
    except budget.BudgetError as exc:
        log.error("%s", exc)
        return 2
    except (PackagingError, subprocess.CalledProcessError) as exc:
        log.error("packaging failed: %s", exc)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
