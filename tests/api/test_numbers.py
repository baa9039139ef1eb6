"""Every number the API accepts can be stored in DynamoDB, on AWS as well as in moto.

DynamoDB keeps 38 significant digits and magnitudes from 1E-130 to 1E+125. moto
takes 1e-140, AWS does not, so the tests check what was stored against those rules.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import boto3
import pytest

from tests.conftest import TABLE
from tests.utils import DEFAULT_CONFIG, ApiClient, assert_error

# JSON numbers, as sent, with the temperature the API keeps for each.
TEMPERATURES = {
    "1e-200": 0.0,
    "1e-140": 0.0,
    "4.9e-324": 0.0,
    "1e-400": 0.0,  # below the smallest float: JSON parsing makes it 0
    "-0.0": 0.0,
    "1.2345678901234567e-100": 0.0,
    "0.0000004": 0.0,
    "0.30000000000000004": 0.3,
    "1.9999999999999998": 2.0,
    "0.123456789": 0.123457,
    "1E0": 1.0,
    "2": 2.0,
}
REFUSED_TEMPERATURES = ["1e400", "-1e-200", "2.0000001", "1e125", '"0.5"', "null"]


def storable(number: str) -> bool:
    """Whether DynamoDB accepts this number: 38 significant digits, 1E-130 to under 1E+126."""
    value = Decimal(number)
    if value.is_zero():
        return True
    significant = "".join(map(str, value.as_tuple().digits)).strip("0")
    return len(significant) <= 38 and Decimal("1E-130") <= abs(value) < Decimal("1E+126")


def numbers_in(value: Any) -> list[str]:
    """Every number in a low-level DynamoDB item ({"N": "..."}, number sets, lists, maps)."""
    if isinstance(value, dict):
        if set(value) == {"N"}:
            return [value["N"]]
        if set(value) == {"NS"}:
            return list(value["NS"])
        return [number for item in value.values() for number in numbers_in(item)]
    if isinstance(value, list):
        return [number for item in value for number in numbers_in(item)]
    return []


def assert_every_stored_number_is_storable() -> None:
    # A plain client: the resource's own client would turn the numbers into Decimals.
    items = boto3.client("dynamodb").scan(TableName=TABLE)["Items"]
    numbers = numbers_in(items)
    assert numbers, "the table holds numbers"
    assert [n for n in numbers if not storable(n)] == []


def config_body(temperature: str) -> str:
    fields = {key: value for key, value in DEFAULT_CONFIG.items() if key != "temperature"}
    return json.dumps(fields)[:-1] + f', "temperature": {temperature}}}'


def send_works(api: ApiClient, session: dict[str, Any]) -> None:
    response = api.send(session, "hello")
    assert response.status == 200, response.json


def test_storable_follows_dynamodbs_rules() -> None:
    assert storable("0") and storable("1E-130") and storable("9" * 38)
    assert storable("1" + "0" * 50) and storable("-0.0") and storable("1.5E+125")
    assert not storable("1e-140") and not storable("1E+126") and not storable("1" * 39)


@pytest.mark.parametrize("sent, kept", TEMPERATURES.items(), ids=TEMPERATURES.keys())
def test_create_chat_keeps_a_storable_temperature(api: ApiClient, sent: str, kept: float) -> None:
    response = api.post("/create-chat", raw=config_body(sent))
    assert response.status == 201, response.json
    assert response.json["config"]["temperature"] == kept
    session = api.start_session(response.json["chatConfigId"])
    assert session["temperature"] == kept
    send_works(api, session)
    assert_every_stored_number_is_storable()


@pytest.mark.parametrize("sent", REFUSED_TEMPERATURES)
def test_create_chat_refuses_temperatures_out_of_range(api: ApiClient, sent: str) -> None:
    assert_error(api.post("/create-chat", raw=config_body(sent)), 400, "validation_error")


@pytest.mark.parametrize("sent, kept", [("1e-200", 0.0), ("1e-140", 0.0), ("0.1234567", 0.123457)])
def test_put_chat_config_keeps_a_storable_temperature(
    api: ApiClient, sent: str, kept: float
) -> None:
    created = api.create_chat()
    path = f"/chat-config/{created['chatConfigId']}"
    response = api.put(path, raw=config_body(sent), token=created["editToken"])
    assert response.status == 200, response.json
    assert response.json["temperature"] == kept
    send_works(api, api.start_session(created["chatConfigId"]))
    assert_every_stored_number_is_storable()


@pytest.mark.parametrize("sent, kept", [("1e-200", 0.0), ("1e-140", 0.0), ("0.1234567", 0.123457)])
def test_put_session_keeps_a_storable_temperature(api: ApiClient, sent: str, kept: float) -> None:
    session = api.new_session()
    path = f"/session/{session['sessionId']}"
    response = api.put(path, raw=f'{{"temperature": {sent}}}', token=session["sessionToken"])
    assert response.status == 200, response.json
    assert response.json["temperature"] == kept
    assert api.get(path, token=session["sessionToken"]).json["temperature"] == kept
    send_works(api, session)
    assert_every_stored_number_is_storable()


@pytest.mark.parametrize(
    "sent", ["1e-200", "1e40", "1e400", "-0.0", "12345678901234567890123456789012345678901"]
)
def test_limits_are_whole_numbers_under_the_ceiling_or_refused(api: ApiClient, sent: str) -> None:
    body = config_body("0.5")[:-1] + f', "limits": {{"messagesPerDay": {sent}}}}}'
    response = api.post("/create-chat", raw=body)
    if response.status == 201:
        send_works(api, api.start_session(response.json["chatConfigId"]))
        assert_every_stored_number_is_storable()
    else:
        assert_error(response, 400, "validation_error")
