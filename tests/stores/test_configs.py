"""The S3 config store, against moto."""

from __future__ import annotations

import json

import pytest

from chalicelib.core.errors import ConcurrentUpdate, StorageUnavailable
from chalicelib.core.tokens import hash_token
from chalicelib.stores.configs import ConfigStore, StoredChatConfig
from tests.conftest import BUCKET
from tests.utils import ApiClient, failing


def make_config(config_id: str = "abc123", title: str = "T") -> StoredChatConfig:
    return StoredChatConfig(
        chat_config_id=config_id,
        title=title,
        model="gemini-2.5-flash",
        system_prompt="p",
        temperature=0.5,
        allow_session_overrides=True,
        created_at="2026-01-01T00:00:00.000Z",
        updated_at="2026-01-01T00:00:00.000Z",
        edit_token_hash=hash_token("et_secret"),
    )


def test_missing_config_is_none(config_store: ConfigStore) -> None:
    assert config_store.get("nothing") is None


def test_create_and_read_back(config_store: ConfigStore) -> None:
    config = make_config()
    config_store.create(config)
    found = config_store.get("abc123")
    assert found is not None
    assert found[0] == config
    assert found[1]


def test_objects_use_the_seed_layout_and_hide_the_token(config_store: ConfigStore) -> None:
    config_store.create(make_config())
    raw = config_store._s3.get_object(Bucket=BUCKET, Key="chat-configs/abc123.json")
    stored = json.loads(raw["Body"].read())
    assert stored["editTokenHash"] == hash_token("et_secret")
    assert "et_secret" not in json.dumps(stored)
    assert "editTokenHash" not in make_config().to_public().model_dump(by_alias=True)


def test_create_never_overwrites(config_store: ConfigStore) -> None:
    config_store.create(make_config())
    with pytest.raises(ConcurrentUpdate):
        config_store.create(make_config(title="other"))
    found = config_store.get("abc123")
    assert found is not None and found[0].title == "T"


def test_replace_refuses_a_stale_version(config_store: ConfigStore) -> None:
    config_store.create(make_config())
    found = config_store.get("abc123")
    assert found is not None
    _, etag = found
    config_store.replace(make_config(title="first edit"), etag)
    with pytest.raises(ConcurrentUpdate):
        config_store.replace(make_config(title="lost edit"), etag)
    found = config_store.get("abc123")
    assert found is not None and found[0].title == "first edit"


def test_unreachable_bucket_is_storage_unavailable(config_store: ConfigStore) -> None:
    store = ConfigStore(config_store._s3, "no-such-bucket")
    with pytest.raises(StorageUnavailable):
        store.get("abc123")
    with pytest.raises(StorageUnavailable):
        store.create(make_config())


def test_s3_failure_on_create_is_503_and_stores_nothing(
    api: ApiClient, config_store: ConfigStore
) -> None:
    with failing(config_store._s3, "s3.PutObject"):
        response = api.post(
            "/create-chat",
            {"title": "T", "model": "gemini-2.5-flash", "systemPrompt": "", "temperature": 1},
        )
    assert response.status == 503
    assert response.json["code"] == "storage_unavailable"
    assert config_store._s3.list_objects_v2(Bucket=BUCKET).get("KeyCount") == 0


def test_a_create_whose_first_attempt_was_applied_succeeds(config_store: ConfigStore) -> None:
    """A retried create that finds its own object (the first answer was lost) succeeds."""
    config = make_config("retried")
    etag = config_store.create(config)
    assert config_store.create(config) == etag
    stored = config_store.get("retried")
    assert stored is not None and stored[0] == config
