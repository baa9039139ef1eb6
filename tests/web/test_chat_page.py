"""The share link's chat page in a real browser: streaming, stop, history, safety, errors."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from selenium.common.exceptions import NoAlertPresentException
from selenium.webdriver.common.by import By

from tests.fake_gemini import FakeGemini, reply_text, slow, streamed
from tests.local_stack import LocalStack
from tests.web.browser import (
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

pytestmark = pytest.mark.timeout(90)
OpenBrowser = Callable[..., Browser]


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
    body = visitor.driver.find_element(By.CSS_SELECTOR, ".message.model .body")
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
    lock = visitor.wait(lambda d: d.find_element(By.ID, "lock"))
    visitor.wait(lambda _: "limit" in lock.text)
    sentence = lock.text
    # Said once: by the lock beside Send (a live region), not again in the status line.
    assert state_line(visitor) == "" and lock.get_attribute("role") == "status"
    assert sentence.startswith("This agent has reached its limit of 1 message a day.")
    assert " It resets in " in sentence and " h " in sentence or " min " in sentence
    # The refused message is marked, once, with a Retry button; Send is off, with the reason.
    assert [m["state"] for m in messages(visitor)] == [None, "done", "error"]
    failed = visitor.driver.find_elements(By.CSS_SELECTOR, '.message.user[data-state="error"]')
    assert len(failed) == 1
    retry = failed[0].find_element(By.CSS_SELECTOR, ".retry")
    assert retry.is_displayed() and not retry.is_enabled()
    assert not visitor.driver.find_element(By.ID, "send").is_enabled()
    assert visitor.driver.find_element(By.ID, "send").get_attribute("aria-describedby") == "lock"
    assert not visitor.driver.find_element(By.CSS_SELECTOR, ".last-reply .regenerate").is_enabled()
    # Enter does not stack another "not sent" bubble while the quota is spent.
    type_and_enter(visitor, "Three")
    assert len(messages(visitor)) == 3
    visitor.shot("quota", docs="chat-quota")

    # A reload keeps Send off, with its reason, until the quota resets; this agent only.
    visitor.driver.refresh()
    visitor.wait(lambda _: stored_replies(visitor))
    lock = visitor.wait(lambda d: d.find_element(By.ID, "lock"))
    visitor.wait(lambda _: lock.text.startswith("This agent has reached its limit of 1 message"))
    assert " It resets in " in lock.text
    assert not visitor.driver.find_element(By.ID, "send").is_enabled()
    open_chat(visitor, new_agent(stack)["chatConfigId"])
    assert visitor.driver.find_element(By.ID, "send").is_enabled()


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
    visitor.driver.find_element(By.CSS_SELECTOR, ".message.last-reply .regenerate").click()
    visitor.wait(lambda _: stored_replies(visitor) == ["Second try."])
    assert len(messages(visitor)) == 2

    open_menu(visitor)
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
    open_menu(visitor)
    visitor.driver.find_element(By.ID, "export-md").click()
    exported = visitor.downloads / "Pirate-tutor.md"
    visitor.wait(lambda _: exported.exists())
    markdown = exported.read_text()
    assert "Tell me a joke" in markdown and "Second try." in markdown
    open_menu(visitor)
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
    visitor.shot("streaming", docs="chat-streaming")
    visitor.wait(lambda _: last_state(visitor) == "done")
    final = messages(visitor)[-1]["text"]
    assert final == "".join(pieces)
    assert len(partial) < len(final) and final.startswith(partial)


def test_a_long_message_streams_and_keeps_its_texts_when_done_omits_them(
    stack: LocalStack, fake: FakeGemini, browser: OpenBrowser
) -> None:
    """Its done frame is too big for one WebSocket frame, so the server leaves the texts
    out (`textsOmitted`); the page shows them from what it sent and the deltas."""
    config_id = new_agent(stack)["chatConfigId"]
    visitor = browser()
    open_chat(visitor, config_id)
    long_message = "é" * 20_000
    fake.queue(streamed("ü" * 4_000, "ü" * 4_000))
    visitor.js("document.getElementById('message').value = arguments[0]", long_message)
    type_and_enter(visitor, "!")
    visitor.wait(lambda _: last_state(visitor) == "done")
    shown = messages(visitor)
    assert [m["text"] for m in shown] == [long_message + "!", "ü" * 8_000]
    assert all(m["id"] for m in shown)
    assert "error" not in state_line(visitor).lower()


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
