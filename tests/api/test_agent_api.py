"""The /v1 endpoints in process: what reaches Gemini, what is stored, what each call costs."""

from __future__ import annotations

from typing import Any

from chalicelib.core.aws import get_s3_client, get_sessions_table
from chalicelib.core.settings import get_settings
from chalicelib.core.tokens import hash_token
from chalicelib.services.sessions import session_record
from chalicelib.stores.configs import ConfigStore
from chalicelib.stores.keys import key_partition
from chalicelib.stores.quotas import QuotaStore
from tests.api.test_api_keys import make_key
from tests.conftest import BUCKET
from tests.fake_gemini import FakeGemini, error
from tests.uploads import config_owner, upload
from tests.utils import ApiClient, counting_dynamodb

AGENT: dict[str, Any] = {
    "systemPrompt": "Answer like a pirate.",
    "topP": 0.9,
    "maxOutputTokens": 300,
    "stopSequences": ["ARR"],
    "tools": {"googleSearch": True},
}


def complete(api: ApiClient, key: str, chat: dict, text: str = "Hello!", **extra: Any):
    body = {"model": chat["chatConfigId"], "messages": [{"role": "user", "content": text}]}
    return api.post("/v1/chat/completions", {**body, **extra}, token=key)


def test_a_completion_asks_gemini_exactly_as_a_visitors_send(
    api: ApiClient, fake_gemini: FakeGemini
) -> None:
    chat = api.create_chat(**AGENT)
    upload(api, config_owner(chat), "ship.txt", "text/plain", b"The ship is the Black Pearl.")
    key = make_key(api, chat)["apiKey"]
    session = api.start_session(chat["chatConfigId"])
    assert api.send(session, "Hello!").status == 200
    visitor = fake_gemini.last_request.body
    assert complete(api, key, chat).status == 200
    assert fake_gemini.last_request.body == visitor
    response = api.post("/v1/responses", {"input": "Hello!"}, token=key)
    assert response.status == 200, response.json
    assert fake_gemini.last_request.body == visitor
    # System prompt first, then the knowledge; the tool on.
    assert visitor["systemInstruction"]["parts"][0]["text"] == "Answer like a pirate."
    assert "Black Pearl" in str(visitor["contents"][0])
    assert visitor["tools"] == [{"googleSearch": {}}]


def test_calls_cost_these_dynamodb_calls(api: ApiClient, fake_gemini: FakeGemini) -> None:
    chat = api.create_chat()
    key = make_key(api, chat)["apiKey"]
    assert complete(api, key, chat).status == 200  # the first use writes lastUsedAt
    client = get_sessions_table().meta.client
    with counting_dynamodb(client) as calls:
        assert complete(api, key, chat).status == 200
    # The key and its calls in flight; the knowledge; the reservation; its settling.
    assert [c.operation for c in calls] == [
        "Query", "Query", "TransactWriteItems", "TransactWriteItems",
    ]  # fmt: skip
    with counting_dynamodb(client) as calls:
        first = api.post("/v1/responses", {"input": "Hi"}, token=key)
    # ... and the session, put with its count, then the exchange stored with the settling.
    assert [c.operation for c in calls] == [
        "Query", "Query", "TransactWriteItems", "TransactWriteItems", "TransactWriteItems",
    ]  # fmt: skip
    with counting_dynamodb(client) as calls:
        again = {"input": "Again", "previous_response_id": first.json["id"]}
        assert api.post("/v1/responses", again, token=key).status == 200
    # The key; the session and its history in one Query; reserve; store.
    assert [c.operation for c in calls] == [
        "Query", "Query", "TransactWriteItems", "TransactWriteItems",
    ]  # fmt: skip


def test_a_completion_stores_nothing(
    api: ApiClient, fake_gemini: FakeGemini, session_store
) -> None:
    chat = api.create_chat()
    key = make_key(api, chat)["apiKey"]
    table = session_store.table
    complete(api, key, chat)
    before = table.scan()["Items"]
    assert complete(api, key, chat, "A secret of mine").status == 200
    after = table.scan()["Items"]
    assert not any("A secret of mine" in str(item) for item in after)
    assert not any(str(item["pk"]).startswith("SESSION#") for item in after)
    # Only counters are new: a day's messages or tokens on another shard.
    new = {(i["pk"], i["sk"]) for i in after} - {(i["pk"], i["sk"]) for i in before}
    assert all(str(sk).startswith(("DAY#", "BUDGET#", "TOKENS#")) for _, sk in new), new
    assert not any(str(sk).startswith("RESV#") for _, sk in {(i["pk"], i["sk"]) for i in after})


def test_a_failed_model_call_gives_the_quota_back(api: ApiClient, fake_gemini: FakeGemini) -> None:
    chat = api.create_chat(limits={"messagesPerDay": 1})
    key = make_key(api, chat)["apiKey"]
    fake_gemini.queue(error(400, "bad request"))
    failed = complete(api, key, chat)
    assert failed.status == 502
    assert failed.json["error"]["type"] == "server_error"
    assert failed.json["error"]["code"] == "model_error"
    assert complete(api, key, chat).status == 200
    refused = complete(api, key, chat)
    assert refused.status == 429 and int(refused.headers["Retry-After"]) > 0
    assert refused.json["error"] | {"message": ""} == {
        "message": "",
        "type": "rate_limit_error",
        "code": "quota_exceeded",
        "param": None,
    }


def test_a_dead_calls_quota_is_given_back_by_the_keys_next_call(
    api: ApiClient, fake_gemini: FakeGemini
) -> None:
    chat = api.create_chat(limits={"messagesPerDay": 1})
    key = make_key(api, chat)["apiKey"]
    found = ConfigStore(get_s3_client(), BUCKET).get(chat["chatConfigId"])
    assert found is not None
    config = found[0]
    # A call that reserved and died: its lease already over.
    QuotaStore(get_sessions_table()).reserve_message(
        session_record(config, ""), get_settings(), -1, holder=key_partition(hash_token(key))
    )
    assert complete(api, key, chat).status == 200


def test_errors_on_v1_are_in_openais_shape(api: ApiClient, fake_gemini: FakeGemini) -> None:
    missing = api.get("/v1/models")
    assert missing.status == 401
    assert set(missing.json) == {"error"}
    assert missing.json["error"]["type"] == "authentication_error"
    assert missing.json["error"]["code"] == "auth_required"
    chat = api.create_chat()
    key = make_key(api, chat)["apiKey"]
    broken = api.post("/v1/chat/completions", raw="{", token=key)
    assert broken.status == 400
    assert broken.json["error"]["code"] == "invalid_json"
    assert broken.json["error"]["type"] == "invalid_request_error"
    many = complete(api, key, chat, n=2)
    assert (many.status, many.json["error"]["param"]) == (400, "n")
    nested = api.post(
        "/v1/chat/completions",
        {"model": chat["chatConfigId"], "messages": [{"role": "tool", "content": "x"}]},
        token=key,
    )
    assert (nested.status, nested.json["error"]["param"]) == (400, "messages.0.role")
    # The rest of the API keeps its own shape.
    assert set(api.get("/chat-config/nope").json) == {"error", "code"}


def test_a_paused_agent_answers_no_new_conversation(
    api: ApiClient, fake_gemini: FakeGemini
) -> None:
    chat = api.create_chat(sharing=False)
    key = make_key(api, chat)["apiKey"]
    refused = complete(api, key, chat)
    assert (refused.status, refused.json["error"]["type"]) == (403, "permission_error")
    response = api.post("/v1/responses", {"input": "Hi"}, token=key)
    assert response.json["error"]["code"] == "sharing_disabled"
    assert fake_gemini.requests == []


def test_a_response_id_opens_nothing_without_a_key_of_its_agent(
    api: ApiClient, fake_gemini: FakeGemini
) -> None:
    chat = api.create_chat()
    key = make_key(api, chat)["apiKey"]
    first = api.post("/v1/responses", {"input": "Hi"}, token=key).json
    session_id = first["id"].removeprefix("resp_").partition("_")[0]
    # Its session is no visitor's: no token opens it, and its id is no token.
    assert api.get(f"/session/{session_id}", token=first["id"]).status == 403
    later = {"input": "x", "previous_response_id": first["id"]}
    assert api.post("/v1/responses", later, token=first["id"]).status == 401
    # Nor does a visitor's session become a conversation of the API.
    session = api.start_session(chat["chatConfigId"])
    reply = api.send(session, "Hello").json
    forged = f"resp_{session['sessionId']}_{reply['reply']['id']}"
    stolen = api.post("/v1/responses", {"input": "x", "previous_response_id": forged}, token=key)
    assert stolen.status == 404
