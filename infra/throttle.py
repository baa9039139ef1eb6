"""API Gateway's throttling of both APIs: THROTTLE_RATE requests a second, THROTTLE_BURST at once.

The stage throttles all clients together, before a request reaches Lambda: a flood
costs refusals (a REST request's is a 429 in the API's error shape, through the
DEFAULT_4XX gateway response), not function time, DynamoDB writes or model calls.
The single template sets it through its ThrottleRate and ThrottleBurst parameters
(infra/template.json), the Chalice route through `make after-deploy`; both default
to the values here.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mypy_boto3_apigateway.type_defs import PatchOperationTypeDef
    from mypy_boto3_apigatewayv2.type_defs import RouteSettingsTypeDef

# A busy public page's traffic, with room for a web app's burst of requests on load;
# a flood beyond it is refused by API Gateway for free.
DEFAULT_RATE = 50
DEFAULT_BURST = 100
RATE_VARIABLE = "THROTTLE_RATE"
BURST_VARIABLE = "THROTTLE_BURST"
RATE_PARAMETER = "ThrottleRate"
BURST_PARAMETER = "ThrottleBurst"
# The REST API's stage settings of every resource and method ("/*/*").
EVERY_METHOD = "/*/*"


class ThrottleError(ValueError):
    """A throttling limit that is not a whole number of at least 1."""


@dataclass(frozen=True)
class Throttle:
    rate: int  # requests per second, steady
    burst: int  # requests at once, above the steady rate

    def rest_stage_operations(self) -> list[PatchOperationTypeDef]:
        """The REST API stage's UpdateStage patch, for every resource and method."""
        return [
            {
                "op": "replace",
                "path": f"{EVERY_METHOD}/throttling/rateLimit",
                "value": str(self.rate),
            },
            {
                "op": "replace",
                "path": f"{EVERY_METHOD}/throttling/burstLimit",
                "value": str(self.burst),
            },
        ]

    def websocket_route_settings(self, current: RouteSettingsTypeDef) -> RouteSettingsTypeDef:
        """The WebSocket stage's default route settings, the rest of them kept as they are."""
        return {
            **current,
            "ThrottlingRateLimit": float(self.rate),
            "ThrottlingBurstLimit": self.burst,
        }


def parse_limit(name: str, text: str) -> int:
    try:
        value = int(text.strip())
    except ValueError:
        raise ThrottleError(f"{name} must be a whole number: {text!r}") from None
    if value < 1:
        raise ThrottleError(f"{name} must be at least 1 (0 would refuse every request): {value}")
    return value


def throttle_from(
    rate: str | None = None, burst: str | None = None, environ: Mapping[str, str] | None = None
) -> Throttle:
    """From explicit values, else the environment, else the defaults."""
    environ = os.environ if environ is None else environ
    rate = rate if rate is not None else environ.get(RATE_VARIABLE, "").strip() or None
    burst = burst if burst is not None else environ.get(BURST_VARIABLE, "").strip() or None
    return Throttle(
        rate=DEFAULT_RATE if rate is None else parse_limit(RATE_VARIABLE, rate),
        burst=DEFAULT_BURST if burst is None else parse_limit(BURST_VARIABLE, burst),
    )
