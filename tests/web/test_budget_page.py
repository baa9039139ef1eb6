"""The operator's budget, as a visitor meets it: a sentence that says when it resets."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from selenium.webdriver.common.by import By

from tests.fake_gemini import FakeGemini, reply_text
from tests.local_stack import LocalStack
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
from tests.web.conftest import web_stack

pytestmark = pytest.mark.timeout(90)
# One reply of 80 tokens fits; then what is left is below the next send's bound (its
# prompt's bytes and maxOutputTokens 60: gemini-2.0-flash does not think).
BUDGET = 150


@pytest.fixture(scope="module")
def stack(gemini: FakeGemini, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    """A stack of this module's own, with a small budget the other pages' tests never meet."""
    log = tmp_path_factory.mktemp("budget-stack") / "stack.log"
    with web_stack(gemini, log, BUDGET_TOKENS_PER_DAY=str(BUDGET)) as started:
        yield started


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
    lock = visitor.wait(lambda d: d.find_element(By.ID, "lock"))
    visitor.wait(lambda _: "budget" in lock.text)
    sentence = lock.text
    assert state_line(visitor) == ""
    assert sentence.startswith("This service has used today's budget; it resets at midnight UTC")
    assert " in " in sentence and "(at " in sentence
    assert messages(visitor)[-1]["state"] == "error"
    assert fake.answered_count == 1  # the refused send never reached the model
    assert call(stack, "GET", "/health")["status"] == "ok"
