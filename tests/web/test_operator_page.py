"""GET /operator in Chromium: the whole server's charts, opened with the operator's token,
which the page keeps in sessionStorage only; a wrong token is told so."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from selenium.webdriver.common.by import By

from tests.fake_gemini import FakeGemini, reply_text
from tests.local_stack import LocalStack
from tests.web.browser import PHONE, WIDE, Browser, call, new_agent
from tests.web.checks import assert_accessible, assert_no_overflow, assert_touch_targets
from tests.web.conftest import web_stack
from tests.web.test_chat_checks import theme

pytestmark = pytest.mark.timeout(120)
OPERATOR_TOKEN = "operator-token-for-the-web-tests"
KEY = "ai-maker:operator-token"


@pytest.fixture(scope="module")
def stack(gemini: FakeGemini, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    """A stack of this module's own, with an operator's token and a daily token budget."""
    log = tmp_path_factory.mktemp("operator-stack") / "stack.log"
    settings = {"OPERATOR_TOKEN": OPERATOR_TOKEN, "BUDGET_TOKENS_PER_DAY": "100000"}
    with web_stack(gemini, log, **settings) as started:
        yield started


def paste(page: Browser, token: str) -> None:
    page.driver.find_element(By.ID, "operator-token").send_keys(token)
    page.driver.find_element(By.ID, "operator-open").click()


def stored(page: Browser) -> dict[str, str | None]:
    found: dict[str, str | None] = page.js(
        "return {session: sessionStorage.getItem(arguments[0]),"
        " local: localStorage.getItem(arguments[0]), count: String(localStorage.length)}",
        KEY,
    )
    return found


@pytest.mark.parametrize("size", [PHONE, WIDE], ids=["360", "1280"])
def test_the_operator_pastes_the_token_and_sees_the_servers_charts(
    stack: LocalStack, fake: FakeGemini, browser: Callable[..., Browser], size: tuple[int, int]
) -> None:
    fake.queue(reply_text("Arr.", prompt_tokens=30, reply_tokens=10))
    config_id = new_agent(stack)["chatConfigId"]
    session = call(stack, "POST", "/chat-session", {"chatConfigId": config_id})
    body = {"sessionId": session["sessionId"], "message": "Hello"}
    call(stack, "POST", "/session-message", body, session["sessionToken"])

    page = browser(size)
    page.open("/operator")
    assert page.driver.find_element(By.ID, "operator-usage").is_displayed() is False
    paste(page, OPERATOR_TOKEN)
    page.wait(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#operator-charts .chart svg")) == 3)
    assert page.attribute("operator-token") == ""
    assert stored(page) == {"session": OPERATOR_TOKEN, "local": None, "count": "0"}
    captions = [c.text for c in page.driver.find_elements(By.CSS_SELECTOR, ".chart figcaption")]
    assert captions[0].startswith("Messages and sessions per day · 30 days: Messages ")
    assert "limit 100,000 a day" in captions[1]
    figures = page.driver.find_element(By.ID, "operator-figures").text
    assert "messages today" in figures and "agents created today" in figures
    tokens = page.driver.find_element(By.CSS_SELECTOR, ".used-today").text
    assert tokens.startswith("Server's tokens today (settled and in flight)")
    assert tokens.endswith("of 100,000")
    assert page.driver.find_elements(By.CSS_SELECTOR, "#operator-charts line.limit")
    assert_touch_targets(page, "the operator page")
    page.js("document.getElementById('operator-usage').scrollIntoView()")
    for scheme in ("dark", "light"):
        theme(page, scheme)
        assert_no_overflow(page, f"the operator page, {scheme}")
        assert_accessible(page, f"the operator page, {scheme}")
        docs = "operator" if size == PHONE and scheme == "light" else None
        page.shot(f"operator-{size[0]}-{scheme}", docs=docs)

    # The tab keeps the token: a reload shows the usage again, without asking.
    page.driver.refresh()
    page.wait(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#operator-charts .chart svg")) == 3)
    page.driver.find_element(By.ID, "operator-forget").click()
    assert stored(page)["session"] is None
    assert not page.driver.find_element(By.ID, "operator-usage").is_displayed()


def test_a_wrong_token_is_told_so_and_kept_nowhere(
    stack: LocalStack, browser: Callable[..., Browser]
) -> None:
    page = browser()
    page.expect_failed_requests(403)
    page.open("/operator")
    paste(page, "not-the-token")
    status = page.wait(lambda d: d.find_element(By.ID, "operator-status"))
    page.wait(lambda _: "not this server's operator token" in status.text)
    assert status.get_attribute("data-state") == "error"
    assert stored(page) == {"session": None, "local": None, "count": "0"}
    assert not page.driver.find_element(By.ID, "operator-usage").is_displayed()
    page.shot("operator-wrong-token")
