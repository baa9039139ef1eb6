"""After each `chalice deploy`: the API's own error answers (DEFAULT_4XX, DEFAULT_5XX) carry CORS.

Errors API Gateway raises itself (throttling, timeouts, unknown paths) never reach
the function, so without these a browser sees them as network failures. The
single-template route adds them when packaging (infra/gateway.py); `chalice deploy`
cannot add them, and it replaces the REST API's definition on every deploy, which on
AWS drops them again. So this runs after every `chalice deploy` (`make
gateway-responses`, or `make chalice-deploy` for both): it takes the same
responses from infra/gateway.py, puts them on the stage's REST API (from
.chalice/deployed/<stage>.json) and redeploys the stage.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from infra import gateway
from infra.bootstrap import read_config
from infra.package import ORIGIN_PARAMETER, ROOT, STAGES

if TYPE_CHECKING:
    from mypy_boto3_apigateway.client import APIGatewayClient

log = logging.getLogger("infra.gateway_responses")

DEFAULT_STAGE = "api"  # chalice's api_gateway_stage when the config names none
# The swagger extension's keys, as put_gateway_response names them.
FIELDS = {
    "statusCode": "statusCode",
    "responseParameters": "responseParameters",
    "responseTemplates": "responseTemplates",
}


class NotDeployed(RuntimeError):
    """The stage has no REST API yet: run `chalice deploy` first."""


def _resolve(node: Any, origin: str) -> Any:
    """The template's values with `Fn::Sub` of the origin parameter replaced by the origin."""
    if isinstance(node, dict):
        if set(node) == {"Fn::Sub"}:
            return node["Fn::Sub"].replace(f"${{{ORIGIN_PARAMETER}}}", origin)
        return {key: _resolve(value, origin) for key, value in node.items()}
    return node


def gateway_responses(origin: str) -> dict[str, dict[str, Any]]:
    """Each response type the packaged API has (infra/gateway.py), as put_gateway_response's
    arguments."""
    responses: dict[str, dict[str, Any]] = _resolve(gateway.gateway_responses(), origin)
    resolved = {kind: {FIELDS[k]: v for k, v in spec.items()} for kind, spec in responses.items()}
    if "${" in json.dumps(resolved):
        raise ValueError("a gateway response refers to a template parameter other than the origin")
    return resolved


def rest_api_id(project_dir: Path, stage: str) -> str:
    deployed = project_dir / ".chalice" / "deployed" / f"{stage}.json"
    if not deployed.exists():
        raise NotDeployed(
            f"no {deployed.relative_to(project_dir)}: run `chalice deploy --stage {stage}` first"
        )
    for resource in json.loads(deployed.read_text())["resources"]:
        if resource["resource_type"] == "rest_api":
            return str(resource["rest_api_id"])
    raise NotDeployed(f"the {stage} stage has no REST API")


def put_responses(client: APIGatewayClient, api_id: str, stage_name: str, origin: str) -> list[str]:
    kinds = []
    for kind, spec in gateway_responses(origin).items():
        client.put_gateway_response(restApiId=api_id, responseType=kind, **spec)  # type: ignore[arg-type]
        kinds.append(kind)
    # Gateway responses, like routes, take effect with a deployment of the stage.
    client.create_deployment(restApiId=api_id, stageName=stage_name)
    return kinds


def apply(stage: str, project_dir: Path) -> list[str]:
    config = read_config(project_dir)
    section = config.get("stages", {}).get(stage, {})
    variables = {
        **config.get("environment_variables", {}),
        **section.get("environment_variables", {}),
    }
    origin = variables.get("CORS_ALLOW_ORIGIN", "*")
    stage_name = section.get("api_gateway_stage", config.get("api_gateway_stage", DEFAULT_STAGE))
    api_id = rest_api_id(project_dir, stage)
    kinds = put_responses(boto3.client("apigateway"), api_id, stage_name, origin)
    log.info(
        "REST API %s, stage %s: %s carry CORS for %s", api_id, stage_name, ", ".join(kinds), origin
    )
    return kinds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stage", default="dev", choices=STAGES)
    parser.add_argument("--project-dir", type=Path, default=ROOT)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    try:
        apply(args.stage, args.project_dir)
    except (NotDeployed, ClientError, BotoCoreError) as exc:
        log.error("gateway responses not applied: %s", exc)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
