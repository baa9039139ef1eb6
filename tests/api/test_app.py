"""Every route and error code, through the Chalice app as API Gateway would call it."""

from __future__ import annotations

import json

import pytest

from chalicelib.api import openapi
from chalicelib.api.http import MAX_BODY_BYTES
from tests.fake_gemini import FakeGemini
from tests.utils import DEFAULT_CONFIG, ApiClient, assert_error, failing

# --- health --------------------------------------------------------------------


def test_health_reports_offline_model_without_a_key(api: ApiClient) -> None:
    response = api.get("/health")
    assert response.status == 200
    assert response.json == {"status": "ok", "model": "offline", "websocketUrl": None}


def test_health_reports_gemini_with_a_key(api: ApiClient, fake_gemini: FakeGemini) -> None:
    assert api.get("/health").json == {"status": "ok", "model": "gemini", "websocketUrl": None}


def test_health_says_where_websocket_clients_connect(
    api: ApiClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = "wss://abc123.execute-api.eu-west-3.amazonaws.com/api"
    monkeypatch.setenv("WEBSOCKET_URL", url)
    assert api.get("/health").json["websocketUrl"] == url


# --- chat configurations -------------------------------------------------------


def test_create_chat_returns_link_token_and_config(
    api: ApiClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FRONTEND_BASE_URL", "https://chat.example.org/")
    created = api.create_chat()
    config_id = created["chatConfigId"]
    assert created["shareableUrl"] == f"https://chat.example.org/chat/{config_id}"
    assert created["editToken"].startswith("et_") and len(created["editToken"]) >= 40
    config = created["config"]
    assert config["chatConfigId"] == config_id
    assert {k: config[k] for k in DEFAULT_CONFIG} == DEFAULT_CONFIG
    assert config["allowSessionOverrides"] is True
    assert config["createdAt"] == config["updatedAt"]
    assert "editTokenHash" not in config


def test_create_chat_accepts_snake_case_aliases(api: ApiClient) -> None:
    response = api.post(
        "/create-chat",
        {
            "title": "Snake",
            "model": "gemini-2.5-pro",
            "system_prompt": "hiss",
            "temperature": 1,
            "allow_session_overrides": False,
        },
    )
    assert response.status == 201
    assert response.json["config"]["systemPrompt"] == "hiss"
    assert response.json["config"]["allowSessionOverrides"] is False


@pytest.mark.parametrize(
    "change, field",
    [
        ({"title": ""}, "title"),
        ({"title": "   "}, "title"),
        ({"title": "x" * 101}, "title"),
        ({"model": "gpt-4"}, "model"),
        ({"systemPrompt": "x" * 20_001}, "systemPrompt"),
        ({"temperature": 2.5}, "temperature"),
        ({"temperature": -0.1}, "temperature"),
        ({"temperature": "0.5"}, "temperature"),
        ({"allowSessionOverrides": "yes"}, "allowSessionOverrides"),
        ({"unexpected": 1}, "unexpected"),
    ],
)
def test_create_chat_rejects_invalid_fields(api: ApiClient, change: dict, field: str) -> None:
    response = api.post("/create-chat", {**DEFAULT_CONFIG, **change})
    assert_error(response, 400, "validation_error")
    assert field in {problem["field"] for problem in response.json["details"]["fields"]}


def test_create_chat_requires_fields(api: ApiClient) -> None:
    response = api.post("/create-chat", {})
    assert_error(response, 400, "validation_error")
    fields = {problem["field"] for problem in response.json["details"]["fields"]}
    assert fields == {"title", "model", "systemPrompt", "temperature"}


def test_allowed_models_setting_controls_validation(
    api: ApiClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ALLOWED_MODELS", "gemini-9-ultra, gemini-2.5-flash")
    assert api.post("/create-chat", {**DEFAULT_CONFIG, "model": "gemini-9-ultra"}).status == 201
    response = api.post("/create-chat", {**DEFAULT_CONFIG, "model": "gemini-2.5-pro"})
    assert_error(response, 400, "validation_error")
    assert "gemini-9-ultra" in response.json["details"]["fields"][0]["message"]


@pytest.mark.parametrize(
    "raw",
    ["{not json", "[1, 2]", '"text"', "null", "", '{"temperature": NaN}', "[" * 5000],
)
def test_bodies_that_are_not_json_objects_are_invalid_json(api: ApiClient, raw: str) -> None:
    assert_error(api.post("/create-chat", raw=raw), 400, "invalid_json")


def test_oversized_body_is_413_before_parsing(api: ApiClient) -> None:
    # Not even JSON: the size is checked before the body is parsed.
    response = api.post("/create-chat", raw="x" * (MAX_BODY_BYTES + 1))
    assert_error(response, 413, "payload_too_large")
    assert response.json["details"] == {"limitBytes": MAX_BODY_BYTES}


def test_non_json_content_type_is_415_in_our_shape(api: ApiClient) -> None:
    response = api.post(
        "/create-chat", raw=json.dumps(DEFAULT_CONFIG), headers={"Content-Type": "text/plain"}
    )
    assert_error(response, 415, "unsupported_media_type")


def test_wrong_method_is_405_in_our_shape(api: ApiClient) -> None:
    assert_error(api.request("DELETE", "/create-chat"), 405, "method_not_allowed")


def test_get_chat_config(api: ApiClient) -> None:
    created = api.create_chat()
    response = api.get(f"/chat-config/{created['chatConfigId']}")
    assert response.status == 200
    assert response.json == created["config"]


@pytest.mark.parametrize("config_id", ["0" * 32, "not-a-real-id", "..%2F..%2Fetc", "a" * 65])
def test_unknown_config_is_404(api: ApiClient, config_id: str) -> None:
    assert_error(api.get(f"/chat-config/{config_id}"), 404, "config_not_found")


def test_update_chat_config_with_edit_token(api: ApiClient) -> None:
    created = api.create_chat(allowSessionOverrides=False)
    new_settings = {
        "title": "Ninja tutor",
        "model": "gemini-2.5-pro",
        "systemPrompt": "Answer like a ninja.",
        "temperature": 0.2,
    }
    response = api.put(
        f"/chat-config/{created['chatConfigId']}", new_settings, token=created["editToken"]
    )
    assert response.status == 200
    assert {k: response.json[k] for k in new_settings} == new_settings
    # Omitted, so it keeps its value.
    assert response.json["allowSessionOverrides"] is False
    assert response.json["updatedAt"] >= response.json["createdAt"]
    assert api.get(f"/chat-config/{created['chatConfigId']}").json == response.json


def test_update_chat_config_needs_the_edit_token(api: ApiClient) -> None:
    created = api.create_chat()
    other = api.create_chat()
    path = f"/chat-config/{created['chatConfigId']}"
    assert_error(api.put(path, DEFAULT_CONFIG), 401, "auth_required")
    assert_error(
        api.put(path, DEFAULT_CONFIG, headers={"Authorization": "Basic abc"}), 401, "auth_required"
    )
    assert_error(api.put(path, DEFAULT_CONFIG, token="et_wrong"), 403, "forbidden")
    assert_error(api.put(path, DEFAULT_CONFIG, token=other["editToken"]), 403, "forbidden")
    session = api.start_session(created["chatConfigId"])
    assert_error(api.put(path, DEFAULT_CONFIG, token=session["sessionToken"]), 403, "forbidden")
    assert api.get(path).json == created["config"]


def test_update_chat_config_replaces_all_fields(api: ApiClient) -> None:
    created = api.create_chat()
    response = api.put(
        f"/chat-config/{created['chatConfigId']}", {"title": "Only"}, token=created["editToken"]
    )
    assert_error(response, 400, "validation_error")


def test_update_unknown_config_is_404(api: ApiClient) -> None:
    assert_error(
        api.put("/chat-config/" + "0" * 32, DEFAULT_CONFIG, token="et_x"), 404, "config_not_found"
    )


# --- sessions ------------------------------------------------------------------


def test_session_copies_the_config(api: ApiClient) -> None:
    created = api.create_chat()
    session = api.start_session(created["chatConfigId"])
    assert session["sessionToken"].startswith("st_")
    assert session["chatConfigId"] == created["chatConfigId"]
    for name in DEFAULT_CONFIG:
        assert session[name] == DEFAULT_CONFIG[name]
    # A later edit of the config does not change an existing session.
    api.put(
        f"/chat-config/{created['chatConfigId']}",
        {**DEFAULT_CONFIG, "title": "Changed", "temperature": 1.5},
        token=created["editToken"],
    )
    view = api.get(f"/session/{session['sessionId']}", token=session["sessionToken"]).json
    assert view["title"] == DEFAULT_CONFIG["title"]
    assert view["temperature"] == DEFAULT_CONFIG["temperature"]
    assert view["messages"] == []


def test_session_accepts_snake_case_config_id(api: ApiClient) -> None:
    created = api.create_chat()
    response = api.post("/chat-session", {"chat_config_id": created["chatConfigId"]})
    assert response.status == 201


def test_session_for_unknown_config_is_404(api: ApiClient) -> None:
    assert_error(api.post("/chat-session", {"chatConfigId": "0" * 32}), 404, "config_not_found")
    assert_error(api.post("/chat-session", {"chatConfigId": "../x"}), 400, "validation_error")
    assert_error(api.post("/chat-session", {}), 400, "validation_error")


def test_session_routes_check_the_token(api: ApiClient) -> None:
    session = api.new_session()
    other = api.new_session()
    path = f"/session/{session['sessionId']}"
    assert_error(api.get(path), 401, "auth_required")
    assert_error(api.get(path, token="st_wrong"), 403, "forbidden")
    assert_error(api.get(path, token=other["sessionToken"]), 403, "forbidden")
    assert_error(api.put(path, {"title": "x"}, token=other["sessionToken"]), 403, "forbidden")
    assert_error(
        api.post(
            "/session-message",
            {"sessionId": session["sessionId"], "message": "hi"},
            token=other["sessionToken"],
        ),
        403,
        "forbidden",
    )
    assert_error(
        api.post("/session-message", {"sessionId": session["sessionId"], "message": "hi"}),
        401,
        "auth_required",
    )
    assert api.get(path, token=session["sessionToken"]).json["messages"] == []


def test_unknown_session_is_404(api: ApiClient) -> None:
    assert_error(api.get("/session/" + "0" * 32, token="st_x"), 404, "session_not_found")
    assert_error(api.put("/session/bad*id", {"title": "x"}, token="st_x"), 404, "session_not_found")
    response = api.post("/session-message", {"sessionId": "0" * 32, "message": "hi"}, token="st_x")
    assert_error(response, 404, "session_not_found")


def test_update_session_settings(api: ApiClient) -> None:
    session = api.new_session()
    path = f"/session/{session['sessionId']}"
    change = {"title": "Mine", "model": "gemini-2.0-flash", "system_prompt": "Be terse."}
    response = api.put(path, change, token=session["sessionToken"])
    assert response.status == 200
    assert response.json["title"] == "Mine"
    assert response.json["model"] == "gemini-2.0-flash"
    assert response.json["systemPrompt"] == "Be terse."
    assert response.json["temperature"] == DEFAULT_CONFIG["temperature"]
    assert "messages" not in response.json
    assert response.json["updatedAt"] >= session["createdAt"]
    view = api.get(path, token=session["sessionToken"]).json
    assert {k: view[k] for k in response.json} == response.json


@pytest.mark.parametrize(
    "body",
    [{}, {"title": None}, {"temperature": 3}, {"model": "nope"}, {"sessionId": "x"}],
)
def test_update_session_rejects_bad_bodies(api: ApiClient, body: dict) -> None:
    session = api.new_session()
    response = api.put(f"/session/{session['sessionId']}", body, token=session["sessionToken"])
    assert_error(response, 400, "validation_error")


def test_locked_session_allows_only_the_title(api: ApiClient) -> None:
    session = api.new_session(allowSessionOverrides=False)
    path = f"/session/{session['sessionId']}"
    token = session["sessionToken"]
    assert session["allowSessionOverrides"] is False
    assert api.put(path, {"title": "Renamed"}, token=token).status == 200
    for change in ({"temperature": 0.1}, {"model": "gemini-2.5-pro"}, {"systemPrompt": "x"}):
        assert_error(api.put(path, {"title": "T", **change}, token=token), 403, "settings_locked")
    # Resending a locked setting's current value changes nothing, so it is fine.
    same = {"title": "Again", "temperature": DEFAULT_CONFIG["temperature"]}
    assert api.put(path, same, token=token).status == 200
    view = api.get(path, token=token).json
    assert view["title"] == "Again"
    assert view["systemPrompt"] == DEFAULT_CONFIG["systemPrompt"]


# --- messages ------------------------------------------------------------------


def test_send_with_offline_model_stores_the_exchange(api: ApiClient) -> None:
    session = api.new_session()
    response = api.send(session, "Hello there")
    assert response.status == 200
    body = response.json
    assert body["sessionId"] == session["sessionId"]
    assert body["model"] == DEFAULT_CONFIG["model"]
    assert body["message"] == body["reply"]["content"]
    assert "offline model" in body["message"]
    assert body["userMessage"]["role"] == "user"
    assert body["userMessage"]["content"] == "Hello there"
    assert body["reply"]["role"] == "model"
    view = api.get(f"/session/{session['sessionId']}", token=session["sessionToken"]).json
    assert view["messages"] == [body["userMessage"], body["reply"]]


def test_send_accepts_snake_case_session_id(api: ApiClient) -> None:
    session = api.new_session()
    response = api.post(
        "/session-message",
        {"session_id": session["sessionId"], "message": "hi"},
        token=session["sessionToken"],
    )
    assert response.status == 200


@pytest.mark.parametrize("message", ["", "   \n", "x" * 32_001, 42, None])
def test_send_rejects_bad_messages(api: ApiClient, message: object) -> None:
    session = api.new_session()
    response = api.post(
        "/session-message",
        {"sessionId": session["sessionId"], "message": message},
        token=session["sessionToken"],
    )
    assert_error(response, 400, "validation_error")


def test_send_accepts_the_longest_message(api: ApiClient) -> None:
    assert api.send(api.new_session(), "x" * 32_000).status == 200


def test_session_view_shows_the_latest_100_messages_oldest_first(api: ApiClient) -> None:
    session = api.new_session()
    for number in range(55):
        assert api.send(session, f"message {number}").status == 200
    messages = api.get(f"/session/{session['sessionId']}", token=session["sessionToken"]).json[
        "messages"
    ]
    assert len(messages) == 100
    user_texts = [m["content"] for m in messages if m["role"] == "user"]
    assert user_texts == [f"message {n}" for n in range(5, 55)]
    assert [m["role"] for m in messages] == ["user", "model"] * 50


def test_prod_without_a_key_is_503_and_stores_nothing(api: ApiClient) -> None:
    from chalice.test import Client

    from app import app

    session = api.new_session()
    with Client(app, stage_name="prod") as client:
        prod = ApiClient(client)
        assert prod.get("/health").json["model"] == "unavailable"
        assert_error(prod.send(session, "hi"), 503, "model_unavailable")
    view = api.get(f"/session/{session['sessionId']}", token=session["sessionToken"]).json
    assert view["messages"] == []


# --- CORS ----------------------------------------------------------------------


def test_cors_headers_on_success_and_errors(api: ApiClient) -> None:
    for response in (
        api.get("/health"),
        api.post("/create-chat", {}),
        api.request("DELETE", "/create-chat"),
        api.get("/session/" + "0" * 32),
    ):
        assert response.headers["Access-Control-Allow-Origin"] == "*"
        allowed = response.headers["Access-Control-Allow-Headers"]
        assert "Authorization" in allowed and "Content-Type" in allowed


def allowed_by_preflight(headers: dict[str, str], requested: str) -> bool:
    """Whether a browser would send these request headers after this preflight answer."""
    allowed = {name.strip().lower() for name in headers["Access-Control-Allow-Headers"].split(",")}
    return {name.strip().lower() for name in requested.split(",")} <= allowed


def test_cors_preflight_allows_every_header_the_api_documents() -> None:
    # Chalice's test client cannot read a preflight's empty body, so this asks
    # the local gateway directly (the real local server is tested elsewhere).
    from chalice.config import Config
    from chalice.local import LocalGateway

    from app import app

    gateway = LocalGateway(app, Config())
    requested = "authorization,content-type,idempotency-key"
    response = gateway.handle_request(
        method="OPTIONS",
        path="/session-message",
        headers={
            "origin": "https://app.example",
            "access-control-request-method": "POST",
            "access-control-request-headers": requested,
        },
        body=b"",
    )
    assert response["statusCode"] == 200
    headers = response["headers"]
    assert headers["Access-Control-Allow-Origin"] == "*"
    assert "POST" in headers["Access-Control-Allow-Methods"]
    assert allowed_by_preflight(headers, requested)
    # Every header parameter of the contract is allowed.
    documented = {
        p["name"]
        for methods in openapi.build_document()["paths"].values()
        for op in methods.values()
        for p in op["parameters"]
        if p["in"] == "header"
    }
    assert allowed_by_preflight(headers, ",".join(documented | {"Authorization"}))


def test_cors_exposes_the_headers_a_client_acts_on(api: ApiClient) -> None:
    exposed = api.get("/health").headers["Access-Control-Expose-Headers"].lower().split(",")
    assert {"retry-after", "allow"} <= set(exposed)


def test_a_genuine_bug_is_500_in_our_shape_without_a_trace(api: ApiClient) -> None:
    from chalicelib.core import aws

    with failing(aws.get_s3_client(), "s3.GetObject", RuntimeError("secret internals")):
        response = api.get("/chat-config/" + "0" * 32)
    assert_error(response, 500, "internal_error")
    assert "secret internals" not in response.raw.decode()
    assert response.headers["Access-Control-Allow-Origin"] == "*"


def test_a_bad_setting_is_500_and_logged_not_shown(
    api: ApiClient, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("MAX_OUTPUT_TOKENS", "plenty")
    response = api.post("/create-chat", DEFAULT_CONFIG)
    assert_error(response, 500, "internal_error")
    assert "MAX_OUTPUT_TOKENS" not in response.raw.decode()
    assert "MAX_OUTPUT_TOKENS" in caplog.text
