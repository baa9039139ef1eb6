"""Running in public: who may create agents, the server's and the per-client limits,
hashed client addresses, and the operator's view.

Requests go through the app in process, the way API Gateway calls it: chalice's test
client gives every request the source address 127.0.0.1, so other clients are told
apart with X-Forwarded-For and TRUSTED_PROXY_HOPS, which is also what a spoofer tries.
"""

from __future__ import annotations

import json
import logging
import threading
from typing import Any

import pytest

from chalicelib.core import aws
from chalicelib.core.errors import AppError, QuotaExceeded
from chalicelib.schemas import ChatConfigCreate
from chalicelib.services import configs
from tests.fake_gemini import FakeGemini, reply_text
from tests.utils import DEFAULT_CONFIG, ApiClient, ApiResponse, assert_error

OPERATOR = "operator-secret-token"


def usage(api: ApiClient, **query: str) -> dict[str, Any]:
    suffix = "".join(f"?{k}={v}" for k, v in query.items())
    response = api.get(f"/operator/usage{suffix}", token=OPERATOR)
    assert response.status == 200, response.json
    return dict(response.json)


def from_address(address: str) -> dict[str, str]:
    return {"X-Forwarded-For": address}


def create(api: ApiClient, **kwargs: Any) -> ApiResponse:
    return api.post("/create-chat", DEFAULT_CONFIG, **kwargs)


# --- the operator's view ---------------------------------------------------------------


def test_without_an_operator_token_the_route_does_not_exist(api: ApiClient) -> None:
    assert_error(api.get("/operator/usage"), 404, "not_found")
    assert_error(api.get("/operator/usage", token="anything"), 404, "not_found")


def test_the_operator_route_needs_the_operators_token(
    api: ApiClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPERATOR_TOKEN", OPERATOR)
    assert_error(api.get("/operator/usage"), 401, "auth_required")
    assert_error(api.get("/operator/usage", token="not-the-operator"), 403, "forbidden")
    # An agent's edit token is no operator's token either.
    edit_token = api.create_chat()["editToken"]
    assert_error(api.get("/operator/usage", token=edit_token), 403, "forbidden")
    assert_error(api.get("/operator/usage?day=yesterday", token=OPERATOR), 400, "validation_error")
    assert usage(api, day="2020-01-01")["agentsCreated"] == 0


def test_the_operator_token_may_live_in_ssm(
    api: ApiClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPERATOR_TOKEN_PARAMETER", "/ai-maker/test/operator-token")
    assert_error(api.get("/operator/usage", token=OPERATOR), 404, "not_found")  # not made yet
    from chalicelib.core import parameters

    aws.get_ssm_client().put_parameter(
        Name="/ai-maker/test/operator-token", Value=OPERATOR, Type="SecureString"
    )
    parameters.reset_parameter_cache()  # a missing one is asked for again after a minute
    assert usage(api)["agentsCreated"] == 0


def test_the_usage_adds_up_what_happened(
    api: ApiClient, fake_gemini: FakeGemini, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPERATOR_TOKEN", OPERATOR)
    monkeypatch.setenv("BUDGET_TOKENS_PER_DAY", "100000")
    session = api.new_session(limits={"messagesPerSession": 2})
    api.start_session(session["chatConfigId"])
    fake_gemini.queue(*[reply_text("ok", prompt_tokens=11, reply_tokens=7)] * 2)
    replies = [api.send(session, "Hello"), api.send(session, "Again")]
    assert [r.status for r in replies] == [200, 200]
    assert_error(api.send(session, "Too many"), 429, "quota_exceeded")
    seen = usage(api)
    assert seen["tokens"] == {
        "budget": 100000,
        "used": sum(r.json["usage"]["totalTokens"] for r in replies),
        "reserved": 0,
    }
    assert seen["tokens"]["used"] == 36
    assert (seen["agentsCreated"], seen["sessionsCreated"], seen["messages"]) == (1, 2, 2)
    assert seen["refused"] == {"budget": 0, "quota": 1, "rateLimited": 0}


def test_budget_refusals_are_counted(
    api: ApiClient, fake_gemini: FakeGemini, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPERATOR_TOKEN", OPERATOR)
    monkeypatch.setenv("BUDGET_TOKENS_PER_DAY", "10")
    session = api.new_session()
    assert_error(api.send(session, "Hello"), 429, "budget_exhausted")
    assert usage(api)["refused"]["budget"] == 1
    assert fake_gemini.answered_count == 0


# --- who may create agents ---------------------------------------------------------------


def test_closed_creation_needs_the_operators_token(
    api: ApiClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AGENT_CREATION", "operator")
    monkeypatch.setenv("OPERATOR_TOKEN", OPERATOR)
    assert_error(create(api), 403, "creation_closed")
    assert_error(create(api, token="a-guess"), 403, "creation_closed")
    assert_error(create(api, headers={"Authorization": "Basic b3A6b3A="}), 403, "creation_closed")
    assert create(api, token=OPERATOR).status == 201
    assert usage(api)["agentsCreated"] == 1


def test_closed_creation_without_an_operator_token_is_closed_to_all(
    api: ApiClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AGENT_CREATION", "operator")
    assert_error(create(api, token=""), 403, "creation_closed")
    assert_error(create(api, token="anything"), 403, "creation_closed")


def test_agents_per_day_holds_exactly_under_concurrency(
    api: ApiClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Through the service, in threads: Chalice's test client swaps os.environ per request,
    which threads cannot share."""
    monkeypatch.setenv("LIMIT_AGENTS_PER_DAY", "5")
    monkeypatch.setenv("OPERATOR_TOKEN", OPERATOR)
    created: list[str] = []
    refused: list[AppError] = []
    lock = threading.Lock()
    start = threading.Barrier(12)
    request = ChatConfigCreate.model_validate(DEFAULT_CONFIG)

    def creator() -> None:
        start.wait()
        try:
            made = configs.create_chat_config(request, "")
        except AppError as error:
            with lock:
                refused.append(error)
        else:
            with lock:
                created.append(made.chat_config_id)

    threads = [threading.Thread(target=creator) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert (len(created), len(refused)) == (5, 7)
    for error in refused:
        assert isinstance(error, QuotaExceeded)
        assert error.details == {"limit": "agentsPerDay", "value": 5}
        assert error.retry_after and error.retry_after > 0
    # Nothing of a refused agent is stored: five agents' controls, five S3 objects.
    items = aws.get_sessions_table().scan()["Items"]
    assert len({i["pk"] for i in items if str(i["sk"]).startswith("STATE#")}) == 5
    assert usage(api)["agentsCreated"] == 5
    # And over HTTP, the sixth is refused with the same details.
    response = create(api)
    assert_error(response, 429, "quota_exceeded")
    assert response.json["details"] == {"limit": "agentsPerDay", "value": 5}
    assert int(response.headers["Retry-After"]) > 0


# --- per-client limits ------------------------------------------------------------------


@pytest.fixture
def behind_one_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRUSTED_PROXY_HOPS", "1")


def test_messages_per_client_per_minute(
    api: ApiClient, fake_gemini: FakeGemini, monkeypatch: pytest.MonkeyPatch, behind_one_proxy: None
) -> None:
    monkeypatch.setenv("LIMIT_MESSAGES_PER_CLIENT_PER_MINUTE", "2")
    monkeypatch.setenv("OPERATOR_TOKEN", OPERATOR)
    session = api.new_session()
    alice, bob = from_address("198.51.100.7"), from_address("203.0.113.9")
    assert api.send(session, "one", headers=alice).status == 200
    assert api.send(session, "two", headers=alice).status == 200
    refused = api.send(session, "three", headers=alice)
    assert_error(refused, 429, "rate_limited")
    assert refused.json["details"] == {"limit": "messagesPerClientPerMinute", "value": 2}
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    # Another client is not held back, and the refused send cost the session nothing.
    assert api.send(session, "three", headers=bob).status == 200
    assert fake_gemini.answered_count == 3
    assert usage(api)["refused"]["rateLimited"] == 1
    # The stored exchanges: three, none of the refused one.
    history = api.get(f"/session/{session['sessionId']}", token=session["sessionToken"])
    assert len(history.json["messages"]) == 6


def test_sessions_per_client_per_hour(
    api: ApiClient, monkeypatch: pytest.MonkeyPatch, behind_one_proxy: None
) -> None:
    monkeypatch.setenv("LIMIT_SESSIONS_PER_CLIENT_PER_HOUR", "2")
    config_id = api.create_chat()["chatConfigId"]
    body = {"chatConfigId": config_id}
    alice = from_address("198.51.100.7")
    assert [api.post("/chat-session", body, headers=alice).status for _ in range(2)] == [201] * 2
    refused = api.post("/chat-session", body, headers=alice)
    assert_error(refused, 429, "rate_limited")
    assert refused.json["details"] == {"limit": "sessionsPerClientPerHour", "value": 2}
    assert 1 <= int(refused.headers["Retry-After"]) <= 3600
    assert api.post("/chat-session", body, headers=from_address("203.0.113.9")).status == 201


def test_agents_per_client_per_day_and_the_operator_is_exempt(
    api: ApiClient, monkeypatch: pytest.MonkeyPatch, behind_one_proxy: None
) -> None:
    monkeypatch.setenv("LIMIT_AGENTS_PER_CLIENT_PER_DAY", "1")
    monkeypatch.setenv("OPERATOR_TOKEN", OPERATOR)
    alice = from_address("198.51.100.7")
    assert create(api, headers=alice).status == 201
    refused = create(api, headers=alice)
    assert_error(refused, 429, "rate_limited")
    assert refused.json["details"] == {"limit": "agentsPerClientPerDay", "value": 1}
    assert create(api, headers=alice, token=OPERATOR).status == 201
    # A refused creation stores nothing: two agents' controls.
    items = aws.get_sessions_table().scan()["Items"]
    assert len({i["pk"] for i in items if str(i["sk"]).startswith("STATE#")}) == 2


def test_a_spoofed_forwarded_for_is_not_trusted(
    api: ApiClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without TRUSTED_PROXY_HOPS, every request counts as its source address's."""
    monkeypatch.setenv("LIMIT_SESSIONS_PER_CLIENT_PER_HOUR", "2")
    config_id = api.create_chat()["chatConfigId"]
    body = {"chatConfigId": config_id}
    answers = [
        api.post("/chat-session", body, headers=from_address(f"192.0.2.{n}")).status
        for n in range(3)
    ]
    assert answers == [201, 201, 429]


def test_with_one_trusted_hop_only_the_last_forwarded_address_counts(
    api: ApiClient, monkeypatch: pytest.MonkeyPatch, behind_one_proxy: None
) -> None:
    """A client that sends its own X-Forwarded-For gets the proxy's entry appended."""
    monkeypatch.setenv("LIMIT_SESSIONS_PER_CLIENT_PER_HOUR", "1")
    config_id = api.create_chat()["chatConfigId"]
    body = {"chatConfigId": config_id}
    first = api.post("/chat-session", body, headers=from_address("10.0.0.1, 198.51.100.7"))
    second = api.post("/chat-session", body, headers=from_address("10.0.0.2, 198.51.100.7"))
    assert (first.status, second.status) == (201, 429)


def test_no_address_is_stored_or_logged(
    api: ApiClient,
    fake_gemini: FakeGemini,
    monkeypatch: pytest.MonkeyPatch,
    behind_one_proxy: None,
    caplog: pytest.LogCaptureFixture,
) -> None:
    for name in (
        "LIMIT_AGENTS_PER_CLIENT_PER_DAY",
        "LIMIT_SESSIONS_PER_CLIENT_PER_HOUR",
        "LIMIT_MESSAGES_PER_CLIENT_PER_MINUTE",
    ):
        monkeypatch.setenv(name, "5")
    address = "198.51.100.77"
    caplog.set_level(logging.DEBUG)
    config = create(api, headers=from_address(address)).json
    session = api.post(
        "/chat-session", {"chatConfigId": config["chatConfigId"]}, headers=from_address(address)
    ).json
    assert api.send(session, "Hello", headers=from_address(address)).status == 200
    items = aws.get_sessions_table().scan()["Items"]
    dumped = json.dumps(items, default=str)
    assert address not in dumped and "127.0.0.1" not in dumped
    clients = [i for i in items if str(i["pk"]).startswith("CLIENT#")]
    assert {str(i["sk"]).split("#")[0] for i in clients} == {"AGENTS", "SESSIONS", "MESSAGES"}
    keys = {str(i["pk"]).removeprefix("CLIENT#") for i in clients}
    assert len(keys) == 1 and all(len(k) == 32 and int(k, 16) >= 0 for k in keys)
    assert all(int(str(i["expiresAt"])) > 0 for i in clients)
    assert address not in caplog.text


def test_the_hash_is_keyed_by_the_servers_secret(
    api: ApiClient, monkeypatch: pytest.MonkeyPatch, behind_one_proxy: None
) -> None:
    """The same address under two secrets is two unrelated keys: no table of hashes of
    every IPv4 address, made once, can name a client."""
    from chalicelib.core.clients import client_key
    from chalicelib.core.settings import get_settings

    monkeypatch.setenv("CLIENT_HASH_SECRET", "one")
    first = client_key("198.51.100.7", get_settings())
    monkeypatch.setenv("CLIENT_HASH_SECRET", "two")
    assert client_key("198.51.100.7", get_settings()) != first
    monkeypatch.setenv("CLIENT_HASH_SECRET_PARAMETER", "/ai-maker/test/client-hash-secret")
    monkeypatch.delenv("CLIENT_HASH_SECRET")
    aws.get_ssm_client().put_parameter(
        Name="/ai-maker/test/client-hash-secret", Value="one", Type="SecureString"
    )
    assert client_key("198.51.100.7", get_settings()) == first


@pytest.mark.parametrize("value", ["0"])
def test_zero_switches_a_per_client_limit_off(
    api: ApiClient, monkeypatch: pytest.MonkeyPatch, value: str, behind_one_proxy: None
) -> None:
    monkeypatch.setenv("LIMIT_SESSIONS_PER_CLIENT_PER_HOUR", value)
    config_id = api.create_chat()["chatConfigId"]
    alice = from_address("198.51.100.7")
    statuses = [
        api.post("/chat-session", {"chatConfigId": config_id}, headers=alice).status
        for _ in range(5)
    ]
    assert statuses == [201] * 5
    items = aws.get_sessions_table().scan()["Items"]
    assert not [i for i in items if str(i["pk"]).startswith("CLIENT#")]


# --- the client's address, as the local servers pass it on ----------------------------


def _post_from(url: str, source: str, path: str, body: dict[str, Any], token: str = "") -> int:
    """POST from a given loopback address: the server sees it as the socket's peer."""
    import http.client
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    connection = http.client.HTTPConnection(
        parts.hostname or "", parts.port, timeout=30, source_address=(source, 0)
    )
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    try:
        connection.request("POST", path, json.dumps(body), headers)
        return connection.getresponse().status
    finally:
        connection.close()


def test_chalice_local_counts_each_peer_address_apart(
    api: ApiClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """chalice.local says 127.0.0.1 for every request; its hooks put the peer there."""
    from tests.local_stack import serve_in_process

    monkeypatch.setenv("LIMIT_SESSIONS_PER_CLIENT_PER_HOUR", "1")
    body = {"chatConfigId": api.create_chat()["chatConfigId"]}
    with serve_in_process() as url:
        first = _post_from(url, "127.0.0.1", "/chat-session", body)
        again = _post_from(url, "127.0.0.1", "/chat-session", body)
        other = _post_from(url, "127.0.0.2", "/chat-session", body)
    assert (first, again, other) == (201, 429, 201)


def test_the_websocket_api_counts_each_peer_address_apart(
    api: ApiClient, fake_gemini: FakeGemini, monkeypatch: pytest.MonkeyPatch, ws_url: str
) -> None:
    from tests.ws_client import WsClient, ws_connect

    monkeypatch.setenv("LIMIT_MESSAGES_PER_CLIENT_PER_MINUTE", "1")
    session = api.new_session()
    with ws_connect(ws_url) as ws:
        assert ws.send_message(session, "One")[-1]["type"] == "done"
        (refused,) = ws.send_message(session, "Two", request_id="r2")
    assert refused["type"] == "error" and refused["code"] == "rate_limited"
    assert refused["details"] == {"limit": "messagesPerClientPerMinute", "value": 1}
    assert 1 <= refused["retryAfter"] <= 60
    from websockets.sync.client import connect

    with connect(ws_url, source_address=("127.0.0.2", 0)) as connection:
        frames = WsClient(connection).send_message(session, "Three", request_id="r3")
    assert frames[-1]["type"] == "done"


def test_a_budget_refusal_over_the_websocket_api_is_an_error_frame(
    api: ApiClient, fake_gemini: FakeGemini, monkeypatch: pytest.MonkeyPatch, ws_url: str
) -> None:
    from tests.ws_client import ws_connect

    monkeypatch.setenv("BUDGET_TOKENS_PER_DAY", "10")
    monkeypatch.setenv("OPERATOR_TOKEN", OPERATOR)
    session = api.new_session()
    with ws_connect(ws_url) as ws:
        (refused,) = ws.send_message(session, "Hello")
    assert (refused["type"], refused["code"]) == ("error", "budget_exhausted")
    assert refused["details"]["scope"] == "operator" and refused["details"]["limit"] == 10
    assert refused["details"]["remaining"] < refused["details"]["needed"]
    assert 0 < refused["retryAfter"] <= 24 * 60 * 60
    assert fake_gemini.answered_count == 0
    assert usage(api)["refused"]["budget"] == 1
