"""Schemathesis fuzzes every operation of the contract against the app, served over real HTTP.

The app runs on Chalice's local server in a thread of this process, so conftest's moto
and the fake Gemini apply. Each operation is one pytest test with its own fresh stack,
fuzzed in two passes: the cases as generated (mostly turned away at auth or lookup),
and the same cases carrying a real token and real ids, so they reach the services.
A third, stateful test follows the document's links (create a config, start a session,
send, page back...) with the tokens each step returned. Every check schemathesis has
runs on every response. Runs are bounded and derandomized: the same cases every time.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from requests.structures import CaseInsensitiveDict
from schemathesis.checks import CHECKS, CheckFunction, load_all_checks
from schemathesis.generation.stateful import run_state_machine_as_test
from schemathesis.specs.openapi.checks import (
    ignored_auth,
    missing_required_header,
    negative_data_rejection,
)

from chalicelib.api import openapi
from chalicelib.schemas.openai import ChatCompletionCreate, ResponseCreate
from tests.fake_gemini import FakeGemini
from tests.local_stack import serve_in_process
from tests.utils import DEFAULT_CONFIG

PROJECT_DIR = Path(__file__).resolve().parents[2]
# Drawn cases per operation and pass, on top of the coverage phase's boundary cases:
# the whole file takes under a minute on two cores, most of it in the coverage phase and
# the per-operation stacks rather than in drawn cases. FUZZ_EXAMPLES=500 digs deeper by hand.
MAX_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "15"))

CONFIG = schemathesis.Config.from_dict(
    {
        "seed": 20250101,
        # No shrinking: the stack keeps state between cases, so a replayed case could
        # meet another one; the first failing case, derandomized, is reproducible as is.
        "generation": {
            "max-examples": MAX_EXAMPLES,
            "deterministic": True,
            "database": "none",
            "no-shrink": True,
        },
        "phases": {
            "coverage": {
                "enabled": True,
                "unexpected-methods": ["get", "put", "post", "delete", "patch"],
            },
            "stateful": {"enabled": True},
        },
    }
)
# A copy: schemathesis adds the links it infers to the document it is given, and the
# document shares its links with the registry that other tests render.
schema = schemathesis.openapi.from_dict(copy.deepcopy(openapi.build_document()), config=CONFIG)

load_all_checks()
# Every check schemathesis has (`--checks all`), each run wherever it applies.
ALL_CHECKS: list[CheckFunction] = [c for c in CHECKS.get_all() if not isinstance(c, type)]
# Scenarios of the stateful test, and steps in each.
STATEFUL_SCENARIOS = int(os.environ.get("FUZZ_SCENARIOS", "8"))
STATEFUL_STEPS = 6


@dataclass
class LiveApi:
    """The app on a local port, with one config and one session to aim cases at."""

    url: str
    config_id: str = ""
    edit_token: str = ""
    session_id: str = ""
    session_token: str = ""
    cursor: str = ""
    api_key: str = ""

    def create(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = requests.post(self.url + path, json=body, timeout=30)
        assert response.status_code == 201, response.text
        data: dict[str, Any] = response.json()
        return data

    def new_config(self) -> None:
        created = self.create("/create-chat", DEFAULT_CONFIG)
        self.config_id, self.edit_token = created["chatConfigId"], created["editToken"]
        made = requests.post(
            f"{self.url}/chat-config/{self.config_id}/api-keys",
            json={"name": "fuzz"},
            headers={"Authorization": f"Bearer {self.edit_token}"},
            timeout=30,
        )
        assert made.status_code == 201, made.text
        self.api_key = made.json()["apiKey"]

    def new_session(self) -> None:
        """A session with one exchange already, so there is a reply to regenerate."""
        started = self.create("/chat-session", {"chatConfigId": self.config_id})
        self.session_id, self.session_token = started["sessionId"], started["sessionToken"]
        sent = requests.post(
            self.url + "/session-message",
            json={"sessionId": self.session_id, "message": "Hello"},
            headers={"Authorization": f"Bearer {self.session_token}"},
            timeout=30,
        )
        assert sent.status_code == 200, sent.text
        # A real cursor (the exchange is two messages), so paging gets past cursor checks.
        page = requests.get(
            f"{self.url}/session/{self.session_id}/messages?limit=1",
            headers={"Authorization": f"Bearer {self.session_token}"},
            timeout=30,
        )
        self.cursor = page.json()["nextCursor"]


# The operator's routes exist only with an operator's token configured.
OPERATOR_TOKEN = "fuzz-operator-token"


@pytest.fixture
def live(fake_gemini: FakeGemini, monkeypatch: pytest.MonkeyPatch) -> Iterator[LiveApi]:
    monkeypatch.setenv("OPERATOR_TOKEN", OPERATOR_TOKEN)
    with serve_in_process() as url:
        api = LiveApi(url=url)
        api.new_config()
        api.new_session()
        yield api


def _aim(case: schemathesis.Case, api: LiveApi) -> dict[str, str]:
    """Point a case at the live config or session; the headers that carry its real token.

    The token goes in as an explicit header rather than into the case, so schemathesis
    knows it is real: `ignored_auth` then retries the case without it and with a bad one.
    """
    ids = {"chat_config_id": api.config_id, "session_id": api.session_id, "model_id": api.config_id}
    for name in case.path_parameters or {}:
        # A file id stays as drawn: no file is made for the cases.
        case.path_parameters[name] = ids.get(name, case.path_parameters[name])
    if isinstance(case.body, dict):
        if "sessionId" in case.body:
            case.body["sessionId"] = api.session_id
        if "chatConfigId" in case.body:
            case.body["chatConfigId"] = api.config_id
        if case.path.startswith("/v1/"):
            # Unknown fields are ignored, not refused; drawn ones may hold lone surrogates,
            # which any body is refused for (400 invalid_json) before its fields are read.
            known = set(ChatCompletionCreate.model_fields) | set(ResponseCreate.model_fields)
            for name in set(case.body) - known:
                del case.body[name]
        if case.path.startswith("/v1/") and "model" in case.body:
            case.body["model"] = api.config_id
        # OpenAI's shapes cannot say that the last message is the user's, nor (as for
        # /session-message) which white space Python's str.strip sees; these are plain.
        for field in ("messages", "input"):
            if isinstance(case.body.get(field), list) and case.body[field]:
                case.body[field] = [{"role": "user", "content": "Hello"}]
            elif isinstance(case.body.get(field), str):
                case.body[field] = "Hello"
    # Any id is a cursor; a real one pages back through real messages.
    if case.query and isinstance(case.query.get("before"), str):
        case.query["before"] = api.cursor
    token = api.edit_token if case.path.startswith("/chat-config") else api.session_token
    if case.path.startswith("/operator"):
        token = OPERATOR_TOKEN
    if case.path.startswith("/v1/"):
        token = api.api_key
    return {"Authorization": f"Bearer {token}"}


def _after(case: schemathesis.Case, response: Any, api: LiveApi) -> None:
    """Keep the live config and session usable after a case changed them."""
    if response.status_code >= 300:
        return
    if case.path.endswith("/rotate-token"):
        api.edit_token = response.json()["editToken"]
    elif case.method == "PUT" and case.path == "/chat-config/{chat_config_id}":
        # The creator's settings that a later case's model or tools must suit are put back,
        # so that case is judged on its own data rather than on what this one stored.
        reset = {"thinking": None, "responseFormat": None, "tools": None}
        requests.put(
            f"{api.url}/chat-config/{api.config_id}",
            json={**DEFAULT_CONFIG, **reset},
            headers={"Authorization": f"Bearer {api.edit_token}"},
            timeout=30,
        ).raise_for_status()
    elif case.method == "DELETE" and case.path.startswith("/chat-config"):
        api.new_config()
        api.new_session()
    elif case.method == "DELETE":
        api.new_session()


# One stack per operation, shared by its cases: the fixture is meant to outlive a case.
RUN_SETTINGS = settings(suppress_health_check=[HealthCheck.function_scoped_fixture])


@schema.parametrize()
@RUN_SETTINGS
def test_as_generated(case: schemathesis.Case, live: LiveApi) -> None:
    # The first pass also holds the API to what a case's kind implies: 401 without a
    # token, 4xx for data the contract forbids, 405 for a method a path does not take.
    case.call_and_validate(base_url=live.url, checks=ALL_CHECKS)


@schema.parametrize()
@RUN_SETTINGS
def test_with_real_token_and_ids(case: schemathesis.Case, live: LiveApi) -> None:
    headers = _aim(case, live)
    response = case.call(base_url=live.url, headers=headers)
    _after(case, response, live)
    case.validate_response(response, checks=_checks_for(case, aimed=True), headers=headers)


def _checks_for(case: schemathesis.Case, aimed: bool = False) -> list[CheckFunction]:
    skipped: set[CheckFunction] = set()
    # An aimed case had its ids and token put right: what made it negative may be gone,
    # so the checks of negative data belong to the first pass, which sends it as drawn.
    if aimed:
        skipped |= {negative_data_rejection, missing_required_header}
    # After a successful DELETE, ignored_auth's probes with a made-up token meet a deleted
    # resource (404), which says nothing about auth; the other operations are probed.
    if case.method == "DELETE":
        skipped.add(ignored_auth)
    return [check for check in ALL_CHECKS if check not in skipped]


def test_stateful_links(live: LiveApi) -> None:
    """Follow the links from config to session to messages, each step with its token."""
    base = schema.as_state_machine()

    class Linked(base):  # type: ignore[misc,valid-type]
        def setup(self) -> None:
            self.tokens: dict[str, str] = {}

        def get_call_kwargs(self, case: schemathesis.Case) -> dict[str, Any]:
            return {"base_url": live.url}

        def before_call(self, case: schemathesis.Case) -> None:
            body = case.body if isinstance(case.body, dict) else {}
            ids = [*(case.path_parameters or {}).values(), body.get("sessionId")]
            token = next((self.tokens[i] for i in ids if i in self.tokens), None)
            if token is not None:
                case.headers = case.headers or CaseInsensitiveDict()
                case.headers["Authorization"] = f"Bearer {token}"

        def after_call(self, response: Any, case: schemathesis.Case) -> None:
            super().after_call(response, case)
            body = response.json() if response.status_code in (200, 201) else None
            if not isinstance(body, dict):
                return
            if "editToken" in body:
                config_id = body.get("chatConfigId") or case.path_parameters["chat_config_id"]
                self.tokens[config_id] = body["editToken"]
            if "sessionToken" in body:
                self.tokens[body["sessionId"]] = body["sessionToken"]

        def validate_response(self, response: Any, case: schemathesis.Case, **kwargs: Any) -> None:
            case.validate_response(
                response,
                checks=_checks_for(case),
                transport_kwargs=kwargs or None,
                recorder=getattr(self, "recorder", None),
            )

    run_state_machine_as_test(
        Linked,
        settings=settings(
            max_examples=STATEFUL_SCENARIOS,
            stateful_step_count=STATEFUL_STEPS,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        ),
    )
