"""JSON replies in a real browser: the studio's reply format (a refusal names the field,
an edit shows the schema), and a JSON reply shown indented in a code block, streamed and
after a reload alike."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.select import Select

from tests.fake_gemini import FakeGemini, json_reply
from tests.local_stack import LocalStack
from tests.web import browser as web

pytestmark = pytest.mark.timeout(90)
OpenBrowser = Callable[..., web.Browser]
SCHEMA = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}


def test_the_studio_sets_a_json_reply_format_and_shows_a_refusal(
    stack: LocalStack, browser: OpenBrowser
) -> None:
    page = browser()
    page.expect_failed_requests(400)
    web.open_create_page(page)
    find = page.driver.find_element
    find(By.ID, "title").send_keys("City finder")
    assert not find(By.ID, "reply-schema").is_displayed()
    Select(find(By.ID, "reply-format")).select_by_value("json_schema")
    find(By.ID, "reply-schema").send_keys('{"type": "objet"}')
    find(By.ID, "submit").click()
    page.wait(lambda _: "responseFormat.schema" in find(By.ID, "form-status").text)
    find(By.ID, "reply-schema").clear()
    find(By.ID, "reply-schema").send_keys(json.dumps(SCHEMA))
    config_id = web.submit_agent(page).rsplit("/", 1)[1]
    config = web.call(stack, "GET", f"/chat-config/{config_id}")
    assert config["responseFormat"] == {"type": "json_schema", "schema": SCHEMA}
    card = find(By.CSS_SELECTOR, f'li.agent-card[data-config-id="{config_id}"]')
    card.find_element(By.XPATH, ".//button[normalize-space()='Edit']").click()
    page.wait(lambda _: find(By.ID, "submit").text == "Save changes")
    assert find(By.ID, "reply-schema").is_displayed()
    assert json.loads(page.attribute("reply-schema")) == SCHEMA


def test_a_json_reply_shows_indented_in_a_code_block(
    stack: LocalStack, fake: FakeGemini, browser: OpenBrowser
) -> None:
    agent = web.new_agent(stack, responseFormat={"type": "json_schema", "schema": SCHEMA})
    visitor = browser()
    web.open_chat(visitor, agent["chatConfigId"])
    fake.queue(json_reply({"city": "<b>Paris</b>"}, chunks=3))
    web.type_and_enter(visitor, "The capital of France?")
    visitor.wait(lambda _: web.stored_replies(visitor))
    indented = '{\n  "city": "<b>Paris</b>"\n}'

    def shown() -> tuple[str, str]:
        block = visitor.driver.find_element(By.CSS_SELECTOR, ".message.model .code-block")
        language = block.find_element(By.CSS_SELECTOR, ".language").text
        return language, block.find_element(By.TAG_NAME, "code").text

    visitor.wait(lambda _: shown() == ("json", indented))
    assert visitor.driver.find_elements(By.CSS_SELECTOR, ".message.model .body b") == []
    assert visitor.driver.find_elements(By.CSS_SELECTOR, ".message.model .copy-code")
    visitor.driver.refresh()
    visitor.wait(lambda _: web.stored_replies(visitor))
    visitor.wait(lambda _: shown() == ("json", indented))
