"""Test helpers: files of each type, and the browser's side of an upload."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import requests

from tests.utils import ApiClient, ApiResponse

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 40
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 40
WEBP = b"RIFF\x24\x00\x00\x00WEBPVP8 " + b"\x00" * 40
PDF = b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n"


def handbook(pages: int) -> bytes:
    """A long text: `pages` pages of about 3,000 characters, each naming its page."""
    page = "Procedure {n}: the valve on deck {n} is opened by turning it thrice. " * 42
    return "\n\f".join(page.format(n=n) for n in range(1, pages + 1)).encode()


@dataclass(frozen=True)
class Owner:
    """Where files go: `/chat-config/{id}` with the edit token, `/session/{id}` with its own."""

    base: str
    token: str


def config_owner(created: dict[str, Any]) -> Owner:
    return Owner(f"/chat-config/{created['chatConfigId']}", created["editToken"])


def session_owner(session: dict[str, Any]) -> Owner:
    return Owner(f"/session/{session['sessionId']}", session["sessionToken"])


def announce(
    api: ApiClient, owner: Owner, filename: str, content_type: str, size: int
) -> ApiResponse:
    body = {"filename": filename, "contentType": content_type, "size": size}
    return api.post(f"{owner.base}/files", body, token=owner.token)


def post_to_s3(started: dict[str, Any], data: bytes, content_type: str | None = None) -> int:
    """The browser's POST of the file to the presigned form; the status S3 answered."""
    fields = dict(started["upload"]["fields"])
    if content_type is not None:
        fields["Content-Type"] = content_type
    response = requests.post(
        started["upload"]["url"], data=fields, files={"file": ("f", data)}, timeout=10
    )
    return response.status_code


def complete(api: ApiClient, owner: Owner, file_id: str) -> ApiResponse:
    return api.post(f"{owner.base}/files/{file_id}/complete", token=owner.token)


def upload(
    api: ApiClient, owner: Owner, filename: str, content_type: str, data: bytes
) -> dict[str, Any]:
    """Announce, POST to S3 and complete; the completed file."""
    started = announce(api, owner, filename, content_type, len(data))
    assert started.status == 201, started.json
    assert post_to_s3(started.json, data) == 204
    done = complete(api, owner, started.json["fileId"])
    assert done.status == 200, done.json
    return dict(done.json)
