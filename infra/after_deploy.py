"""After each `chalice deploy`: what the single template has and `chalice deploy` cannot make.

`make after-deploy` (or `make chalice-deploy`, which runs `chalice deploy` and then
this) reads what the deploy made from .chalice/deployed/<stage>.json and:

- **Gateway responses.** Errors API Gateway raises itself (throttling, timeouts,
  unknown paths) never reach the function, so without CORS on them a browser sees
  them as network failures. The single-template route adds them when packaging
  (infra/gateway.py); `chalice deploy` cannot, and it replaces the REST API's
  definition on every deploy, which on AWS drops them again. So the same responses
  are put on the stage's REST API after every deploy, and the stage redeployed.
- **The WebSocket URL.** The WebSocket API's id exists only once it is deployed,
  so `GET /health` could not name `websocketUrl`. Its URL is written into the
  stage's `environment_variables` (`WEBSOCKET_URL`), which every later `chalice
  deploy` applies, and put on the deployed functions now, without a second deploy.
  So is the REST API's origin (`API_ORIGIN`, unless the stage names its own), where
  the pages are served: the WebSocket API's `$connect` admits browsers from it.
- **Throttling.** Both APIs' stages get the single template's throttling
  (infra/throttle.py): THROTTLE_RATE and THROTTLE_BURST, from the flags or the
  environment, else the defaults, on every resource and method of the REST API and
  on the WebSocket API's default route. Run without them, the step sets the defaults.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.core.settings import API_ORIGIN, WEBSOCKET_URL
from infra import gateway
from infra.bootstrap import read_config, write_config
from infra.package import ORIGIN_PARAMETER, ROOT, STAGES
from infra.throttle import Throttle, ThrottleError, throttle_from

if TYPE_CHECKING:
    from mypy_boto3_apigateway.client import APIGatewayClient
    from mypy_boto3_apigatewayv2.client import ApiGatewayV2Client
    from mypy_boto3_lambda.client import LambdaClient

log = logging.getLogger("infra.after_deploy")

DEFAULT_STAGE = "api"  # chalice's api_gateway_stage when the config names none
# The swagger extension's keys, as put_gateway_response names them.
FIELDS = {
    "statusCode": "statusCode",
    "responseParameters": "responseParameters",
    "responseTemplates": "responseTemplates",
}


class NotDeployed(RuntimeError):
    """The stage has no REST API yet: run `chalice deploy` first."""


def deployed_resources(project_dir: Path, stage: str) -> list[dict[str, Any]]:
    """What `chalice deploy` recorded it made for the stage."""
    deployed = project_dir / ".chalice" / "deployed" / f"{stage}.json"
    if not deployed.exists():
        raise NotDeployed(
            f"no {deployed.relative_to(project_dir)}: run `chalice deploy --stage {stage}` first"
        )
    resources: list[dict[str, Any]] = json.loads(deployed.read_text())["resources"]
    return resources


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


def rest_api_id(resources: list[dict[str, Any]], stage: str) -> str:
    for resource in resources:
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


def stage_variables(config: dict[str, Any], stage: str) -> dict[str, str]:
    section = config.get("stages", {}).get(stage, {})
    return {**config.get("environment_variables", {}), **section.get("environment_variables", {})}


def api_gateway_stage(config: dict[str, Any], stage: str) -> str:
    """The API Gateway stage name of both APIs (chalice gives them the same one)."""
    section = config.get("stages", {}).get(stage, {})
    return str(section.get("api_gateway_stage", config.get("api_gateway_stage", DEFAULT_STAGE)))


def apply_gateway_responses(
    config: dict[str, Any], stage: str, resources: list[dict[str, Any]]
) -> list[str]:
    origin = stage_variables(config, stage).get("CORS_ALLOW_ORIGIN", "*")
    stage_name = api_gateway_stage(config, stage)
    api_id = rest_api_id(resources, stage)
    kinds = put_responses(boto3.client("apigateway"), api_id, stage_name, origin)
    log.info(
        "REST API %s, stage %s: %s carry CORS for %s", api_id, stage_name, ", ".join(kinds), origin
    )
    return kinds


def websocket_url(resources: list[dict[str, Any]]) -> str | None:
    """The stage's WebSocket URL as clients use it (chalice records it with a final slash)."""
    for resource in resources:
        if resource["resource_type"] == "websocket_api":
            return str(resource["websocket_api_url"]).rstrip("/")
    return None


def api_origin(resources: list[dict[str, Any]]) -> str | None:
    """The REST API's origin, where its pages are served: the WebSocket API admits it."""
    for resource in resources:
        if resource["resource_type"] == "rest_api" and resource.get("rest_api_url"):
            parts = urlsplit(str(resource["rest_api_url"]))
            return f"{parts.scheme}://{parts.netloc}"
    return None


def put_variables(
    client: LambdaClient, function_arns: list[str], wanted: dict[str, str]
) -> list[str]:
    """Each function that lacks one of the variables gets it, the rest of its environment kept."""
    updated = []
    for arn in function_arns:
        current = client.get_function_configuration(FunctionName=arn)
        variables = current.get("Environment", {}).get("Variables", {})
        if any(variables.get(name) != value for name, value in wanted.items()):
            client.update_function_configuration(
                FunctionName=arn, Environment={"Variables": {**variables, **wanted}}
            )
            updated.append(arn)
    return updated


def apply_deployed_urls(
    project_dir: Path, config: dict[str, Any], stage: str, resources: list[dict[str, Any]]
) -> dict[str, str]:
    """WEBSOCKET_URL, and API_ORIGIN unless the stage names one (a custom domain, say)."""
    section = config.setdefault("stages", {}).setdefault(stage, {})
    variables = section.setdefault("environment_variables", {})
    found = {WEBSOCKET_URL: websocket_url(resources), API_ORIGIN: api_origin(resources)}
    if variables.get(API_ORIGIN):
        found[API_ORIGIN] = None  # the operator's own: kept
    wanted = {name: value for name, value in found.items() if value is not None}
    if not wanted:
        return {}
    if any(variables.get(name) != value for name, value in wanted.items()):
        variables.update(wanted)
        write_config(project_dir, config)
    functions = [r["lambda_arn"] for r in resources if r["resource_type"] == "lambda_function"]
    updated = put_variables(boto3.client("lambda"), functions, wanted)
    named = ", ".join(f"{name}={value}" for name, value in wanted.items())
    log.info("%s in the %s stage; %d function(s) updated", named, stage, len(updated))
    return wanted


def throttle_rest_api(
    client: APIGatewayClient, api_id: str, stage_name: str, limits: Throttle
) -> None:
    # Stage settings apply at once: no deployment needed.
    client.update_stage(
        restApiId=api_id, stageName=stage_name, patchOperations=limits.rest_stage_operations()
    )


def throttle_websocket_api(
    client: ApiGatewayV2Client, api_id: str, stage_name: str, limits: Throttle
) -> None:
    # UpdateStage sets the default route settings whole: the ones not about throttling
    # (logging, metrics) are sent back as they are.
    current = client.get_stage(ApiId=api_id, StageName=stage_name).get("DefaultRouteSettings", {})
    client.update_stage(
        ApiId=api_id,
        StageName=stage_name,
        DefaultRouteSettings=limits.websocket_route_settings(current),
    )


def apply_throttling(
    config: dict[str, Any], stage: str, resources: list[dict[str, Any]], limits: Throttle
) -> None:
    stage_name = api_gateway_stage(config, stage)
    api_id = rest_api_id(resources, stage)
    throttle_rest_api(boto3.client("apigateway"), api_id, stage_name, limits)
    throttled = [f"REST API {api_id}"]
    for resource in resources:
        if resource["resource_type"] == "websocket_api":
            socket_id = str(resource["websocket_api_id"])
            throttle_websocket_api(boto3.client("apigatewayv2"), socket_id, stage_name, limits)
            throttled.append(f"WebSocket API {socket_id}")
    log.info(
        "%s, stage %s: throttled to %d requests/s, bursts of %d",
        " and ".join(throttled),
        stage_name,
        limits.rate,
        limits.burst,
    )


def apply(stage: str, project_dir: Path, limits: Throttle | None = None) -> list[str]:
    """Every step; returns the gateway response types put on the REST API."""
    config = read_config(project_dir)
    resources = deployed_resources(project_dir, stage)
    kinds = apply_gateway_responses(config, stage, resources)
    apply_throttling(config, stage, resources, limits or throttle_from())
    apply_deployed_urls(project_dir, config, stage, resources)
    return kinds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stage", default="dev", choices=STAGES)
    parser.add_argument("--project-dir", type=Path, default=ROOT)
    parser.add_argument("--throttle-rate", help="requests per second (default: THROTTLE_RATE)")
    parser.add_argument("--throttle-burst", help="requests at once (default: THROTTLE_BURST)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    try:
        limits = throttle_from(args.throttle_rate, args.throttle_burst)
    except ThrottleError as exc:
        log.error("%s", exc)
        return 2
    try:
        apply(args.stage, args.project_dir, limits)
    except (NotDeployed, ClientError, BotoCoreError) as exc:
        log.error("after-deploy step failed: %s", exc)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
