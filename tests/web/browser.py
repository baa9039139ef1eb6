"""A visitor's browser for the web app's tests: headless Chromium through Selenium.

Each browser gets a fresh profile (a new --user-data-dir), so two browsers are two
visitors with separate localStorage. Chromium is told not to reach for updates, sync
or anything else on the network. Screenshots go to test-artifacts/web/.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from selenium.webdriver import Chrome
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import WebDriverWait

from tests.local_stack import LocalStack

PROJECT_DIR = Path(__file__).resolve().parents[2]
ARTIFACTS = PROJECT_DIR / "test-artifacts" / "web"
DOCS_SCREENSHOTS = PROJECT_DIR / "docs" / "screenshots"
CHROMIUM = os.environ.get("CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = (
    os.environ.get("CHROMEDRIVER") or shutil.which("chromedriver") or "/usr/bin/chromedriver"
)
WAIT_SECONDS = 15
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
)
DESKTOP = (1200, 900)
PHONE = (360, 740)
# The sizes the layout checks (tests/web/checks.py) run at: a laptop and a large phone.
WIDE = (1280, 900)
PHONE_390 = (390, 844)


class Browser:
    """One visitor: a Chromium with its own profile, and the helpers the tests share."""

    def __init__(self, driver: Chrome, base_url: str, downloads: Path) -> None:
        self.driver = driver
        self.base_url = base_url
        self.downloads = downloads
        self.allowed_statuses: set[int] = set()
        self.allowed_messages: set[str] = set()

    def open(self, path: str) -> None:
        self.driver.get(path if path.startswith("http") else self.base_url + path)

    def wait(self, condition: Callable[[WebDriver], Any], seconds: float = WAIT_SECONDS) -> Any:
        return WebDriverWait(self.driver, seconds, poll_frequency=0.05).until(condition)

    def attribute(self, element_id: str, name: str = "value") -> str:
        return str(self.driver.find_element(By.ID, element_id).get_attribute(name) or "")

    def js(self, script: str, *args: Any) -> Any:
        return self.driver.execute_script(script, *args)

    def shot(self, name: str, docs: str | None = None) -> Path:
        """A screenshot in test-artifacts/web; with `docs`, also the docs' image of that
        name, so the documentation always shows the pages as they are."""
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        self.driver.save_screenshot(str(path))
        if docs is not None:
            shutil.copyfile(path, DOCS_SCREENSHOTS / f"{docs}.png")
        return path

    def expect_failed_requests(self, *statuses: int) -> None:
        """Let the console note these HTTP statuses: the test provokes them on purpose."""
        self.allowed_statuses.update(statuses)

    def expect_console_errors(self, *fragments: str) -> None:
        """Let the console log errors holding these words: the test provokes them."""
        self.allowed_messages.update(fragments)

    def console_errors(self) -> list[str]:
        """Severe console entries, but failed requests with a status the test expects."""
        errors = []
        entries: list[dict[str, Any]] = self.driver.get_log("browser")  # type: ignore[no-untyped-call]
        for entry in entries:
            if entry["level"] != "SEVERE":
                continue
            expected = entry["source"] == "network" and any(
                f"status of {status} " in entry["message"] for status in self.allowed_statuses
            )
            expected = expected or any(part in entry["message"] for part in self.allowed_messages)
            if not expected:
                errors.append(entry["message"])
        return errors


def require_chromium() -> None:
    missing = [path for path in (CHROMIUM, CHROMEDRIVER) if not shutil.which(path)]
    if missing:
        # Not a skip: `make test` installs them, and these tests are part of the suite.
        pytest.fail(
            f"{', '.join(missing)} not found: install Debian's chromium and chromium-driver "
            "(`make test` does so when run as root), or set CHROMIUM and CHROMEDRIVER."
        )


def call(
    stack: LocalStack, method: str, path: str, body: Any = None, token: str | None = None
) -> Any:
    """The API over HTTP, for setting up what a test needs faster than the pages would."""
    status, answer = stack.call(method, path, body, token)
    assert status < 300, (status, answer)
    return answer


# The pages' stack allows these too (their thinking takes levels, not a budget).
GEMINI_3 = ("gemini-3-flash-preview", "gemini-3-pro-preview")

# --- what a test reads off the chat page, and does on it ----------------------------

AGENT = {"title": "Pirate tutor", "model": "gemini-2.5-flash", "temperature": 0.7}


def messages(browser: Browser) -> list[dict[str, Any]]:
    """The conversation as shown: role, text, state (waiting, streaming, stopped...)."""
    script = """return [...document.querySelectorAll('#messages .message')].map(li => ({
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


# The page's animation frames, held until the test lets them run: a busy machine's late
# frame, on demand (frames run in order, after whatever the test waited for).
_HOLD_FRAMES = """
const held = new Map();
let last = 0;
window.requestAnimationFrame = (callback) => { last += 1; held.set(last, callback); return last; };
window.cancelAnimationFrame = (id) => { held.delete(id); };
window.runHeldFrames = () => {
  const due = [...held.values()];
  held.clear();
  for (const callback of due) callback(performance.now());
  return last;
};
"""


def hold_animation_frames(browser: Browser) -> None:
    """From the next page this browser opens on, its animation frames wait for
    run_held_frames."""
    browser.driver.execute_cdp_cmd(
        "Page.addScriptToEvaluateOnNewDocument", {"source": _HOLD_FRAMES}
    )


def run_held_frames(browser: Browser) -> int:
    """Run the animation frames held since the last call (not those cancelled); how many
    the page has asked for in all."""
    return int(browser.js("return window.runHeldFrames()"))


def open_menu(browser: Browser) -> None:
    """Open the chat header's menu (settings, prompt, export), unless it is open."""
    if not browser.driver.find_element(By.ID, "chat-menu").is_displayed():
        browser.driver.find_element(By.ID, "menu-button").click()


def open_chat(browser: Browser, config_id: str) -> None:
    browser.open(f"/chat/{config_id}")
    browser.wait(lambda d: d.find_element(By.ID, "agent-title").text != "Loading…")


def open_create_page(browser: Browser) -> None:
    browser.open("/")
    browser.wait(lambda d: d.find_elements(By.CSS_SELECTOR, "#model option"))


def submit_agent(browser: Browser) -> str:
    """Submit the create page's form; the new agent's share link."""
    browser.driver.find_element(By.ID, "submit").click()
    browser.wait(lambda d: d.find_element(By.ID, "created").is_displayed())
    return browser.attribute("share-link")


def make_agent_and_open_panel(
    browser: Browser, title: str, button: str, panel_class: str
) -> tuple[str, WebElement]:
    """Make an agent in the studio, then open one of its panels on My agents by its
    button's text: the agent's id and the panel."""
    open_create_page(browser)
    browser.driver.find_element(By.ID, "title").send_keys(title)
    config_id = submit_agent(browser).rsplit("/", 1)[1]
    selector = f'li.agent-card[data-config-id="{config_id}"]'
    card = browser.driver.find_element(By.CSS_SELECTOR, selector)
    opener = card.find_element(By.XPATH, f".//button[normalize-space()='{button}']")
    opener.click()
    assert opener.get_attribute("aria-expanded") == "true"
    panel: WebElement = browser.wait(lambda _: card.find_element(By.CSS_SELECTOR, panel_class))
    return config_id, panel


def new_agent(stack: LocalStack, **overrides: Any) -> dict[str, Any]:
    """An agent made through the API, faster than through the page."""
    created: dict[str, Any] = call(
        stack, "POST", "/create-chat", {**AGENT, "systemPrompt": "Be a pirate.", **overrides}
    )
    return created


def open_my_agents(browser: Browser, created: dict[str, Any]) -> WebElement:
    """Open `/` as the creator of `created` (its edit token in this browser's
    localStorage, as making it here would leave it); its card on My agents."""
    config_id = created["chatConfigId"]
    agent = {"title": created["config"]["title"], "editToken": created["editToken"]}
    agent["shareableUrl"] = created["shareableUrl"]
    browser.open("/")
    browser.js(
        f"localStorage.setItem('ai-maker:agent:{config_id}', arguments[0])", json.dumps(agent)
    )
    browser.open("/")
    card: WebElement = browser.wait(
        lambda d: d.find_element(By.CSS_SELECTOR, f'li[data-config-id="{config_id}"]')
    )
    return card
