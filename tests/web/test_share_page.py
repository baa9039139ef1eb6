"""Sharing a chat in a real browser: share it from the chat page, read the shared page,
continue it, and land in a chat with its history."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from selenium.webdriver.common.by import By

from tests.fake_gemini import FakeGemini, reply_text
from tests.local_stack import LocalStack
from tests.web.browser import (
    PHONE_390,
    Browser,
    messages,
    new_agent,
    open_chat,
    open_menu,
    stored_replies,
    type_and_enter,
)
from tests.web.checks import assert_accessible, assert_no_overflow, assert_touch_targets

pytestmark = pytest.mark.timeout(90)
OpenBrowser = Callable[..., Browser]


def test_share_read_and_continue_a_chat(
    stack: LocalStack, fake: FakeGemini, browser: OpenBrowser
) -> None:
    config_id = new_agent(stack)["chatConfigId"]
    author = browser()
    open_chat(author, config_id)
    fake.queue(reply_text("Arr, a galleon be a big ship."))
    type_and_enter(author, "What is a galleon?")
    author.wait(lambda _: stored_replies(author))
    # Each reply offers "share up to here".
    assert author.driver.find_elements(By.CSS_SELECTOR, ".message.model button.share")
    open_menu(author)
    author.driver.find_element(By.CSS_SELECTOR, "#shares-box summary").click()
    author.driver.find_element(By.ID, "share-chat").click()
    author.wait(lambda d: d.find_element(By.ID, "share-link").get_attribute("value"))
    url = author.attribute("share-link")
    assert "/shared/" in url
    author.wait(lambda d: d.find_elements(By.CSS_SELECTOR, "#share-list li"))

    reader = browser()
    reader.open(url.split(reader.base_url, 1)[1])
    reader.wait(lambda d: d.find_elements(By.CSS_SELECTOR, "#messages .message"))
    shown = messages(reader)
    assert [(m["role"], m["text"]) for m in shown] == [
        ("user", "What is a galleon?"),
        ("model", "Arr, a galleon be a big ship."),
    ]
    # Read-only: copying is the only action.
    assert reader.driver.find_elements(By.CSS_SELECTOR, ".regenerate, .retry, .share") == []
    reader.driver.find_element(By.ID, "continue-chat").click()
    reader.wait(lambda d: "/chat/" in d.current_url)
    reader.wait(lambda _: len(stored_replies(reader)) == 1)
    assert [m["text"] for m in messages(reader)] == [
        "What is a galleon?",
        "Arr, a galleon be a big ship.",
    ]
    fake.queue(reply_text("A frigate be smaller."))
    type_and_enter(reader, "And a frigate?")
    reader.wait(lambda _: len(stored_replies(reader)) == 2)
    assert "What is a galleon?" in fake.last_request.texts()


def test_a_replys_share_button_shares_up_to_it_and_the_page_fits_a_phone(
    stack: LocalStack, fake: FakeGemini, browser: OpenBrowser
) -> None:
    config_id = new_agent(stack)["chatConfigId"]
    author = browser()
    open_chat(author, config_id)
    fake.queue(reply_text("A galleon be big."), reply_text("A frigate be smaller."))
    type_and_enter(author, "What is a galleon?")
    author.wait(lambda _: len(stored_replies(author)) == 1)
    type_and_enter(author, "And a frigate?")
    author.wait(lambda _: len(stored_replies(author)) == 2)
    first_reply = author.driver.find_elements(By.CSS_SELECTOR, ".message.model")[0]
    first_reply.find_element(By.CSS_SELECTOR, "button.share").click()
    # The menu opens on the new link, and says what it shares.
    author.wait(lambda d: d.find_element(By.ID, "share-link").is_displayed())
    assert (
        "read 2 messages" in author.driver.find_element(By.CSS_SELECTOR, "#shares-box .status").text
    )
    url = author.attribute("share-link")

    reader = browser(PHONE_390)
    reader.open(url.split(reader.base_url, 1)[1])
    reader.wait(lambda d: d.find_elements(By.CSS_SELECTOR, "#messages .message"))
    assert [m["text"] for m in messages(reader)] == ["What is a galleon?", "A galleon be big."]
    reader.wait(lambda d: d.find_element(By.ID, "continue-chat").is_displayed())
    assert_no_overflow(reader, "the shared page")
    assert_touch_targets(reader, "the shared page")
    assert_accessible(reader, "the shared page")
    reader.shot("shared-390", docs="shared-390")
