"""The chat page's messages and states in a real browser: bubbles and flat replies, their
actions and code blocks, a failed send and its Retry, a spent quota, dead and paused links,
a touch screen, and the menu by keyboard in the dark theme."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from tests.fake_gemini import FakeGemini, error, reply_text
from tests.local_stack import LocalStack
from tests.web.browser import (
    WIDE,
    Browser,
    call,
    last_state,
    messages,
    new_agent,
    open_chat,
    state_line,
    stored_replies,
    type_and_enter,
)
from tests.web.test_chat_shell import PHONE, fits_the_phone, hold_session, shown

pytestmark = pytest.mark.timeout(120)
OpenBrowser = Callable[..., Browser]


def clipboard(browser: Browser) -> str:
    text: str = browser.driver.execute_async_script(
        "navigator.clipboard.readText().then(arguments[0], () => arguments[0](''))"
    )
    return text


def test_messages_read_as_a_conversation_with_actions_and_code_blocks(
    stack: LocalStack, fake: FakeGemini, browser: OpenBrowser
) -> None:
    config_id = new_agent(stack)["chatConfigId"]
    visitor = browser(WIDE)
    visitor.driver.execute_cdp_cmd(
        "Browser.grantPermissions",
        {
            "origin": visitor.base_url,
            "permissions": ["clipboardReadWrite", "clipboardSanitizedWrite"],
        },
    )
    open_chat(visitor, config_id)
    code = 'print("ahoy")\nprint("matey")'
    fake.queue(
        reply_text(f"Here:\n\n- a rope\n- a knot\n\n```py\n{code}\n```"), reply_text("Second.")
    )
    type_and_enter(visitor, "Show me")
    visitor.wait(lambda _: stored_replies(visitor))
    type_and_enter(visitor, "Again")
    visitor.wait(lambda _: len(stored_replies(visitor)) == 2)
    find = visitor.driver.find_elements
    # Not list items: a reply's own list has first-level bullets.
    assert find(By.CSS_SELECTOR, "li.message, ol#messages, ul#messages") == []
    bullets = visitor.js(
        "return getComputedStyle(document.querySelector('.message.model .body ul')).listStyleType"
    )
    assert bullets == "disc"
    # The visitor's words in a bubble; the agent's flat on the page.
    style = "return getComputedStyle(document.querySelector(arguments[0])).backgroundColor"
    assert visitor.js(style, ".message.user .body") != "rgba(0, 0, 0, 0)"
    assert visitor.js(style, ".message.model .body") == "rgba(0, 0, 0, 0)"
    assert visitor.js(style, ".message.model") == "rgba(0, 0, 0, 0)"
    assert "You" not in visitor.driver.find_element(By.ID, "messages").text.split("\n")

    # The time shows on hover or focus, not always.
    first_reply = find(By.CSS_SELECTOR, ".message.model")[0]
    opacity = "return getComputedStyle(arguments[0].querySelector('time')).opacity"
    composer = visitor.driver.find_element(By.ID, "composer")
    ActionChains(visitor.driver).move_to_element(composer).perform()
    visitor.wait(lambda _: visitor.js(opacity, first_reply) == "0")
    ActionChains(visitor.driver).move_to_element(first_reply).perform()
    visitor.wait(lambda _: visitor.js(opacity, first_reply) == "1")

    # Regenerate is offered on the last reply only; copy on every message.
    regenerate = [
        r.find_element(By.CLASS_NAME, "regenerate") for r in find(By.CSS_SELECTOR, ".message.model")
    ]
    assert [button.is_displayed() for button in regenerate] == [False, True]
    first_reply.find_element(By.CSS_SELECTOR, ".message-actions .copy").click()
    visitor.wait(lambda _: clipboard(visitor).startswith("Here:"))
    assert "- a rope" in clipboard(visitor)

    # A code block: its language, and a button that copies the code alone.
    block = first_reply.find_element(By.CLASS_NAME, "code-block")
    assert block.find_element(By.CLASS_NAME, "language").text == "py"
    block.find_element(By.CLASS_NAME, "copy-code").click()
    visitor.wait(lambda _: clipboard(visitor) == code)
    visitor.shot("chat-messages", docs="chat-conversation")


def test_a_failed_send_is_one_bubble_with_retry(
    stack: LocalStack, fake: FakeGemini, browser: OpenBrowser
) -> None:
    config_id = new_agent(stack)["chatConfigId"]
    visitor = browser(WIDE)
    open_chat(visitor, config_id)
    fake.queue(*[error(400, "bad request")] * 3)
    type_and_enter(visitor, "Hello?")
    visitor.wait(lambda _: last_state(visitor) == "error")
    assert [m["text"] for m in messages(visitor)] == ["Hello?"]
    retry = visitor.driver.find_element(By.CSS_SELECTOR, ".message.user .retry")
    assert retry.is_displayed() and retry.is_enabled()
    visitor.shot("chat-retry", docs="chat-retry")
    fake.clear()
    fake.queue(reply_text("Here I am."))
    retry.click()
    visitor.wait(lambda _: stored_replies(visitor) == ["Here I am."])
    shown_now = messages(visitor)
    assert [(m["role"], m["text"]) for m in shown_now] == [
        ("user", "Hello?"),
        ("model", "Here I am."),
    ]
    assert all(m["id"] for m in shown_now) and not retry.is_displayed()


@pytest.mark.parametrize("size", [WIDE, PHONE], ids=["wide", "phone"])
def test_a_dead_link_says_so_before_anyone_types(
    stack: LocalStack, browser: OpenBrowser, size: tuple[int, int]
) -> None:
    visitor = browser(size)
    visitor.expect_failed_requests(404)
    open_chat(visitor, "0" * 32)
    page = visitor.wait(lambda d: d.find_element(By.ID, "unavailable"))
    assert page.is_displayed() and "This link no longer works" in page.text
    link = page.find_element(By.TAG_NAME, "a")
    assert link.get_attribute("href") == f"{visitor.base_url}/"
    assert not shown(visitor, "#composer") and not shown(visitor, "#welcome")
    assert not shown(visitor, "#new-chat") and not shown(visitor, "#menu-button")
    if size == PHONE:
        fits_the_phone(visitor)
    visitor.shot(f"chat-dead-link-{size[0]}", docs=f"chat-dead-link-{size[0]}")


def test_a_deleted_agents_link_says_so_though_its_chats_are_kept_here(
    stack: LocalStack, browser: OpenBrowser
) -> None:
    created = new_agent(stack)
    config_id = created["chatConfigId"]
    old = call(stack, "POST", "/chat-session", {"chatConfigId": config_id})
    call(
        stack,
        "POST",
        "/session-message",
        {"sessionId": old["sessionId"], "message": "Hi"},
        old["sessionToken"],
    )
    call(stack, "DELETE", f"/chat-config/{config_id}", None, created["editToken"])
    visitor = browser(WIDE)
    visitor.open("/")
    hold_session(visitor, config_id, old, "ai-maker:session:")
    # The one call that decides the page may fail; nothing after it is asked.
    visitor.expect_console_errors(f"/chat-config/{config_id} - Failed to load resource")
    open_chat(visitor, config_id)
    page = visitor.wait(lambda d: d.find_element(By.ID, "unavailable"))
    visitor.wait(lambda _: "This link no longer works" in page.text)
    assert not shown(visitor, "#composer")


def test_a_paused_agent_says_so_before_anyone_types(
    stack: LocalStack, browser: OpenBrowser
) -> None:
    created = new_agent(stack)
    config_id = created["chatConfigId"]
    body = call(stack, "GET", f"/chat-config/{config_id}")
    update = {k: body[k] for k in ("title", "model", "systemPrompt", "temperature")}
    call(
        stack,
        "PUT",
        f"/chat-config/{config_id}",
        {**update, "sharing": False},
        created["editToken"],
    )
    visitor = browser(PHONE)
    open_chat(visitor, config_id)
    page = visitor.wait(lambda d: d.find_element(By.ID, "unavailable"))
    visitor.wait(lambda _: "This agent is paused" in page.text)
    assert "paused this agent" in page.text and not shown(visitor, "#composer")
    assert page.find_element(By.TAG_NAME, "a").get_attribute("href") == f"{visitor.base_url}/"
    fits_the_phone(visitor)
    visitor.shot("chat-paused-390", docs="chat-paused-390")


def test_send_stays_off_with_its_reason_until_retry_after_passes(
    stack: LocalStack, browser: OpenBrowser
) -> None:
    config_id = new_agent(stack)["chatConfigId"]
    visitor = browser(WIDE)
    open_chat(visitor, config_id)
    send = visitor.driver.find_element(By.ID, "send")
    assert send.is_enabled()
    # The page's own module, as a refusal with Retry-After: 2 would call it.
    visitor.driver.execute_async_script(
        """const done = arguments[0];
        import(document.body.dataset.base + "/static/controls.js").then((controls) => {
          const refusal = { code: "budget_exhausted", retryAfter: 2, details: { scope: "agent" } };
          controls.lock(refusal, () => controls.showControls(null, false));
          done();
        });"""
    )
    assert not send.is_enabled()
    assert "This agent has used today's budget" in visitor.driver.find_element(By.ID, "lock").text
    visitor.wait(lambda _: send.is_enabled(), 5)
    assert not shown(visitor, "#lock")


def test_a_touch_screen_gets_a_placeholder_and_an_enter_key_of_its_own(
    stack: LocalStack, fake: FakeGemini, browser: OpenBrowser
) -> None:
    config_id = new_agent(stack)["chatConfigId"]
    desktop = browser(WIDE)
    open_chat(desktop, config_id)
    assert "Shift+Enter" in desktop.attribute("message", "placeholder")
    phone = browser(PHONE)
    phone.driver.execute_cdp_cmd(
        "Emulation.setTouchEmulationEnabled", {"enabled": True, "maxTouchPoints": 5}
    )
    open_chat(phone, config_id)
    assert phone.js("return matchMedia('(pointer: coarse)').matches")
    assert phone.attribute("message", "placeholder") == "Message"
    box = phone.driver.find_element(By.ID, "message")
    box.send_keys("Ahoy", Keys.ENTER, "matey")
    assert box.get_attribute("value") == "Ahoy\nmatey" and messages(phone) == []
    phone.driver.find_element(By.ID, "send").click()
    phone.wait(lambda _: stored_replies(phone))
    assert messages(phone)[0]["text"] == "Ahoy\nmatey"
    fits_the_phone(phone)
    assert state_line(phone) == ""


def test_the_menu_by_keyboard_on_a_phone_and_in_the_dark(
    stack: LocalStack, browser: OpenBrowser
) -> None:
    config_id = new_agent(stack, allowSessionOverrides=True)["chatConfigId"]
    visitor = browser(PHONE)
    visitor.driver.execute_cdp_cmd(
        "Emulation.setEmulatedMedia",
        {"features": [{"name": "prefers-color-scheme", "value": "dark"}]},
    )
    open_chat(visitor, config_id)
    # The dark theme: a dark page, light text, and icons drawn in the text's colour.
    colour = "return getComputedStyle(document.querySelector(arguments[0])).color"
    background = "return getComputedStyle(document.querySelector(arguments[0])).backgroundColor"
    assert visitor.js(background, "body") == "rgb(22, 22, 24)"
    assert visitor.js(colour, "#menu-button") == "rgb(236, 236, 236)"
    assert visitor.js(background, "#menu-button .icon") == "rgb(236, 236, 236)"

    button = visitor.driver.find_element(By.ID, "menu-button")
    button.send_keys(Keys.ENTER)
    visitor.wait(lambda _: shown(visitor, "#chat-menu"))
    assert button.get_attribute("aria-expanded") == "true"
    visitor.driver.find_element(By.CSS_SELECTOR, "#settings-box summary").click()
    visitor.wait(lambda _: shown(visitor, "#session-temperature"))
    fits_the_phone(visitor)
    visitor.shot("chat-menu-dark-390", docs="chat-dark-390")
    visitor.driver.find_element(By.ID, "session-title").send_keys(Keys.ESCAPE)
    visitor.wait(lambda _: not shown(visitor, "#chat-menu"))
    assert visitor.js("return document.activeElement.id") == "menu-button"
    assert button.get_attribute("aria-expanded") == "false"
