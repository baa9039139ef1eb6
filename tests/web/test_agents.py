"""An agent's greeting, starters, tools and sources in a real browser: made on the create
page, opened through its share link, a starter clicked, a grounded reply's sources shown."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from selenium.webdriver.common.by import By

from tests.fake_gemini import FakeGemini, grounded, grounding_metadata, reply_text
from tests.local_stack import LocalStack
from tests.web.browser import (
    PHONE,
    Browser,
    call,
    messages,
    new_agent,
    open_chat,
    open_create_page,
    open_menu,
    stored_replies,
    submit_agent,
    type_and_enter,
)

pytestmark = pytest.mark.timeout(90)
OpenBrowser = Callable[..., Browser]
GREETING = "Ahoy! I know every knot.\nAsk away."
STARTERS = ["How do I tie a bowline?", "<b>Which</b> knot holds best?"]


def test_a_visitor_sees_the_greeting_clicks_a_starter_and_gets_cited_sources(
    stack: LocalStack, fake: FakeGemini, browser: OpenBrowser
) -> None:
    creator = browser()
    open_create_page(creator)
    find = creator.driver.find_element
    find(By.ID, "title").send_keys("Knot tutor")
    find(By.ID, "greeting").send_keys(GREETING)
    find(By.ID, "starter-1").send_keys(STARTERS[0])
    find(By.ID, "starter-3").send_keys(STARTERS[1])
    find(By.CSS_SELECTOR, "#panel-tools summary").click()
    find(By.ID, "tool-search").click()
    find(By.ID, "top-p-on").click()
    creator.js(
        "const s = arguments[0]; s.value = '0.9'; s.dispatchEvent(new Event('input'))",
        find(By.ID, "top-p"),
    )
    assert find(By.ID, "top-p-value").text == "0.9"
    find(By.ID, "stop-sequences").send_keys("THE END")
    creator.shot("agent-extras")
    share_link = submit_agent(creator)
    config = call(stack, "GET", f"/chat-config/{share_link.rsplit('/', 1)[1]}")
    assert config["greeting"] == GREETING
    assert config["starters"] == STARTERS
    assert config["tools"] == {"googleSearch": True, "urlContext": False, "codeExecution": False}
    assert (config["topP"], config["stopSequences"], config["topK"]) == (0.9, ["THE END"], None)

    visitor = browser(PHONE)
    open_chat(visitor, config["chatConfigId"])
    greeting = visitor.driver.find_element(By.ID, "greeting")
    assert greeting.is_displayed() and greeting.text == GREETING
    buttons = visitor.driver.find_elements(By.CSS_SELECTOR, "#starters button")
    # Text, not markup: the creator's words are shown as they are.
    assert [b.text for b in buttons] == STARTERS
    assert messages(visitor) == []

    fake.queue(
        grounded(
            "Make a loop, pass the end up through it.",
            grounding_metadata(
                [
                    ("knots.example", "https://knots.example/bowline"),
                    ("bad", "javascript:alert(1)"),
                ],
                [(0, 12, [0, 1])],
                ["bowline"],
            ),
        )
    )
    buttons[0].click()
    visitor.wait(lambda _: stored_replies(visitor))
    shown = messages(visitor)
    assert [(m["role"], m["text"]) for m in shown] == [
        ("user", STARTERS[0]),
        ("model", "Make a loop, pass the end up through it."),
    ]
    # The greeting and starters were for before the first message; the model never saw it.
    assert not visitor.driver.find_element(By.ID, "welcome").is_displayed()
    body = fake.last_request.body
    assert "Ahoy" not in str(body["contents"]) and body["tools"] == [{"googleSearch": {}}]
    links = visitor.driver.find_elements(By.CSS_SELECTOR, ".message.model .citations a")
    assert [(a.text, a.get_attribute("href"), a.get_attribute("rel")) for a in links] == [
        ("knots.example", "https://knots.example/bowline", "noopener noreferrer")
    ]
    visitor.shot("agent-citations", docs="chat-citations")

    # Back later, the sources come with the history.
    visitor.driver.refresh()
    visitor.wait(lambda _: stored_replies(visitor))
    again = visitor.driver.find_elements(By.CSS_SELECTOR, ".message.model .citations a")
    assert [a.get_attribute("href") for a in again] == ["https://knots.example/bowline"]
    assert not visitor.driver.find_element(By.ID, "welcome").is_displayed()


def test_a_visitor_changes_the_generation_settings_of_their_chat(
    stack: LocalStack, fake: FakeGemini, browser: OpenBrowser
) -> None:
    config_id = new_agent(stack, topP=0.9, stopSequences=["THE END"])["chatConfigId"]
    visitor = browser()
    open_chat(visitor, config_id)
    find = visitor.driver.find_element
    open_menu(visitor)
    find(By.CSS_SELECTOR, "#settings-box summary").click()
    fields = ("session-top-p", "session-top-k", "session-max-output-tokens")
    assert [find(By.ID, field).get_attribute("value") for field in fields] == ["0.9", "", ""]
    assert find(By.ID, "session-stop-sequences").get_attribute("value") == "THE END"

    find(By.ID, "session-top-p").clear()  # back to the model's own
    find(By.ID, "session-top-k").send_keys("7")
    find(By.ID, "session-max-output-tokens").send_keys("64")
    stops = find(By.ID, "session-stop-sequences")
    stops.clear()
    stops.send_keys("FIN\nEND")
    visitor.shot("chat-generation-settings")
    find(By.CSS_SELECTOR, "#settings-form button[type=submit]").click()
    visitor.wait(lambda d: "Saved" in d.find_element(By.ID, "settings-status").text)
    fake.queue(reply_text("Short."))
    type_and_enter(visitor, "Hi")
    visitor.wait(lambda _: stored_replies(visitor) == ["Short."])
    generation = fake.last_request.body["generationConfig"]
    assert "topP" not in generation
    assert (generation["topK"], generation["maxOutputTokens"]) == (7, 64)
    assert generation["stopSequences"] == ["FIN", "END"]
    # What was saved is what the page shows after a reload.
    visitor.driver.refresh()
    visitor.wait(lambda _: stored_replies(visitor) == ["Short."])
    find = visitor.driver.find_element
    assert [find(By.ID, field).get_attribute("value") for field in fields] == ["", "7", "64"]
