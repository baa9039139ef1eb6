"""Conversations as trees on the chat page: Edit in place, "‹ 2/3 ›" between versions, a
regeneration that keeps the old answer, and the same branch after a reload."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webelement import WebElement

from tests.fake_gemini import FakeGemini, error, reply_text, streamed
from tests.local_stack import LocalStack
from tests.web.browser import (
    Browser,
    last_state,
    messages,
    new_agent,
    open_chat,
    state_line,
    stored_replies,
    type_and_enter,
)
from tests.web.test_files_page import tiny_png

pytestmark = pytest.mark.timeout(120)
OpenBrowser = Callable[..., Browser]


def texts(browser: Browser) -> list[str]:
    return [m["text"] for m in messages(browser)]


def user_message(browser: Browser, index: int) -> WebElement:
    return browser.driver.find_elements(By.CSS_SELECTOR, "#messages .message.user")[index]


def version(item: WebElement) -> str:
    """The "2/3" of a message, or "" when it has no siblings."""
    box = item.find_element(By.CLASS_NAME, "versions")
    return str(box.find_element(By.CLASS_NAME, "version").text) if box.is_displayed() else ""


def chat(browser: Browser, fake: FakeGemini, turns: int) -> None:
    for number in range(turns):
        fake.queue(reply_text(f"answer {number}"))
        type_and_enter(browser, f"question {number}")
        browser.wait(lambda _: f"answer {number}" in stored_replies(browser))  # noqa: B023


def start_edit(browser: Browser, index: int) -> WebElement:
    """Hover over a user message (its Edit shows on hover) and press Edit: the box."""
    item = user_message(browser, index)
    ActionChains(browser.driver).move_to_element(item).perform()
    item.find_element(By.CLASS_NAME, "edit").click()
    box: WebElement = browser.wait(
        lambda d: d.find_element(By.CSS_SELECTOR, ".edit-form .edit-text")
    )
    return box


def step(browser: Browser, item: WebElement, which: str) -> None:
    item.find_element(By.CLASS_NAME, f"{which}-version").click()


@pytest.fixture
def visitor(stack: LocalStack, fake: FakeGemini, browser: OpenBrowser) -> Browser:
    config_id = new_agent(stack)["chatConfigId"]
    opened = browser()
    open_chat(opened, config_id)
    chat(opened, fake, 3)
    return opened


FIRST_BRANCH = [
    "question 0", "answer 0", "question 1", "answer 1", "question 2", "answer 2",
]  # fmt: skip


def test_edit_the_first_message_flip_back_and_reload(visitor: Browser, fake: FakeGemini) -> None:
    box = start_edit(visitor, 0)
    assert box.get_attribute("value") == "question 0"
    box.send_keys(Keys.CONTROL, "a")
    fake.queue(reply_text("a new beginning"))
    box.send_keys("question zero, better", Keys.ENTER)
    visitor.wait(lambda _: texts(visitor) == ["question zero, better", "a new beginning"])
    visitor.wait(lambda _: stored_replies(visitor) == ["a new beginning"])
    # Gemini got the new text alone: nothing of the first branch.
    assert fake.last_request.texts() == ["question zero, better"]
    edited = user_message(visitor, 0)
    assert version(edited) == "2/2"
    assert not edited.find_element(By.CLASS_NAME, "next-version").is_enabled()
    visitor.shot("edited", docs="chat-edit")
    # ‹ : the first version, and all that followed it.
    step(visitor, edited, "previous")
    visitor.wait(lambda _: texts(visitor) == FIRST_BRANCH)
    assert version(user_message(visitor, 0)) == "1/2"
    assert [version(user_message(visitor, n)) for n in (1, 2)] == ["", ""]
    # A reload shows the same branch, and › the other again.
    visitor.driver.refresh()
    visitor.wait(lambda _: texts(visitor) == FIRST_BRANCH)
    step(visitor, user_message(visitor, 0), "next")
    visitor.wait(lambda _: texts(visitor) == ["question zero, better", "a new beginning"])
    visitor.driver.refresh()
    visitor.wait(lambda _: texts(visitor) == ["question zero, better", "a new beginning"])
    assert version(user_message(visitor, 0)) == "2/2"
    # A send follows the branch shown.
    fake.queue(reply_text("onwards"))
    type_and_enter(visitor, "and then?")
    visitor.wait(lambda _: stored_replies(visitor)[-1:] == ["onwards"])
    assert fake.last_request.texts() == ["question zero, better", "a new beginning", "and then?"]


def test_escape_cancels_an_edit_and_shift_enter_adds_a_line(
    visitor: Browser, fake: FakeGemini
) -> None:
    calls = len(fake.requests)
    box = start_edit(visitor, 1)
    box.send_keys(" and more", Keys.ESCAPE)
    visitor.wait(lambda d: not d.find_elements(By.CSS_SELECTOR, ".edit-form"))
    assert texts(visitor) == FIRST_BRANCH and len(fake.requests) == calls
    box = start_edit(visitor, 1)
    box.send_keys(Keys.SHIFT, Keys.ENTER)
    box.send_keys("second line")
    assert box.get_attribute("value") == "question 1\nsecond line"
    visitor.driver.find_element(By.CSS_SELECTOR, ".edit-form .edit-cancel").click()
    assert texts(visitor) == FIRST_BRANCH and len(fake.requests) == calls


def test_an_edit_streams_and_stops_like_a_send(visitor: Browser, fake: FakeGemini) -> None:
    box = start_edit(visitor, 2)
    fake.queue(streamed(*[f"word{n} " for n in range(60)], delay=0.2))
    box.send_keys(" (longer, please)", Keys.ENTER)
    visitor.wait(lambda _: "word2" in messages(visitor)[-1]["text"])
    assert last_state(visitor) == "streaming"
    visitor.driver.find_element(By.ID, "stop").click()
    visitor.wait(lambda _: last_state(visitor) == "stopped")
    shown = texts(visitor)
    assert shown[:5] == [*FIRST_BRANCH[:4], "question 2 (longer, please)"]
    assert "word59" not in shown[5]
    assert version(user_message(visitor, 2)) == "2/2"
    visitor.driver.refresh()
    visitor.wait(lambda _: texts(visitor) == shown)
    step(visitor, user_message(visitor, 2), "previous")
    visitor.wait(lambda _: texts(visitor) == FIRST_BRANCH)


def test_regenerate_keeps_the_old_answer_a_step_away(visitor: Browser, fake: FakeGemini) -> None:
    fake.queue(reply_text("answer 2, again"))
    reply = visitor.driver.find_elements(By.CSS_SELECTOR, "#messages .message.model")[-1]
    ActionChains(visitor.driver).move_to_element(reply).perform()
    reply.find_element(By.CLASS_NAME, "regenerate").click()
    # The stored reply has its version (while it streams, the old one's id stays on it).
    reply = visitor.driver.find_elements(By.CSS_SELECTOR, "#messages .message.model")[-1]
    visitor.wait(lambda _: version(reply) == "2/2")
    assert stored_replies(visitor)[-1] == "answer 2, again"
    step(visitor, reply, "previous")
    visitor.wait(lambda _: texts(visitor) == FIRST_BRANCH)
    reply = visitor.driver.find_elements(By.CSS_SELECTOR, "#messages .message.model")[-1]
    assert version(reply) == "1/2"


def test_a_failed_edit_puts_the_conversation_back(visitor: Browser, fake: FakeGemini) -> None:
    fake.queue(*[error(400, "bad request")] * 3)
    start_edit(visitor, 1).send_keys(" again", Keys.ENTER)
    visitor.wait(lambda _: texts(visitor) == FIRST_BRANCH)
    assert state_line(visitor)
    assert visitor.driver.find_element(By.ID, "state").get_attribute("data-state") == "error"
    assert version(user_message(visitor, 1)) == ""


def test_an_edit_keeps_or_drops_its_files(
    visitor: Browser, fake: FakeGemini, tmp_path: Path
) -> None:
    image = tmp_path / "cat.png"
    image.write_bytes(tiny_png())
    visitor.driver.find_element(By.ID, "attach-input").send_keys(str(image))
    visitor.wait(lambda d: d.find_elements(By.CSS_SELECTOR, '#attachments li[data-state="ready"]'))
    fake.queue(reply_text("a cat"))
    type_and_enter(visitor, "What is this?")
    visitor.wait(lambda _: stored_replies(visitor)[-1:] == ["a cat"])
    box = start_edit(visitor, 3)
    form = visitor.driver.find_element(By.CLASS_NAME, "edit-form")
    assert "cat.png" in form.text
    fake.queue(reply_text("still a cat"))
    box.send_keys(" Be brief.", Keys.ENTER)
    visitor.wait(lambda _: stored_replies(visitor)[-1:] == ["still a cat"])
    assert fake.last_request.inline_files() == [("image/png", tiny_png())]
    assert "cat.png" in user_message(visitor, 3).text
    # Dropped in the next edit: none sent.
    start_edit(visitor, 3)
    form = visitor.driver.find_element(By.CLASS_NAME, "edit-form")
    form.find_element(By.CSS_SELECTOR, ".edit-files button").click()
    fake.queue(reply_text("no picture"))
    form.find_element(By.CLASS_NAME, "edit-send").click()
    visitor.wait(lambda _: stored_replies(visitor)[-1:] == ["no picture"])
    assert fake.last_request.inline_files() == []
    assert version(user_message(visitor, 3)) == "3/3"


def test_without_websockets_an_edit_goes_over_rest(
    stack: LocalStack, fake: FakeGemini, browser: OpenBrowser
) -> None:
    visitor = browser(websocket=False)
    open_chat(visitor, new_agent(stack)["chatConfigId"])
    chat(visitor, fake, 2)
    fake.queue(reply_text("answer 1, edited"))
    start_edit(visitor, 1).send_keys(" (edited)", Keys.ENTER)
    visitor.wait(lambda _: stored_replies(visitor)[-1:] == ["answer 1, edited"])
    assert texts(visitor)[2:] == ["question 1 (edited)", "answer 1, edited"]
    assert fake.last_request.texts() == ["question 0", "answer 0", "question 1 (edited)"]
    step(visitor, user_message(visitor, 1), "previous")
    visitor.wait(lambda _: texts(visitor)[2:] == ["question 1", "answer 1"])
