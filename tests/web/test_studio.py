"""The creator studio on `/`, at a laptop's and a phone's width: its panels, sliders and
switches, the limits with this server's numbers, the live preview, the ready-to-share
state, and My agents' cards; laid out within the screen, with 44 px targets, and
without serious accessibility problems in the light and the dark theme."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from tests.local_stack import LocalStack
from tests.web.browser import (
    PHONE,
    PHONE_390,
    WIDE,
    Browser,
    call,
    make_agent_and_open_panel,
    new_agent,
    open_create_page,
    submit_agent,
)
from tests.web.checks import assert_accessible, assert_no_overflow, assert_touch_targets

pytestmark = pytest.mark.timeout(120)
OpenBrowser = Callable[..., Browser]
SIZES = pytest.mark.parametrize("size", [WIDE, PHONE_390], ids=["1280", "390"])


def check(page: Browser, where: str) -> None:
    assert_no_overflow(page, where)
    assert_touch_targets(page, where)
    assert_accessible(page, where)


def open_panels(page: Browser) -> None:
    for summary in page.driver.find_elements(By.CSS_SELECTOR, "details.panel:not([open]) summary"):
        summary.click()


def dark(page: Browser) -> None:
    page.driver.execute_cdp_cmd(
        "Emulation.setEmulatedMedia",
        {"features": [{"name": "prefers-color-scheme", "value": "dark"}]},
    )


@pytest.mark.parametrize("size", [WIDE, PHONE_390, PHONE], ids=["1280", "390", "360"])
def test_the_studio_fits_the_screen_and_passes_axe(
    stack: LocalStack, browser: OpenBrowser, size: tuple[int, int]
) -> None:
    page = browser(size)
    # An agent of this browser's already, so My agents has a card to check too.
    made = new_agent(stack, title="An agent whose title is longer than a phone is wide")
    page.open("/")
    page.js(
        "localStorage.setItem(arguments[0], arguments[1])",
        f"ai-maker:agent:{made['chatConfigId']}",
        json.dumps(
            {
                "title": made["config"]["title"],
                "editToken": made["editToken"],
                "shareableUrl": made["shareableUrl"],
            }
        ),
    )
    open_create_page(page)
    check(page, "the empty studio")
    open_panels(page)
    page.driver.find_element(By.CSS_SELECTOR, "#my-agents .danger-zone summary").click()
    page.driver.find_element(By.ID, "title").send_keys("A tutor with a rather long name")
    check(page, "the studio opened")
    dark(page)
    check(page, "the studio opened, in the dark theme")
    submit_agent(page)
    check(page, "the agent made, in the dark theme")
    card = page.driver.find_elements(By.CSS_SELECTOR, "#my-agents li.agent-card")[-1]
    card.find_element(By.XPATH, ".//button[normalize-space()='Knowledge']").click()
    page.wait(lambda _: "No knowledge files yet." in card.text)
    check(page, "an agent's knowledge panel")
    # The model menu shows its whole names; links show their id.
    share = page.driver.find_element(By.ID, "share-link")
    assert page.js("return arguments[0].scrollHeight <= arguments[0].clientHeight", share)
    cards = page.driver.find_elements(By.CSS_SELECTOR, "#my-agents .share-url")
    assert made["chatConfigId"] in cards[-1].text


def test_the_switches_work_by_keyboard(browser: OpenBrowser) -> None:
    page = browser(PHONE_390)
    open_create_page(page)
    find = page.driver.find_element
    find(By.CSS_SELECTOR, "#panel-tools summary").send_keys(Keys.ENTER)
    switch = find(By.ID, "tool-search")
    assert switch.get_attribute("role") == "switch"
    find(By.CSS_SELECTOR, "#panel-tools summary").send_keys(Keys.TAB)
    assert page.js("return document.activeElement.id") == "tool-search"
    switch.send_keys(Keys.SPACE)
    assert switch.is_selected()
    find(By.ID, "top-k-on").send_keys(Keys.SPACE)
    assert find(By.ID, "top-k").is_enabled() and find(By.ID, "top-k-value").text == "40"


def test_no_nested_fieldsets_large_switches_and_the_servers_limits(
    stack: LocalStack, browser: OpenBrowser
) -> None:
    page = browser(PHONE_390)
    open_create_page(page)
    find = page.driver.find_element
    assert page.js("return document.querySelectorAll('fieldset').length") == 0
    open_panels(page)
    # The limits name this server's numbers: those an agent without limits gets.
    in_force = call(stack, "GET", f"/chat-config/{new_agent(stack)['chatConfigId']}")["limits"]
    page.wait(lambda _: find(By.ID, "limit-session-server").text)
    for field, name in [
        ("limit-session", "messagesPerSession"),
        ("limit-day", "messagesPerDay"),
        ("limit-sessions", "sessionsPerDay"),
        ("limit-files", "filesPerConfig"),
        ("limit-attachments", "filesPerSession"),
    ]:
        number = f"{in_force[name]:,}"
        assert f"Up to {number}" in find(By.ID, f"{field}-server").text
        assert find(By.ID, field).get_attribute("placeholder") == number
    for field, name in [
        ("limit-file-size", "fileMaxBytes"),
        ("limit-upload-day", "fileBytesPerDay"),
    ]:
        megabytes = f"{in_force[name] / 1048576:,.1f}".removesuffix(".0")
        assert f"Up to {megabytes} MB" in find(By.ID, f"{field}-server").text
    assert in_force["tokensPerDay"] is None
    assert find(By.ID, "limit-tokens-server").text == "No limit unless you set one."
    # Switches: the whole line is the target, at least 44 px high.
    for switch in page.driver.find_elements(By.CSS_SELECTOR, "label.toggle"):
        assert switch.size["height"] >= 44
    # The sliders show their values, and an optional one is the model's until switched on.
    assert find(By.ID, "temperature-value").text == "0.7"
    find(By.ID, "temperature").send_keys(Keys.ARROW_RIGHT)
    assert find(By.ID, "temperature-value").text == "0.8"
    assert find(By.ID, "top-k-value").text == "model's default"
    assert not find(By.ID, "top-k").is_enabled()
    find(By.CSS_SELECTOR, "label.toggle:has(#top-k-on)").click()
    find(By.ID, "top-k").send_keys(Keys.ARROW_LEFT, Keys.ARROW_LEFT)
    assert find(By.ID, "top-k-value").text == "38"
    find(By.ID, "title").send_keys("Slider tutor")
    find(By.ID, "limit-day").send_keys("30")
    find(By.ID, "limit-file-size").send_keys("2.5")
    find(By.CSS_SELECTOR, "label.toggle:has(#tool-search)").click()
    config_id = submit_agent(page).rsplit("/", 1)[1]
    config = call(stack, "GET", f"/chat-config/{config_id}")
    assert (config["temperature"], config["topK"], config["topP"]) == (0.8, 38, None)
    assert config["limits"]["messagesPerDay"] == 30
    assert config["limits"]["fileMaxBytes"] == 2.5 * 1048576
    assert config["tools"]["googleSearch"] is True


@SIZES
def test_the_preview_shows_the_agent_as_a_visitor_will(
    browser: OpenBrowser, size: tuple[int, int]
) -> None:
    page = browser(size)
    open_create_page(page)
    find = page.driver.find_element
    assert find(By.ID, "preview-title").text == "Your agent's title"
    find(By.ID, "title").send_keys("Knot tutor")
    find(By.ID, "greeting").send_keys("Ahoy!\nAsk me about knots.")
    find(By.ID, "starter-2").send_keys("<b>Which</b> knot?")
    find(By.ID, "starter-4").send_keys("A bowline")
    assert find(By.ID, "preview-title").text == "Knot tutor"
    assert find(By.ID, "preview-greeting").text == "Ahoy!\nAsk me about knots."
    starters = page.driver.find_elements(By.CSS_SELECTOR, "#preview-starters .starter")
    assert [s.text for s in starters] == ["<b>Which</b> knot?", "A bowline"]
    assert not page.driver.find_elements(By.CSS_SELECTOR, "#preview-starters b")
    if size == WIDE:
        page.js("window.scrollTo(0, 0)")
        page.shot("studio", docs="studio")
    # Beside the form on a wide screen, under it on a phone.
    form = find(By.ID, "agent-form").rect
    preview = find(By.CSS_SELECTOR, "aside.preview").rect
    if size == WIDE:
        assert preview["x"] >= form["x"] + form["width"]
    else:
        assert preview["y"] >= form["y"] + form["height"]
    find(By.ID, "greeting").clear()
    page.wait(lambda _: not find(By.ID, "preview-greeting").is_displayed())


@SIZES
def test_once_made_the_agent_is_ready_to_share_with_the_header_in_view(
    stack: LocalStack, browser: OpenBrowser, size: tuple[int, int]
) -> None:
    page = browser(size)
    open_create_page(page)
    find = page.driver.find_element
    find(By.ID, "title").send_keys("Ready tutor")
    page.js("window.scrollTo(0, document.body.scrollHeight)")
    share_link = submit_agent(page)
    assert not find(By.ID, "studio").is_displayed()
    assert page.js("return window.scrollY") == 0
    assert find(By.ID, "top").rect["y"] == 0 and find(By.ID, "top").is_displayed()
    assert page.js("return document.activeElement.id") == "created"
    assert "“Ready tutor” is ready to share" in find(By.ID, "created-heading").text
    assert find(By.ID, "open-link").get_attribute("href") == share_link
    page.driver.execute_cdp_cmd(
        "Browser.grantPermissions",
        {"origin": page.base_url, "permissions": ["clipboardReadWrite", "clipboardSanitizedWrite"]},
    )
    find(By.ID, "copy-link").click()
    page.wait(lambda _: find(By.ID, "copy-link").text == "Copied")
    assert (
        page.driver.execute_async_script("navigator.clipboard.readText().then(arguments[0])")
        == share_link
    )
    find(By.ID, "make-another").click()
    assert find(By.ID, "studio").is_displayed() and not find(By.ID, "created").is_displayed()
    assert find(By.ID, "title").get_attribute("value") == ""
    assert page.js("return document.activeElement.id") == "title"


@SIZES
def test_my_agents_are_cards_whose_destructive_actions_ask_first(
    stack: LocalStack, browser: OpenBrowser, size: tuple[int, int]
) -> None:
    page = browser(size)
    open_create_page(page)
    page.driver.find_element(By.ID, "title").send_keys("Card tutor")
    config_id = submit_agent(page).rsplit("/", 1)[1]
    card = page.driver.find_element(By.CSS_SELECTOR, f'li.agent-card[data-config-id="{config_id}"]')
    assert config_id in card.find_element(By.CSS_SELECTOR, ".share-url").text
    page.driver.execute_cdp_cmd(
        "Browser.grantPermissions",
        {"origin": page.base_url, "permissions": ["clipboardReadWrite", "clipboardSanitizedWrite"]},
    )
    copy = card.find_element(By.CSS_SELECTOR, "button.copy-share")
    copy.click()
    page.wait(lambda _: copy.text == "Copied")
    clipboard = page.driver.execute_async_script(
        "navigator.clipboard.readText().then(arguments[0])"
    )
    assert clipboard.endswith(f"/chat/{config_id}")
    # Pause, rotate and delete sit apart, out of sight until asked for...
    danger = card.find_element(By.CSS_SELECTOR, ".danger-zone")
    everyday = [b.text for b in card.find_elements(By.CSS_SELECTOR, ".tools button")]
    assert everyday == ["Edit", "Knowledge", "Embed", "API keys", "Insights"]
    delete = danger.find_element(By.XPATH, ".//button[normalize-space()='Delete']")
    assert not delete.is_displayed()
    danger.find_element(By.TAG_NAME, "summary").click()
    page.js("arguments[0].scrollIntoView({block: 'center'})", card)
    page.shot(f"studio-my-agents-{size[0]}", docs="studio-my-agents" if size[0] == 390 else None)
    # ...and each asks once more: one click does nothing yet.
    delete.click()
    assert delete.text == "Really delete?"
    pause = danger.find_element(By.XPATH, ".//button[normalize-space()='Turn sharing off']")
    pause.click()
    assert pause.text == "Really stop new chats?"
    assert call(stack, "GET", f"/chat-config/{config_id}")["sharing"] is True
    # Moving on (here by keyboard) takes a question back.
    assert delete.text == "Delete"
    pause.send_keys(Keys.TAB)
    assert pause.text == "Turn sharing off"
    delete.click()
    assert delete.text == "Really delete?"
    delete.click()
    page.wait(lambda d: "Deleted" in d.find_element(By.ID, "agents-status").text)
    assert stack.call("GET", f"/chat-config/{config_id}")[0] == 404


def test_editing_fills_the_studio_and_shows_the_agents_files(
    stack: LocalStack, browser: OpenBrowser
) -> None:
    page = browser(PHONE_390)
    open_create_page(page)
    find = page.driver.find_element
    find(By.ID, "title").send_keys("Edit tutor")
    find(By.ID, "starter-1").send_keys("Hi")
    find(By.CSS_SELECTOR, "label.toggle:has(#top-p-on)").click()
    config_id = submit_agent(page).rsplit("/", 1)[1]
    card = find(By.CSS_SELECTOR, f'li.agent-card[data-config-id="{config_id}"]')
    card.find_element(By.XPATH, ".//button[normalize-space()='Edit']").click()
    page.wait(lambda _: find(By.ID, "submit").text == "Save changes")
    assert find(By.ID, "studio").is_displayed() and not find(By.ID, "created").is_displayed()
    assert find(By.ID, "title").get_attribute("value") == "Edit tutor"
    assert find(By.ID, "preview-title").text == "Edit tutor"
    assert find(By.ID, "top-p-value").text == "0.95" and find(By.ID, "top-p").is_enabled()
    assert find(By.ID, "top-k-value").text == "model's default"
    find(By.CSS_SELECTOR, "#panel-files summary").click()
    page.wait(lambda _: "No knowledge files yet." in find(By.ID, "edit-knowledge").text)
    assert not find(By.ID, "files-note").is_displayed()
    check(page, "the studio editing an agent")
    find(By.CSS_SELECTOR, "label.toggle:has(#top-p-on)").click()
    find(By.ID, "submit").click()
    page.wait(lambda _: find(By.ID, "form-status").text == "Saved.")
    assert call(stack, "GET", f"/chat-config/{config_id}")["topP"] is None
    assert find(By.ID, "edit-knowledge").text == ""


@SIZES
def test_my_agents_makes_an_api_key_shown_once_with_a_snippet_and_revokes_it(
    stack: LocalStack, browser: OpenBrowser, size: tuple[int, int]
) -> None:
    page = browser(size)
    config_id, panel = make_agent_and_open_panel(page, "Key tutor", "API keys", ".api-keys")
    page.wait(lambda _: "No keys yet." in panel.text)
    panel.find_element(By.TAG_NAME, "input").send_keys("my script")
    panel.find_element(By.CSS_SELECTOR, ".new-key-form button").click()
    key = page.wait(lambda _: panel.find_element(By.CSS_SELECTOR, ".new-key .key code")).text
    assert key.startswith("aim_")
    assert "shown only now" in panel.find_element(By.CSS_SELECTOR, ".new-key .warning").text
    snippet = panel.find_element(By.CSS_SELECTOR, ".new-key .snippet pre").text
    assert f'api_key="{key}"' in snippet and f'model="{config_id}"' in snippet
    assert f'base_url="{page.base_url}/v1"' in snippet and len(snippet.splitlines()) == 5
    # The list never shows the key again, only its name and dates.
    page.wait(lambda _: "my script · made" in panel.find_element(By.CSS_SELECTOR, ".key-list").text)
    assert key not in panel.find_element(By.CSS_SELECTOR, ".key-list").text
    assert stack.call("GET", "/v1/models", token=key)[0] == 200
    assert_no_overflow(page, "the API keys panel")
    assert_touch_targets(page, "the API keys panel")
    page.js("arguments[0].scrollIntoView({block: 'center'})", panel)
    page.shot(f"studio-api-keys-{size[0]}", docs="studio-api-keys" if size[0] == 390 else None)
    # Revoking asks once more, then the key is refused from that moment.
    revoke = panel.find_element(By.XPATH, ".//button[normalize-space()='Revoke']")
    revoke.click()
    assert revoke.text == "Really revoke?"
    assert stack.call("GET", "/v1/models", token=key)[0] == 200
    revoke.click()
    page.wait(lambda _: "Revoked" in panel.find_element(By.CSS_SELECTOR, ".status").text)
    page.wait(lambda _: "No keys yet." in panel.text)
    assert stack.call("GET", "/v1/models", token=key)[0] == 401
