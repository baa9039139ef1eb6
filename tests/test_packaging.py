"""`make package`: the merged template, its IAM policy, the Lambda zip, and the cold start.

Packaging runs once for the session (the `packaged` fixture in conftest.py),
the way an operator runs it: no AWS credentials and no AWS configuration, only
a region. It is slow the first time (chalice downloads the Lambda's Linux
wheels), hence the long timeout.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest

from chalicelib.api.http import CORS_ALLOW_HEADERS, CORS_EXPOSE_HEADERS
from chalicelib.core import provisioning, settings
from infra import budget, throttle
from infra.gateway import ANY_METHOD, gateway_responses
from infra.iam_audit import ALWAYS_NEEDED, actions_in_code, parameter_settings
from infra.package import (
    ORIGIN_PLACEHOLDER,
    SECURE_PARAMETERS,
    PackagingError,
    parameter_overrides,
    set_defaults,
    wire_allowed_origin,
)
from tests.conftest import PACKAGING_REGION, Packaging

pytestmark = pytest.mark.timeout(900)

ROOT = Path(__file__).resolve().parent.parent
CHALICELIB = ROOT / "chalicelib"
ORIGIN = {"Fn::Sub": "'${AllowedOrigin}'"}


@pytest.fixture(scope="module")
def template(packaged: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((packaged / "sam.json").read_text())
    return loaded


def resources_of_type(template: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [r for r in template["Resources"].values() if r["Type"] == kind]


def role_statements(template: dict[str, Any]) -> list[dict[str, Any]]:
    (role,) = resources_of_type(template, "AWS::IAM::Role")
    return [s for p in role["Properties"]["Policies"] for s in p["PolicyDocument"]["Statement"]]


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def test_template_passes_cfn_lint(packaged: Path) -> None:
    cfn_lint = Path(sys.executable).with_name("cfn-lint")
    result = subprocess.run(
        [str(cfn_lint), "--format", "parseable", str(packaged / "sam.json")],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_template_does_not_depend_on_the_packaging_region(packaged: Path) -> None:
    assert PACKAGING_REGION not in (packaged / "sam.json").read_text()


def test_parameters(template: dict[str, Any]) -> None:
    parameters = template["Parameters"]
    assert parameters["GeminiApiKeyParameter"]["Default"] == "/ai-maker/dev/gemini-api-key"
    assert parameters["ClientHashSecretParameter"]["Default"] == "/ai-maker/dev/client-hash-secret"
    assert parameters["OperatorTokenParameter"]["Default"] == "/ai-maker/dev/operator-token"
    assert parameters["AllowedOrigin"]["Default"] == "*"
    # Empty by default: share links then open the API's own web app.
    assert parameters["FrontendBaseUrl"]["Default"] == ""


def test_table(template: dict[str, Any]) -> None:
    (table,) = resources_of_type(template, "AWS::DynamoDB::Table")
    properties = table["Properties"]
    assert properties["BillingMode"] == "PAY_PER_REQUEST"
    assert properties["KeySchema"] == [
        {"AttributeName": provisioning.PARTITION_KEY, "KeyType": "HASH"},
        {"AttributeName": provisioning.SORT_KEY, "KeyType": "RANGE"},
    ]
    ttl = properties["TimeToLiveSpecification"]
    assert ttl["Enabled"] is True
    # The attribute the app writes its expiry times to.
    assert any(f'"{ttl["AttributeName"]}"' in p.read_text() for p in CHALICELIB.rglob("*.py"))
    assert properties["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert properties["SSESpecification"] == {"SSEEnabled": True}
    assert table["DeletionPolicy"] == "Retain"


def test_bucket(template: dict[str, Any]) -> None:
    (bucket,) = resources_of_type(template, "AWS::S3::Bucket")
    properties = bucket["Properties"]
    assert set(properties["PublicAccessBlockConfiguration"].values()) == {True}
    assert len(properties["PublicAccessBlockConfiguration"]) == 4
    assert properties["VersioningConfiguration"] == {"Status": "Enabled"}
    (rule,) = properties["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"]
    (policy,) = resources_of_type(template, "AWS::S3::BucketPolicy")
    (statement,) = policy["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Effect"] == "Deny"
    assert statement["Action"] == "s3:*"
    assert statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert statement["Resource"] == [
        {"Fn::GetAtt": ["ConfigBucket", "Arn"]},
        {"Fn::Sub": "${ConfigBucket.Arn}/*"},
    ]


def test_bucket_expires_uploads_never_completed_and_takes_browser_posts(
    template: dict[str, Any],
) -> None:
    from chalicelib.stores.objects import PENDING_PREFIX

    (bucket,) = resources_of_type(template, "AWS::S3::Bucket")
    properties = bucket["Properties"]
    (pending,) = [
        rule
        for rule in properties["LifecycleConfiguration"]["Rules"]
        if rule.get("Prefix") == PENDING_PREFIX
    ]
    assert pending["Status"] == "Enabled" and pending["ExpirationInDays"] == 1
    (cors,) = properties["CorsConfiguration"]["CorsRules"]
    assert cors["AllowedMethods"] == ["POST"]
    assert cors["AllowedOrigins"] == [{"Ref": "AllowedOrigin"}]


def test_environment_is_wired_to_the_stack(template: dict[str, Any]) -> None:
    variables = template["Resources"]["APIHandler"]["Properties"]["Environment"]["Variables"]
    assert variables["CONFIG_BUCKET"] == {"Ref": "ConfigBucket"}
    assert variables["SESSIONS_TABLE"] == {"Ref": "SessionsTable"}
    assert variables["GEMINI_API_KEY_PARAMETER"] == {"Ref": "GeminiApiKeyParameter"}
    assert variables["CLIENT_HASH_SECRET_PARAMETER"] == {"Ref": "ClientHashSecretParameter"}
    assert variables["OPERATOR_TOKEN_PARAMETER"] == {"Ref": "OperatorTokenParameter"}
    assert variables["BUDGET_TOKENS_PER_DAY"] == {"Ref": "BudgetTokensPerDay"}
    assert variables["CORS_ALLOW_ORIGIN"] == {"Ref": "AllowedOrigin"}
    assert variables["FRONTEND_BASE_URL"] == {"Ref": "FrontendBaseUrl"}
    assert variables["STAGE"] == "dev"
    # Every variable is one the app reads; the key itself is never in the template.
    known = {value for name, value in vars(settings).items() if name.isupper()}
    assert set(variables) <= known
    assert "GEMINI_API_KEY" not in variables


def test_allowed_origin_reaches_lambda_preflights_and_gateway_responses(
    template: dict[str, Any],
) -> None:
    body = template["Resources"]["RestAPI"]["Properties"]["DefinitionBody"]
    preflights = [methods["options"] for methods in body["paths"].values()]
    assert len(preflights) == len(body["paths"])
    for preflight in preflights:
        headers = preflight["x-amazon-apigateway-integration"]["responses"]["default"]
        assert (
            headers["responseParameters"]["method.response.header.Access-Control-Allow-Origin"]
            == ORIGIN
        )
    responses = body["x-amazon-apigateway-gateway-responses"]
    assert responses == gateway_responses()
    for kind in ("MISSING_AUTHENTICATION_TOKEN", "DEFAULT_4XX", "DEFAULT_5XX"):
        parameters = responses[kind]["responseParameters"]
        assert parameters["gatewayresponse.header.Access-Control-Allow-Origin"] == ORIGIN
    assert ORIGIN_PLACEHOLDER not in json.dumps(template)


def test_preflights_allow_every_documented_header_and_expose_retry_after(
    template: dict[str, Any],
) -> None:
    body = template["Resources"]["RestAPI"]["Properties"]["DefinitionBody"]
    for path, methods in body["paths"].items():
        integration = methods["options"]["x-amazon-apigateway-integration"]
        headers = integration["responses"]["default"]["responseParameters"]
        allowed = headers["method.response.header.Access-Control-Allow-Headers"].strip("'")
        assert set(CORS_ALLOW_HEADERS) <= set(allowed.split(",")), path
        exposed = headers["method.response.header.Access-Control-Expose-Headers"].strip("'")
        assert set(CORS_EXPOSE_HEADERS) <= set(exposed.split(",")), path


def test_every_path_sends_the_methods_it_does_not_serve_to_the_function(
    template: dict[str, Any],
) -> None:
    # So an undeclared method is the app's 405 method_not_allowed, not an unknown path.
    body = template["Resources"]["RestAPI"]["Properties"]["DefinitionBody"]
    for path, methods in body["paths"].items():
        assert methods[ANY_METHOD]["x-amazon-apigateway-integration"]["type"] == "aws_proxy", path


def test_role_has_no_wildcard_resource_beyond_logs(template: dict[str, Any]) -> None:
    for statement in role_statements(template):
        if "*" in as_list(statement["Resource"]):
            assert all(a.startswith("logs:") for a in as_list(statement["Action"])), statement


def test_role_allows_exactly_what_the_code_calls(template: dict[str, Any]) -> None:
    granted = {a for s in role_statements(template) for a in as_list(s["Action"])}
    needed = actions_in_code() | ALWAYS_NEEDED
    assert not needed - granted, f"add to infra/template.json: {sorted(needed - granted)}"
    assert not granted - needed, f"no code needs: {sorted(granted - needed)}"


def test_role_reaches_only_this_stacks_resources(template: dict[str, Any]) -> None:
    by_service: dict[str, list[Any]] = {}
    for statement in role_statements(template):
        assert statement["Effect"] == "Allow"
        for action in as_list(statement["Action"]):
            by_service.setdefault(action.split(":")[0], []).extend(as_list(statement["Resource"]))
    assert set(map(json.dumps, by_service["dynamodb"])) == {
        json.dumps({"Fn::GetAtt": ["SessionsTable", "Arn"]})
    }
    assert {json.dumps(r) for r in by_service["s3"]} == {
        json.dumps({"Fn::Sub": "${ConfigBucket.Arn}/chat-configs/*"}),
        json.dumps({"Fn::Sub": "${ConfigBucket.Arn}/files/*"}),
        json.dumps({"Fn::Sub": "${ConfigBucket.Arn}/file-uploads/*"}),
        json.dumps({"Fn::GetAtt": ["ConfigBucket", "Arn"]}),
    }
    parameters = by_service["ssm"]
    assert sorted(p["Fn::Sub"].rsplit(":", 1)[1] for p in parameters) == [
        "parameter${ClientHashSecretParameter}",
        "parameter${GeminiApiKeyParameter}",
        "parameter${OperatorTokenParameter}",
    ]
    (decrypt,) = [s for s in role_statements(template) if s["Action"] == "kms:Decrypt"]
    condition = decrypt["Condition"]["StringEquals"]
    assert condition["kms:EncryptionContext:PARAMETER_ARN"] == parameters
    assert condition["kms:ViaService"] == {"Fn::Sub": "ssm.${AWS::Region}.amazonaws.com"}
    assert {json.dumps(r) for r in by_service["logs"]} == {
        json.dumps({"Fn::GetAtt": ["ApiHandlerLogGroup", "Arn"]})
    }
    # Posting frames: only to this stack's WebSocket API's connections.
    (connections,) = by_service["execute-api"]
    assert connections["Fn::Sub"].endswith(":${WebsocketAPI}/*/POST/@connections/*")


def test_the_role_reads_exactly_the_parameters_the_function_is_given(
    template: dict[str, Any],
) -> None:
    """Each SecureString the app reads: its name reaches the function, and only it is granted."""
    variables = template["Resources"]["APIHandler"]["Properties"]["Environment"]["Variables"]
    (read,) = [s for s in role_statements(template) if s["Action"] == "ssm:GetParameter"]
    prefix = "arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter"
    assert read["Resource"] == [
        {"Fn::Sub": f"{prefix}${{{p.template_name}}}"} for p in SECURE_PARAMETERS
    ]
    for secure in SECURE_PARAMETERS:
        assert variables[secure.variable] == {"Ref": secure.template_name}
        assert template["Parameters"][secure.template_name]["Type"] == "String"
    # Every parameter setting the app has is granted, and nothing else.
    assert {p.variable for p in SECURE_PARAMETERS} == parameter_settings()


def test_both_apis_are_throttled_by_the_stacks_parameters(template: dict[str, Any]) -> None:
    parameters, resources = template["Parameters"], template["Resources"]
    assert parameters["ThrottleRate"]["Default"] == throttle.DEFAULT_RATE == 50
    assert parameters["ThrottleBurst"]["Default"] == throttle.DEFAULT_BURST == 100
    assert parameters["ThrottleRate"]["MinValue"] == parameters["ThrottleBurst"]["MinValue"] == 1
    rate, burst = {"Ref": "ThrottleRate"}, {"Ref": "ThrottleBurst"}
    # Every resource and method of the REST API (the `/*/*` of UpdateStage).
    assert resources["RestAPI"]["Properties"]["MethodSettings"] == [
        {
            "ResourcePath": "/*",
            "HttpMethod": "*",
            "ThrottlingRateLimit": rate,
            "ThrottlingBurstLimit": burst,
        }
    ]
    (stage,) = resources_of_type(template, "AWS::ApiGatewayV2::Stage")
    assert stage["Properties"]["DefaultRouteSettings"] == {
        "ThrottlingRateLimit": rate,
        "ThrottlingBurstLimit": burst,
    }


def test_the_budget_taken_without_asking_is_the_default_and_overrides_nothing(
    template: dict[str, Any], packaging: Packaging
) -> None:
    parameter = template["Parameters"]["BudgetTokensPerDay"]
    assert parameter["Type"] == "Number" and parameter["MinValue"] == 0
    assert parameter["Default"] == budget.DEFAULT_BUDGET == 2_000_000
    # The fixture packages with no terminal and no value: one line says what was used.
    assert "BUDGET_TOKENS_PER_DAY not given and no terminal to ask: using 2000000" in packaging.log
    # So `make deploy` leaves an existing stack's budget alone.
    assert (packaging.folder / "parameter-overrides").read_text() == ""
    handler = template["Resources"]["WebsocketMessage"]["Properties"]["Environment"]
    assert handler["Variables"]["BUDGET_TOKENS_PER_DAY"] == {"Ref": "BudgetTokensPerDay"}


def test_a_chosen_budget_becomes_the_default_and_an_override() -> None:
    parameters: dict[str, Any] = {
        name: {} for name in ["BudgetTokensPerDay", *(p.template_name for p in SECURE_PARAMETERS)]
    }
    set_defaults(parameters, "prod", 5000)
    assert parameters["BudgetTokensPerDay"]["Default"] == 5000
    assert parameters["ClientHashSecretParameter"]["Default"] == "/ai-maker/prod/client-hash-secret"
    assert parameter_overrides(budget.Budget(5000, chosen=True)) == "BudgetTokensPerDay=5000\n"
    assert parameter_overrides(budget.Budget(0, chosen=True)) == "BudgetTokensPerDay=0\n"
    assert parameter_overrides(budget.Budget(2_000_000, chosen=False)) == ""


def test_the_websocket_api_streams_through_its_own_handler(template: dict[str, Any]) -> None:
    resources = template["Resources"]
    routes = resources_of_type(template, "AWS::ApiGatewayV2::Route")
    assert sorted(route["Properties"]["RouteKey"] for route in routes) == ["$connect", "$default"]
    assert resources["WebsocketAPI"]["Properties"]["ProtocolType"] == "WEBSOCKET"
    handler = resources["WebsocketMessage"]["Properties"]
    api = resources["APIHandler"]["Properties"]
    assert handler["Handler"] == "app.ws_message"
    assert handler["Role"] == api["Role"]
    assert handler["Environment"]["Variables"] == api["Environment"]["Variables"]
    stage = resources["WebsocketAPIStage"]["Properties"]["StageName"]
    assert api["Environment"]["Variables"]["WEBSOCKET_URL"] == {
        "Fn::Sub": f"wss://${{WebsocketAPI}}.execute-api.${{AWS::Region}}.${{AWS::URLSuffix}}/{stage}"
    }
    # A stream may outlast API Gateway's 29 s; the Lambda must outlast the longest stream.
    longest = template["Parameters"]["ModelStreamTimeoutSeconds"]["MaxValue"]
    assert handler["Timeout"] > longest
    assert api["Environment"]["Variables"]["MODEL_STREAM_TIMEOUT_SECONDS"] == {
        "Ref": "ModelStreamTimeoutSeconds"
    }


def test_the_connect_handler_admits_the_rest_apis_own_pages(template: dict[str, Any]) -> None:
    """$connect checks Origin against the REST API's origin, where the pages are served."""
    resources = template["Resources"]
    connect = resources["WebsocketConnect"]["Properties"]
    api = resources["APIHandler"]["Properties"]
    assert connect["Handler"] == "app.ws_connect"
    assert connect["Role"] == api["Role"]
    variables = dict(connect["Environment"]["Variables"])
    assert variables.pop("API_ORIGIN") == {
        "Fn::Sub": "https://${RestAPI}.execute-api.${AWS::Region}.${AWS::URLSuffix}"
    }
    assert variables == api["Environment"]["Variables"]
    # The REST API refers to the API handler: that one can't refer back to it.
    assert "API_ORIGIN" not in api["Environment"]["Variables"]


def test_zip_holds_the_app_and_its_bytecode_but_no_sdk(packaged: Path) -> None:
    zip_path = packaged / "deployment.zip"
    names = set(zipfile.ZipFile(zip_path).namelist())
    tops = {name.split("/")[0] for name in names}
    # The Lambda runtime brings boto3 and botocore; dev tools never ship.
    assert not tops & {"boto3", "botocore", "moto", "pytest", "tests", "bench", "infra"}
    for path in [ROOT / "app.py", *CHALICELIB.rglob("*.py")]:
        relative = path.relative_to(ROOT).as_posix()
        assert relative in names
        compiled = Path(relative).parent / "__pycache__" / f"{path.stem}.cpython-311.pyc"
        assert compiled.as_posix() in names
    # The web app's pages and files travel with the code that serves them.
    for path in (CHALICELIB / "web").rglob("*.*"):
        if path.suffix in {".html", ".js", ".css", ".svg"}:
            assert path.relative_to(ROOT).as_posix() in names
    # What requirements.txt adds to the runtime's own: google-genai, and jsonschema (JSON
    # replies) with its compiled dependency.
    assert {"google", "jsonschema", "referencing", "rpds"} <= tops
    assert zip_path.stat().st_size < 30_000_000


@pytest.mark.skipif(
    (platform.system(), platform.machine(), sys.version_info[:2]) != ("Linux", "x86_64", (3, 11)),
    reason="the zip holds Lambda's Linux x86_64 Python 3.11 wheels",
)
def test_zip_imports_from_its_own_files(packaged: Path, tmp_path: Path) -> None:
    task = tmp_path / "task"
    zipfile.ZipFile(packaged / "deployment.zip").extractall(task)
    code = (
        "import sys, app, pydantic, jsonschema.validators\n"
        "assert app.__file__.startswith(sys.argv[1]), app.__file__\n"
        "assert pydantic.__file__.startswith(sys.argv[1]), pydantic.__file__\n"
        "assert jsonschema.__file__.startswith(sys.argv[1]), jsonschema.__file__\n"
        "assert 'google.genai' not in sys.modules\n"
    )
    # Read-only like Lambda's code folder: nothing compiled gets written.
    env = {**os.environ, "PYTHONPATH": str(task), "PYTHONDONTWRITEBYTECODE": "1"}
    result = subprocess.run(
        [sys.executable, "-c", code, str(task)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr


SERVE_EVERY_ROUTE_BUT_A_SEND = r"""
import json, re, sys
import app as app_module
from chalice.test import Client
from moto import mock_aws
from chalicelib.core import aws
from chalicelib.core import provisioning

app = app_module.app
with mock_aws():
    provisioning.ensure_bucket(aws.get_s3_client(), "bucket")
    provisioning.ensure_table(aws.get_dynamodb_resource(), "table")
    with Client(app) as client:
        def call(method, path, body=None, token=None):
            headers = {"Content-Type": "application/json"}
            if token:
                headers["Authorization"] = "Bearer " + token
            response = client.http.request(method, path, headers=headers, body=json.dumps(body))
            if not response.headers.get("Content-Type", "").startswith("application/json"):
                return None  # a web page or file
            return json.loads(response.body or b"null")

        chat = call("POST", "/create-chat", {"title": "t", "model": "gemini-2.5-flash",
                                             "systemPrompt": "p", "temperature": 0.5})
        session = call("POST", "/chat-session", {"chatConfigId": chat["chatConfigId"]})
        ids = {"chat_config_id": chat["chatConfigId"], "session_id": session["sessionId"]}
        for path, methods in app.routes.items():
            concrete = re.sub(r"{(\w+)}", lambda m: ids.get(m.group(1), "x"), path)
            for method in methods:
                if path != "/session-message":
                    token = chat["editToken"] if "chat-config" in path else session["sessionToken"]
                    call(method, concrete, {"title": "t"}, token)
print(json.dumps(sorted(name for name in sys.modules if name.startswith("google.genai"))))
"""


def test_serving_every_route_but_a_send_never_imports_genai() -> None:
    env = {name: value for name, value in os.environ.items() if not name.startswith("AWS_")}
    env.update(
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_DEFAULT_REGION="us-east-1",
        CONFIG_BUCKET="bucket",
        SESSIONS_TABLE="table",
        # With a key configured, so the app would use Gemini if a route asked for it.
        GEMINI_API_KEY="not-a-real-key",
    )
    result = subprocess.run(
        [sys.executable, "-c", SERVE_EVERY_ROUTE_BUT_A_SEND],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1]) == []


def test_the_placeholder_origin_must_be_found() -> None:
    template: dict[str, Any] = {
        "Resources": {"RestAPI": {"Properties": {"DefinitionBody": {"paths": {}}}}}
    }
    with pytest.raises(PackagingError):
        wire_allowed_origin(template)


def test_every_placeholder_origin_becomes_the_parameter() -> None:
    quoted = f"'{ORIGIN_PLACEHOLDER}'"
    body = {"paths": {"/a": {"options": [{"h": quoted}, {"h": quoted, "other": "'x'"}]}}}
    template = {"Resources": {"RestAPI": {"Properties": {"DefinitionBody": body}}}}
    assert wire_allowed_origin(template) == 2
    replaced = template["Resources"]["RestAPI"]["Properties"]["DefinitionBody"]["paths"]["/a"]
    assert replaced["options"] == [{"h": ORIGIN}, {"h": ORIGIN, "other": "'x'"}]
