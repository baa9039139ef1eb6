"""The chat page as an app: its fixed frame, the past chats beside it (a drawer on a
phone), and the checks a phone's screen must pass (nothing sticks out, no small target)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from tests.fake_gemini import FakeGemini, reply_text, streamed
from tests.local_stack import LocalStack
from tests.web.browser import (
    PHONE_390,
    WIDE,
    Browser,
    call,
    last_state,
    messages,
    new_agent,
    open_chat,
    open_menu,
    state_line,
    stored_replies,
    type_and_enter,
)
from tests.web.checks import assert_no_overflow, assert_touch_targets

pytestmark = pytest.mark.timeout(120)
OpenBrowser = Callable[..., Browser]
# The sizes every web test shares.
PHONE = PHONE_390
STARTERS = ["Teach me a knot", "Tell me about the sea"]


def rect(browser: Browser, selector: str) -> dict[str, float]:
    found: dict[str, float] = browser.js(
        "const b = document.querySelector(arguments[0]).getBoundingClientRect();"
        "return {top: b.top, bottom: b.bottom, left: b.left, right: b.right, height: b.height};",
        selector,
    )
    return found


def shown(browser: Browser, selector: str) -> bool:
    return bool(browser.driver.find_element(By.CSS_SELECTOR, selector).is_displayed())


def fits_the_phone(browser: Browser) -> None:
    assert_no_overflow(browser, "the chat on a phone")
    assert_touch_targets(browser, "the chat on a phone")


def hold_session(browser: Browser, config_id: str, session: dict[str, Any], key: str) -> None:
    browser.js(
        "localStorage.setItem(arguments[0], JSON.stringify(arguments[1]))",
        f"{key}{config_id}",
        {"sessionId": session["sessionId"], "sessionToken": session["sessionToken"]},
    )


@pytest.mark.parametrize("size", [WIDE, PHONE], ids=["wide", "phone"])
def test_the_header_and_the_composer_stay_while_the_messages_scroll(
    stack: LocalStack, fake: FakeGemini, browser: OpenBrowser, size: tuple[int, int]
) -> None:
    config_id = new_agent(stack, greeting="Ahoy! Ask me anything.", starters=STARTERS)[
        "chatConfigId"
    ]
    visitor = browser(size)
    open_chat(visitor, config_id)
    height = visitor.js("return window.innerHeight")
    # The empty state: the agent, its greeting, its starters as cards; nothing else.
    assert (
        shown(visitor, "#welcome") and "Ahoy!" in visitor.driver.find_element(By.ID, "welcome").text
    )
    cards = visitor.driver.find_elements(By.CSS_SELECTOR, "#starters .starter")
    assert [card.text for card in cards] == STARTERS
    composer = rect(visitor, "#composer")
    assert abs(composer["bottom"] - height) < 2 and rect(visitor, ".chat-header")["top"] == 0
    placeholder = visitor.attribute("message", "placeholder")
    assert ("Shift+Enter" in placeholder) == (size == WIDE)  # no room for it on a phone
    # The messages' column is the reading width, not the width of its words.
    column = rect(visitor, ".conversation")
    assert column["right"] - column["left"] >= min(size[0] - 20, 700)
    if size == PHONE:
        fits_the_phone(visitor)
    visitor.shot(f"chat-empty-{size[0]}", docs=f"chat-welcome-{size[0]}")

    # One box: the textarea grows with its lines, the attach and send buttons inside it.
    box = visitor.driver.find_element(By.ID, "message")
    one_line = box.size["height"]
    box.send_keys(
        "a", Keys.SHIFT, Keys.ENTER, Keys.NULL, "b", Keys.SHIFT, Keys.ENTER, Keys.NULL, "c"
    )
    assert box.size["height"] > one_line
    for part in ("#attach", "#send", "#message"):
        assert visitor.js("return !!document.querySelector('.composer-box ' + arguments[0])", part)
    box.clear()
    visitor.js("document.getElementById('message').dispatchEvent(new Event('input'))")

    long_reply = "\n\n".join(f"Paragraph {n} of a long answer about knots." for n in range(30))
    fake.queue(reply_text(long_reply), streamed(*[f"word{n} " for n in range(40)], delay=0.15))
    cards[0].click()
    visitor.wait(lambda _: stored_replies(visitor))
    assert not shown(visitor, "#welcome")
    type_and_enter(visitor, "More")
    # While a reply streams, the send button is a stop button, in the same place.
    visitor.wait(lambda _: last_state(visitor) == "streaming")
    assert shown(visitor, "#stop") and not shown(visitor, "#send")
    assert visitor.js("return !!document.querySelector('.composer-box #stop')")
    visitor.wait(lambda _: last_state(visitor) == "done")
    assert shown(visitor, "#send") and not shown(visitor, "#stop")
    # The page itself never scrolls: the messages do, between a fixed header and composer.
    assert visitor.js("return document.scrollingElement.scrollTop") == 0
    assert visitor.js("const s = document.getElementById('scroller'); return s.scrollTop") > 0
    assert rect(visitor, ".chat-header")["top"] == 0
    assert abs(rect(visitor, "#composer")["bottom"] - height) < 2
    # Icons are Lucide's, served by the app itself.
    mask = visitor.js("return getComputedStyle(document.querySelector('#send .icon')).maskImage")
    assert "/static/lucide-arrow-up.svg" in mask
    status = visitor.driver.execute_async_script(
        "fetch(arguments[0]).then((r) => arguments[1](r.status))",
        f"{visitor.base_url}/static/lucide-arrow-up.svg",
    )
    assert status == 200
    if size == PHONE:
        fits_the_phone(visitor)
    visitor.shot(f"chat-shell-{size[0]}")


def past_chats(browser: Browser) -> list[str]:
    names: list[str] = browser.js(
        "return [...document.querySelectorAll('#past-chats .past-name')].map(n => n.textContent)"
    )
    return names


def first_text(browser: Browser) -> str | None:
    """The first message shown (read once: a chat being opened empties the list first)."""
    shown_now = messages(browser)
    return shown_now[0]["text"] if shown_now else None


def chat_row(browser: Browser, name: str) -> Any:
    rows = browser.driver.find_elements(By.CSS_SELECTOR, "#past-chats li")
    return next(row for row in rows if row.find_element(By.CLASS_NAME, "past-name").text == name)


def test_past_chats_stay_reachable_and_can_be_renamed_and_deleted(
    stack: LocalStack, fake: FakeGemini, browser: OpenBrowser
) -> None:
    config_id = new_agent(stack)["chatConfigId"]
    # A chat kept the old way (one session per agent), by an earlier version of the page.
    old = call(stack, "POST", "/chat-session", {"chatConfigId": config_id})
    body = {"sessionId": old["sessionId"], "message": "An old voyage"}
    call(stack, "POST", "/session-message", body, old["sessionToken"])
    visitor = browser(WIDE)
    visitor.open("/")
    hold_session(visitor, config_id, old, "ai-maker:session:")
    open_chat(visitor, config_id)
    visitor.wait(lambda _: len(stored_replies(visitor)) == 1)
    assert messages(visitor)[0]["text"] == "An old voyage"
    visitor.wait(lambda _: past_chats(visitor) == ["An old voyage"])
    assert shown(visitor, "#sidebar")  # beside the chat on a wide screen

    # "New chat" keeps the old one: both are listed, and each opens again.
    visitor.driver.find_element(By.ID, "new-chat").click()
    visitor.wait(lambda _: messages(visitor) == [])
    type_and_enter(visitor, "A new voyage")
    visitor.wait(lambda _: len(stored_replies(visitor)) == 1)
    visitor.wait(lambda _: past_chats(visitor) == ["A new voyage", "An old voyage"])
    chat_row(visitor, "An old voyage").find_element(By.CLASS_NAME, "past-open").click()
    visitor.wait(lambda _: first_text(visitor) == "An old voyage")
    current = visitor.driver.find_element(By.CSS_SELECTOR, '#past-chats li[aria-current="true"]')
    assert current.get_attribute("data-session-id") == old["sessionId"]
    kept = visitor.js(
        "return JSON.parse(localStorage.getItem(arguments[0]))", f"ai-maker:sessions:{config_id}"
    )
    assert len(kept) == 2
    assert visitor.js(f"return localStorage.getItem('ai-maker:session:{config_id}')") is None

    # Rename: the server's session title changes, and the list shows it.
    chat_row(visitor, "An old voyage").find_element(By.CLASS_NAME, "past-rename").click()
    field = visitor.driver.find_element(By.CSS_SELECTOR, ".past-rename-form input")
    field.send_keys(Keys.CONTROL, "a", Keys.NULL, "Treasure island", Keys.ENTER)
    visitor.wait(lambda _: "Treasure island" in past_chats(visitor))
    session = call(stack, "GET", f"/session/{old['sessionId']}", token=old["sessionToken"])
    assert session["title"] == "Treasure island"
    visitor.shot("chat-past-chats", docs="chat-past-chats")

    # Delete asks first; then the session is gone from the server too.
    new = next(chat for chat in kept if chat["sessionId"] != old["sessionId"])
    chat_row(visitor, "A new voyage").find_element(By.CLASS_NAME, "past-delete").click()
    visitor.driver.find_element(
        By.XPATH, "//div[@class='past-confirm']/button[text()='Keep']"
    ).click()
    assert past_chats(visitor) == ["Treasure island", "A new voyage"]
    chat_row(visitor, "A new voyage").find_element(By.CLASS_NAME, "past-delete").click()
    visitor.driver.find_element(
        By.XPATH, "//div[@class='past-confirm']/button[text()='Delete']"
    ).click()
    visitor.wait(lambda d: d.find_element(By.ID, "past-status").text == "Chat deleted.")
    assert past_chats(visitor) == ["Treasure island"]
    assert stack.call("GET", f"/session/{new['sessionId']}", token=new["sessionToken"])[0] == 404
    assert messages(visitor)[0]["text"] == "An old voyage"  # the chat shown stays

    # The shown chat's settings carry the name given in the list, and a name given there
    # is the list's.
    open_menu(visitor)
    visitor.driver.find_element(By.CSS_SELECTOR, "#settings-box summary").click()
    assert visitor.attribute("session-title") == "Treasure island"
    field = visitor.driver.find_element(By.ID, "session-title")
    field.send_keys(Keys.CONTROL, "a", Keys.NULL, "Spanish main")
    visitor.driver.find_element(By.CSS_SELECTOR, "#settings-form button[type=submit]").click()
    visitor.wait(lambda d: "Saved" in d.find_element(By.ID, "settings-status").text)
    visitor.wait(lambda _: past_chats(visitor) == ["Spanish main"])


def test_on_a_phone_the_past_chats_are_a_drawer(
    stack: LocalStack, fake: FakeGemini, browser: OpenBrowser
) -> None:
    config_id = new_agent(stack)["chatConfigId"]
    visitor = browser(PHONE)
    open_chat(visitor, config_id)
    type_and_enter(visitor, "First voyage")
    visitor.wait(lambda _: len(stored_replies(visitor)) == 1)
    assert not shown(visitor, "#sidebar")
    toggle = visitor.driver.find_element(By.ID, "toggle-sidebar")
    assert toggle.get_attribute("aria-expanded") == "false"
    toggle.click()
    visitor.wait(lambda _: shown(visitor, "#sidebar") and rect(visitor, "#sidebar")["left"] == 0)
    assert toggle.get_attribute("aria-expanded") == "true"
    assert past_chats(visitor) == ["First voyage"]
    fits_the_phone(visitor)
    visitor.shot("chat-drawer-390", docs="chat-drawer-390")
    # The open drawer is modal: focus starts in it, Tab never reaches the chat behind it,
    # and Escape closes it and gives focus back to the button that opened it.
    in_drawer = "return document.activeElement.closest('#sidebar') !== null"
    assert visitor.js(in_drawer)
    assert visitor.js("return document.querySelector('.chat-column').inert")
    for _ in range(8):
        visitor.driver.switch_to.active_element.send_keys(Keys.TAB)
        assert visitor.js(in_drawer + " || document.activeElement === document.body")
    visitor.driver.switch_to.active_element.send_keys(Keys.ESCAPE)
    visitor.wait(lambda _: not shown(visitor, "#sidebar"))
    assert visitor.js("return document.activeElement.id") == "toggle-sidebar"
    assert not visitor.js("return document.querySelector('.chat-column').inert")
    # "New chat", from the header, and the first chat is one tap away.
    visitor.driver.find_element(By.ID, "new-chat").click()
    visitor.wait(lambda _: messages(visitor) == [] and "Say hello" in state_line(visitor))
    toggle.click()
    visitor.wait(lambda _: shown(visitor, "#sidebar") and rect(visitor, "#sidebar")["left"] == 0)
    visitor.wait(lambda _: past_chats(visitor) == ["First voyage"])
    chat_row(visitor, "First voyage").find_element(By.CLASS_NAME, "past-open").click()
    visitor.wait(lambda _: first_text(visitor) == "First voyage")
    visitor.wait(lambda _: not shown(visitor, "#sidebar"))


def test_a_second_enter_while_a_new_chat_starts_sends_nothing_more(
    stack: LocalStack, fake: FakeGemini, browser: OpenBrowser
) -> None:
    """Enter twice, fast, in a new chat: one session, one message, one reply."""
    config_id = new_agent(stack)["chatConfigId"]
    visitor = browser(WIDE)
    open_chat(visitor, config_id)
    box = visitor.driver.find_element(By.ID, "message")
    box.send_keys("Only once")
    # Both before the session exists: the second comes while the first awaits it.
    visitor.js(
        """const box = document.getElementById('message');
        for (let n = 0; n < 3; n++) {
          box.dispatchEvent(new KeyboardEvent('keydown', {key: 'Enter', bubbles: true}));
        }"""
    )
    visitor.wait(lambda _: len(stored_replies(visitor)) == 1)
    assert [m["text"] for m in messages(visitor) if m["role"] == "user"] == ["Only once"]
    kept = visitor.js(
        "return JSON.parse(localStorage.getItem(arguments[0]))", f"ai-maker:sessions:{config_id}"
    )
    assert len(kept) == 1, kept
