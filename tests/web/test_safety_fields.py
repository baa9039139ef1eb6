"""The studio's Safety and attachments panel: the thresholds chosen reach the agent, and a
refusal (attachment detail on a model without it) says which field and why."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from tests.local_stack import LocalStack
from tests.web.browser import Browser, call, open_create_page, submit_agent

pytestmark = pytest.mark.timeout(120)
OpenBrowser = Callable[..., Browser]


def test_the_thresholds_reach_the_agent_and_a_refusal_names_the_field(
    stack: LocalStack, browser: OpenBrowser
) -> None:
    page = browser()
    open_create_page(page)
    find = page.driver.find_element
    find(By.ID, "title").send_keys("A careful tutor")
    find(By.CSS_SELECTOR, "#panel-safety summary").click()
    Select(find(By.ID, "safety-harassment")).select_by_value("BLOCK_LOW_AND_ABOVE")
    Select(find(By.ID, "safety-dangerous-content")).select_by_value("BLOCK_ONLY_HIGH")
    # The default models are Gemini 2.5: they take no media resolution.
    Select(find(By.ID, "media-resolution")).select_by_value("low")
    page.expect_console_errors("/create-chat - Failed to load resource")
    find(By.ID, "submit").click()
    status = page.wait(
        lambda d: (text := d.find_element(By.ID, "form-status").text) != "Creating…" and text
    )
    assert "mediaResolution: the model" in status
    assert "takes no media resolution" in status
    Select(find(By.ID, "media-resolution")).select_by_value("")
    config = call(stack, "GET", f"/chat-config/{submit_agent(page).rsplit('/', 1)[1]}")
    assert config["safety"] == {
        "harassment": "BLOCK_LOW_AND_ABOVE",
        "hateSpeech": None,
        "sexuallyExplicit": None,
        "dangerousContent": "BLOCK_ONLY_HIGH",
    }
    assert config["mediaResolution"] is None
