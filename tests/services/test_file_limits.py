"""File limits hold exactly when uploads are announced at the same time."""

from __future__ import annotations

import threading
from collections.abc import Callable

from chalicelib.core.errors import QuotaExceeded
from chalicelib.schemas import FileUploadCreate
from chalicelib.services import files as file_service
from tests.uploads import announce, config_owner, post_to_s3, session_owner
from tests.utils import ApiClient, assert_error


def race(count: int, attempt: Callable[[int], None]) -> list[str]:
    """Run `attempt(n)` in `count` threads released together; each one's outcome."""
    barrier = threading.Barrier(count)
    outcomes: list[str] = []

    def run(number: int) -> None:
        barrier.wait()
        try:
            attempt(number)
            outcomes.append("announced")
        except QuotaExceeded as exc:
            details = exc.details if isinstance(exc.details, dict) else {}
            outcomes.append(f"refused {details.get('limit')}")
        except Exception as exc:  # noqa: BLE001 - any other outcome fails the test
            outcomes.append(repr(exc))

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sorted(outcomes)


def test_files_per_config_hold_under_concurrency(api: ApiClient) -> None:
    created = api.create_chat(limits={"filesPerConfig": 3})
    request = FileUploadCreate(filename="a.txt", content_type="text/plain", size=10)

    def attempt(_: int) -> None:
        file_service.start_upload("config", created["chatConfigId"], created["editToken"], request)

    outcomes = race(12, attempt)
    assert outcomes == ["announced"] * 3 + ["refused filesPerConfig"] * 9
    owner = config_owner(created)
    assert len(api.get(f"{owner.base}/files", token=owner.token).json["files"]) == 3


def test_bytes_per_day_hold_under_concurrency_across_sessions(api: ApiClient) -> None:
    created = api.create_chat(limits={"fileBytesPerDay": 250})
    sessions = [api.start_session(created["chatConfigId"]) for _ in range(10)]
    request = FileUploadCreate(filename="a.pdf", content_type="application/pdf", size=100)

    def attempt(number: int) -> None:
        session = sessions[number]
        file_service.start_upload("session", session["sessionId"], session["sessionToken"], request)

    outcomes = race(10, attempt)
    assert outcomes == ["announced"] * 2 + ["refused fileBytesPerDay"] * 8
    refused = announce(api, session_owner(sessions[0]), "b.txt", "text/plain", 51)
    assert_error(refused, 429, "quota_exceeded")
    assert int(refused.headers["Retry-After"]) > 0
    assert announce(api, session_owner(sessions[0]), "b.txt", "text/plain", 50).status == 201


def test_a_refused_upload_gives_its_bytes_back(api: ApiClient) -> None:
    created = api.create_chat(limits={"fileBytesPerDay": 10})
    owner = config_owner(created)
    started = announce(api, owner, "a.png", "image/png", 10).json
    assert post_to_s3(started, b"not a png!") == 204
    assert (
        api.post(f"{owner.base}/files/{started['fileId']}/complete", token=owner.token).status
        == 422
    )
    assert announce(api, owner, "a.txt", "text/plain", 10).status == 201


def test_files_per_session_and_a_lowered_limit(api: ApiClient) -> None:
    created = api.create_chat(limits={"filesPerSession": 2})
    owner = session_owner(api.start_session(created["chatConfigId"]))
    assert announce(api, owner, "a.txt", "text/plain", 1).status == 201
    assert announce(api, owner, "b.txt", "text/plain", 1).status == 201
    refused = announce(api, owner, "c.txt", "text/plain", 1)
    assert_error(refused, 429, "quota_exceeded")
    assert refused.json["details"] == {"limit": "filesPerSession", "value": 2}
    edit = {"title": "t", "model": "gemini-2.5-flash", "systemPrompt": "", "temperature": 1}
    raised = api.put(
        f"/chat-config/{created['chatConfigId']}",
        {**edit, "limits": {"filesPerSession": 3}},
        token=created["editToken"],
    )
    assert raised.status == 200
    assert announce(api, owner, "c.txt", "text/plain", 1).status == 201
