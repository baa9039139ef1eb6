"""`make bootstrap`, then `chalice deploy` as Chalice documents it, against moto's server.

The project is copied to a temporary folder, as a fresh clone would be, and every
command runs there as a separate process with AWS_ENDPOINT_URL pointing at moto.
moto serves CloudFormation (the bootstrap stack), IAM, SSM (the client hash secret),
Lambda function creation and updates, API Gateway and the Lambda permission. Two
steps it cannot serve as sent, the REST API's Swagger 2.0 definition and the
WebSocket stage's UpdateStage (its throttling); tests/moto_apigateway.py names them
and adapts only those. Invoking the function is not served by moto at all
(it needs Docker), so no request reaches the deployed code here: the routes are
served by the same code in every other test.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from moto.server import ThreadedMotoServer

from app import app
from infra.bootstrap import bootstrap_template
from tests.local_stack import copy_of_the_project
from tests.moto_apigateway import SwaggerRelabel, start_moto

pytestmark = pytest.mark.timeout(600)

ROOT = Path(__file__).resolve().parent.parent
CHALICE = Path(sys.executable).with_name("chalice")
REGION = "eu-west-3"
STAGE = "dev"
# What a fresh clone holds that `chalice deploy` reads.
# As in the repository: chalice loads app.py before it checks the config's per-function
# settings, and in its CLI app.py imports the local servers in scripts/.
PROJECT_FILES = (
    "app.py",
    "chalicelib",
    "scripts",
    "requirements.txt",
    ".chalice/config.json",
    "infra",
)


class Deployment:
    """A copy of the project, deployed with the real commands against one moto server."""

    def __init__(self, project: Path, endpoint: str, adapter: SwaggerRelabel) -> None:
        self.project = project
        self.adapter = adapter
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        self.env.update(
            AWS_ENDPOINT_URL=endpoint,
            AWS_ACCESS_KEY_ID="testing",
            AWS_SECRET_ACCESS_KEY="testing",
            AWS_DEFAULT_REGION=REGION,
            AWS_CONFIG_FILE=str(project / "no-aws-config"),
            AWS_SHARED_CREDENTIALS_FILE=str(project / "no-aws-credentials"),
        )
        for name in (
            "CORS_ALLOW_ORIGIN",
            "BUDGET_TOKENS_PER_DAY",
            "THROTTLE_RATE",
            "THROTTLE_BURST",
        ):
            self.env.pop(name, None)
        self.outputs: dict[str, str] = {}

    def run(self, *command: str, **env: str) -> str:
        # No terminal, as in CI: nothing waits for an answer.
        result = subprocess.run(
            command,
            cwd=self.project,
            env={**self.env, **env},
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert result.returncode == 0, f"{command} failed:\n{result.stdout}\n{result.stderr}"
        return result.stdout + result.stderr

    def python(self, module: str, *args: str, **env: str) -> str:
        return self.run(
            sys.executable, "-m", module, "--project-dir", str(self.project), *args, **env
        )

    def chalice(self, *args: str) -> str:
        return self.run(str(CHALICE), "--project-dir", str(self.project), *args)

    def client(self, service: str) -> Any:
        return boto3.client(
            service,  # type: ignore[call-overload]
            endpoint_url=self.env["AWS_ENDPOINT_URL"],
            region_name=REGION,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    def config(self) -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads((self.project / ".chalice" / "config.json").read_text())
        return loaded

    def deployed(self) -> dict[str, dict[str, Any]]:
        path = self.project / ".chalice" / "deployed" / f"{STAGE}.json"
        # By name: the app deploys three functions (api_handler, websocket_connect,
        # websocket_message).
        return {r["name"]: r for r in json.loads(path.read_text())["resources"]}


@pytest.fixture(autouse=True)
def aws_environment() -> Iterator[None]:
    """No in-process moto here: it would answer this module's boto3 calls and reset the
    server's state between tests. Every call goes to the server over HTTP, as chalice's do."""
    yield


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    server, adapter, endpoint = start_moto()
    try:
        yield Deployment(
            copy_of_the_project(tmp_path_factory.mktemp("clone"), PROJECT_FILES), endpoint, adapter
        )
    finally:
        server.stop()


@pytest.fixture(scope="module")
def bootstrapped(deployment: Deployment) -> Deployment:
    output = deployment.python(
        "infra.bootstrap", "--stage", STAGE, "--allowed-origin", "https://chat.example.com"
    )
    # Not at a terminal and not given: the default, said in one line.
    assert "BUDGET_TOKENS_PER_DAY not given and no terminal to ask" in output
    return deployment


def client_hash_secret(deployment: Deployment) -> dict[str, Any]:
    parameter: dict[str, Any] = deployment.client("ssm").get_parameter(
        Name="/ai-maker/dev/client-hash-secret", WithDecryption=True
    )["Parameter"]
    return parameter


@pytest.fixture(scope="module")
def deployed(bootstrapped: Deployment) -> Deployment:
    output = bootstrapped.chalice("deploy", "--stage", STAGE)
    assert "Creating lambda function: ai-maker-dev" in output
    assert "Creating Rest API" in output
    return bootstrapped


def test_the_bootstrap_template_passes_cfn_lint(tmp_path: Path) -> None:
    path = tmp_path / "bootstrap.json"
    path.write_text(json.dumps(bootstrap_template(STAGE, "ai-maker-dev")))
    cfn_lint = Path(sys.executable).with_name("cfn-lint")
    result = subprocess.run([str(cfn_lint), str(path)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr


def test_chalice_deploy_without_bootstrap_names_the_missing_role(tmp_path: Path) -> None:
    """Before the one-time step, deploy stops at the role (chalice's own message)."""
    project = copy_of_the_project(tmp_path, PROJECT_FILES)
    result = subprocess.run(
        [str(CHALICE), "--project-dir", str(project), "deploy", "--stage", STAGE],
        env={**os.environ, "AWS_DEFAULT_REGION": REGION},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "iam_role_arn" in result.stdout + result.stderr


def test_bootstrap_creates_the_stack_and_writes_the_stage(bootstrapped: Deployment) -> None:
    stage = bootstrapped.config()["stages"][STAGE]
    variables = stage["environment_variables"]
    (stack,) = bootstrapped.client("cloudformation").describe_stacks(
        StackName="ai-maker-dev-bootstrap"
    )["Stacks"]
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}
    assert stage["iam_role_arn"] == outputs["RoleArn"]
    assert variables["SESSIONS_TABLE"] == outputs["SessionsTableName"]
    assert variables["CONFIG_BUCKET"] == outputs["ConfigBucketName"]
    assert variables["GEMINI_API_KEY_PARAMETER"] == "/ai-maker/dev/gemini-api-key"
    assert variables["CLIENT_HASH_SECRET_PARAMETER"] == "/ai-maker/dev/client-hash-secret"
    assert variables["OPERATOR_TOKEN_PARAMETER"] == "/ai-maker/dev/operator-token"
    assert variables["BUDGET_TOKENS_PER_DAY"] == "2000000"
    assert variables["CORS_ALLOW_ORIGIN"] == "https://chat.example.com"
    assert variables["STAGE"] == "dev"
    dynamodb = bootstrapped.client("dynamodb")
    table = dynamodb.describe_table(TableName=variables["SESSIONS_TABLE"])["Table"]
    assert {k["AttributeName"]: k["KeyType"] for k in table["KeySchema"]} == {
        "pk": "HASH",
        "sk": "RANGE",
    }
    bootstrapped.client("s3").head_bucket(Bucket=variables["CONFIG_BUCKET"])
    groups = bootstrapped.client("logs").describe_log_groups(
        logGroupNamePrefix="/aws/lambda/ai-maker-dev"
    )
    # One per function `chalice deploy` makes: the REST API's and the WebSocket handlers'.
    assert sorted(g["logGroupName"] for g in groups["logGroups"]) == [
        "/aws/lambda/ai-maker-dev",
        "/aws/lambda/ai-maker-dev-websocket_connect",
        "/aws/lambda/ai-maker-dev-websocket_message",
    ]
    # The prod stage is untouched.
    assert "iam_role_arn" not in bootstrapped.config()["stages"]["prod"]


def test_bootstrap_creates_the_client_hash_secret_and_not_the_operator_token(
    bootstrapped: Deployment,
) -> None:
    secret = client_hash_secret(bootstrapped)
    assert secret["Type"] == "SecureString"
    assert len(bytes.fromhex(secret["Value"])) == 32
    # The operator's to create: until then, the operator's routes are off.
    ssm = bootstrapped.client("ssm")
    with pytest.raises(ssm.exceptions.ParameterNotFound):
        ssm.get_parameter(Name="/ai-maker/dev/operator-token")


def test_the_bootstrap_role_is_the_single_templates_role(bootstrapped: Deployment) -> None:
    """Exactly the least-privilege policy of infra/template.json, on this stack's resources."""
    iam = bootstrapped.client("iam")
    role_name = bootstrapped.config()["stages"][STAGE]["iam_role_arn"].rsplit("/", 1)[1]
    (policy_name,) = iam.list_role_policies(RoleName=role_name)["PolicyNames"]
    document = iam.get_role_policy(RoleName=role_name, PolicyName=policy_name)["PolicyDocument"]
    if isinstance(document, str):  # moto returns the document as CloudFormation rendered it
        document = json.loads(document.replace("'", '"'))
    template = json.loads((ROOT / "infra" / "template.json").read_text())
    (expected,) = template["Resources"]["ApiHandlerRole"]["Properties"]["Policies"]
    granted = {s["Sid"]: s["Action"] for s in document["Statement"]}
    assert granted == {s["Sid"]: s["Action"] for s in expected["PolicyDocument"]["Statement"]}
    resources = json.dumps(document)
    variables = bootstrapped.config()["stages"][STAGE]["environment_variables"]
    assert f"table/{variables['SESSIONS_TABLE']}" in resources
    assert f"{variables['CONFIG_BUCKET']}/chat-configs/*" in resources
    for name in ("gemini-api-key", "client-hash-secret", "operator-token"):
        assert f"parameter/ai-maker/dev/{name}" in resources
    (logs,) = [s for s in document["Statement"] if s["Sid"] == "WriteOwnLogs"]
    # The functions' groups and nothing else (AWS ends a group's ARN with ":*", moto not).
    assert sorted(arn.removesuffix(":*").rsplit(":", 1)[1] for arn in logs["Resource"]) == [
        "/aws/lambda/ai-maker-dev",
        "/aws/lambda/ai-maker-dev-websocket_connect",
        "/aws/lambda/ai-maker-dev-websocket_message",
    ]


def test_chalice_deploy_creates_the_function_with_the_stages_role_and_settings(
    deployed: Deployment,
) -> None:
    function = deployed.client("lambda").get_function(FunctionName="ai-maker-dev")["Configuration"]
    stage = deployed.config()["stages"][STAGE]
    assert function["Role"] == stage["iam_role_arn"]
    assert function["Runtime"] == "python3.11"
    assert function["MemorySize"] == 512
    assert function["Environment"]["Variables"] == stage["environment_variables"]
    assert deployed.deployed()["api_handler"]["lambda_arn"] == function["FunctionArn"]


def test_the_deployed_package_holds_the_app_and_never_moto(deployed: Deployment) -> None:
    (package,) = (deployed.project / ".chalice" / "deployments").glob("*.zip")
    names = zipfile.ZipFile(package).namelist()
    assert "app.py" in names and "chalicelib/local/aws.py" in names
    assert not [n for n in names if n.startswith(("moto/", "werkzeug/", "flask/"))]


def test_the_rest_api_has_every_route_integrated_with_the_function(deployed: Deployment) -> None:
    api_id = deployed.deployed()["rest_api"]["rest_api_id"]
    apigateway = deployed.client("apigateway")
    resources = apigateway.get_resources(restApiId=api_id, limit=500)["items"]
    served = {
        r["path"]: set(r.get("resourceMethods", {})) for r in resources if r.get("resourceMethods")
    }
    routes = {path: set(methods) for path, methods in app.routes.items()}
    assert set(served) == set(routes)
    function_arn = deployed.deployed()["api_handler"]["lambda_arn"]
    for resource in resources:
        for method in routes.get(resource["path"], ()):
            assert method in served[resource["path"]], (resource["path"], method)
            integration = apigateway.get_integration(
                restApiId=api_id, resourceId=resource["id"], httpMethod=method
            )
            assert integration["type"].upper() == "AWS_PROXY"
            assert function_arn in integration["uri"]
    assert apigateway.get_stage(restApiId=api_id, stageName="api")["deploymentId"]
    policy = json.loads(deployed.client("lambda").get_policy(FunctionName="ai-maker-dev")["Policy"])
    assert [s["Principal"] for s in policy["Statement"]] == [
        {"Service": "apigateway.amazonaws.com"}
    ]


def test_chalices_swagger_is_the_apps_routes(deployed: Deployment) -> None:
    """The document chalice sent, as sent: every route, preflights for CORS, nothing else."""
    document = deployed.adapter.documents[0]
    assert document["swagger"] == "2.0"
    assert set(document["paths"]) == set(app.routes)
    for path, methods in app.routes.items():
        operations = document["paths"][path]
        assert {m.upper() for m in operations} == {*methods, "OPTIONS"}
        for method in methods:
            assert (
                operations[method.lower()]["x-amazon-apigateway-integration"]["type"] == "aws_proxy"
            )
        preflight = operations["options"]["x-amazon-apigateway-integration"]["responses"]["default"]
        origin = preflight["responseParameters"][
            "method.response.header.Access-Control-Allow-Origin"
        ]
        assert origin == "'https://chat.example.com'"


def test_the_log_groups_are_the_ones_the_deployed_functions_write_to(
    deployed: Deployment,
) -> None:
    """Lambda writes to /aws/lambda/<function name>: each deployed function has its group."""
    names = {
        r["lambda_arn"].rsplit(":", 1)[1]
        for r in deployed.deployed().values()
        if r["resource_type"] == "lambda_function"
    }
    assert names == {
        "ai-maker-dev",
        "ai-maker-dev-websocket_connect",
        "ai-maker-dev-websocket_message",
    }
    groups = deployed.client("logs").describe_log_groups(logGroupNamePrefix="/aws/lambda/")
    assert {f"/aws/lambda/{name}" for name in names} <= {
        g["logGroupName"] for g in groups["logGroups"]
    }


def test_before_the_after_deploy_step_health_would_name_no_websocket_url(
    deployed: Deployment,
) -> None:
    """The WebSocket API's id exists only after the deploy, so the first deploy lacks it."""
    assert "WEBSOCKET_URL" not in deployed.config()["stages"][STAGE]["environment_variables"]
    function = deployed.client("lambda").get_function(FunctionName="ai-maker-dev")["Configuration"]
    assert "WEBSOCKET_URL" not in function["Environment"]["Variables"]


@pytest.fixture(scope="module")
def after_deploy(deployed: Deployment) -> Deployment:
    deployed.python("infra.after_deploy", "--stage", STAGE)
    return deployed


def test_the_after_deploy_step_gives_every_function_the_websocket_url_and_api_origin(
    after_deploy: Deployment,
) -> None:
    socket_api = after_deploy.deployed()["websocket_api"]
    rest_api = after_deploy.deployed()["rest_api"]
    region_and_suffix = f"execute-api.{REGION}.amazonaws.com"
    url = f"wss://{socket_api['websocket_api_id']}.{region_and_suffix}/api"
    variables = after_deploy.config()["stages"][STAGE]["environment_variables"]
    assert variables["WEBSOCKET_URL"] == url  # every later `chalice deploy` applies it
    # The $connect handler admits browsers from the pages' origin: the REST API's.
    assert variables["API_ORIGIN"] == f"https://{rest_api['rest_api_id']}.{region_and_suffix}"
    lambda_client = after_deploy.client("lambda")
    for name in (
        "ai-maker-dev",
        "ai-maker-dev-websocket_connect",
        "ai-maker-dev-websocket_message",
    ):
        function = lambda_client.get_function(FunctionName=name)["Configuration"]
        # Now, without a second deploy, and with the rest of the environment kept.
        assert function["Environment"]["Variables"] == variables


def test_the_after_deploy_step_adds_cors_to_api_gateways_own_errors(
    after_deploy: Deployment,
) -> None:
    deployed = after_deploy
    api_id = deployed.deployed()["rest_api"]["rest_api_id"]
    items = deployed.client("apigateway").get_gateway_responses(restApiId=api_id)["items"]
    responses = {r["responseType"]: r for r in items if not r.get("defaultResponse")}
    assert {"DEFAULT_4XX", "DEFAULT_5XX"} <= set(responses)
    for response in responses.values():
        origin = response["responseParameters"][
            "gatewayresponse.header.Access-Control-Allow-Origin"
        ]
        assert origin == "'https://chat.example.com'"


def test_the_after_deploy_step_throttles_both_apis_by_default(after_deploy: Deployment) -> None:
    """THROTTLE_RATE and THROTTLE_BURST unset: 50 requests a second, bursts of 100."""
    assert_throttled(after_deploy, rate=50, burst=100)


def test_the_after_deploy_step_takes_the_throttling_from_a_flag_or_the_environment(
    after_deploy: Deployment,
) -> None:
    after_deploy.python(
        "infra.after_deploy", "--stage", STAGE, "--throttle-rate", "7", THROTTLE_BURST="9"
    )
    assert_throttled(after_deploy, rate=7, burst=9)
    # The WebSocket stage's other settings went back as they were.
    (update,) = after_deploy.adapter.websocket_stage_updates[-1:]
    assert update["defaultRouteSettings"]["loggingLevel"] == "OFF"
    after_deploy.python("infra.after_deploy", "--stage", STAGE)
    assert_throttled(after_deploy, rate=50, burst=100)


def assert_throttled(deployed: Deployment, rate: int, burst: int) -> None:
    rest_id = deployed.deployed()["rest_api"]["rest_api_id"]
    rest = deployed.client("apigateway").get_stage(restApiId=rest_id, stageName="api")
    every_method = rest["methodSettings"]["*/*"]
    assert (every_method["throttlingRateLimit"], every_method["throttlingBurstLimit"]) == (
        rate,
        burst,
    )
    socket_id = deployed.deployed()["websocket_api"]["websocket_api_id"]
    socket = deployed.client("apigatewayv2").get_stage(ApiId=socket_id, StageName="api")
    settings = socket["DefaultRouteSettings"]
    assert (settings["ThrottlingRateLimit"], settings["ThrottlingBurstLimit"]) == (rate, burst)


def test_a_second_deploy_updates_the_function_and_the_api(after_deploy: Deployment) -> None:
    deployed = after_deploy
    api_id = deployed.deployed()["rest_api"]["rest_api_id"]
    config = deployed.config()
    config["stages"][STAGE]["lambda_memory_size"] = 1024
    (deployed.project / ".chalice" / "config.json").write_text(json.dumps(config, indent=2))
    output = deployed.chalice("deploy", "--stage", STAGE)
    assert "Updating lambda function: ai-maker-dev" in output
    assert "Updating rest API" in output
    function = deployed.client("lambda").get_function(FunctionName="ai-maker-dev")["Configuration"]
    assert function["MemorySize"] == 1024
    # The WebSocket URL the after-deploy step wrote survives the redeploy.
    url = deployed.config()["stages"][STAGE]["environment_variables"]["WEBSOCKET_URL"]
    assert function["Environment"]["Variables"]["WEBSOCKET_URL"] == url
    assert deployed.deployed()["rest_api"]["rest_api_id"] == api_id
    assert len(deployed.adapter.documents) == 2


def test_bootstrap_again_rewrites_the_same_values_and_keeps_the_rest(deployed: Deployment) -> None:
    before, secret = deployed.config(), client_hash_secret(deployed)
    deployed.python(
        "infra.bootstrap", "--stage", STAGE, "--allowed-origin", "https://chat.example.com"
    )
    assert deployed.config() == before  # lambda_memory_size, set by hand above, included
    # Never a new secret: every client's hash, so its rate limits, would start again.
    assert client_hash_secret(deployed) == secret


def test_bootstrap_takes_a_given_budget_and_keeps_it_when_run_again(deployed: Deployment) -> None:
    def budget() -> str:
        return str(
            deployed.config()["stages"][STAGE]["environment_variables"]["BUDGET_TOKENS_PER_DAY"]
        )

    def bootstrap(*args: str) -> str:
        origin = ("--allowed-origin", "https://chat.example.com")
        return deployed.python("infra.bootstrap", "--stage", STAGE, *origin, *args)

    bootstrap("--budget-tokens-per-day", "5_000")
    assert budget() == "5000"
    # Not given again, and no terminal: the stage's own budget, not the default.
    assert "5000 tokens/day" in bootstrap()
    assert budget() == "5000"
    bootstrap("--budget-tokens-per-day", "0")
    assert budget() == "0"


def test_moto_refuses_chalices_swagger_as_sent(deployed: Deployment) -> None:
    """The step named above: when moto imports chalice's document, drop the adapter."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        client = boto3.client(
            "apigateway",
            endpoint_url=f"http://{host}:{port}",
            region_name=REGION,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            config=Config(retries={"max_attempts": 1}),
        )
        sent = deployed.adapter.documents[0]
        # As sent: moto reads an info.description that chalice leaves out (a 500).
        with pytest.raises(ClientError, match="500"):
            client.import_rest_api(body=json.dumps(sent).encode())
        # With one: moto imports only OpenAPI 3.
        described = {**sent, "info": {**sent["info"], "description": ""}}
        with pytest.raises(client.exceptions.BadRequestException, match="OpenAPI 3"):
            client.import_rest_api(body=json.dumps(described).encode())
        # As OpenAPI 3: the preflights' MOCK integrations have no uri (a 500).
        relabelled = {k: v for k, v in described.items() if k != "swagger"}
        with pytest.raises(ClientError, match="500"):
            client.import_rest_api(body=json.dumps({**relabelled, "openapi": "3.0.1"}).encode())
    finally:
        server.stop()


def test_moto_does_not_serve_the_websocket_stages_update() -> None:
    """The other adapted step: when moto serves UpdateStage of API Gateway v2, drop it."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        client = boto3.client(
            "apigatewayv2",
            endpoint_url=f"http://{host}:{port}",
            region_name=REGION,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            config=Config(retries={"max_attempts": 1}),
        )
        api_id = client.create_api(
            Name="probe", ProtocolType="WEBSOCKET", RouteSelectionExpression="$request.body.action"
        )["ApiId"]
        client.create_stage(ApiId=api_id, StageName="api")
        with pytest.raises(ClientError, match="500"):
            client.update_stage(
                ApiId=api_id, StageName="api", DefaultRouteSettings={"ThrottlingBurstLimit": 1}
            )
    finally:
        server.stop()


@pytest.mark.parametrize(
    ("function", "group"),
    [
        ("api_handler", "/aws/lambda/ai-maker-dev"),
        ("websocket_connect", "/aws/lambda/ai-maker-dev-websocket_connect"),
        ("websocket_message", "/aws/lambda/ai-maker-dev-websocket_message"),
    ],
)
def test_chalice_logs_reads_each_functions_bootstrap_log_group(
    deployed: Deployment, function: str, group: str
) -> None:
    """What a function writes (put here by hand: moto does not run it) reaches `chalice logs`."""
    logs = deployed.client("logs")
    stream = f"2026/01/01/[$LATEST]{function}"
    logs.create_log_stream(logGroupName=group, logStreamName=stream)
    message = f'{{"event": "request", "function": "{function}"}}'
    logs.put_log_events(
        logGroupName=group,
        logStreamName=stream,
        logEvents=[{"timestamp": int(time.time() * 1000), "message": message}],
    )
    assert message in deployed.chalice("logs", "--stage", STAGE, "--name", function)


def test_chalice_delete_removes_what_deploy_made_and_leaves_the_bootstrap_stack(
    deployed: Deployment,
) -> None:
    function_arn = deployed.deployed()["api_handler"]["lambda_arn"]
    api_id = deployed.deployed()["rest_api"]["rest_api_id"]
    deployed.chalice("delete", "--stage", STAGE)
    functions = deployed.client("lambda").list_functions()["Functions"]
    assert function_arn not in [f["FunctionArn"] for f in functions]
    apis = deployed.client("apigateway").get_rest_apis()["items"]
    assert api_id not in [a["id"] for a in apis]
    variables = deployed.config()["stages"][STAGE]["environment_variables"]
    deployed.client("s3").head_bucket(Bucket=variables["CONFIG_BUCKET"])
    cloudformation = deployed.client("cloudformation")
    assert cloudformation.describe_stacks(StackName="ai-maker-dev-bootstrap")["Stacks"]
