"""An agent's reply format: text, or JSON that follows a JSON Schema; and the check of a
reply against it (the model's reply is JSON text Gemini was asked to write)."""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, ConfigDict, Field

from chalicelib.core.errors import ValidationFailed
from chalicelib.core.tools import reply_format_problem
from chalicelib.schemas.base import RequestModel

# A schema is sent with every request and stored with every session: it stays small.
MAX_SCHEMA_BYTES = 16 * 1024
# What a reply-check's path and message may hold, so an error stays readable.
MAX_REASON_CHARS = 300


def compact_json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _valid_schema(schema: dict[str, Any]) -> dict[str, Any]:
    size = len(compact_json(schema).encode())
    if size > MAX_SCHEMA_BYTES:
        raise ValueError(f"may be at most {MAX_SCHEMA_BYTES} bytes as JSON (it is {size})")
    from jsonschema import SchemaError
    from jsonschema.validators import validator_for

    try:
        validator_for(schema).check_schema(schema)
    except SchemaError as error:
        where = ".".join(str(part) for part in error.absolute_path)
        raise ValueError(
            f"is not a valid JSON Schema: {error.message}"[:MAX_REASON_CHARS]
            + (f" (at {where})" if where else "")
        ) from None
    return schema


JsonSchemaObject = Annotated[
    dict[str, Any],
    AfterValidator(_valid_schema),
    Field(json_schema_extra={"maxProperties": 1000}),
]


class TextFormat(RequestModel):
    model_config = ConfigDict(serialize_by_alias=True)

    type: Literal["text"] = "text"
    """Replies are text (Markdown)."""


class JsonSchemaFormat(RequestModel):
    model_config = ConfigDict(serialize_by_alias=True)

    type: Literal["json_schema"]
    """Replies are JSON that follows `schema`."""
    json_schema: JsonSchemaObject = Field(alias="schema")
    """A JSON Schema (an object, at most 16 KB as JSON) every reply must follow."""


ReplyFormat = Annotated[TextFormat | JsonSchemaFormat, Field(discriminator="type")]


def schema_of(reply_format: TextFormat | JsonSchemaFormat) -> dict[str, Any] | None:
    return reply_format.json_schema if isinstance(reply_format, JsonSchemaFormat) else None


def ensure_reply_format_usable(
    model: str,
    reply_format: TextFormat | JsonSchemaFormat,
    tools: tuple[str, ...],
    field: str = "responseFormat",
) -> None:
    """ValidationFailed when `model` cannot write JSON replies (with these tools); `field`
    names what the client changed: the format, or the model or tools under it."""
    if isinstance(reply_format, TextFormat):
        return
    problem = reply_format_problem(model, tools, with_schema=True)
    if problem:
        raise ValidationFailed(
            f"Invalid fields: {field}.",
            details={"fields": [{"field": field, "message": problem}]},
        )


def reply_mismatch(text: str, schema: dict[str, Any] | None) -> dict[str, str] | None:
    """Why a reply asked for as JSON (following `schema`, if any) is not; None if it is."""
    try:
        value = json.loads(text)
    except ValueError as error:
        return {"reason": "invalid_json", "message": str(error)[:MAX_REASON_CHARS]}
    if schema is None:
        return None
    from jsonschema.exceptions import best_match
    from jsonschema.validators import validator_for

    found = best_match(validator_for(schema)(schema).iter_errors(value))
    if found is None:
        return None
    return {
        "reason": "schema_mismatch",
        "path": found.json_path,
        "message": found.message[:MAX_REASON_CHARS],
    }
