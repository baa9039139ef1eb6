"""Thinking in a real browser: the studio offers a level or a budget as the chosen model
takes, the switch that shows thought summaries, and Gemini 3's advice on sampling, and
puts a refusal at its field; an agent that runs code and shows its thoughts answers with
the thoughts folded above the code and its output, streamed, after a reload, on the
shared page and in the Markdown export."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from tests.fake_gemini import (
    FakeGemini,
    blocked_prompt,
    code_part,
    code_result_part,
    thought_part,
    with_parts,
)
from tests.local_stack import LocalStack
from tests.web.browser import (
    PHONE_390,
    Browser,
    call,
    last_state,
    new_agent,
    open_chat,
    open_create_page,
    open_menu,
    state_line,
    stored_replies,
    submit_agent,
    type_and_enter,
)
from tests.web.checks import assert_accessible, assert_no_overflow, assert_touch_targets
from tests.web.test_code_parts import code_blocks

pytestmark = pytest.mark.timeout(120)
OpenBrowser = Callable[..., Browser]
ADVICE = "Gemini 3 recommends leaving temperature, top P and top K at their defaults"

# The last reply's thoughts as shown: folded or open, their text, and whether they come
# before the reply's text; null without any.
_THOUGHTS = """const box = document.querySelector('.message.model:last-of-type .thoughts');
return box && {open: box.open, summary: box.querySelector('summary').textContent,
  text: box.querySelector('.thoughts-text').textContent,
  elements: box.querySelectorAll('.thoughts-text *').length,
  aboveText: box.nextElementSibling.classList.contains('body')};"""


def thoughts_shown(page: Browser) -> dict[str, Any] | None:
    shown: dict[str, Any] | None = page.js(_THOUGHTS)
    return shown


def displayed(page: Browser, element_id: str) -> bool:
    return bool(page.driver.find_element(By.ID, element_id).is_displayed())


def choose(page: Browser, select_id: str, value: str) -> None:
    Select(page.driver.find_element(By.ID, select_id)).select_by_value(value)


def level_options(page: Browser) -> list[str]:
    options = Select(page.driver.find_element(By.ID, "thinking-level")).options
    return [option.text for option in options]


def check(page: Browser, where: str) -> None:
    assert_no_overflow(page, where)
    assert_touch_targets(page, where)
    assert_accessible(page, where)


def test_the_studio_offers_what_the_model_takes_and_shows_a_refusal_at_its_field(
    stack: LocalStack, browser: OpenBrowser
) -> None:
    page = browser(PHONE_390)
    open_create_page(page)
    find = page.driver.find_element
    # The default model (2.5 Flash) takes a budget.
    page.wait(lambda _: displayed(page, "thinking-budget-field"))
    assert not displayed(page, "thinking-level-field") and displayed(page, "thinking-show-field")
    assert find(By.ID, "thinking-budget-range").text == "0 (no thinking) to 24,576 tokens."
    assert not displayed(page, "sampling-advice")

    choose(page, "model", "gemini-3-pro-preview")
    assert level_options(page) == ["The model's default", "Low", "High"]
    assert not displayed(page, "thinking-budget-field")
    assert ADVICE in find(By.ID, "sampling-advice").text
    page.shot("studio-thinking-gemini-3-390")
    assert_no_overflow(page, "studio, Gemini 3 chosen")
    choose(page, "thinking-level", "high")
    choose(page, "model", "gemini-3-flash-preview")
    assert level_options(page) == ["The model's default", "Minimal", "Low", "Medium", "High"]
    assert find(By.ID, "thinking-level").get_attribute("value") == "high"
    choose(page, "model", "gemini-2.0-flash")
    assert displayed(page, "thinking-none") and not displayed(page, "thinking-show-field")
    assert not displayed(page, "thinking-level-field") and not displayed(page, "sampling-advice")

    # 1-511 is within what the input allows (0 to 24,576) but not what Flash-Lite takes.
    choose(page, "model", "gemini-2.5-flash-lite")
    find(By.ID, "title").send_keys("Thinker")
    find(By.ID, "thinking-budget").send_keys("100")
    find(By.ID, "thinking-show").click()
    find(By.ID, "submit").click()
    page.expect_failed_requests(400)
    page.wait(lambda _: displayed(page, "thinking-problem"))
    assert find(By.ID, "thinking-problem").text == (
        "The model gemini-2.5-flash-lite takes 0 or 512-24576 tokens."
    )
    budget = find(By.ID, "thinking-budget")
    assert budget.get_attribute("aria-invalid") == "true"
    assert page.js("return document.activeElement.id") == "thinking-budget"
    assert find(By.ID, "form-status").text.startswith("Please check this")
    page.shot("studio-thinking-refused-390")
    check(page, "studio, a thinking budget refused")

    budget.clear()
    budget.send_keys("1024")
    find(By.ID, "title").click()  # the change that clears the refusal
    assert not displayed(page, "thinking-problem") and budget.get_attribute("aria-invalid") is None
    config_id = submit_agent(page).rsplit("/", 1)[1]
    agent = call(stack, "GET", f"/chat-config/{config_id}")
    assert agent["thinking"] == {"level": None, "budget": 1024, "showThoughts": True}

    # Editing shows the setting again.
    card = find(By.CSS_SELECTOR, f'li.agent-card[data-config-id="{config_id}"]')
    card.find_element(By.XPATH, ".//button[normalize-space()='Edit']").click()
    page.wait(lambda _: find(By.ID, "form-heading").text == "Edit “Thinker”")
    assert find(By.ID, "model").get_attribute("value") == "gemini-2.5-flash-lite"
    assert budget.get_attribute("value") == "1024" and find(By.ID, "thinking-show").is_selected()


def test_a_reply_shows_its_thoughts_folded_above_its_code_and_output(
    stack: LocalStack, fake: FakeGemini, browser: OpenBrowser
) -> None:
    """The issue's done-when: made in the studio, asked in the chat, seen and exported;
    on a phone, where the thoughts must fit too."""
    creator = browser(PHONE_390)
    open_create_page(creator)
    find = creator.driver.find_element
    find(By.ID, "title").send_keys("Calculator")
    choose(creator, "model", "gemini-3-flash-preview")
    choose(creator, "thinking-level", "low")
    find(By.ID, "thinking-show").click()
    find(By.CSS_SELECTOR, "#panel-tools summary").click()
    find(By.ID, "tool-code").click()
    link = submit_agent(creator)

    thoughts = "Adding <b>the</b> numbers one by one.\n\nTwelve of them."
    fake.queue(
        with_parts(
            thought_part("Adding <b>the</b> numbers one by one."),
            thought_part("\n\nTwelve of them."),
            "Let me compute it.",
            code_part("print(sum(range(1, 13)))"),
            code_result_part("78\n"),
            "The sum is **78**.",
            thoughts_tokens=40,
            gate_after=2,
        )
    )
    creator.open(link)
    creator.wait(lambda d: d.find_element(By.ID, "agent-title").text == "Calculator")
    type_and_enter(creator, "What is 1 + 2 + ... + 12?")
    # Streamed: the thoughts, folded, while the reply has not begun.
    folded = {"open": False, "summary": "Thoughts", "text": thoughts, "elements": 0}
    creator.wait(lambda _: thoughts_shown(creator) == {**folded, "aboveText": True})
    assert last_state(creator) == "streaming" and not stored_replies(creator)
    assert state_line(creator) == "The agent is thinking…"
    assert not find(By.CSS_SELECTOR, ".message.model .thoughts-text").is_displayed()
    fake.open_gate()
    creator.wait(lambda _: stored_replies(creator))
    sent = fake.last_request.body
    # (As the SDK spells them.)
    assert sent["generationConfig"]["thinkingConfig"] == {
        "thinking_level": "LOW",
        "include_thoughts": True,
    }
    assert {"codeExecution": {}} in sent["tools"]
    blocks = [("python", "print(sum(range(1, 13)))"), ("output", "78")]

    def shows_it_all(page: Browser) -> None:
        assert code_blocks(page) == blocks
        assert thoughts_shown(page) == {**folded, "aboveText": True}
        body = page.driver.find_element(By.CSS_SELECTOR, ".message.model .body")
        assert body.text.startswith("Let me compute it.") and body.text.endswith("The sum is 78.")

    shows_it_all(creator)
    find(By.CSS_SELECTOR, ".message.model .thoughts summary").click()
    assert find(By.CSS_SELECTOR, ".message.model .thoughts-text").text == thoughts
    creator.shot("chat-thoughts-open-390")
    check(creator, "a reply with its thoughts open")
    creator.driver.refresh()
    creator.wait(lambda _: stored_replies(creator))
    shows_it_all(creator)
    # A regenerate that fails puts the reply back as it was: thoughts, code and all.
    fake.queue(blocked_prompt())
    find(By.CSS_SELECTOR, ".message.last-reply .regenerate").click()
    creator.wait(lambda _: "safety filters" in state_line(creator))
    shows_it_all(creator)

    open_menu(creator)
    find(By.ID, "export-md").click()
    exported = creator.downloads / "Calculator.md"
    creator.wait(lambda _: exported.exists())
    markdown = exported.read_text()
    assert "```python\nprint(sum(range(1, 13)))\n```" in markdown
    assert "Output (OUTCOME_OK):\n\n```\n78\n\n```" in markdown
    assert "> *Thoughts*\n>\n> Adding <b>the</b> numbers one by one.\n>\n> Twelve of them." in (
        markdown
    )

    # The shared page draws its messages as the chat does.
    open_menu(creator)
    find(By.CSS_SELECTOR, "#shares-box summary").click()
    find(By.ID, "share-chat").click()
    creator.wait(lambda d: d.find_element(By.ID, "share-link").get_attribute("value"))
    creator.open(creator.attribute("share-link"))
    creator.wait(lambda d: d.find_elements(By.CSS_SELECTOR, "#messages .message.model"))
    shows_it_all(creator)


def test_without_a_websocket_the_stored_reply_brings_its_thoughts(
    stack: LocalStack, fake: FakeGemini, browser: OpenBrowser
) -> None:
    thinking = {"budget": 2048, "showThoughts": True}
    config_id = new_agent(stack, thinking=thinking)["chatConfigId"]
    visitor = browser(websocket=False)
    open_chat(visitor, config_id)
    fake.queue(with_parts(thought_part("Ships float."), "Arr, it floats."))
    type_and_enter(visitor, "Does a galleon float?")
    visitor.wait(lambda _: stored_replies(visitor) == ["Arr, it floats."])
    assert thoughts_shown(visitor) == {
        "open": False,
        "summary": "Thoughts",
        "text": "Ships float.",
        "elements": 0,
        "aboveText": True,
    }
