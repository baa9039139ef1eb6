"""The API's OpenAPI 3.1 contract, generated from the pydantic models the code validates with.

`OPERATIONS` (in `chalicelib.api.operations`) lists every route as data; `render()`
turns it and the models into the document `GET /openapi.json` serves.
`python -m chalicelib.api.openapi openapi.json` (`make openapi`) rewrites the committed copy.
"""

from __future__ import annotations

import copy
import json
import re
import sys
from functools import cache
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaMode, models_json_schema
from pydantic_core import core_schema

from chalicelib.api.http import GATEWAY_ERROR_CODE, STATUS_BY_ERROR, status_for
from chalicelib.api.operations import (
    ALWAYS,
    API_VERSION,
    LINKS,
    OPERATIONS,
    JsonSchema,
    Operation,
    Param,
)
from chalicelib.core import errors
from chalicelib.core.tokens import ID_PATTERN
from chalicelib.schemas import ErrorBody
from chalicelib.schemas.openai import OpenAIErrorBody

REF_TEMPLATE = "#/components/schemas/{model}"
_PATH_PARAM = re.compile(r"{([^}]+)}")

DESCRIPTION = """\
Backend of shareable AI chat agents. A creator makes a chat configuration and gets a
private **edit token**; anyone with its id starts a session and gets a private
**session token**. Tokens go in `Authorization: Bearer <token>`.

Every error has the body `ErrorBody`: a sentence for a person in `error`, a stable
`code`, and `details` where it helps. Each operation lists the codes it can answer
with, grouped by status. Besides those, a method a path does not take is
`405 method_not_allowed` (with `Allow`), an unknown path is `404 not_found`, and an
error API Gateway answers by itself (throttling, a timeout) has the code `gateway_error`.
"""
# Relative to where this document is served: the API's own base URL, on AWS (its
# stage's URL, ending in /api/) and under `make run` alike.
SERVERS = [{"url": ".", "description": "The API that serves this document"}]

_AUTH_TEXT = {
    "none": "No token needed.",
    "edit token": "Needs the configuration's edit token.",
    "session token": "Needs the session's token.",
    "optional edit token": "No token needed; with the edit token, a private prompt is shown.",
    "operator token": "Needs the operator's token (OPERATOR_TOKEN).",
    "optional operator token": "No token needed unless AGENT_CREATION is `operator`; then "
    "the operator's token.",
    "api key": "Needs an API key of the agent (`aim_...`); errors come in OpenAI's shape.",
}
_SECURITY: dict[str, list[dict[str, list[str]]]] = {
    "none": [],
    "edit token": [{"bearerAuth": []}],
    "session token": [{"bearerAuth": []}],
    "optional edit token": [{}, {"bearerAuth": []}],
    "operator token": [{"bearerAuth": []}],
    "optional operator token": [{}, {"bearerAuth": []}],
    "api key": [{"bearerAuth": []}],
}
# Errors that may come with a Retry-After header (quota, rate limit, a send in progress).
_RETRY_AFTER_STATUSES = {409, 429, 503}


class _Generator(GenerateJsonSchema):
    """Pydantic's generator, minus per-field titles (noise in every viewer).

    Responses are dumped whole (defaults included), so every response field is required,
    except one left out when empty (`exclude_if`, like a message's `stopped`) and
    ErrorBody's `details`, fixed up in `_error_body_schema`.
    """

    def field_title_should_be_set(self, schema: Any) -> bool:
        return False

    def field_is_required(
        self,
        field: core_schema.ModelField | core_schema.DataclassField | core_schema.TypedDictField,
        total: bool,
    ) -> bool:
        if self.mode == "serialization":
            return "serialization_exclude_if" not in field
        return super().field_is_required(field, total)


# For other documents of this API's shapes (the AsyncAPI one).
ResponseSchemaGenerator = _Generator


def error_classes() -> list[type[errors.AppError]]:
    """Every domain error: those chalicelib.core.errors defines and those with a mapped status."""
    found = {
        value
        for value in vars(errors).values()
        if isinstance(value, type) and issubclass(value, errors.AppError)
    }
    return sorted(found | set(STATUS_BY_ERROR), key=lambda cls: (cls.code, cls.__name__))


def error_codes() -> list[str]:
    return sorted({cls.code for cls in error_classes()} | {GATEWAY_ERROR_CODE})


def error_status(cls: type[errors.AppError]) -> int:
    return status_for(cls())


def _query_params(model: type[BaseModel]) -> tuple[Param, ...]:
    """A query model's fields as parameters, with the bounds the model validates."""
    schema = model.model_json_schema(by_alias=True, schema_generator=_Generator)
    required = set(schema.get("required", ()))
    params = []
    for name, prop in schema["properties"].items():
        field = _without_null(prop)
        description = field.pop("description", "")
        params.append(Param(name, "query", field, name in required, description))
    return tuple(params)


def _without_null(schema: JsonSchema) -> JsonSchema:
    """A query string cannot say null: `T | None` becomes `T`, and a null default goes."""
    schema = dict(schema)
    branches = [b for b in schema.pop("anyOf", []) if b != {"type": "null"}]
    if len(branches) == 1:
        schema.update(branches[0])
    elif branches:
        schema["anyOf"] = branches
    if "default" in schema and schema["default"] is None:
        del schema["default"]
    return schema


def _components() -> tuple[dict[Any, JsonSchema], dict[str, JsonSchema]]:
    """References to each model, and the component schemas they point to."""
    wanted: list[tuple[type[BaseModel], JsonSchemaMode]] = [
        (ErrorBody, "serialization"),
        (OpenAIErrorBody, "serialization"),
    ]
    for op in OPERATIONS:
        if op.request is not None:
            wanted.append((op.request, "validation"))
        if isinstance(op.response, type):
            wanted.append((op.response, "serialization"))
    unique = list(dict.fromkeys(wanted))
    refs, definitions = models_json_schema(
        unique, by_alias=True, ref_template=REF_TEMPLATE, schema_generator=_Generator
    )
    schemas: dict[str, JsonSchema] = definitions.get("$defs", {})
    schemas["ErrorBody"] = _error_body_schema(schemas["ErrorBody"])
    return refs, schemas


def _error_body_schema(generated: JsonSchema) -> JsonSchema:
    """ErrorBody with `code` as the enum of every code; `details` is left out, never null."""
    schema = copy.deepcopy(generated)
    schema["properties"]["code"].update(enum=error_codes(), type="string")
    details = schema["properties"]["details"]
    details["anyOf"] = [b for b in details["anyOf"] if b != {"type": "null"}]
    details.pop("default", None)
    schema["required"] = [name for name in schema["required"] if name != "details"]
    return schema


def _parameter(param: Param) -> JsonSchema:
    out: JsonSchema = {
        "in": param.location,
        "name": param.name,
        "required": param.required,
        "schema": param.schema,
    }
    if param.description:
        out["description"] = param.description
    return out


def _path_parameters(path: str) -> list[JsonSchema]:
    return [
        {
            "in": "path",
            "name": name,
            "required": True,
            "schema": {"pattern": ID_PATTERN, "type": "string"},
        }
        for name in _PATH_PARAM.findall(path)
    ]


def _success(op: Operation, refs: dict[Any, JsonSchema]) -> JsonSchema:
    if op.response is None:
        return {"description": "Done; no body."}
    schema = refs[(op.response, "serialization")] if isinstance(op.response, type) else op.response
    content: JsonSchema = {"application/json": {"schema": schema}}
    if op.text_media_type == "text/event-stream":
        # Each event's data is a JSON object of OpenAI's (or `[DONE]`), in one buffered body.
        events = "OpenAI's server-sent events, the last `data: [DONE]` (completions)"
        content[op.text_media_type] = {"schema": {"description": events}}
    elif op.text_media_type:
        content[op.text_media_type] = {"schema": {"type": "string"}}
    response: JsonSchema = {"content": content, "description": op.summary}
    if op.operation_id in LINKS:
        response["links"] = LINKS[op.operation_id]
    return response


def _error_response(status: int, codes: list[str], openai: bool = False) -> JsonSchema:
    """A shared response: ErrorBody (or, on /v1, OpenAIErrorBody) with `code` narrowed to
    the codes given."""
    code: JsonSchema = {"code": {"enum": codes}}
    schema: JsonSchema = {
        "allOf": [
            {"$ref": REF_TEMPLATE.format(model="OpenAIErrorBody" if openai else "ErrorBody")}
        ],
        "properties": {"error": {"properties": code}} if openai else code,
    }
    response: JsonSchema = {
        "content": {"application/json": {"schema": schema}},
        "description": f"{status} " + ", ".join(f"`{code}`" for code in codes),
    }
    if status in _RETRY_AFTER_STATUSES:
        response["headers"] = {
            "Retry-After": {
                "description": "Seconds to wait before retrying, when known.",
                "schema": {"minimum": 0, "type": "integer"},
            }
        }
    return response


def _errors(op: Operation, shared: dict[str, JsonSchema]) -> dict[str, JsonSchema]:
    """The operation's error responses by status, as references to `shared`, which grows."""
    codes_by_status: dict[int, set[str]] = {}
    for cls in (*op.errors, *ALWAYS):
        codes_by_status.setdefault(error_status(cls), set()).add(cls.code)
    responses: dict[str, JsonSchema] = {}
    for status, codes in codes_by_status.items():
        ordered = sorted(codes)
        # Named after its codes, so operations answering alike share one definition.
        name = "Or".join(code.title().replace("_", "") for code in ordered)
        openai = op.path.startswith("/v1/")
        name = f"OpenAI{name}" if openai else name
        shared[name] = _error_response(status, ordered, openai)
        responses[str(status)] = {"$ref": f"#/components/responses/{name}"}
    return responses


def _operation(
    op: Operation, refs: dict[Any, JsonSchema], shared: dict[str, JsonSchema]
) -> JsonSchema:
    description = _AUTH_TEXT[op.auth] + (f"\n\n{op.description}" if op.description else "")
    params = (_query_params(op.query) if op.query else ()) + op.headers
    out: JsonSchema = {
        "description": description,
        "operationId": op.operation_id,
        "parameters": _path_parameters(op.path) + [_parameter(p) for p in params],
        "responses": {str(op.status): _success(op, refs), **_errors(op, shared)},
        "security": _SECURITY[op.auth],
        "summary": op.summary,
        "tags": [op.tag],
    }
    if op.request is not None:
        out["requestBody"] = {
            "content": {"application/json": {"schema": refs[(op.request, "validation")]}},
            "required": op.body_required,
        }
    return out


def build_document() -> JsonSchema:
    """The OpenAPI document, as a fresh dict the caller may change."""
    refs, schemas = _components()
    paths: dict[str, JsonSchema] = {}
    shared: dict[str, JsonSchema] = {}
    for op in OPERATIONS:
        paths.setdefault(op.path, {})[op.method.lower()] = _operation(op, refs, shared)
    return {
        "components": {
            "responses": shared,
            "schemas": schemas,
            "securitySchemes": {
                "bearerAuth": {
                    "description": "An edit token (opens its configuration) or a session "
                    "token (opens its session), as returned when it was created; the "
                    "operator's token, for the operator's routes; or an agent's API key, "
                    "for the /v1 routes.",
                    "scheme": "bearer",
                    "type": "http",
                }
            },
        },
        "info": {"description": DESCRIPTION, "title": "AI Maker", "version": API_VERSION},
        "openapi": "3.1.0",
        "paths": paths,
        "servers": SERVERS,
    }


def canonical_json(document: dict[str, Any]) -> str:
    """A document as canonical JSON text: sorted keys, so a committed copy diffs cleanly."""
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def write_document(text: str, argv: list[str]) -> int:
    """Write a document to the file named, or to standard output (`make openapi`)."""
    if len(argv) > 1:
        with open(argv[1], "w", encoding="utf-8") as file:
            file.write(text)
    else:
        sys.stdout.write(text)
    return 0


@cache
def render() -> str:
    return canonical_json(build_document())


def main(argv: list[str]) -> int:
    return write_document(render(), argv)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
