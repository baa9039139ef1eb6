"""API Gateway's throttling settings (infra/throttle.py) and the after-deploy step's flags."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from infra import after_deploy
from infra.throttle import (
    DEFAULT_BURST,
    DEFAULT_RATE,
    Throttle,
    ThrottleError,
    parse_limit,
    throttle_from,
)

if TYPE_CHECKING:
    from mypy_boto3_apigatewayv2.type_defs import RouteSettingsTypeDef


def test_the_defaults() -> None:
    assert throttle_from(environ={}) == Throttle(DEFAULT_RATE, DEFAULT_BURST) == Throttle(50, 100)


def test_the_environment_beats_the_defaults_and_a_flag_beats_the_environment() -> None:
    environ = {"THROTTLE_RATE": "20", "THROTTLE_BURST": " 40 "}
    assert throttle_from(environ=environ) == Throttle(20, 40)
    assert throttle_from("5", None, environ) == Throttle(5, 40)
    assert throttle_from(None, "9", {"THROTTLE_RATE": ""}) == Throttle(DEFAULT_RATE, 9)


@pytest.mark.parametrize("text", ["0", "-3", "1.5", "fast", ""])
def test_a_limit_is_a_whole_number_of_at_least_one(text: str) -> None:
    with pytest.raises(ThrottleError, match="THROTTLE_RATE"):
        parse_limit("THROTTLE_RATE", text)
    with pytest.raises(ThrottleError):
        throttle_from(environ={"THROTTLE_BURST": text or "x"})


def test_the_rest_stage_patch_covers_every_resource_and_method() -> None:
    assert Throttle(7, 9).rest_stage_operations() == [
        {"op": "replace", "path": "/*/*/throttling/rateLimit", "value": "7"},
        {"op": "replace", "path": "/*/*/throttling/burstLimit", "value": "9"},
    ]


def test_the_websocket_route_settings_keep_what_is_not_throttling() -> None:
    current: RouteSettingsTypeDef = {
        "LoggingLevel": "INFO",
        "DataTraceEnabled": False,
        "ThrottlingBurstLimit": 1,
    }
    assert Throttle(7, 9).websocket_route_settings(current) == {
        "LoggingLevel": "INFO",
        "DataTraceEnabled": False,
        "ThrottlingRateLimit": 7.0,
        "ThrottlingBurstLimit": 9,
    }


def test_after_deploy_refuses_a_bad_limit_before_calling_aws(
    caplog: pytest.LogCaptureFixture,
) -> None:
    assert after_deploy.main(["--stage", "dev", "--throttle-burst", "0"]) == 2
    assert "THROTTLE_BURST must be at least 1" in caplog.text
