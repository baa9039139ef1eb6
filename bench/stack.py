"""The app running in this process against moto, driven through its real routes.

The same setup as the test suite: fake credentials, moto's in-memory AWS, and
Chalice's test client calling the app the way API Gateway would.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from boto3.dynamodb.types import TypeDeserializer
from moto import mock_aws

from bench.baseline import item_size
from chalicelib.core import aws, provisioning
from chalicelib.model import gemini
from chalicelib.schemas import StoredMessage
from chalicelib.stores.records import MESSAGE_PREFIX, partition_key, session_key
from chalicelib.stores.sessions import SessionStore

ROOT = Path(__file__).resolve().parent.parent
BUCKET = "bench-configs"
TABLE = "bench-sessions"
# An exchange as the issue sizes it: a 300-character message, a 1,500-character reply.
USER_CHARS = 300
REPLY_CHARS = 1500
EXCHANGE = (("user", USER_CHARS), ("model", REPLY_CHARS))

# Settings of the caller's shell that would change what is measured.
_FOREIGN = (
    "AWS_ENDPOINT_URL",
    "AWS_PROFILE",
    "AWS_SESSION_TOKEN",
    "GEMINI_API_KEY",
    "GEMINI_API_KEY_PARAMETER",
    "GOOGLE_API_KEY",
    "GOOGLE_GEMINI_BASE_URL",
    "GOOGLE_GENAI_USE_VERTEXAI",
    "GOOGLE_GENAI_API_VERSION",
    "ALLOWED_MODELS",
    "MODEL_TIMEOUT_SECONDS",
    "HISTORY_CHAR_BUDGET",
    "HISTORY_MAX_MESSAGES",
    "MAX_OUTPUT_TOKENS",
    "STAGE",
    "LIMIT_MESSAGES_PER_SESSION",
    "LIMIT_MESSAGES_PER_DAY",
    "LIMIT_SESSIONS_PER_DAY",
)

# Seeded sessions count their earlier exchanges against the per-session limit, as
# real sends would; raised so that a send after 5,000 of them is reserved for real.
# The bench's requests all come from one address and make many agents: the server's and
# per-client limits on those are off (measure_budget puts one back to price it).
RAISED_LIMITS = {
    "LIMIT_MESSAGES_PER_SESSION": "100000",
    "LIMIT_MESSAGES_PER_DAY": "100000",
    "LIMIT_AGENTS_PER_DAY": "0",
    "LIMIT_AGENTS_PER_CLIENT_PER_DAY": "0",
    "LIMIT_SESSIONS_PER_CLIENT_PER_HOUR": "0",
    "LIMIT_MESSAGES_PER_CLIENT_PER_MINUTE": "0",
}

_PROSE = "Pirates kept their logs in tidy ledgers, noting wind, tide and every cask of rum. "


def text_of(length: int, tag: str = "") -> str:
    """Plain prose of exactly `length` characters (no escaping inflates its JSON)."""
    body = tag + " " + _PROSE * (length // len(_PROSE) + 1)
    return body[:length]


@contextmanager
def environment(updates: dict[str, str], remove: Iterable[str] = ()) -> Iterator[None]:
    """Set and unset environment variables for the block, then restore them."""
    saved = dict(os.environ)
    for name in remove:
        os.environ.pop(name, None)
    os.environ.update(updates)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


@dataclass(frozen=True)
class Session:
    session_id: str
    token: str


class Stack:
    def __init__(self, http: Any) -> None:
        self._http = http
        self.table = aws.get_sessions_table()

    def post(self, path: str, body: dict[str, Any], token: str | None = None) -> dict[str, Any]:
        return self.call("POST", path, body, token)

    def call(
        self, method: str, path: str, body: dict[str, Any], token: str | None = None
    ) -> dict[str, Any]:
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        response = self._http.request(method, path, headers=headers, body=json.dumps(body))
        parsed: dict[str, Any] = json.loads(response.body)
        if response.status_code >= 300:
            raise RuntimeError(f"{method} {path}: {response.status_code} {parsed}")
        return parsed

    def new_session(self) -> Session:
        config = self.post(
            "/create-chat",
            {
                "title": "Pirate tutor",
                "model": "gemini-2.5-flash",
                "systemPrompt": "Answer like a pirate.",
                "temperature": 0.7,
            },
        )
        session = self.post("/chat-session", {"chatConfigId": config["chatConfigId"]})
        return Session(session["sessionId"], session["sessionToken"])

    def seed_history(
        self,
        session: Session,
        exchanges: int,
        user_chars: int = USER_CHARS,
        reply_chars: int = REPLY_CHARS,
    ) -> None:
        """Write earlier exchanges in the store's own item format, in batches, then
        set the session's counters as that many real sends would have.

        Far faster than sending them (moto's transactions slow down as a
        partition grows); the ids sort before any real send's.
        """
        with self.table.batch_writer() as batch:
            for number in range(exchanges):
                stem = f"{1_000_000_000_000 + number:013d}-seed{number:06d}"
                sizes = (("user", user_chars), ("model", reply_chars))
                for index, (role, length) in enumerate(sizes):
                    message = StoredMessage(
                        id=f"{stem}-{index}",
                        role=role,
                        content=text_of(length, f"{role}{number}"),
                        created_at="2025-01-01T00:00:00.000000+00:00",
                    )
                    batch.put_item(Item=SessionStore.message_item(session.session_id, message))
        # The messages stored (SessionStore.add_messages) and the messages counted
        # against the session's limit (QuotaStore.reserve_message).
        self.table.update_item(
            Key=session_key(session.session_id),
            UpdateExpression="ADD storedMessages :stored, messageCount :sent",
            ConditionExpression="attribute_exists(pk)",
            ExpressionAttributeValues={":stored": 2 * exchanges, ":sent": exchanges},
        )

    def session_item(self, session: Session) -> dict[str, Any]:
        return dict(self.table.get_item(Key=session_key(session.session_id))["Item"])

    def stored_size(self, table_name: str, key: dict[str, Any]) -> int:
        """The size of an item as stored now (0 when gone), by DynamoDB's rules."""
        # The resource's client speaks Python values, not DynamoDB's typed JSON.
        client = self.table.meta.client
        plain = {name: TypeDeserializer().deserialize(value) for name, value in key.items()}
        item = client.get_item(TableName=table_name, Key=plain, ConsistentRead=True).get("Item")
        return item_size(item) if item else 0

    def send(self, session: Session, text: str) -> dict[str, Any]:
        return self.post(
            "/session-message", {"sessionId": session.session_id, "message": text}, session.token
        )

    def forget_exchange(self, session: Session, sent: dict[str, Any]) -> None:
        """Delete what a send stored, so the next send sees the same history."""
        pk = partition_key(session.session_id)
        for message in (sent["userMessage"], sent["reply"]):
            self.table.delete_item(Key={"pk": pk, "sk": MESSAGE_PREFIX + message["id"]})


@contextmanager
def local_stack(extra_env: dict[str, str] | None = None) -> Iterator[Stack]:
    """moto, the bucket and table, and the app behind Chalice's test client."""
    env = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "CONFIG_BUCKET": BUCKET,
        "SESSIONS_TABLE": TABLE,
        **RAISED_LIMITS,
        **(extra_env or {}),
    }
    with environment(env, remove=_FOREIGN), mock_aws():
        aws.reset_clients()
        gemini.reset_client()
        provisioning.ensure_bucket(aws.get_s3_client(), BUCKET)
        provisioning.ensure_table(aws.get_dynamodb_resource(), TABLE)
        from chalice.test import Client

        from app import app

        try:
            with Client(app, project_dir=str(ROOT)) as client:
                yield Stack(client.http)
        finally:
            aws.reset_clients()
            gemini.reset_client()
