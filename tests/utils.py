"""Test helpers: a JSON-speaking API client and factories for common objects."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

DEFAULT_CONFIG: dict[str, Any] = {
    "title": "Pirate tutor",
    "model": "gemini-2.5-flash",
    "systemPrompt": "Answer like a pirate.",
    "temperature": 0.7,
}


@dataclass
class ApiResponse:
    status: int
    headers: dict[str, str]
    raw: bytes
    json: Any = field(default=None)


@contextmanager
def failing(
    client: Any, operation: str, error: BaseException | None = None, *, after: int = 0
) -> Iterator[None]:
    """Make one boto3 operation fail, as an outage would, through botocore's own hooks.

    `operation` is like "s3.PutObject"; by default the endpoint is unreachable. The
    first `after` calls still go through.
    """
    from botocore.exceptions import EndpointConnectionError

    failure = error or EndpointConnectionError(endpoint_url="https://unreachable.invalid")
    passed = 0

    def fail(**_: object) -> None:
        nonlocal passed
        if passed < after:
            passed += 1
            return
        raise failure

    event = f"before-call.{operation}"
    client.meta.events.register(event, fail)
    try:
        yield
    finally:
        client.meta.events.unregister(event, fail)


def seed_exchanges(table: Any, session_id: str, count: int, chars: int = 0) -> None:
    """Write `count` exchanges ("q<n>", "a<n>", padded to `chars`) straight into the
    table, oldest first.

    Stored in the store's own item format, but in batches: a transaction per
    exchange is slow in moto once a partition holds thousands of items.
    """
    from chalicelib.schemas import StoredMessage
    from chalicelib.stores.sessions import SessionStore, session_key

    with table.batch_writer() as batch:
        for number in range(count):
            stem = f"{1_000_000_000_000 + number:013d}-seed{number:06d}"
            for index, (role, text) in enumerate((("user", "q"), ("model", "a"))):
                message = StoredMessage(
                    id=f"{stem}-{index}",
                    role=role,
                    content=f"{text}{number}".ljust(chars, "."),
                    created_at="t",
                )
                batch.put_item(Item=SessionStore.message_item(session_id, message))
    # The session's running count, as the store's own write path keeps it.
    table.update_item(
        Key=session_key(session_id),
        UpdateExpression="ADD storedMessages :count",
        ConditionExpression="attribute_exists(pk)",
        ExpressionAttributeValues={":count": 2 * count},
    )


@dataclass
class DynamoCall:
    operation: str
    response_bytes: int
    items_read: int  # what DynamoDB read, and bills, before any filter


@contextmanager
def counting_dynamodb(client: Any) -> Iterator[list[DynamoCall]]:
    """Record every call a boto3 DynamoDB client makes, through botocore's own hooks."""
    calls: list[DynamoCall] = []

    def record(http_response: Any, parsed: dict[str, Any], event_name: str, **_: Any) -> None:
        operation = event_name.rsplit(".", 1)[-1]
        items = parsed.get("ScannedCount", 1 if parsed.get("Item") else 0)
        calls.append(DynamoCall(operation, len(http_response.content or b""), int(items)))

    client.meta.events.register("after-call.dynamodb", record)
    try:
        yield calls
    finally:
        client.meta.events.unregister("after-call.dynamodb", record)


def assert_error(response: ApiResponse, status: int, code: str) -> None:
    """An error answer in the API's shape: the status, the code, a sentence, no traceback."""
    assert response.status == status, response.raw
    assert response.json["code"] == code
    assert isinstance(response.json["error"], str) and response.json["error"]
    assert "Traceback" not in response.raw.decode()


class ApiClient:
    """Calls the Chalice app in process, the way API Gateway would."""

    def __init__(self, client: Any) -> None:
        self._http = client.http

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        token: str | None = None,
        headers: dict[str, str] | None = None,
        raw: str | bytes | None = None,
    ) -> ApiResponse:
        sent = {"Content-Type": "application/json"}
        if token is not None:
            sent["Authorization"] = f"Bearer {token}"
        sent.update(headers or {})
        payload = raw if raw is not None else (json.dumps(body) if body is not None else None)
        response = self._http.request(method, path, headers=sent, body=payload or b"")
        parsed = None
        if response.body:
            try:
                parsed = json.loads(response.body)
            except ValueError:
                parsed = None
        return ApiResponse(response.status_code, dict(response.headers), response.body, parsed)

    def get(self, path: str, **kwargs: Any) -> ApiResponse:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, body: Any = None, **kwargs: Any) -> ApiResponse:
        return self.request("POST", path, body, **kwargs)

    def put(self, path: str, body: Any = None, **kwargs: Any) -> ApiResponse:
        return self.request("PUT", path, body, **kwargs)

    # --- factories -------------------------------------------------------------

    def create_chat(self, **overrides: Any) -> dict[str, Any]:
        response = self.post("/create-chat", {**DEFAULT_CONFIG, **overrides})
        assert response.status == 201, response.json
        return dict(response.json)

    def start_session(self, chat_config_id: str) -> dict[str, Any]:
        response = self.post("/chat-session", {"chatConfigId": chat_config_id})
        assert response.status == 201, response.json
        return dict(response.json)

    def new_session(self, **config: Any) -> dict[str, Any]:
        return self.start_session(self.create_chat(**config)["chatConfigId"])

    def send(self, session: dict[str, Any], message: str, **kwargs: Any) -> ApiResponse:
        return self.post(
            "/session-message",
            {"sessionId": session["sessionId"], "message": message},
            token=session["sessionToken"],
            **kwargs,
        )

    # --- conversations as trees ---------------------------------------------------

    def edit(
        self, session: dict[str, Any], message_id: str, message: str, **kwargs: Any
    ) -> ApiResponse:
        return self.post(
            f"/session/{session['sessionId']}/messages/{message_id}/edit",
            {"message": message},
            token=session["sessionToken"],
            **kwargs,
        )

    def regenerate(self, session: dict[str, Any], message_id: str | None = None) -> ApiResponse:
        body = {"messageId": message_id} if message_id else None
        path = f"/session/{session['sessionId']}/regenerate"
        return self.post(path, body, token=session["sessionToken"])

    def switch(
        self, session: dict[str, Any], message_id: str, sibling: float | None = None
    ) -> ApiResponse:
        path = f"/session/{session['sessionId']}/active"
        body: dict[str, Any] = {"messageId": message_id}
        if sibling is not None:
            body["sibling"] = sibling
        return self.put(path, body, token=session["sessionToken"])

    def active_path(self, session: dict[str, Any]) -> list[dict[str, Any]]:
        """The session's active path as GET /session shows it (its last 100)."""
        view = self.get(f"/session/{session['sessionId']}", token=session["sessionToken"])
        assert view.status == 200, view.json
        return list(view.json["messages"])

    def tree(self, session: dict[str, Any]) -> dict[str, Any]:
        """The JSON export: every message of the tree, and the active leaf."""
        export = self.get(f"/session/{session['sessionId']}/export", token=session["sessionToken"])
        assert export.status == 200, export.json
        return dict(export.json)


def at_once(count: int, task: Callable[[int], object]) -> list[BaseException]:
    """Run task(0) ... task(count - 1) in threads that start together (a barrier), and
    return what they raised, so a race is as likely as the machine allows."""
    barrier = threading.Barrier(count)
    failures: list[BaseException] = []

    def run(number: int) -> None:
        try:
            barrier.wait()
            task(number)
        except BaseException as exc:  # noqa: BLE001 - returned to the test to assert on
            failures.append(exc)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return failures
