"""Creator insight in Chromium: a visitor's thumbs on a reply, and the creator's Insights
panel on My agents (charts, comments, limits used today) at a phone's width and a laptop's."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webelement import WebElement

from tests.fake_gemini import FakeGemini, reply_text
from tests.local_stack import LocalStack
from tests.web.browser import (
    PHONE,
    PHONE_390,
    WIDE,
    Browser,
    call,
    last_state,
    messages,
    new_agent,
    open_chat,
    open_my_agents,
    state_line,
    stored_replies,
    type_and_enter,
)
from tests.web.checks import assert_accessible, assert_no_overflow, assert_touch_targets
from tests.web.test_chat_checks import theme

pytestmark = pytest.mark.timeout(120)
OpenBrowser = Callable[..., Browser]
# Read in one go: the charts are drawn anew when the period changes.
READ_FIRST_CAPTION = "return arguments[0].querySelector('.chart figcaption')?.textContent || ''"


def pressed(browser: Browser) -> dict[str, str | None]:
    """The last reply's thumbs as shown: each one's aria-pressed."""
    found: dict[str, str | None] = browser.js(
        """const reply = [...document.querySelectorAll('#messages .message.model')].pop();
        return {up: reply.querySelector('.rate-up')?.getAttribute('aria-pressed') ?? null,
                down: reply.querySelector('.rate-down')?.getAttribute('aria-pressed') ?? null}"""
    )
    return found


def thumb(browser: Browser, rating: str) -> WebElement:
    replies = browser.driver.find_elements(By.CSS_SELECTOR, "#messages .message.model")
    return replies[-1].find_element(By.CSS_SELECTOR, f".rate-{rating}")


def analytics(stack: LocalStack, created: dict[str, Any]) -> dict[str, Any]:
    path = f"/chat-config/{created['chatConfigId']}/analytics?days=7"
    answer: dict[str, Any] = call(stack, "GET", path, token=created["editToken"])
    return answer


def test_a_visitor_rates_a_reply_with_a_comment_and_sees_it_after_a_reload(
    stack: LocalStack, fake: FakeGemini, browser: OpenBrowser
) -> None:
    created = new_agent(stack)
    visitor = browser(PHONE_390)
    open_chat(visitor, created["chatConfigId"])
    fake.queue(reply_text("Arr, a very long answer."))
    type_and_enter(visitor, "Tell me a story")
    visitor.wait(lambda _: stored_replies(visitor))
    assert pressed(visitor) == {"up": "false", "down": "false"}
    group = visitor.driver.find_element(By.CSS_SELECTOR, ".message.model .rating")
    assert group.get_attribute("aria-label") == "Rate this reply"
    assert thumb(visitor, "down").get_attribute("aria-label") == "Bad reply"

    thumb(visitor, "down").click()
    box = visitor.wait(lambda d: d.find_element(By.CSS_SELECTOR, ".feedback-comment input"))
    visitor.wait(lambda d: d.switch_to.active_element == box)
    label = visitor.driver.find_element(By.CSS_SELECTOR, ".feedback-comment label")
    assert label.get_attribute("for") == box.get_attribute("id") and "optional" in label.text
    assert box.get_attribute("maxlength") == "500"
    assert pressed(visitor) == {"up": "false", "down": "true"}
    assert_no_overflow(visitor, "the chat with a comment box open")
    assert_touch_targets(visitor, "the chat with a comment box open")
    assert_accessible(visitor, "the chat with a comment box open")
    visitor.shot("chat-feedback-comment")
    box.send_keys("Too long", Keys.ENTER)
    visitor.wait(lambda _: "comment was sent" in state_line(visitor))
    assert not visitor.driver.find_elements(By.CSS_SELECTOR, ".feedback-comment")
    # Focus goes back to the thumb the comment was about.
    assert visitor.driver.switch_to.active_element == thumb(visitor, "down")
    seen = analytics(stack, created)
    assert seen["totals"]["feedback"] == {"up": 0, "down": 1}
    assert [c["comment"] for c in seen["comments"]] == ["Too long"]

    # The rating is the reply's, as stored: a reload shows it pressed.
    visitor.driver.refresh()
    visitor.wait(lambda _: stored_replies(visitor))
    visitor.wait(lambda _: pressed(visitor) == {"up": "false", "down": "true"})
    # A regenerated reply is a new sibling of the rated one: it has no rating of its own.
    fake.queue(reply_text("Arr, shorter."))
    visitor.driver.find_element(By.CSS_SELECTOR, ".message.model .regenerate").click()
    visitor.wait(lambda _: messages(visitor)[-1]["text"] == "Arr, shorter.")
    visitor.wait(lambda _: last_state(visitor) == "done")
    visitor.wait(lambda _: pressed(visitor) == {"up": "false", "down": "false"})

    # The other thumb replaces it; Esc closes a comment box without sending.
    thumb(visitor, "up").click()
    visitor.wait(lambda _: pressed(visitor) == {"up": "true", "down": "false"})
    thumb(visitor, "down").click()
    box = visitor.wait(lambda d: d.find_element(By.CSS_SELECTOR, ".feedback-comment input"))
    box.send_keys(Keys.ESCAPE)
    visitor.wait(lambda d: not d.find_elements(By.CSS_SELECTOR, ".feedback-comment"))
    # The first reply, one sibling step away, keeps its own.
    assert analytics(stack, created)["totals"]["feedback"] == {"up": 0, "down": 2}
    # Pressing the pressed one takes the rating back.
    thumb(visitor, "down").click()
    visitor.wait(lambda _: pressed(visitor) == {"up": "false", "down": "false"})
    assert analytics(stack, created)["totals"]["feedback"] == {"up": 0, "down": 1}


def rated_agent(stack: LocalStack) -> dict[str, Any]:
    """An agent with a token limit, one exchange today and its reply rated down, commented."""
    created = new_agent(stack, limits={"tokensPerDay": 50000})
    session = call(stack, "POST", "/chat-session", {"chatConfigId": created["chatConfigId"]})
    sent = call(
        stack,
        "POST",
        "/session-message",
        {"sessionId": session["sessionId"], "message": "Hello"},
        token=session["sessionToken"],
    )
    path = f"/session/{session['sessionId']}/messages/{sent['reply']['id']}/feedback"
    body = {"rating": "down", "comment": "<b>Too</b> long"}
    call(stack, "PUT", path, body, token=session["sessionToken"])
    return created


@pytest.mark.parametrize("size", [PHONE, WIDE], ids=["360", "1280"])
def test_the_creator_reads_an_agents_insights(
    stack: LocalStack, fake: FakeGemini, browser: OpenBrowser, size: tuple[int, int]
) -> None:
    fake.queue(reply_text("Arr.", prompt_tokens=20, reply_tokens=7))
    created = rated_agent(stack)
    config_id = created["chatConfigId"]
    creator = browser(size)
    card = open_my_agents(creator, created)
    opener = card.find_element(By.XPATH, ".//button[normalize-space()='Insights']")
    opener.click()
    assert opener.get_attribute("aria-expanded") == "true"
    panel = creator.wait(lambda _: card.find_element(By.CSS_SELECTOR, ".insights-panel"))
    creator.wait(lambda _: len(panel.find_elements(By.CSS_SELECTOR, ".chart svg")) == 3)

    captions = [c.text for c in panel.find_elements(By.CSS_SELECTOR, ".chart figcaption")]
    assert captions[0].startswith("Messages and sessions per day · 30 days: Messages 1, Sessions 1")
    assert "Tokens 27 · limit 50,000 a day" in captions[1]
    assert "Thumbs up 0, Thumbs down 1" in captions[2]
    # The comment is text: its markup shows as typed, never as markup.
    comment = panel.find_element(By.CSS_SELECTOR, ".comment-text")
    assert comment.text == "<b>Too</b> long" and not comment.find_elements(By.TAG_NAME, "b")
    assert "Thumbs down" in panel.find_element(By.CSS_SELECTOR, ".comment").get_attribute(
        "textContent"
    )
    used = [row.text for row in panel.find_elements(By.CSS_SELECTOR, ".used-today")]
    assert used[0].startswith("Messages per day 1 of ")
    assert used[1].startswith("Sessions per day 1 of ")
    assert used[2] == "Tokens per day 27 of 50,000"
    assert creator.attribute(f"used-tokens-{config_id}", "value") == "27"

    # Each chart: drawn at its own width, a limit line where there is one, and a table
    # of its numbers for screen readers (today's row last).
    charts = panel.find_elements(By.CSS_SELECTOR, ".chart")
    for chart in charts:
        svg = chart.find_element(By.TAG_NAME, "svg")
        assert svg.get_attribute("aria-hidden") == "true"
        assert int(svg.get_attribute("width")) <= chart.size["width"]
    assert len(charts[1].find_elements(By.CSS_SELECTOR, "line.limit")) == 1
    rows = charts[0].find_elements(By.CSS_SELECTOR, "table tr")
    assert len(rows) == 31
    last = [cell.get_attribute("textContent") for cell in rows[-1].find_elements(By.XPATH, "*")]
    assert last[1:] == ["1", "1"]
    assert len(charts[0].find_elements(By.CSS_SELECTOR, "rect.bar")) == 2

    assert_touch_targets(creator, "the Insights panel")
    # The studio's panels open: in a closed one, Chromium never ends the switches'
    # transitions to a new theme, and axe-core waits for them to end.
    creator.js("for (const panel of document.querySelectorAll('details')) panel.open = true")
    for scheme in ("light", "dark"):
        theme(creator, scheme)
        assert_no_overflow(creator, f"the Insights panel, {scheme}")
        assert_accessible(creator, f"the Insights panel, {scheme}")
        creator.js("arguments[0].scrollIntoView({block: 'start'})", panel)
        docs = "insights" if size == PHONE and scheme == "light" else None
        creator.shot(f"insights-{size[0]}-{scheme}", docs=docs)
    theme(creator, "light")

    # Another period reads the agent's days again.
    select = panel.find_element(By.TAG_NAME, "select")
    select.find_element(By.CSS_SELECTOR, "option[value='7']").click()
    creator.wait(
        lambda _: creator.js(READ_FIRST_CAPTION, panel).startswith(
            "Messages and sessions per day · 7 days:"
        )
    )
    rows = panel.find_elements(By.CSS_SELECTOR, ".chart")[0].find_elements(By.TAG_NAME, "tr")
    assert len(rows) == 8
