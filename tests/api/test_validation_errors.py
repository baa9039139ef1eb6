"""Validation errors name fields as the client sent them, in the API's words."""

from __future__ import annotations

from typing import Any

from tests.utils import DEFAULT_CONFIG, ApiClient, assert_error

ALLOWED = (
    "must be one of: gemini-2.5-flash, gemini-2.5-flash-lite, gemini-2.5-pro, gemini-2.0-flash"
)


def problems(response: Any) -> list[dict[str, Any]]:
    assert_error(response, 400, "validation_error")
    found: list[dict[str, Any]] = response.json["details"]["fields"]
    assert "Value error" not in response.raw.decode()
    return found


def test_a_session_update_names_the_field_not_pydantics_union_branch(api: ApiClient) -> None:
    session = api.new_session()
    path, token = f"/session/{session['sessionId']}", session["sessionToken"]

    response = api.put(path, {"model": "nope"}, token=token)

    assert problems(response) == [{"field": "model", "message": ALLOWED}]
    assert response.json["error"] == "Invalid fields: model."


def test_a_null_in_a_session_update_is_reported_under_its_field(api: ApiClient) -> None:
    session = api.new_session()
    path, token = f"/session/{session['sessionId']}", session["sessionToken"]

    found = problems(api.put(path, {"title": None, "temperature": None}, token=token))

    assert sorted(p["field"] for p in found) == ["temperature", "title"]


def test_nested_fields_are_dotted_paths_with_the_validators_own_message(api: ApiClient) -> None:
    body = {**DEFAULT_CONFIG, "model": "nope", "limits": {"messagesPerDay": 10**6}}

    found = problems(api.post("/create-chat", body))

    assert found == [
        {"field": "model", "message": ALLOWED},
        {"field": "limits.messagesPerDay", "message": "may be at most 2000, this server's ceiling"},
    ]


def test_fields_keep_the_spelling_the_client_used(api: ApiClient) -> None:
    body = {
        "title": "T",
        "model": "gemini-2.5-flash",
        "system_prompt": 5,
        "temperature": 0.5,
        "limits": {"messages_per_day": -1, "bogus": 1},
    }

    found = {p["field"] for p in problems(api.post("/create-chat", body))}

    assert found == {"system_prompt", "limits.messages_per_day", "limits.bogus"}


def test_a_missing_field_is_named_in_camel_case(api: ApiClient) -> None:
    found = problems(api.post("/create-chat", {"title": "T", "model": "gemini-2.5-flash"}))

    assert {p["field"] for p in found} == {"systemPrompt", "temperature"}
    assert {p["message"] for p in found} == {"Field required"}
