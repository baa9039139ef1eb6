"""`make bootstrap`: once per stage, what `chalice deploy` cannot create, and the config for it.

`chalice deploy` makes the function and the REST API; the table, the bucket, the
function's least-privilege role and its log group come from one CloudFormation
stack, `ai-maker-<stage>-bootstrap`, built from the same resources as the
single-template route (infra/template.json), so both routes grant exactly the same.
It creates the client hash secret, a SecureString CloudFormation cannot make, if
it does not exist (infra/secrets.py), and asks for the operator's daily token budget
when none is given (infra/budget.py; the stage's current one is the default).
Bootstrap then writes the role's ARN, the resources' and parameters' names and the
budget (as environment variables) into the stage's section of .chalice/config.json,
where `chalice deploy` reads them. Running it again updates the stack and rewrites
the same values.
"""

from __future__ import annotations

import argparse
import copy
import json
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from infra import budget
from infra.package import (
    CLIENT_HASH_SECRET,
    MERGE_TEMPLATE,
    ROOT,
    SECURE_PARAMETERS,
    STAGES,
)
from infra.secrets import ensure_client_hash_secret

if TYPE_CHECKING:
    from mypy_boto3_cloudformation.client import CloudFormationClient
    from mypy_boto3_cloudformation.type_defs import WaiterConfigTypeDef

log = logging.getLogger("infra.bootstrap")

# The parts of infra/template.json that a `chalice deploy` stage needs from outside.
RESOURCES = (
    "SessionsTable",
    "ConfigBucket",
    "ConfigBucketPolicy",
    "ApiHandlerLogGroup",
    "ApiHandlerRole",
)
# `chalice deploy` makes each WebSocket handler a function of its own, named with its
# suffix; each gets its log group (the message handler's keeps its first resource name).
WEBSOCKET_FUNCTION = "websocket_message"
WEBSOCKET_FUNCTIONS = {
    WEBSOCKET_FUNCTION: "WebsocketHandlerLogGroup",
    "websocket_connect": "WebsocketConnectLogGroup",
}
# AllowedOrigin: the bucket's CORS rule lets that origin's browsers POST uploads.
PARAMETERS = (*(p.template_name for p in SECURE_PARAMETERS), "LogRetentionDays", "AllowedOrigin")
# API Gateway answers in about 29 s; the app's own 504 must come first.
MODEL_TIMEOUT_SECONDS = "25"
WAIT: WaiterConfigTypeDef = {"Delay": 5, "MaxAttempts": 120}


class BootstrapError(RuntimeError):
    """The stack could not be created or updated."""


def stack_name(stage: str) -> str:
    return f"ai-maker-{stage}-bootstrap"


def read_config(project_dir: Path) -> dict[str, Any]:
    config: dict[str, Any] = json.loads((project_dir / ".chalice" / "config.json").read_text())
    return config


def function_name(config: dict[str, Any], stage: str) -> str:
    """The name `chalice deploy` gives the REST API's function."""
    return f"{config['app_name']}-{stage}"


def websocket_function_name(function: str, handler: str = WEBSOCKET_FUNCTION) -> str:
    """The name `chalice deploy` gives a WebSocket handler's function."""
    return f"{function}-{handler}"


def bootstrap_template(stage: str, function: str, allowed_origin: str = "*") -> dict[str, Any]:
    merged = json.loads(MERGE_TEMPLATE.read_text())
    resources = {name: copy.deepcopy(merged["Resources"][name]) for name in RESOURCES}
    # Lambda writes to /aws/lambda/<function>, and chalice cannot point a function at
    # another group: each function gets its own, and the role these groups only.
    for handler, group in WEBSOCKET_FUNCTIONS.items():
        socket_group = copy.deepcopy(resources["ApiHandlerLogGroup"])
        name = websocket_function_name(function, handler)
        socket_group["Properties"]["LogGroupName"] = f"/aws/lambda/{name}"
        resources[group] = socket_group
    resources["ApiHandlerLogGroup"]["Properties"]["LogGroupName"] = f"/aws/lambda/{function}"
    _logs_of_every_function(resources["ApiHandlerRole"])
    _connections_of_any_websocket_api(resources["ApiHandlerRole"])
    parameters = {name: copy.deepcopy(merged["Parameters"][name]) for name in PARAMETERS}
    for secure in SECURE_PARAMETERS:
        parameters[secure.template_name]["Default"] = secure.default_name(stage)
    parameters["AllowedOrigin"]["Default"] = allowed_origin
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": f"AI Maker {stage}: what `chalice deploy` needs and cannot create.",
        "Parameters": parameters,
        "Resources": resources,
        "Outputs": {
            "RoleArn": {"Value": {"Fn::GetAtt": ["ApiHandlerRole", "Arn"]}},
            "SessionsTableName": {"Value": {"Ref": "SessionsTable"}},
            "ConfigBucketName": {"Value": {"Ref": "ConfigBucket"}},
            **{p.template_name: {"Value": {"Ref": p.template_name}} for p in SECURE_PARAMETERS},
        },
    }


def _statements(role: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        statement
        for policy in role["Properties"]["Policies"]
        for statement in policy["PolicyDocument"]["Statement"]
    ]


def _logs_of_every_function(role: dict[str, Any]) -> None:
    for statement in _statements(role):
        if statement["Resource"] == {"Fn::GetAtt": ["ApiHandlerLogGroup", "Arn"]}:
            statement["Resource"] = [
                {"Fn::GetAtt": [group, "Arn"]}
                for group in ("ApiHandlerLogGroup", *WEBSOCKET_FUNCTIONS.values())
            ]


def _connections_of_any_websocket_api(role: dict[str, Any]) -> None:
    """`chalice deploy` makes the WebSocket API after this stack, so its id is not known
    here: the role may post to the connections of this account's WebSocket APIs in the
    region (the single template names its own API)."""
    for statement in _statements(role):
        if statement["Action"] == "execute-api:ManageConnections":
            statement["Resource"] = {
                "Fn::Sub": "arn:${AWS::Partition}:execute-api:${AWS::Region}:"
                "${AWS::AccountId}:*/*/POST/@connections/*"
            }


def _stack_exists(cfn: CloudFormationClient, name: str) -> bool:
    try:
        cfn.describe_stacks(StackName=name)
    except ClientError as exc:
        if "does not exist" in str(exc):
            return False
        raise
    return True


def deploy_stack(cfn: CloudFormationClient, name: str, template: dict[str, Any]) -> dict[str, str]:
    """Create or update the stack and wait for it; returns its outputs."""
    request: dict[str, Any] = {
        "StackName": name,
        "TemplateBody": json.dumps(template),
        "Capabilities": ["CAPABILITY_IAM"],
    }
    if not _stack_exists(cfn, name):
        log.info("creating stack %s", name)
        cfn.create_stack(**request)
        cfn.get_waiter("stack_create_complete").wait(StackName=name, WaiterConfig=WAIT)
    else:
        log.info("updating stack %s", name)
        try:
            cfn.update_stack(**request)
        except ClientError as exc:
            if "No updates are to be performed" not in str(exc):
                raise
        else:
            cfn.get_waiter("stack_update_complete").wait(StackName=name, WaiterConfig=WAIT)
    (stack,) = cfn.describe_stacks(StackName=name)["Stacks"]
    return {output["OutputKey"]: output["OutputValue"] for output in stack.get("Outputs", [])}


def stage_settings(
    outputs: dict[str, str],
    allowed_origin: str,
    frontend_base_url: str | None,
    budget_tokens: int = budget.DEFAULT_BUDGET,
) -> dict[str, str]:
    """The environment variables `chalice deploy` gives the function."""
    variables = {
        "CONFIG_BUCKET": outputs["ConfigBucketName"],
        "SESSIONS_TABLE": outputs["SessionsTableName"],
        **{p.variable: outputs[p.template_name] for p in SECURE_PARAMETERS},
        "CORS_ALLOW_ORIGIN": allowed_origin,
        "MODEL_TIMEOUT_SECONDS": MODEL_TIMEOUT_SECONDS,
        budget.VARIABLE: str(budget_tokens),
    }
    if frontend_base_url:
        variables["FRONTEND_BASE_URL"] = frontend_base_url
    return variables


def write_config(project_dir: Path, config: dict[str, Any]) -> None:
    (project_dir / ".chalice" / "config.json").write_text(json.dumps(config, indent=2) + "\n")


def write_stage(project_dir: Path, stage: str, role_arn: str, variables: dict[str, str]) -> None:
    config = read_config(project_dir)
    section = config.setdefault("stages", {}).setdefault(stage, {})
    section["iam_role_arn"] = role_arn
    section.setdefault("environment_variables", {}).update(variables)
    write_config(project_dir, config)


def current_budget(project_dir: Path, stage: str) -> int:
    """The stage's budget in .chalice/config.json, else the default: the one to offer."""
    section = read_config(project_dir).get("stages", {}).get(stage, {})
    written = section.get("environment_variables", {}).get(budget.VARIABLE)
    try:
        return budget.parse(str(written)) if written is not None else budget.DEFAULT_BUDGET
    except budget.BudgetError:
        return budget.DEFAULT_BUDGET


def bootstrap(
    stage: str,
    project_dir: Path,
    allowed_origin: str = "*",
    frontend_base_url: str | None = None,
    budget_tokens: int = budget.DEFAULT_BUDGET,
) -> dict[str, str]:
    config = read_config(project_dir)
    template = bootstrap_template(stage, function_name(config, stage), allowed_origin)
    outputs = deploy_stack(boto3.client("cloudformation"), stack_name(stage), template)
    ensure_client_hash_secret(boto3.client("ssm"), outputs[CLIENT_HASH_SECRET.template_name])
    variables = stage_settings(outputs, allowed_origin, frontend_base_url, budget_tokens)
    write_stage(project_dir, stage, outputs["RoleArn"], variables)
    log.info("wrote the %s stage's role and resources into .chalice/config.json", stage)
    return outputs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stage", default="dev", choices=STAGES)
    parser.add_argument("--allowed-origin", default="*", help="the browser origin CORS allows")
    parser.add_argument("--frontend-base-url", help="base of the share links")
    parser.add_argument(
        "--budget-tokens-per-day", help="the operator's daily token budget (asked when absent)"
    )
    parser.add_argument("--project-dir", type=Path, default=ROOT)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    try:
        default = current_budget(args.project_dir, args.stage)
        chosen = budget.choose(args.budget_tokens_per_day, default)
    except budget.BudgetError as exc:
        log.error("%s", exc)
        return 2
    try:
        bootstrap(
            args.stage,
            args.project_dir,
            args.allowed_origin,
            args.frontend_base_url,
            chosen.tokens,
        )
    except (BootstrapError, ClientError, BotoCoreError) as exc:
        log.error("bootstrap failed: %s", exc)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
