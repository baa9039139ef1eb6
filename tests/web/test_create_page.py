"""The create page and My agents in a real browser, and a visitor opening the share link."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from tests.fake_gemini import FakeGemini, reply_text
from tests.local_stack import LocalStack
from tests.web.browser import (
    PHONE,
    Browser,
    call,
    messages,
    open_chat,
    open_create_page,
    stored_replies,
    submit_agent,
    type_and_enter,
)

pytestmark = pytest.mark.timeout(90)
OpenBrowser = Callable[..., Browser]


def test_a_creator_makes_an_agent_and_a_visitor_chats_with_it(
    stack: LocalStack, fake: FakeGemini, browser: OpenBrowser
) -> None:
    creator = browser()
    open_create_page(creator)
    find = creator.driver.find_element
    find(By.ID, "title").send_keys("Pirate tutor")
    find(By.ID, "system-prompt").send_keys("Answer like a pirate.")
    find(By.CSS_SELECTOR, "#panel-limits summary").click()
    find(By.ID, "limit-session").send_keys("50")
    find(By.ID, "limit-tokens").send_keys("100000")
    share_link = submit_agent(creator)
    edit_token = creator.attribute("edit-token")
    # Out of the box the link opens this app's own chat page, on the origin in use.
    assert share_link.startswith(f"{creator.base_url}/chat/")
    assert edit_token.startswith("et_")
    assert "only key" in find(By.CSS_SELECTOR, "#created .warning").text
    creator.driver.execute_cdp_cmd(
        "Browser.grantPermissions",
        {
            "origin": creator.base_url,
            "permissions": ["clipboardReadWrite", "clipboardSanitizedWrite"],
        },
    )
    find(By.ID, "copy-link").click()
    creator.wait(lambda _: find(By.ID, "copy-link").text == "Copied")
    clipboard = creator.driver.execute_async_script(
        "navigator.clipboard.readText().then(arguments[0])"
    )
    assert clipboard == share_link
    config_id = share_link.rsplit("/", 1)[1]
    saved = creator.js(
        "return JSON.parse(localStorage.getItem(arguments[0]))", f"ai-maker:agent:{config_id}"
    )
    assert saved["editToken"] == edit_token
    assert [
        e.text for e in creator.driver.find_elements(By.CSS_SELECTOR, "#my-agents .agent-title")
    ] == ["Pirate tutor"]
    config = call(stack, "GET", f"/chat-config/{config_id}")
    assert config["limits"]["messagesPerSession"] == 50
    assert config["limits"]["tokensPerDay"] == 100000
    creator.js("window.scrollTo(0, 0)")
    creator.shot("create-agent", docs="create")

    # A second browser is a visitor with nothing in its storage, on a phone-sized screen.
    visitor = browser(PHONE)
    open_chat(visitor, config_id)
    assert visitor.driver.title == "Pirate tutor · AI Maker"
    assert "Answer like a pirate." in visitor.attribute("agent-prompt", "textContent")
    box = visitor.driver.find_element(By.ID, "message")
    box.send_keys("Ahoy", Keys.SHIFT, Keys.ENTER, Keys.NULL, "matey")
    assert box.get_attribute("value") == "Ahoy\nmatey"  # Shift+Enter added a line, sent nothing
    assert messages(visitor) == []
    fake.queue(
        reply_text('Arr, **welcome** aboard!\n\n- a ship\n- a parrot\n\n```py\nprint("ahoy")\n```')
    )
    box.send_keys(Keys.ENTER)
    visitor.wait(lambda _: stored_replies(visitor))
    shown = messages(visitor)
    assert [m["role"] for m in shown] == ["user", "model"]
    assert shown[0]["text"] == "Ahoy\nmatey"
    assert fake.last_request.body["contents"][-1]["parts"][0]["text"] == "Ahoy\nmatey"
    reply = visitor.driver.find_element(By.CSS_SELECTOR, ".message.model .body")
    assert reply.find_element(By.TAG_NAME, "strong").text == "welcome"
    assert [li.text for li in reply.find_elements(By.TAG_NAME, "li")] == ["a ship", "a parrot"]
    assert "tokens used in this chat" in visitor.driver.find_element(By.ID, "usage").text
    assert box.get_attribute("value") == ""
    # Nothing a person would call a token sits in any URL the visitor can see.
    assert "st_" not in visitor.driver.current_url
    no_horizontal_scroll = "return document.documentElement.scrollWidth <= window.innerWidth"
    assert visitor.js(no_horizontal_scroll)
    visitor.shot("chat-phone", docs="chat")

    # A reload returns to the same conversation; "New chat" starts another.
    visitor.driver.refresh()
    visitor.wait(lambda _: len(stored_replies(visitor)) == 1)
    assert [m["id"] for m in messages(visitor)] == [m["id"] for m in shown]
    visitor.driver.find_element(By.ID, "new-chat").click()
    visitor.wait(lambda _: messages(visitor) == [])
    type_and_enter(visitor, "A new voyage")
    visitor.wait(lambda _: len(stored_replies(visitor)) == 1)
    assert messages(visitor)[0]["text"] == "A new voyage"


def test_the_creator_edits_pauses_rotates_and_deletes_from_my_agents(
    stack: LocalStack, fake: FakeGemini, browser: OpenBrowser
) -> None:
    creator = browser()
    open_create_page(creator)
    find = creator.driver.find_element
    find(By.ID, "title").send_keys("Quiz master")
    config_id = submit_agent(creator).rsplit("/", 1)[1]
    first_token = creator.attribute("edit-token")
    item = f'#my-agents li[data-config-id="{config_id}"]'

    def click(label: str) -> None:
        buttons = creator.driver.find_elements(By.CSS_SELECTOR, f"{item} button")
        found = next(b for b in buttons if (b.get_attribute("textContent") or "").strip() == label)
        if not found.is_displayed():  # what cannot be undone is tucked away
            creator.driver.find_element(By.CSS_SELECTOR, f"{item} .danger-zone summary").click()
        found.click()

    def agent_status() -> str:
        return str(find(By.ID, "agents-status").text)

    click("Edit")
    creator.wait(lambda _: find(By.ID, "submit").text == "Save changes")
    title = find(By.ID, "title")
    title.clear()
    title.send_keys("Quiz master 2", Keys.ENTER)  # Enter in a field submits the form
    creator.wait(lambda _: find(By.ID, "form-status").text == "Saved.")
    assert call(stack, "GET", f"/chat-config/{config_id}")["title"] == "Quiz master 2"

    click("Turn sharing off")
    click("Really stop new chats?")
    creator.wait(lambda _: "Sharing is off" in agent_status())
    visitor = browser()
    open_chat(visitor, config_id)
    # The visitor learns it before typing anything: no message box, a page that says so.
    paused = visitor.wait(lambda d: d.find_element(By.ID, "unavailable"))
    visitor.wait(lambda _: "paused this agent" in paused.text)
    assert not visitor.driver.find_element(By.ID, "message").is_displayed()
    click("Turn sharing on")
    creator.wait(lambda _: "Sharing is on" in agent_status())

    click("New edit token")
    click("Really replace the token?")
    creator.wait(lambda _: "old one no longer works" in agent_status())
    second_token = creator.attribute("edit-token")
    assert second_token != first_token
    assert stack.call("DELETE", f"/chat-config/{config_id}", token=first_token)[0] == 403

    click("Delete")
    click("Really delete?")
    creator.wait(lambda _: "Deleted" in agent_status())
    assert not creator.driver.find_elements(By.CSS_SELECTOR, item)
    assert stack.call("GET", f"/chat-config/{config_id}")[0] == 404
