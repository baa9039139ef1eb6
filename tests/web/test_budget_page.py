"""The operator's budget, as a visitor meets it: a sentence that says when it resets."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from tests.fake_gemini import FakeGemini, reply_text
from tests.local_stack import MAKE_RUN, LocalStack
from tests.web.browser import (
    Browser,
    call,
    messages,
    new_agent,
    open_chat,
    state_line,
    stored_replies,
    type_and_enter,
)

pytestmark = pytest.mark.timeout(90)
# One reply of 80 tokens fits; then what is left is below the next send's bound (its
# prompt's bytes and maxOutputTokens 60: gemini-2.0-flash does not think).
BUDGET = 150


@pytest.fixture(scope="module")
def stack(gemini: FakeGemini, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    """A stack of this module's own, with a small budget the other pages' tests never meet."""
    log = tmp_path_factory.mktemp("budget-stack") / "stack.log"
    env = {
        "GOOGLE_GEMINI_BASE_URL": gemini.base_url,
        "GEMINI_API_KEY": "fake-key",
        "BUDGET_TOKENS_PER_DAY": str(BUDGET),
        "WS_PORT": "0",
    }
    stack = LocalStack(log, env, MAKE_RUN)
    try:
        stack.wait_until_healthy()
        yield stack
    finally:
        stack.kill()


def test_a_spent_budget_says_so_and_when_it_resets(
    stack: LocalStack, fake: FakeGemini, browser: Callable[..., Browser]
) -> None:
    config_id = new_agent(stack, model="gemini-2.0-flash", maxOutputTokens=60)["chatConfigId"]
    fake.queue(reply_text("Arr.", prompt_tokens=50, reply_tokens=30))
    visitor = browser()
    visitor.expect_failed_requests(429)
    open_chat(visitor, config_id)
    type_and_enter(visitor, "One")
    visitor.wait(lambda _: stored_replies(visitor))
    type_and_enter(visitor, "Two")
    visitor.wait(lambda _: "budget" in state_line(visitor))
    sentence = state_line(visitor)
    assert sentence.startswith("This service has used today's budget; it resets at midnight UTC")
    assert " in " in sentence and "(at " in sentence
    assert messages(visitor)[-1]["state"] == "error"
    assert fake.answered_count == 1  # the refused send never reached the model
    assert call(stack, "GET", "/health")["status"] == "ok"
