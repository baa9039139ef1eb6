"""The web app in a real browser, on the real local stack, as a creator and a visitor use it."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from selenium.common.exceptions import NoAlertPresentException
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from tests.fake_gemini import FakeGemini, reply_text, slow, streamed
from tests.test_run_local import LocalStack
from tests.web.browser import PHONE, Browser, call

pytestmark = pytest.mark.timeout(90)
OpenBrowser = Callable[..., Browser]
AGENT = {"title": "Pirate tutor", "model": "gemini-2.5-flash", "temperature": 0.7}


def messages(browser: Browser) -> list[dict[str, Any]]:
    """The conversation as shown: role, text, state (waiting, streaming, stopped...)."""
    script = """return [...document.querySelectorAll('#messages li.message')].map(li => ({
        role: li.classList.contains('user') ? 'user' : 'model', id: li.dataset.id || null,
        state: li.dataset.state || null, text: li.querySelector('.body').innerText}))"""
    found: list[dict[str, Any]] = browser.js(script)
    return found


def last_state(browser: Browser) -> str | None:
    shown = messages(browser)
    return shown[-1]["state"] if shown else None


def stored_replies(browser: Browser) -> list[str]:
    return [m["text"] for m in messages(browser) if m["role"] == "model" and m["id"]]


def state_line(browser: Browser) -> str:
    return str(browser.driver.find_element(By.ID, "state").text)


def type_and_enter(browser: Browser, text: str) -> None:
    box = browser.driver.find_element(By.ID, "message")
    box.send_keys(text, Keys.ENTER)


def open_chat(browser: Browser, config_id: str) -> None:
    browser.open(f"/chat/{config_id}")
    browser.wait(lambda d: d.find_element(By.ID, "agent-title").text != "Loading…")


def new_agent(stack: LocalStack, **overrides: Any) -> dict[str, Any]:
    created: dict[str, Any] = call(
        stack, "POST", "/create-chat", {**AGENT, "systemPrompt": "Be a pirate.", **overrides}
    )
    return created


def test_a_creator_makes_an_agent_and_a_visitor_chats_with_it(
    stack: LocalStack, fake: FakeGemini, browser: OpenBrowser
) -> None:
    creator = browser()
    creator.open("/")
    creator.wait(lambda d: d.find_elements(By.CSS_SELECTOR, "#model option"))
    find = creator.driver.find_element
    find(By.ID, "title").send_keys("Pirate tutor")
    find(By.ID, "system-prompt").send_keys("Answer like a pirate.")
    find(By.CSS_SELECTOR, "details.controls summary").click()
    find(By.ID, "limit-session").send_keys("50")
    find(By.ID, "submit").click()
    creator.wait(lambda d: d.find_element(By.ID, "created").is_displayed())
    share_link = creator.attribute("share-link")
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
    creator.js("window.scrollTo(0, 0)")
    creator.shot("create-agent")

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
    reply = visitor.driver.find_element(By.CSS_SELECTOR, "li.message.model .body")
    assert reply.find_element(By.TAG_NAME, "strong").text == "welcome"
    assert [li.text for li in reply.find_elements(By.TAG_NAME, "li")] == ["a ship", "a parrot"]
    assert "tokens used in this chat" in visitor.driver.find_element(By.ID, "usage").text
    assert box.get_attribute("value") == ""
    # Nothing a person would call a token sits in any URL the visitor can see.
    assert "st_" not in visitor.driver.current_url
    no_horizontal_scroll = "return document.documentElement.scrollWidth <= window.innerWidth"
    assert visitor.js(no_horizontal_scroll)
    visitor.shot("chat-phone")

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
    creator.open("/")
    creator.wait(lambda d: d.find_elements(By.CSS_SELECTOR, "#model option"))
    find = creator.driver.find_element
    find(By.ID, "title").send_keys("Quiz master")
    find(By.ID, "submit").click()
    creator.wait(lambda d: d.find_element(By.ID, "created").is_displayed())
    config_id = creator.attribute("share-link").rsplit("/", 1)[1]
    first_token = creator.attribute("edit-token")
    item = f'#my-agents li[data-config-id="{config_id}"]'

    def click(label: str) -> None:
        buttons = creator.driver.find_elements(By.CSS_SELECTOR, f"{item} button")
        next(b for b in buttons if b.text == label).click()

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
    creator.wait(lambda _: "Sharing is off" in agent_status())
    visitor = browser()
    visitor.expect_failed_requests(403)
    open_chat(visitor, config_id)
    type_and_enter(visitor, "Hello?")
    visitor.wait(lambda _: "paused this agent" in state_line(visitor))
    click("Turn sharing on")
    creator.wait(lambda _: "Sharing is on" in agent_status())

    click("New edit token")
    creator.wait(lambda _: "old one no longer works" in agent_status())
    second_token = creator.attribute("edit-token")
    assert second_token != first_token
    assert stack.call("DELETE", f"/chat-config/{config_id}", token=first_token)[0] == 403

    click("Delete")
    click("Really delete?")
    creator.wait(lambda _: "Deleted" in agent_status())
    assert not creator.driver.find_elements(By.CSS_SELECTOR, item)
    assert stack.call("GET", f"/chat-config/{config_id}")[0] == 404


def test_a_reply_renders_markdown_and_runs_nothing(
    stack: LocalStack, fake: FakeGemini, browser: OpenBrowser
) -> None:
    # The creator's title is untrusted too, for the visitor.
    config_id = new_agent(stack, title="<img src=x onerror=alert(1)>")["chatConfigId"]
    visitor = browser()
    open_chat(visitor, config_id)
    assert visitor.driver.title == "<img src=x onerror=alert(1)> · AI Maker"
    hostile = (
        "Look: <img src=x onerror=alert(1)> and <script>alert(2)</script>\n\n"
        "[click me](javascript:alert(3)) [data](data:text/html,<b>x</b>) "
        '[docs](https://example.org/a?b=1) <a href="javascript:alert(4)">raw</a>\n\n'
        "```html\n<img src=x onerror=alert(5)>\n```\n\n1. `<b>code</b>`\n2. *two*"
    )
    fake.queue(reply_text(hostile))
    type_and_enter(visitor, "Show me something")
    visitor.wait(lambda _: stored_replies(visitor))
    body = visitor.driver.find_element(By.CSS_SELECTOR, "li.message.model .body")
    with pytest.raises(NoAlertPresentException):
        visitor.driver.switch_to.alert.text  # noqa: B018 (reading it is the check)
    # The page's only elements that could run or load anything are its own.
    assert visitor.driver.find_elements(By.CSS_SELECTOR, "img, iframe, object, embed") == []
    scripts = visitor.driver.find_elements(By.TAG_NAME, "script")
    assert [s.get_attribute("src") for s in scripts] == [f"{visitor.base_url}/static/chat.js"]
    links = body.find_elements(By.TAG_NAME, "a")
    assert [(a.text, a.get_attribute("href"), a.get_attribute("rel")) for a in links] == [
        ("docs", "https://example.org/a?b=1", "noopener noreferrer")
    ]
    text = body.text
    assert "<img src=x onerror=alert(1)>" in text and "<script>alert(2)</script>" in text
    # A link to anything but http(s) keeps its label and loses its target.
    assert "click me data docs" in text and "alert(3)" not in text
    assert body.find_element(By.CSS_SELECTOR, "pre code").text == "<img src=x onerror=alert(5)>"
    items = body.find_elements(By.CSS_SELECTOR, "ol > li")
    assert [li.get_attribute("innerHTML") for li in items] == [
        "<code>&lt;b&gt;code&lt;/b&gt;</code>",
        "<em>two</em>",
    ]
    assert visitor.js("return document.querySelectorAll('[onerror], [onclick]').length") == 0


def test_a_quota_says_which_limit_and_when_it_resets(
    stack: LocalStack, fake: FakeGemini, browser: OpenBrowser
) -> None:
    config_id = new_agent(stack, limits={"messagesPerDay": 1})["chatConfigId"]
    visitor = browser()
    visitor.expect_failed_requests(429)
    open_chat(visitor, config_id)
    type_and_enter(visitor, "One")
    visitor.wait(lambda _: stored_replies(visitor))
    type_and_enter(visitor, "Two")
    visitor.wait(lambda _: "limit" in state_line(visitor))
    sentence = state_line(visitor)
    assert sentence.startswith("This agent has reached its limit of 1 message a day.")
    assert " It resets in " in sentence and " h " in sentence or " min " in sentence
    # The refused message is marked and goes back into the box, to send later.
    assert messages(visitor)[-1]["state"] == "error"
    assert visitor.driver.find_element(By.ID, "message").get_attribute("value") == "Two"
    visitor.shot("quota")


def test_load_earlier_pages_back_through_a_long_history(
    stack: LocalStack, fake: FakeGemini, browser: OpenBrowser
) -> None:
    config_id = new_agent(stack)["chatConfigId"]
    session = call(stack, "POST", "/chat-session", {"chatConfigId": config_id})
    for number in range(1, 26):
        body = {"sessionId": session["sessionId"], "message": f"message {number}"}
        call(stack, "POST", "/session-message", body, session["sessionToken"])
    visitor = browser()
    visitor.open("/")
    # This browser holds the session, as if it had sent the 25 messages itself.
    visitor.js(
        "localStorage.setItem(arguments[0], JSON.stringify(arguments[1]))",
        f"ai-maker:session:{config_id}",
        {"sessionId": session["sessionId"], "sessionToken": session["sessionToken"]},
    )
    open_chat(visitor, config_id)
    visitor.wait(lambda _: len(messages(visitor)) == 20)
    earlier = visitor.driver.find_element(By.ID, "load-earlier")
    assert messages(visitor)[0]["text"] == "message 16"
    earlier.click()
    visitor.wait(lambda _: len(messages(visitor)) == 40)
    earlier.click()
    visitor.wait(lambda _: len(messages(visitor)) == 50)
    assert not earlier.is_displayed()
    users = [m["text"] for m in messages(visitor) if m["role"] == "user"]
    assert users == [f"message {n}" for n in range(1, 26)]
    # The history is over the model's budget: the page says what the model saw.
    type_and_enter(visitor, "message 26")
    visitor.wait(lambda _: len(stored_replies(visitor)) == 26)
    usage = visitor.driver.find_element(By.ID, "usage").text
    assert "tokens used in this chat" in usage
    assert "the model saw only the latest" in usage and "of 51 messages" in usage


def test_without_websockets_the_page_sends_over_rest_and_stop_ends_the_wait(
    stack: LocalStack, fake: FakeGemini, browser: OpenBrowser
) -> None:
    config_id = new_agent(stack)["chatConfigId"]
    visitor = browser(websocket=False)
    open_chat(visitor, config_id)
    assert visitor.js("return 'WebSocket' in window") is False
    fake.queue(slow(20))
    type_and_enter(visitor, "Take your time")
    visitor.wait(lambda _: last_state(visitor) == "waiting")
    assert "Waiting" in state_line(visitor)
    stop = visitor.driver.find_element(By.ID, "stop")
    assert stop.is_displayed()
    visitor.shot("waiting")
    stop.click()
    visitor.wait(lambda _: last_state(visitor) == "stopped")
    assert "Stopped" in state_line(visitor)
    assert not stop.is_displayed()


def test_regenerate_settings_and_export(
    stack: LocalStack, fake: FakeGemini, browser: OpenBrowser
) -> None:
    config_id = new_agent(stack)["chatConfigId"]
    visitor = browser()
    open_chat(visitor, config_id)
    fake.queue(reply_text("First try."), reply_text("Second try."))
    type_and_enter(visitor, "Tell me a joke")
    visitor.wait(lambda _: stored_replies(visitor) == ["First try."])
    visitor.driver.find_element(By.ID, "regenerate").click()
    visitor.wait(lambda _: stored_replies(visitor) == ["Second try."])
    assert len(messages(visitor)) == 2

    visitor.driver.find_element(By.CSS_SELECTOR, "#settings-box summary").click()
    temperature = visitor.driver.find_element(By.ID, "session-temperature")
    temperature.clear()
    temperature.send_keys("1.5")
    visitor.driver.find_element(By.CSS_SELECTOR, "#settings-form button[type=submit]").click()
    visitor.wait(lambda d: "Saved" in d.find_element(By.ID, "settings-status").text)
    type_and_enter(visitor, "Again")
    visitor.wait(lambda _: len(stored_replies(visitor)) == 2)
    assert fake.last_request.body["generationConfig"]["temperature"] == 1.5

    # Export builds the file in the page (the token stays in a header) and downloads it.
    visitor.driver.find_element(By.ID, "export-md").click()
    exported = visitor.downloads / "Pirate-tutor.md"
    visitor.wait(lambda _: exported.exists())
    markdown = exported.read_text()
    assert "Tell me a joke" in markdown and "Second try." in markdown
    visitor.driver.find_element(By.ID, "export-json").click()
    exported = visitor.downloads / "Pirate-tutor.json"
    visitor.wait(lambda _: exported.exists())
    assert [m["content"] for m in json.loads(exported.read_text())["messages"]][-1] == (
        stored_replies(visitor)[-1]
    )


def test_the_reply_streams_in_and_grows_before_it_completes(
    stack: LocalStack, fake: FakeGemini, browser: OpenBrowser
) -> None:
    config_id = new_agent(stack)["chatConfigId"]
    visitor = browser()
    open_chat(visitor, config_id)
    pieces = ("Once ", "upon ", "a ", "time, ", "a ", "ship.")
    fake.queue(streamed(*pieces, delay=0.4))
    type_and_enter(visitor, "A story, please")
    # The fake waits between pieces, so the page shows a part of the reply while it streams.
    visitor.wait(lambda _: last_state(visitor) == "streaming" and messages(visitor)[-1]["text"])
    partial = messages(visitor)[-1]["text"]
    assert "The agent is writing" in state_line(visitor)
    assert visitor.driver.find_element(By.ID, "stop").is_displayed()
    visitor.shot("streaming")
    visitor.wait(lambda _: last_state(visitor) == "done")
    final = messages(visitor)[-1]["text"]
    assert final == "".join(pieces)
    assert len(partial) < len(final) and final.startswith(partial)


def test_stop_ends_a_streaming_reply_and_keeps_its_part(
    stack: LocalStack, fake: FakeGemini, browser: OpenBrowser
) -> None:
    config_id = new_agent(stack)["chatConfigId"]
    visitor = browser()
    open_chat(visitor, config_id)
    fake.queue(streamed(*[f"word{n} " for n in range(60)], delay=0.2))
    type_and_enter(visitor, "Talk for a long time")
    visitor.wait(lambda _: "word2" in (messages(visitor)[-1]["text"] if messages(visitor) else ""))
    visitor.driver.find_element(By.ID, "stop").click()
    visitor.wait(lambda _: last_state(visitor) == "stopped")
    shown = messages(visitor)[-1]
    assert "Stopped" in state_line(visitor)
    assert "word2" in shown["text"] and "word59" not in shown["text"]
    visitor.shot("stopped")
    # What was stored is the part the visitor saw, marked stopped, and a reload shows it.
    visitor.driver.refresh()
    visitor.wait(lambda _: len(stored_replies(visitor)) == 1)
    assert messages(visitor)[-1]["text"] == shown["text"]
    assert last_state(visitor) == "stopped"
