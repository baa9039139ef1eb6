"""The chat page through the shared page checks (tests/web/checks.py) at a laptop's and a
phone's width, in the light and the dark theme: nothing sticks out, axe-core finds no
serious or critical problem, and on the phone every control is a 44 px target. The
states checked: the empty chat, a conversation with a list and a code block, the menu
open, the past chats' drawer open (on the phone) and a dead link."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By

from tests.fake_gemini import FakeGemini, reply_text
from tests.local_stack import LocalStack
from tests.web.browser import (
    PHONE_390,
    WIDE,
    Browser,
    new_agent,
    open_chat,
    open_menu,
    stored_replies,
    type_and_enter,
)
from tests.web.checks import assert_accessible, assert_no_overflow, assert_touch_targets
from tests.web.test_chat_shell import rect, shown

pytestmark = pytest.mark.timeout(120)
OpenBrowser = Callable[..., Browser]
STARTERS = ["Teach me a knot", "Tell me about the sea"]
REPLY = (
    "Here:\n\n- a rope\n- a knot\n\n```py\nprint('ahoy')\n```\n\nAnd a [link](https://example.com)."
)


def theme(page: Browser, scheme: str) -> None:
    page.driver.execute_cdp_cmd(
        "Emulation.setEmulatedMedia",
        {"features": [{"name": "prefers-color-scheme", "value": scheme}]},
    )


def check(page: Browser, size: tuple[int, int], where: str) -> None:
    """The checks, in the light theme and then the dark one (the page is left light)."""
    for scheme in ("light", "dark"):
        theme(page, scheme)
        described = f"{where} at {size[0]} px, in the {scheme} theme"
        assert_no_overflow(page, described)
        if size == PHONE_390:  # the chat page guarantees 44 px targets on a phone
            assert_touch_targets(page, described)
        assert_accessible(page, described)
    theme(page, "light")


@pytest.mark.parametrize("size", [WIDE, PHONE_390], ids=["1280", "390"])
def test_the_chat_page_passes_the_page_checks(
    stack: LocalStack, fake: FakeGemini, browser: OpenBrowser, size: tuple[int, int]
) -> None:
    config_id = new_agent(
        stack, greeting="Ahoy! Ask me anything.", starters=STARTERS, allowSessionOverrides=True
    )["chatConfigId"]
    page = browser(size)
    open_chat(page, config_id)
    page.wait(lambda _: shown(page, "#starters"))
    check(page, size, "the empty chat")

    fake.queue(reply_text(REPLY), reply_text("Second."))
    type_and_enter(page, "Show me")
    page.wait(lambda _: stored_replies(page))
    type_and_enter(page, "Again")
    page.wait(lambda _: len(stored_replies(page)) == 2)
    assert page.driver.find_elements(By.CSS_SELECTOR, ".message.model .code-block")
    check(page, size, "a conversation")
    if size == WIDE:
        # On a laptop a message's time and actions show on hover: their contrast counts too.
        reply = page.driver.find_element(By.CSS_SELECTOR, ".message.model")
        ActionChains(page.driver).move_to_element(reply).perform()
        opacity = "return getComputedStyle(arguments[0].querySelector('time')).opacity"
        page.wait(lambda _: page.js(opacity, reply) == "1")
        check(page, size, "a reply's time and actions on hover")

    open_menu(page)
    page.driver.find_element(By.CSS_SELECTOR, "#settings-box summary").click()
    page.wait(lambda _: shown(page, "#session-temperature"))
    check(page, size, "the menu open")
    if page.js(
        "const m = document.getElementById('chat-menu'); return m.scrollHeight > m.clientHeight"
    ):
        # axe-core leaves what is scrolled out of view: the menu's end, in view too.
        page.js("document.getElementById('export-json').scrollIntoView({block: 'end'})")
        check(page, size, "the menu scrolled to its end")
    page.driver.find_element(By.ID, "menu-button").click()
    page.wait(lambda _: not shown(page, "#chat-menu"))

    if size == PHONE_390:
        page.driver.find_element(By.ID, "toggle-sidebar").click()
        page.wait(lambda _: rect(page, "#sidebar")["left"] == 0)
        page.wait(lambda d: d.find_elements(By.CSS_SELECTOR, "#past-chats li"))
        check(page, size, "the past chats' drawer open")

    page.expect_failed_requests(404)
    open_chat(page, "0" * 32)
    page.wait(lambda _: shown(page, "#unavailable"))
    check(page, size, "a dead link")
