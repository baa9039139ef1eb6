"""API Gateway's own answers keep the API's contract (infra/gateway.py)."""

from __future__ import annotations

import json
from typing import Any

from chalicelib.api import openapi
from chalicelib.api.http import CORS_ALLOW_HEADERS, CORS_EXPOSE_HEADERS
from infra.gateway import ANY_METHOD, GATEWAY_MESSAGE, gateway_responses, route_every_method

HEADER = "gatewayresponse.header."


def rendered_body(response: dict[str, Any]) -> dict[str, Any]:
    """The body API Gateway would send, its own message standing in as a JSON string."""
    template = response["responseTemplates"]["application/json"]
    body: dict[str, Any] = json.loads(template.replace(GATEWAY_MESSAGE, '"Too Many Requests"'))
    return body


def test_an_unknown_path_is_404_not_found() -> None:
    missing = gateway_responses()["MISSING_AUTHENTICATION_TOKEN"]
    assert missing["statusCode"] == "404"
    assert rendered_body(missing) == {
        "error": "Nothing is served at this path.",
        "code": "not_found",
    }


def test_every_gateway_answer_has_the_error_shape_and_a_documented_code() -> None:
    codes = openapi.build_document()["components"]["schemas"]["ErrorBody"]["properties"]["code"]
    for kind in ("MISSING_AUTHENTICATION_TOKEN", "THROTTLED", "DEFAULT_4XX", "DEFAULT_5XX"):
        body = rendered_body(gateway_responses()[kind])
        assert set(body) == {"error", "code"}, kind
        assert body["code"] in codes["enum"], kind
    assert rendered_body(gateway_responses()["DEFAULT_4XX"])["error"] == "Too Many Requests"


def test_every_gateway_answer_carries_the_apps_cors_and_security_headers() -> None:
    for kind, response in gateway_responses().items():
        headers = response["responseParameters"]
        allowed = headers[HEADER + "Access-Control-Allow-Headers"].strip("'").split(",")
        assert allowed == list(CORS_ALLOW_HEADERS), kind
        assert "Idempotency-Key" in allowed
        exposed = headers[HEADER + "Access-Control-Expose-Headers"].strip("'").split(",")
        assert exposed == list(CORS_EXPOSE_HEADERS), kind
        assert headers[HEADER + "Access-Control-Allow-Origin"] == {"Fn::Sub": "'${AllowedOrigin}'"}
        assert headers[HEADER + "X-Content-Type-Options"] == "'nosniff'"


def test_every_method_of_a_known_path_reaches_the_function() -> None:
    proxy = {"type": "aws_proxy", "uri": "lambda"}
    mock = {"type": "mock"}
    definition = {
        "paths": {
            "/health": {
                "get": {"x-amazon-apigateway-integration": proxy},
                "options": {"x-amazon-apigateway-integration": mock},
            },
            "/only-a-mock": {"options": {"x-amazon-apigateway-integration": mock}},
        }
    }

    assert route_every_method(definition) == 1

    health = definition["paths"]["/health"]
    assert health[ANY_METHOD]["x-amazon-apigateway-integration"] == proxy
    assert set(health) == {"get", "options", ANY_METHOD}
    assert ANY_METHOD not in definition["paths"]["/only-a-mock"]


def test_throttling_is_429_rate_limited() -> None:
    throttled = gateway_responses()["THROTTLED"]
    assert throttled["statusCode"] == "429"
    assert rendered_body(throttled)["code"] == "rate_limited"
