"""The upload handshake: a presigned POST for exactly one object, then a check of what arrived."""

from __future__ import annotations

import base64
import json
import time
from datetime import UTC, datetime

import pytest

from chalicelib.core import aws
from chalicelib.services import files as file_service
from tests.conftest import BUCKET
from tests.uploads import (
    JPEG,
    PDF,
    PNG,
    WEBP,
    announce,
    complete,
    config_owner,
    post_to_s3,
    session_owner,
    upload,
)
from tests.utils import ApiClient, assert_error


def keys() -> list[str]:
    """The file objects in the bucket (configs left out)."""
    listed = aws.get_s3_client().list_objects_v2(Bucket=BUCKET)
    found = (item["Key"] for item in listed.get("Contents", []))
    return sorted(key for key in found if key.startswith(("files/", "file-uploads/")))


def policy_of(started: dict) -> dict:
    policy: dict = json.loads(base64.b64decode(started["upload"]["fields"]["policy"]))
    return policy


def test_the_form_allows_exactly_one_key_size_and_type_for_five_minutes(api: ApiClient) -> None:
    created = api.create_chat()
    owner = config_owner(created)
    before = time.time()
    started = announce(api, owner, "notes.pdf", "application/pdf", 1234)
    assert started.status == 201, started.json
    body = started.json
    assert body["file"]["status"] == "pending" and body["file"]["size"] == 1234
    key = f"file-uploads/config/{created['chatConfigId']}/{body['fileId']}"
    assert body["upload"]["fields"]["key"] == key
    assert body["upload"]["fields"]["Content-Type"] == "application/pdf"
    policy = policy_of(body)
    conditions = policy["conditions"]
    assert {"key": key} in conditions and {"bucket": BUCKET} in conditions
    assert ["content-length-range", 1234, 1234] in conditions
    assert {"Content-Type": "application/pdf"} in conditions
    expires = datetime.fromisoformat(policy["expiration"].replace("Z", "+00:00"))
    assert before + 299 <= expires.timestamp() <= time.time() + 301
    assert datetime.fromisoformat(body["expiresAt"].replace("Z", "+00:00")) == expires


@pytest.mark.parametrize(
    ("content_type", "data"),
    [
        ("application/pdf", PDF),
        ("image/png", PNG),
        ("image/jpeg", JPEG),
        ("image/webp", WEBP),
        ("text/plain", "héllo\n".encode()),
        ("text/markdown", b"# Title\n"),
        ("text/csv", b"a,b\n1,2\n"),
    ],
)
def test_each_type_uploads_and_completes(api: ApiClient, content_type: str, data: bytes) -> None:
    session = api.new_session()
    owner = session_owner(session)
    done = upload(api, owner, "file", content_type, data)
    assert done["status"] == "ready" and done["contentType"] == content_type
    assert keys() == [f"files/session/{session['sessionId']}/{done['fileId']}"]
    again = complete(api, owner, done["fileId"])
    assert again.status == 200 and again.json == done
    listed = api.get(f"{owner.base}/files", token=owner.token).json["files"]
    assert listed == [done]
    link = api.get(f"{owner.base}/files/{done['fileId']}/link", token=owner.token).json
    import requests

    assert requests.get(link["url"], timeout=10).content == data


def test_a_wrong_size_is_refused_and_deleted(api: ApiClient) -> None:
    owner = config_owner(api.create_chat())
    started = announce(api, owner, "a.txt", "text/plain", 5).json
    # S3 refuses this POST by the form's content-length-range; moto does not, so the
    # completion's own check is what this shows.
    assert post_to_s3(started, b"hello world") == 204
    response = complete(api, owner, started["fileId"])
    assert_error(response, 422, "file_rejected")
    assert response.json["details"] == {"reason": "size"}
    assert keys() == []
    assert api.get(f"{owner.base}/files", token=owner.token).json["files"] == []


@pytest.mark.parametrize(
    ("content_type", "data"),
    [
        ("image/png", b"GIF89a" + b"\x00" * 20),
        ("application/pdf", PNG),
        ("image/webp", b"RIFF\x00\x00\x00\x00AVI " + b"\x00" * 8),
        ("text/plain", b"\xff\xfe not utf-8"),
        ("text/csv", b"a,b\x00"),
    ],
)
def test_a_lying_content_type_is_refused_and_deleted(
    api: ApiClient, content_type: str, data: bytes
) -> None:
    owner = session_owner(api.new_session())
    started = announce(api, owner, "x", content_type, len(data)).json
    assert post_to_s3(started, data) == 204
    response = complete(api, owner, started["fileId"])
    assert_error(response, 422, "file_rejected")
    assert response.json["details"] == {"reason": "content"}
    assert keys() == []


def test_another_content_type_than_announced_is_refused(api: ApiClient) -> None:
    owner = session_owner(api.new_session())
    started = announce(api, owner, "x.png", "image/png", len(PNG)).json
    assert post_to_s3(started, PNG, content_type="text/html") == 204
    response = complete(api, owner, started["fileId"])
    assert_error(response, 422, "file_rejected")
    assert response.json["details"] == {"reason": "content_type"}


def test_completing_before_the_upload_arrives_keeps_it_pending(api: ApiClient) -> None:
    owner = config_owner(api.create_chat())
    started = announce(api, owner, "a.md", "text/markdown", 3).json
    assert_error(complete(api, owner, started["fileId"]), 409, "upload_incomplete")
    assert post_to_s3(started, b"# a") == 204
    assert complete(api, owner, started["fileId"]).json["status"] == "ready"


def test_an_expired_upload_cannot_be_completed_and_stops_counting(
    api: ApiClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    owner = config_owner(api.create_chat(limits={"filesPerConfig": 1}))
    # Forms that expired long ago, past the grace to complete after them.
    expired = pytest.MonkeyPatch()
    expired.setattr(file_service, "UPLOAD_SECONDS", -1000)
    expired.setattr(file_service, "COMPLETE_GRACE_SECONDS", 0)
    started = announce(api, owner, "a.txt", "text/plain", 2).json
    assert datetime.fromisoformat(policy_of(started)["expiration"].replace("Z", "+00:00")) < (
        datetime.now(UTC)
    )
    # S3 refuses a POST with an expired policy; moto does not, so the object arrives here.
    assert post_to_s3(started, b"hi") == 204
    assert_error(complete(api, owner, started["fileId"]), 410, "upload_expired")
    assert keys() == []
    # An expired upload never completed holds no place: the next announcement gives it back.
    abandoned = announce(api, owner, "b.txt", "text/plain", 2).json
    assert post_to_s3(abandoned, b"hi") == 204
    assert api.get(f"{owner.base}/files", token=owner.token).json["files"] == []
    expired.undo()
    assert announce(api, owner, "c.txt", "text/plain", 2).status == 201
    assert abandoned["fileId"] not in " ".join(keys())


def test_unknown_files_and_wrong_tokens(api: ApiClient) -> None:
    created = api.create_chat()
    owner = config_owner(created)
    assert_error(complete(api, owner, "nope"), 404, "file_not_found")
    base = owner.base
    response = api.post(
        f"{base}/files", {"filename": "a", "contentType": "text/plain", "size": 1}, token="et_wrong"
    )
    assert_error(response, 403, "forbidden")
    session = api.start_session(created["chatConfigId"])
    response = api.get(f"/session/{session['sessionId']}/files", token=created["editToken"])
    assert_error(response, 403, "forbidden")


@pytest.mark.parametrize(
    "body",
    [
        {"filename": "a.exe", "contentType": "application/x-msdownload", "size": 1},
        {"filename": "../a", "contentType": "text/plain", "size": 1},
        {"filename": " ", "contentType": "text/plain", "size": 1},
        {"filename": "a", "contentType": "text/plain", "size": 0},
        {"filename": "a", "contentType": "text/plain", "size": "1"},
    ],
)
def test_bad_announcements_are_refused(api: ApiClient, body: dict) -> None:
    owner = config_owner(api.create_chat())
    assert_error(api.post(f"{owner.base}/files", body, token=owner.token), 400, "validation_error")


def test_a_file_over_the_size_limit_is_refused(api: ApiClient) -> None:
    owner = config_owner(api.create_chat(limits={"fileMaxBytes": 100}))
    response = announce(api, owner, "a.pdf", "application/pdf", 101)
    assert_error(response, 413, "file_too_large")
    assert response.json["details"] == {"limit": "fileMaxBytes", "value": 100}
    assert announce(api, owner, "a.pdf", "application/pdf", 100).status == 201


def test_delete_removes_the_object_and_frees_its_place(api: ApiClient) -> None:
    owner = config_owner(api.create_chat(limits={"filesPerConfig": 1}))
    done = upload(api, owner, "a.pdf", "application/pdf", PDF)
    assert_error(announce(api, owner, "b.pdf", "application/pdf", 10), 429, "quota_exceeded")
    response = api.request("DELETE", f"{owner.base}/files/{done['fileId']}", token=owner.token)
    assert response.status == 204
    assert keys() == []
    assert_error(
        api.request("DELETE", f"{owner.base}/files/{done['fileId']}", token=owner.token),
        404,
        "file_not_found",
    )
    assert announce(api, owner, "b.pdf", "application/pdf", 10).status == 201


def test_deleting_a_config_or_a_session_deletes_its_files(api: ApiClient) -> None:
    created = api.create_chat()
    session = api.start_session(created["chatConfigId"])
    upload(api, config_owner(created), "k.txt", "text/plain", b"knowledge")
    upload(api, session_owner(session), "a.png", "image/png", PNG)
    pending = announce(api, config_owner(created), "pending.txt", "text/plain", 3)
    assert post_to_s3(pending.json, b"abc") == 204
    assert len(keys()) == 3
    token = session["sessionToken"]
    assert api.request("DELETE", f"/session/{session['sessionId']}", token=token).status == 204
    assert [key.split("/")[:2] for key in keys()] == [
        ["file-uploads", "config"],
        ["files", "config"],
    ]
    edit = created["editToken"]
    assert (
        api.request("DELETE", f"/chat-config/{created['chatConfigId']}", token=edit).status == 204
    )
    assert keys() == []
    items = aws.get_sessions_table().scan()["Items"]
    assert [item for item in items if str(item["sk"]).startswith("FILE")] == []
