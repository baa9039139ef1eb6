"""An agent's reply format: text, or JSON that follows a JSON Schema; and the check of a
reply against it (the model's reply is JSON text Gemini was asked to write)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Annotated, Any, Literal
from urllib.parse import unquote

from pydantic import AfterValidator, ConfigDict, Field

from chalicelib.core.errors import ValidationFailed
from chalicelib.core.tools import TOOL_NAMES, reply_format_problem
from chalicelib.schemas.base import RequestModel

# A schema is sent with every request and stored with every session: it stays small.
MAX_SCHEMA_BYTES = 16 * 1024
# Far deeper than a hand-written schema; and checking a deeper one would recurse too far.
MAX_SCHEMA_DEPTH = 32
# A reply nested deeper is not checked (a recursive schema would recurse as deep): refused.
MAX_REPLY_DEPTH = 64
# What a reply-check's path and message may hold, so an error stays readable.
MAX_REASON_CHARS = 300


def compact_json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _depth(value: Any) -> int:
    """How deep objects and arrays nest in a JSON value (a scalar is 0), without recursing."""
    deepest, pending = 0, [(value, 1)]
    while pending:
        node, depth = pending.pop()
        children = (
            node.values() if isinstance(node, dict) else node if isinstance(node, list) else None
        )
        if children is not None:
            deepest = max(deepest, depth)
            pending.extend((child, depth + 1) for child in children)
    return deepest


def _nodes(value: Any) -> list[Any]:
    """Every object and array within a JSON value, itself included, without recursing."""
    found, pending = [], [value]
    while pending:
        node = pending.pop()
        if isinstance(node, dict | list):
            found.append(node)
            pending.extend(node.values() if isinstance(node, dict) else node)
    return found


def _ref_problem(schema: dict[str, Any]) -> str | None:
    """Why a `$ref` of the schema cannot be followed: each must point within it (`#` or a
    JSON pointer, as Gemini takes them), to something there; None when all can."""
    for node in _nodes(schema):
        if node is not schema and isinstance(node, dict) and isinstance(node.get("$id"), str):
            return "may have an $id only at its root"
    for node in _nodes(schema):
        ref = node.get("$ref") if isinstance(node, dict) else None
        if not isinstance(ref, str) or ref == "#":
            continue
        if not ref.startswith("#/"):
            return f"has a $ref that points outside it ({ref[:100]}); use #/$defs/..."
        target: Any = schema
        for part in ref[2:].split("/"):
            key = unquote(part).replace("~1", "/").replace("~0", "~")
            if isinstance(target, dict) and key in target:
                target = target[key]
            elif isinstance(target, list) and key.isdigit() and int(key) < len(target):
                target = target[int(key)]
            else:
                return f"has a $ref to nothing ({ref[:100]})"
    return None


def _valid_schema(schema: dict[str, Any]) -> dict[str, Any]:
    size = len(compact_json(schema).encode())
    if size > MAX_SCHEMA_BYTES:
        raise ValueError(f"may be at most {MAX_SCHEMA_BYTES} bytes as JSON (it is {size})")
    if _depth(schema) > MAX_SCHEMA_DEPTH:
        raise ValueError(f"may nest at most {MAX_SCHEMA_DEPTH} objects and arrays deep")
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
    problem = _ref_problem(schema)
    if problem:
        raise ValueError(problem)
    return schema


JsonSchemaObject = Annotated[
    dict[str, Any],
    AfterValidator(_valid_schema),
    Field(json_schema_extra={"maxProperties": 1000}),
]


class TextFormat(RequestModel):
    model_config = ConfigDict(serialize_by_alias=True)

    # Required, as the union's tag: `{}` is no format.
    type: Literal["text"]
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


def ensure_json_usable(
    model: str, tools: Sequence[str], field: str, with_schema: bool = True
) -> None:
    """ValidationFailed, naming `field`, when `model` cannot write JSON replies (following
    a schema) with these tools on."""
    problem = reply_format_problem(model, tools, with_schema)
    if problem:
        raise ValidationFailed(
            f"Invalid fields: {field}.",
            details={"fields": [{"field": field, "message": problem}]},
        )


def ensure_reply_format_usable(
    model: str,
    reply_format: TextFormat | JsonSchemaFormat,
    tools: Sequence[str],
    field: str = "responseFormat",
) -> None:
    """As ensure_json_usable, for an agent's format; `field` names what the client changed:
    the format, or the model or tools under it."""
    if isinstance(reply_format, JsonSchemaFormat):
        ensure_json_usable(model, tools, field)


def reply_format_rules(models: tuple[str, ...]) -> list[dict[str, Any]]:
    """The schema's `allOf` rules of the model table: a JSON reply format only on a model
    that writes one, and with no tool on where the model writes it only without."""
    never = [m for m in models if reply_format_problem(m, (), with_schema=True)]
    alone = [m for m in models if m not in never and reply_format_problem(m, TOOL_NAMES, True)]
    text = {"properties": {"responseFormat": {"properties": {"type": {"const": "text"}}}}}
    no_tools = {"properties": {"tools": {"properties": {t: {"const": False} for t in TOOL_NAMES}}}}
    json_format = {"properties": {"type": {"const": "json_schema"}}, "required": ["type"]}
    rules: list[dict[str, Any]] = []
    if never:
        model_is = {"properties": {"model": {"enum": never}}, "required": ["model"]}
        rules.append({"if": model_is, "then": text})
    if alone:
        both = {"model": {"enum": alone}, "responseFormat": json_format}
        asked = {"properties": both, "required": ["model", "responseFormat"]}
        rules.append({"if": asked, "then": no_tools})
    return rules


def reply_mismatch(text: str, schema: dict[str, Any] | None) -> dict[str, str] | None:
    """Why a reply asked for as JSON (following `schema`, if any) is not; None if it is."""
    try:
        value = json.loads(text)
    except (ValueError, RecursionError) as error:
        return {"reason": "invalid_json", "message": str(error)[:MAX_REASON_CHARS]}
    if schema is None:
        return None
    if _depth(value) > MAX_REPLY_DEPTH:
        message = f"nests deeper than {MAX_REPLY_DEPTH} levels, more than is checked"
        return {"reason": "schema_mismatch", "path": "$", "message": message}
    from jsonschema.exceptions import best_match
    from jsonschema.validators import validator_for
    from referencing.exceptions import Unresolvable

    try:
        found = best_match(validator_for(schema)(schema).iter_errors(value))
    except Unresolvable as error:
        # What creation's checks let through ($dynamicRef, say): still the model's refusal.
        message = f"the schema could not be followed: {error}"[:MAX_REASON_CHARS]
        return {"reason": "schema_mismatch", "path": "$", "message": message}
    if found is None:
        return None
    return {
        "reason": "schema_mismatch",
        "path": found.json_path,
        "message": found.message[:MAX_REASON_CHARS],
    }
