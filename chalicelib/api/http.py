"""HTTP concerns that do not depend on the web framework.

The single mapping from domain errors to status codes lives here, with body
parsing, validation and bearer-token extraction, so every route reports
failures the same way: `{"error": ..., "code": ..., "details"?: ...}`.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from chalicelib.core import errors
from chalicelib.schemas import ErrorBody
from chalicelib.schemas.openai import OpenAIErrorBody, OpenAIErrorDetail
from chalicelib.stores import idempotency

logger = logging.getLogger(__name__)

ModelT = TypeVar("ModelT", bound=BaseModel)

# JSON may spell a character as escapes, 12 bytes for one outside the BMP
# (\ud83d\ude00), so a 32,000-character message can take 384,000 bytes. The limit
# is above the largest valid body however its text is written, and is checked
# before parsing, so a huge body costs no parsing work.
MAX_JSON_BYTES_PER_CHAR = 12
MAX_BODY_BYTES = 512 * 1024

# Responses are UTF-8 text: characters as they are, not \uXXXX escapes.
JSON_CONTENT_TYPE = "application/json; charset=utf-8"
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")

# What a browser may send and read across origins: every request header the API takes,
# every response header a client acts on. infra/gateway.py gives the same to the
# answers API Gateway gives by itself.
CORS_ALLOW_HEADERS = ("Authorization", "Content-Type", idempotency.HEADER)
CORS_EXPOSE_HEADERS = ("Retry-After", "Allow")
# Every response: no MIME sniffing, and no caching of tokens or conversations.
SECURITY_HEADERS = {"X-Content-Type-Options": "nosniff", "Cache-Control": "no-store"}
# The code of the errors API Gateway answers by itself (throttling, a timeout), never the app.
GATEWAY_ERROR_CODE = "gateway_error"

STATUS_BY_ERROR: dict[type[errors.AppError], int] = {
    errors.InvalidJson: 400,
    errors.ValidationFailed: 400,
    errors.AuthRequired: 401,
    errors.InvalidApiKey: 401,
    errors.Forbidden: 403,
    errors.CreationClosed: 403,
    errors.SettingsLocked: 403,
    errors.SharingDisabled: 403,
    errors.NotFound: 404,
    errors.ConfigNotFound: 404,
    errors.SessionNotFound: 404,
    errors.FileNotFound: 404,
    errors.ModelNotFound: 404,
    errors.ResponseNotFound: 404,
    errors.ShareNotFound: 404,
    errors.MessageNotFound: 404,
    errors.MethodNotAllowed: 405,
    errors.ConcurrentUpdate: 409,
    errors.IdempotencyConflict: 409,
    errors.IdempotencyInProgress: 409,
    errors.NothingToRegenerate: 409,
    errors.TooManyBranches: 409,
    errors.UploadIncomplete: 409,
    errors.InvalidAttachment: 409,
    errors.TooManyApiKeys: 409,
    errors.TooManyShares: 409,
    errors.NothingToShare: 409,
    errors.ConfigDeleted: 410,
    errors.UploadExpired: 410,
    errors.PayloadTooLarge: 413,
    errors.FileTooLarge: 413,
    errors.UnsupportedMediaType: 415,
    errors.ContentBlocked: 422,
    errors.FileRejected: 422,
    errors.ModelRateLimited: 429,
    errors.QuotaExceeded: 429,
    errors.BudgetExhausted: 429,
    errors.RateLimited: 429,
    errors.ModelError: 502,
    errors.ModelUnavailable: 503,
    errors.StorageUnavailable: 503,
    errors.ModelTimeout: 504,
}

# Chalice answers some requests itself, with `{"Code": ..., "Message": ...}`.
_FRAMEWORK_ERRORS: dict[int, type[errors.AppError]] = {
    400: errors.InvalidJson,
    403: errors.NotFound,
    404: errors.NotFound,
    405: errors.MethodNotAllowed,
    413: errors.PayloadTooLarge,
    415: errors.UnsupportedMediaType,
}


def status_for(error: errors.AppError) -> int:
    for cls in type(error).__mro__:
        if cls in STATUS_BY_ERROR:
            return STATUS_BY_ERROR[cls]
    return 500


def error_response(error: errors.AppError) -> tuple[int, dict[str, Any], dict[str, str]]:
    """Status, JSON body and extra headers for a domain error."""
    status = status_for(error)
    message = error.message
    if error.code == errors.AppError.code:
        # Say what went wrong in the log, for the operator; the client gets no internals.
        logger.error("internal error: %s", error.message)
        message = errors.AppError.default_message
    body = ErrorBody(error=message, code=error.code, details=error.details)
    headers = {"Retry-After": str(error.retry_after)} if error.retry_after is not None else {}
    return status, body.model_dump(mode="json", exclude_none=True), headers


# OpenAI's error types by status, so its SDKs raise their own typed exceptions.
_OPENAI_TYPES = {
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    409: "conflict_error",
    429: "rate_limit_error",
}


def openai_error_response(error: errors.AppError) -> tuple[int, dict[str, Any], dict[str, str]]:
    """The same status and headers as error_response, in OpenAI's body (for /v1 paths):
    `{"error": {"message", "type", "code", "param"}}`."""
    status, body, headers = error_response(error)
    default = "server_error" if status >= 500 else "invalid_request_error"
    detail = OpenAIErrorDetail(
        message=body["error"],
        type=_OPENAI_TYPES.get(status, default),
        code=body["code"],
        param=_param(error.details),
    )
    return status, OpenAIErrorBody(error=detail).model_dump(mode="json"), headers


def _param(details: Any) -> str | None:
    """The request field an error names: its `param`, or the first invalid field."""
    if not isinstance(details, dict):
        return None
    if isinstance(details.get("param"), str):
        return str(details["param"])
    fields = details.get("fields")
    if isinstance(fields, list) and fields and isinstance(fields[0], dict):
        field = fields[0].get("field")
        return str(field) if field else None
    return None


def rewrite_framework_error(status: int, body: Any) -> dict[str, Any] | None:
    """Our error body in place of the framework's own, or None if it is not one."""
    if not (isinstance(body, dict) and set(body) == {"Code", "Message"}):
        return None
    error_class = _FRAMEWORK_ERRORS.get(status, errors.AppError)
    _, rewritten, _ = error_response(error_class())
    return rewritten


def json_text(body: Any) -> str:
    """A JSON response body, in UTF-8 rather than escapes."""
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"))


def parse_json_object(raw: bytes) -> dict[str, Any]:
    if len(raw) > MAX_BODY_BYTES:
        raise errors.PayloadTooLarge(
            f"The request body is larger than {MAX_BODY_BYTES // 1024} KiB.",
            details={"limitBytes": MAX_BODY_BYTES},
        )
    if not raw:
        raise errors.InvalidJson("The request needs a JSON object as its body.")
    try:
        data = json.loads(raw, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as exc:
        raise errors.InvalidJson("The request body is not valid JSON.") from exc
    if not isinstance(data, dict):
        raise errors.InvalidJson("The request body must be a JSON object.")
    if _has_lone_surrogate(data):
        # "\ud83d" alone is no character: it cannot be stored, hashed or sent as UTF-8.
        raise errors.InvalidJson("The request body has a \\u escape that is half of a character.")
    return data


def _has_lone_surrogate(value: Any) -> bool:
    if isinstance(value, str):
        return _LONE_SURROGATE.search(value) is not None
    if isinstance(value, dict):
        return any(_has_lone_surrogate(k) or _has_lone_surrogate(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_lone_surrogate(item) for item in value)
    return False


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def validate(model: type[ModelT], data: dict[str, Any]) -> ModelT:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise validation_failed(exc, data) from exc


def validation_failed(exc: ValidationError, data: Any) -> errors.ValidationFailed:
    """The fields that failed and why, named as the client sent them."""
    problems: list[dict[str, Any]] = [
        {"field": _field_as_sent(issue["loc"], data, issue["type"]), "message": _message(issue)}
        for issue in exc.errors(include_url=False, include_input=False)
    ]
    fields = ", ".join(sorted({p["field"] for p in problems if p["field"]}))
    message = f"Invalid fields: {fields}." if fields else problems[0]["message"] + "."
    return errors.ValidationFailed(message, details={"fields": problems})


def _field_as_sent(loc: tuple[int | str, ...], data: Any, error_type: str) -> str | None:
    """The failing field's path in the client's own names, or None for the whole body.

    Pydantic's location also names the union member or validator that failed
    (`model.function-after[...]`); only the keys the client sent, and a missing
    field's name, are the client's.
    """
    path: list[str] = []
    node = data
    for depth, part in enumerate(loc):
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            node = node[part]
        elif error_type == "missing" and depth == len(loc) - 1:
            node = None
        else:
            continue
        path.append(str(part))
    return ".".join(path) or None


def _message(issue: Mapping[str, Any]) -> str:
    """Pydantic's message, without the "Value error, " it puts before our validators' own."""
    error = issue.get("ctx", {}).get("error")
    if issue["type"] in ("value_error", "assertion_error") and error is not None:
        return str(error)
    return str(issue["msg"])


def parse_body(model: type[ModelT], raw: bytes) -> ModelT:
    return validate(model, parse_json_object(raw))


def optional_bearer_token(headers: Mapping[str, str]) -> str | None:
    """The bearer token if an Authorization header was sent, else None."""
    return bearer_token(headers) if headers.get("authorization") else None


def bearer_token(headers: Mapping[str, str]) -> str:
    value = headers.get("authorization", "") or ""
    scheme, _, token = value.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise errors.AuthRequired()
    return token


# A Host header as browsers send it: a DNS name or IPv4 address, or [IPv6], and a port.
_HOST = re.compile(
    r"(?:[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?"
)


def stage_prefix(context: Mapping[str, Any]) -> str:
    """The stage as a path ("/api") when the client's path starts with it, else "".

    API Gateway's own URL starts with the stage; a custom domain's does not.
    """
    stage = context.get("stage")
    path = str(context.get("path") or "")
    if stage and (path + "/").startswith(f"/{stage}/"):
        return f"/{stage}"
    return ""


def public_base_url(headers: Mapping[str, str], context: Mapping[str, Any]) -> str:
    """The origin and stage this request came through: "https://host/stage", "http://host:port".

    "" when the request names no usable host, so links built on it stay relative.
    """
    host = (headers.get("host") or "").strip()
    if not _HOST.fullmatch(host):
        return ""
    # API Gateway terminates TLS and says so in X-Forwarded-Proto; the local server has none.
    scheme = "https" if headers.get("x-forwarded-proto", "").lower() == "https" else "http"
    return f"{scheme}://{host}{stage_prefix(context)}"
