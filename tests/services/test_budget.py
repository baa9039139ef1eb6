"""Token budgets, the operator's and an agent's: reserved before a call, settled after.

Sends run through the services in threads, against conftest's moto and the fake Gemini,
which reports scripted token counts; the checks read the budget's items from moto.
"""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest

from chalicelib.core import aws
from chalicelib.core.errors import AppError, BudgetExhausted
from chalicelib.core.settings import get_settings
from chalicelib.model.base import FilePart, ModelReply, ModelRequest, Turn
from chalicelib.schemas import MessageSend, UsageQuery
from chalicelib.services import access, conversation
from chalicelib.services.cost import cost_bound, reply_cost, thinking_ceiling
from chalicelib.stores.budget import OPERATOR, BudgetScope, BudgetStore, agent_scope
from tests.fake_gemini import FakeGemini, blocked_prompt, reply_text
from tests.utils import DEFAULT_CONFIG, ApiClient, assert_error

# Each scripted reply costs 40 + 30 tokens; gemini-2.0-flash does not think, so a bound is
# the prompt's bytes and the agent's maxOutputTokens.
PROMPT_TOKENS, REPLY_TOKENS = 40, 30
COST = PROMPT_TOKENS + REPLY_TOKENS
AGENT = {"model": "gemini-2.0-flash", "maxOutputTokens": 60}


def today() -> str:
    return datetime.now(UTC).date().isoformat()


def budget_day(budget: int, scope: BudgetScope = OPERATOR) -> Any:
    return BudgetStore(aws.get_sessions_table()).read(scope, today(), budget)


def scripted(fake: FakeGemini, count: int) -> None:
    fake.queue(*[reply_text("ok", prompt_tokens=PROMPT_TOKENS, reply_tokens=REPLY_TOKENS)] * count)


def send_all(sessions: list[dict[str, Any]], each: int) -> tuple[list[Any], list[AppError]]:
    """Every session sends `each` messages, all sessions at once; the replies and refusals."""
    replies: list[Any] = []
    refusals: list[AppError] = []
    lock = threading.Lock()
    start = threading.Barrier(len(sessions))

    def sender(session: dict[str, Any]) -> None:
        start.wait()
        for number in range(each):
            request = MessageSend.model_validate(
                {"sessionId": session["sessionId"], "message": f"message {number}"}
            )
            try:
                reply = conversation.send_message(session["sessionToken"], request, None)
            except AppError as error:
                with lock:
                    refusals.append(error)
            else:
                with lock:
                    replies.append(reply)

    threads = [threading.Thread(target=sender, args=(s,)) for s in sessions]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return replies, refusals


@pytest.mark.parametrize("budget", [500, 8000])
def test_concurrent_sends_never_overshoot_the_budget(
    api: ApiClient, fake_gemini: FakeGemini, monkeypatch: pytest.MonkeyPatch, budget: int
) -> None:
    """20 senders over 5 agents. At 500 no bound fits one shard's share, so each send reads
    and spreads its hold; at 8000 a first guess on one shard mostly fits, and all 80 sends do."""
    monkeypatch.setenv("BUDGET_TOKENS_PER_DAY", str(budget))
    agents = [api.create_chat(**AGENT)["chatConfigId"] for _ in range(5)]
    sessions = [api.start_session(agents[n % 5]) for n in range(20)]
    scripted(fake_gemini, 20 * 4)
    replies, refusals = send_all(sessions, each=4)

    used = sum(reply.usage.total_tokens for reply in replies)
    assert all(reply.usage.total_tokens == COST for reply in replies)
    assert used <= budget
    assert len(replies) + len(refusals) == 80
    for refusal in refusals:
        assert isinstance(refusal, BudgetExhausted), refusal
        details = refusal.details
        assert isinstance(details, dict)
        assert details["scope"] == "operator" and details["limit"] == budget
        assert details["remaining"] < details["needed"]
        assert refusal.retry_after and refusal.retry_after > 0
    # What is stored is what was used: nothing is left reserved.
    stored = budget_day(budget)
    assert (stored.held, stored.reserved) == (used, 0)
    # The operator's view adds up the same tokens.
    monkeypatch.setenv("OPERATOR_TOKEN", "operator")
    usage = access.operator_usage("operator", UsageQuery())
    assert (usage.tokens.used, usage.tokens.reserved, usage.messages) == (used, 0, len(replies))
    assert (usage.agents_created, usage.sessions_created) == (5, 20)
    if budget == 500:
        assert refusals, "the budget ran out, so some sends were refused"
        # Refused only when the bound did not fit what was left.
        needed = [r.details["needed"] for r in refusals if isinstance(r.details, dict)]
        assert stored.remaining < max(needed)
    else:
        assert not refusals
    assert fake_gemini.answered_count == len(replies)


def test_a_refused_send_never_reaches_the_model_and_is_429_with_details(
    api: ApiClient, fake_gemini: FakeGemini, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BUDGET_TOKENS_PER_DAY", "50")  # below any bound of this agent
    session = api.new_session(**AGENT)
    response = api.send(session, "Hello")
    assert_error(response, 429, "budget_exhausted")
    assert response.json["details"]["scope"] == "operator"
    assert response.json["details"]["limit"] == 50
    assert response.json["details"]["remaining"] == 50
    assert response.json["details"]["needed"] > 50
    assert int(response.headers["Retry-After"]) > 0
    assert fake_gemini.answered_count == 0
    assert budget_day(50).held == 0


def test_a_failed_call_gives_its_hold_back(
    api: ApiClient, fake_gemini: FakeGemini, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BUDGET_TOKENS_PER_DAY", "1000")
    session = api.new_session(**AGENT)
    fake_gemini.queue(blocked_prompt())
    assert_error(api.send(session, "Hello"), 422, "content_blocked")
    assert (budget_day(1000).held, budget_day(1000).reserved) == (0, 0)
    scripted(fake_gemini, 1)
    assert api.send(session, "Hello").status == 200
    assert (budget_day(1000).held, budget_day(1000).reserved) == (COST, 0)


def test_no_budget_writes_no_budget_items(api: ApiClient, fake_gemini: FakeGemini) -> None:
    assert get_settings().budget_tokens_per_day == 0
    session = api.new_session(**AGENT)
    assert api.send(session, "Hello").status == 200
    assert budget_day(0).tokens_by_shard == {}


def test_the_bound_counts_every_byte_sent_and_the_replys_ceiling() -> None:
    request = ModelRequest(
        model="gemini-2.5-flash",
        system_prompt="é",  # two bytes
        temperature=0.5,
        max_output_tokens=100,
        contents=[Turn("user", "hi", (FilePart("a.png", "image/png", b"x" * 1000),))],
        knowledge=(FilePart("k.txt", "text/plain", b"y" * 10),),
    )
    assert cost_bound(request) == 2 + 10 + 2 + 1000 + 100 + thinking_ceiling("gemini-2.5-flash")
    assert cost_bound(request, thinks=False) == 2 + 10 + 2 + 1000 + 100
    # A reply's JSON Schema is sent too, as compact JSON: {"type":"object"} is 17 bytes.
    formatted = replace(request, reply_json=True, reply_schema={"type": "object"})
    assert cost_bound(formatted, thinks=False) == 2 + 10 + 2 + 1000 + 100 + 17
    assert thinking_ceiling("gemini-2.0-flash") == 0
    assert thinking_ceiling("some-new-model") == max(
        thinking_ceiling(m) for m in ("gemini-3-pro", "gemini-2.5-pro", "gemini-2.5-flash")
    )
    reply = ModelReply("x", 5, 6, cached_tokens=2, tool_use_prompt_tokens=7, thinking_tokens=8)
    assert reply_cost(reply) == 5 + 6 + 7 + 8  # cached tokens are part of the prompt's


# --- an agent's own budget: limits.tokensPerDay ------------------------------------


def test_each_agents_token_budget_holds_under_concurrency(
    api: ApiClient, fake_gemini: FakeGemini
) -> None:
    """20 senders over 5 agents of 300 tokens a day each: no agent's replies pass 300."""
    agents = [
        api.create_chat(**AGENT, limits={"tokensPerDay": 300})["chatConfigId"] for _ in range(5)
    ]
    sessions = [api.start_session(agents[n % 5]) for n in range(20)]
    scripted(fake_gemini, 20 * 3)
    replies, refusals = send_all(sessions, each=3)
    by_agent: dict[str, int] = {}
    config_of = {s["sessionId"]: s["chatConfigId"] for s in sessions}
    for reply in replies:
        agent = config_of[reply.session_id]
        by_agent[agent] = by_agent.get(agent, 0) + reply.usage.total_tokens
    assert refusals and all(isinstance(r, BudgetExhausted) for r in refusals)
    for refusal in refusals:
        assert isinstance(refusal.details, dict) and refusal.details["scope"] == "agent"
        assert refusal.details["limit"] == 300
        assert refusal.details["remaining"] < refusal.details["needed"]
    for agent in agents:
        assert by_agent.get(agent, 0) <= 300
        stored = budget_day(300, agent_scope(agent))
        assert (stored.held, stored.reserved) == (by_agent.get(agent, 0), 0)
    # No operator budget is set: nothing is written for it.
    assert budget_day(0).tokens_by_shard == {}


def test_the_servers_token_ceiling_is_the_default_and_the_most_an_agent_may_set(
    api: ApiClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    open_ended = api.create_chat(limits={"tokensPerDay": 10**8})["config"]["limits"]
    assert open_ended["tokensPerDay"] == 10**8  # LIMIT_TOKENS_PER_DAY 0: no ceiling
    monkeypatch.setenv("LIMIT_TOKENS_PER_DAY", "5000")
    response = api.post("/create-chat", {**DEFAULT_CONFIG, "limits": {"tokensPerDay": 5001}})
    assert_error(response, 400, "validation_error")
    assert api.create_chat()["config"]["limits"]["tokensPerDay"] == 5000


def test_a_lowered_token_budget_reaches_a_running_session(
    api: ApiClient, fake_gemini: FakeGemini
) -> None:
    created = api.create_chat(**AGENT)
    session = api.start_session(created["chatConfigId"])
    scripted(fake_gemini, 1)
    assert api.send(session, "Hello").status == 200
    path = f"/chat-config/{created['chatConfigId']}"
    body = {**DEFAULT_CONFIG, **AGENT, "limits": {"tokensPerDay": 10}}
    assert api.put(path, body, token=created["editToken"]).status == 200
    response = api.send(session, "Again")
    assert_error(response, 429, "budget_exhausted")
    assert response.json["details"]["scope"] == "agent"
    assert fake_gemini.answered_count == 1
