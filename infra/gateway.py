"""API Gateway's own answers, made to keep the API's contract.

API Gateway answers some requests without calling the function: an unknown path
(its `403 {"message": "Missing Authentication Token"}`), throttling, a timeout.
`gateway_responses()` gives those answers the API's error shape and headers, built
from the same constants the app uses; `route_every_method()` sends a method a path
does not serve to the function, which answers `405 method_not_allowed` (API Gateway
alone would answer it as an unknown path).
"""

from __future__ import annotations

import json
from typing import Any

from chalicelib.api.http import (
    CORS_ALLOW_HEADERS,
    CORS_EXPOSE_HEADERS,
    GATEWAY_ERROR_CODE,
    SECURITY_HEADERS,
)
from chalicelib.core import errors

ORIGIN = {"Fn::Sub": "'${AllowedOrigin}'"}
ANY_METHOD = "x-amazon-apigateway-any-method"
INTEGRATION = "x-amazon-apigateway-integration"
# API Gateway puts its own message, as a JSON string, where this stands.
GATEWAY_MESSAGE = "$context.error.messageString"


def _quoted(value: str) -> str:
    """A static header value, as API Gateway's response parameters spell one."""
    return f"'{value}'"


def _headers() -> dict[str, Any]:
    values: dict[str, Any] = {
        "Access-Control-Allow-Origin": ORIGIN,
        "Access-Control-Allow-Headers": _quoted(",".join(CORS_ALLOW_HEADERS)),
        "Access-Control-Expose-Headers": _quoted(",".join(CORS_EXPOSE_HEADERS)),
        **{name: _quoted(value) for name, value in SECURITY_HEADERS.items()},
    }
    return {f"gatewayresponse.header.{name}": value for name, value in values.items()}


THROTTLED_MESSAGE = "This service is receiving too many requests; try again shortly."


def _response(body: str, status: int | None = None) -> dict[str, Any]:
    response: dict[str, Any] = {
        "responseParameters": _headers(),
        "responseTemplates": {"application/json": body},
    }
    if status is not None:
        response["statusCode"] = str(status)
    return response


def _error_body(error: errors.AppError) -> str:
    return json.dumps({"error": error.message, "code": error.code}, separators=(",", ":"))


def gateway_responses() -> dict[str, Any]:
    """`x-amazon-apigateway-gateway-responses`: every answer API Gateway gives itself."""
    own_message = f'{{"error":{GATEWAY_MESSAGE},"code":"{GATEWAY_ERROR_CODE}"}}'
    return {
        # API Gateway's answer to an unknown path, and to a method no path declares.
        "MISSING_AUTHENTICATION_TOKEN": _response(_error_body(errors.NotFound()), 404),
        "REQUEST_TOO_LARGE": _response(_error_body(errors.PayloadTooLarge())),
        # The stage's throttling (THROTTLE_RATE, THROTTLE_BURST): a code clients already know.
        "THROTTLED": _response(_error_body(errors.RateLimited(THROTTLED_MESSAGE)), 429),
        "DEFAULT_4XX": _response(own_message),
        "DEFAULT_5XX": _response(own_message),
    }


def route_every_method(definition: dict[str, Any]) -> int:
    """Send every method of every path to the function; returns how many paths."""
    count = 0
    for methods in definition["paths"].values():
        integrations = [m for m in methods.values() if m[INTEGRATION].get("type") == "aws_proxy"]
        if not integrations:
            continue
        # The methods a path declares still win; ANY takes only the others.
        methods[ANY_METHOD] = {
            "responses": {"405": {"description": "The function's 405 method_not_allowed"}},
            INTEGRATION: integrations[0][INTEGRATION],
        }
        count += 1
    return count
