"""An agent's API keys: made with the edit token, shown once, listed, revoked."""

from __future__ import annotations

from chalicelib.core.tokens import hash_token
from chalicelib.schemas.keys import MAX_API_KEYS
from tests.utils import ApiClient, assert_error


def keys_path(chat: dict, suffix: str = "") -> str:
    return f"/chat-config/{chat['chatConfigId']}/api-keys{suffix}"


def make_key(api: ApiClient, chat: dict, name: str = "my app") -> dict:
    response = api.post(keys_path(chat), {"name": name}, token=chat["editToken"])
    assert response.status == 201, response.json
    return dict(response.json)


def models(api: ApiClient, key: str):
    return api.get("/v1/models", token=key)


def test_a_key_is_shown_once_stored_as_its_hash_and_listed(api: ApiClient, session_store) -> None:
    chat = api.create_chat()
    made = make_key(api, chat, "  laptop  ")
    assert set(made) == {"keyId", "name", "apiKey", "createdAt"}
    assert made["name"] == "laptop"
    assert made["apiKey"].startswith("aim_") and len(made["apiKey"]) >= 4 + 43
    items = session_store.table.scan()["Items"]
    assert not any(made["apiKey"] in str(item) for item in items)
    assert any(hash_token(made["apiKey"]) in str(item["pk"]) for item in items)
    listed = api.get(keys_path(chat), token=chat["editToken"])
    assert listed.status == 200
    assert listed.json == {
        "keys": [
            {
                "keyId": made["keyId"],
                "name": "laptop",
                "createdAt": made["createdAt"],
                "lastUsedAt": None,
            }
        ]
    }
    assert models(api, made["apiKey"]).status == 200
    (used,) = api.get(keys_path(chat), token=chat["editToken"]).json["keys"]
    assert used["lastUsedAt"] is not None


def test_last_used_is_written_once_an_hour_not_per_call(api: ApiClient, session_store) -> None:
    from tests.utils import counting_dynamodb

    chat = api.create_chat()
    key = make_key(api, chat)["apiKey"]
    models(api, key)
    with counting_dynamodb(session_store.table.meta.client) as calls:
        for _ in range(3):
            assert models(api, key).status == 200
    assert [call.operation for call in calls] == ["Query"] * 3


def test_key_routes_need_the_edit_token(api: ApiClient) -> None:
    chat = api.create_chat()
    other = api.create_chat()
    assert_error(api.post(keys_path(chat), {"name": "x"}), 401, "auth_required")
    refused = api.post(keys_path(chat), {"name": "x"}, token=other["editToken"])
    assert_error(refused, 403, "forbidden")
    assert_error(api.get(keys_path(chat), token=other["editToken"]), 403, "forbidden")
    bad = api.post(keys_path(chat), {"name": " "}, token=chat["editToken"])
    assert_error(bad, 400, "validation_error")
    long = api.post(keys_path(chat), {"name": "x" * 101}, token=chat["editToken"])
    assert_error(long, 400, "validation_error")
    unknown = api.post("/chat-config/nope/api-keys", {"name": "x"}, token=chat["editToken"])
    assert_error(unknown, 404, "config_not_found")


def test_a_revoked_key_is_refused_at_once(api: ApiClient) -> None:
    chat = api.create_chat()
    made = make_key(api, chat)
    kept = make_key(api, chat, "kept")
    gone = api.request("DELETE", keys_path(chat, f"/{made['keyId']}"), token=chat["editToken"])
    assert gone.status == 204
    refused = models(api, made["apiKey"])
    assert refused.status == 401
    assert refused.json["error"]["code"] == "invalid_api_key"
    assert models(api, kept["apiKey"]).status == 200
    again = api.request("DELETE", keys_path(chat, f"/{made['keyId']}"), token=chat["editToken"])
    assert_error(again, 404, "not_found")
    listed = api.get(keys_path(chat), token=chat["editToken"]).json["keys"]
    assert [key["name"] for key in listed] == ["kept"]


def test_an_agent_holds_at_most_its_cap_of_keys(api: ApiClient) -> None:
    chat = api.create_chat()
    made = [make_key(api, chat, f"k{n}") for n in range(MAX_API_KEYS)]
    over = api.post(keys_path(chat), {"name": "one more"}, token=chat["editToken"])
    assert_error(over, 409, "too_many_api_keys")
    api.request("DELETE", keys_path(chat, f"/{made[0]['keyId']}"), token=chat["editToken"])
    make_key(api, chat, "room again")


def test_a_deleted_agents_keys_are_refused(api: ApiClient) -> None:
    chat = api.create_chat()
    key = make_key(api, chat)["apiKey"]
    assert api.request("DELETE", f"/chat-config/{chat['chatConfigId']}", token=chat["editToken"])
    refused = models(api, key)
    assert refused.status == 401
    assert refused.json["error"]["code"] == "invalid_api_key"


def test_a_rotated_edit_token_keeps_the_agents_keys(api: ApiClient) -> None:
    chat = api.create_chat()
    key = make_key(api, chat)["apiKey"]
    rotated = api.post(f"/chat-config/{chat['chatConfigId']}/rotate-token", token=chat["editToken"])
    assert rotated.status == 200
    assert models(api, key).status == 200
