"""The OpenAPI contract: every route has one, the committed copy is current, and it is valid."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import jsonschema
import pytest
from openapi_spec_validator import validate

from chalicelib.api import openapi
from chalicelib.api.http import GATEWAY_ERROR_CODE, STATUS_BY_ERROR
from chalicelib.api.operations import API_VERSION, OPERATIONS
from chalicelib.core import errors
from chalicelib.core.settings import DEFAULT_ALLOWED_MODELS
from chalicelib.core.tokens import ID_PATTERN
from chalicelib.core.tools import TOOL_NAMES
from tests.utils import DEFAULT_CONFIG, ApiClient

PROJECT_DIR = Path(__file__).resolve().parents[2]
COMMITTED = PROJECT_DIR / "openapi.json"


def registered_routes() -> set[tuple[str, str]]:
    """The API's routes: all but the web app's pages and files."""
    from app import WEB_ROUTES, app

    return {
        (path, method)
        for path, entries in app.routes.items()
        for method in entries
        if path not in WEB_ROUTES
    }


def test_every_route_has_a_contract_and_every_contract_a_route() -> None:
    documented = {(op.path, op.method) for op in OPERATIONS}
    routes = registered_routes()
    assert routes - documented == set(), "routes missing from chalicelib/api/operations.py"
    assert documented - routes == set(), "operations in the registry that app.py does not serve"


def test_the_committed_copy_is_current() -> None:
    assert COMMITTED.read_text(encoding="utf-8") == openapi.render(), (
        "openapi.json is out of date: run `make openapi` and commit the result"
    )


def test_the_document_is_valid_openapi_3_1() -> None:
    document = openapi.build_document()
    assert document["openapi"] == "3.1.0"
    validate(document)


def test_the_app_serves_the_document(api: ApiClient) -> None:
    response = api.get("/openapi.json")

    assert response.status == 200
    assert response.headers["Content-Type"] == "application/json; charset=utf-8"
    assert response.json == openapi.build_document()


def test_operation_ids_are_unique() -> None:
    ids = [op.operation_id for op in OPERATIONS]
    assert len(ids) == len(set(ids))


def test_error_body_code_lists_every_code_of_the_domain_errors() -> None:
    schema = openapi.build_document()["components"]["schemas"]["ErrorBody"]
    codes = {cls.code for cls in STATUS_BY_ERROR} | {errors.AppError.code, GATEWAY_ERROR_CODE}
    assert set(schema["properties"]["code"]["enum"]) == codes
    assert schema["required"] == ["error", "code"]


def test_every_documented_error_has_its_own_status() -> None:
    # An error missing from STATUS_BY_ERROR would be answered as a 500.
    for op in OPERATIONS:
        for cls in op.errors:
            assert cls in STATUS_BY_ERROR, f"{op.operation_id}: {cls.__name__} has no status"


def test_error_responses_narrow_the_code_to_their_status() -> None:
    document = openapi.build_document()
    send = document["paths"]["/session-message"]["post"]["responses"]
    shared = document["components"]["responses"]

    def codes(status: str) -> list[str]:
        name = send[status]["$ref"].rsplit("/", 1)[1]
        schema = shared[name]["content"]["application/json"]["schema"]
        return list(schema["properties"]["code"]["enum"])

    assert codes("409") == [
        "conflict",
        "idempotency_conflict",
        "idempotency_in_progress",
        "invalid_attachment",
        "too_many_branches",
    ]
    assert codes("429") == [
        "budget_exhausted",
        "model_rate_limited",
        "quota_exceeded",
        "rate_limited",
    ]
    assert codes("503") == ["model_unavailable", "storage_unavailable"]
    assert "Retry-After" in shared[send["429"]["$ref"].rsplit("/", 1)[1]]["headers"]


def test_auth_is_declared_per_operation() -> None:
    paths = openapi.build_document()["paths"]
    bearer: list[dict[str, list[str]]] = [{"bearerAuth": []}]
    # The operator's token is needed only when AGENT_CREATION is operator.
    assert paths["/create-chat"]["post"]["security"] == [{}, *bearer]
    assert paths["/operator/usage"]["get"]["security"] == bearer
    assert paths["/chat-config/{chat_config_id}"]["put"]["security"] == bearer
    assert paths["/chat-config/{chat_config_id}"]["get"]["security"] == [{}, *bearer]
    assert paths["/session/{session_id}/export"]["get"]["security"] == bearer


def test_parameters_come_from_the_query_models_and_the_header() -> None:
    paths = openapi.build_document()["paths"]
    page = {p["name"]: p for p in paths["/session/{session_id}/messages"]["get"]["parameters"]}
    assert page["limit"]["schema"] == {
        "default": 50,
        "maximum": 100,
        "minimum": 1,
        "type": "integer",
    }
    assert page["before"]["required"] is False
    assert page["limit"]["description"] == "How many messages, at most."
    assert page["session_id"]["in"] == "path"
    send = paths["/session-message"]["post"]["parameters"]
    assert [(p["name"], p["in"], p["required"]) for p in send] == [
        ("Idempotency-Key", "header", False)
    ]


def test_markdown_export_is_documented_beside_json() -> None:
    export = openapi.build_document()["paths"]["/session/{session_id}/export"]["get"]
    content = export["responses"]["200"]["content"]
    assert content["application/json"]["schema"] == {"$ref": "#/components/schemas/SessionExport"}
    assert content["text/markdown"]["schema"] == {"type": "string"}


def test_response_fields_are_all_required_as_responses_always_carry_them() -> None:
    schemas = openapi.build_document()["components"]["schemas"]
    usage = schemas["Usage"]
    assert sorted(usage["required"]) == [
        "promptTokens",
        "replyTokens",
        "thinkingTokens",
        "toolUsePromptTokens",
        "totalTokens",
    ]
    # Requests keep their optional fields optional.
    assert "allowSessionOverrides" not in schemas["ChatConfigCreate"]["required"]


def test_rendering_is_deterministic() -> None:
    first = openapi.render()
    openapi.render.cache_clear()
    assert openapi.render() == first
    assert json.loads(first) == openapi.build_document()


def test_version_matches_the_project() -> None:
    project = tomllib.loads((PROJECT_DIR / "pyproject.toml").read_text())["project"]
    assert API_VERSION == project["version"]
    assert openapi.build_document()["info"]["version"] == API_VERSION


def test_main_writes_the_file(tmp_path: Path) -> None:
    target = tmp_path / "openapi.json"
    assert openapi.main(["openapi", str(target)]) == 0
    assert target.read_text(encoding="utf-8") == openapi.render()


def _keywords(node: object) -> set[str]:
    """Every key used anywhere in a schema."""
    if isinstance(node, dict):
        return set(node) | {key for value in node.values() for key in _keywords(value)}
    if isinstance(node, list):
        return {key for value in node for key in _keywords(value)}
    return set()


def test_schemas_use_json_schema_keywords_only() -> None:
    # Pydantic writes constraints it cannot place as `ge`, `le`..., which validators ignore.
    schemas = openapi.build_document()["components"]["schemas"]
    assert not _keywords(schemas) & {"ge", "gt", "le", "lt", "min_length", "max_length"}


def test_limits_state_their_floor_and_the_servers_ceiling(monkeypatch) -> None:
    monkeypatch.setenv("LIMIT_MESSAGES_PER_DAY", "77")
    limits = openapi.build_document()["components"]["schemas"]["LimitsUpdate"]["properties"]
    integer = limits["messagesPerDay"]["anyOf"][0]
    assert integer == {"maximum": 77, "minimum": 0, "type": "integer"}


def test_model_is_an_enum_of_the_allowed_models(monkeypatch) -> None:
    monkeypatch.setenv("ALLOWED_MODELS", "gemini-a,gemini-b")
    schemas = openapi.build_document()["components"]["schemas"]
    for name in ("ChatConfigCreate", "ChatConfigUpdate", "SessionUpdate"):
        assert schemas[name]["properties"]["model"]["enum"] == ["gemini-a", "gemini-b"], name


def test_the_cursor_has_the_pattern_of_a_message_id() -> None:
    paths = openapi.build_document()["paths"]
    page = {p["name"]: p for p in paths["/session/{session_id}/messages"]["get"]["parameters"]}
    assert page["before"]["schema"] == {"pattern": ID_PATTERN, "type": "string"}
    assert page["before"]["description"]


def test_every_field_has_a_description() -> None:
    document = openapi.build_document()
    missing = [
        f"{name}.{field}"
        for name, schema in document["components"]["schemas"].items()
        for field, prop in schema.get("properties", {}).items()
        if not prop.get("description")
    ]
    assert missing == []
    for path, methods in document["paths"].items():
        for operation in methods.values():
            for parameter in operation["parameters"]:
                if parameter["in"] != "path":
                    assert parameter.get("description"), (path, parameter["name"])


def test_servers_point_at_the_api_that_serves_the_document() -> None:
    assert openapi.build_document()["servers"] == [
        {"url": ".", "description": "The API that serves this document"}
    ]


def test_links_lead_from_what_is_created_to_what_uses_it() -> None:
    document = openapi.build_document()
    operations = {
        op["operationId"]: op for methods in document["paths"].values() for op in methods.values()
    }
    created = operations["createSession"]["responses"]["201"]["links"]
    assert created["GetSession"] == {
        "operationId": "getSession",
        "parameters": {"path.session_id": "$response.body#/sessionId"},
    }
    for op in operations.values():
        for response in op["responses"].values():
            for link in response.get("links", {}).values():
                assert link["operationId"] in operations


@pytest.mark.parametrize("allowed_tools", ["googleSearch,urlContext", "googleSearch"])
def test_the_document_says_which_model_takes_which_tool(
    api: ApiClient, monkeypatch: pytest.MonkeyPatch, allowed_tools: str
) -> None:
    """A body is valid by the document exactly when the API takes it: the model/tool table
    and ALLOWED_TOOLS are in the schema, so a client (or a fuzzer) can know them."""
    monkeypatch.setenv("ALLOWED_TOOLS", allowed_tools)
    document = openapi.build_document()
    for schema_name, method in (("ChatConfigCreate", "post"), ("ChatConfigUpdate", "put")):
        root = {"$ref": f"#/components/schemas/{schema_name}", **document}
        validator = jsonschema.Draft202012Validator(root)
        for model in DEFAULT_ALLOWED_MODELS:
            for tool in TOOL_NAMES:
                body = {**DEFAULT_CONFIG, "model": model, "tools": {tool: True}}
                if method == "post":
                    status = api.post("/create-chat", body).status
                else:
                    created = api.create_chat()
                    path = f"/chat-config/{created['chatConfigId']}"
                    status = api.put(path, body, token=created["editToken"]).status
                assert status in (200, 201, 400), (model, tool, status)
                assert validator.is_valid(body) == (status != 400), (schema_name, model, tool)
