"""Fixtures of the browser tests: `make run`'s real stack, the fake Gemini, and browsers."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service

from chalicelib.core.settings import DEFAULT_ALLOWED_MODELS
from tests.fake_gemini import FakeGemini
from tests.local_stack import MAKE_RUN, LocalStack
from tests.web.browser import (
    CHROMEDRIVER,
    CHROMIUM,
    CHROMIUM_FLAGS,
    DESKTOP,
    GEMINI_3,
    Browser,
    require_chromium,
)


@pytest.fixture(scope="session")
def gemini() -> Iterator[FakeGemini]:
    with FakeGemini() as fake:
        yield fake


@contextmanager
def web_stack(gemini: FakeGemini, log: Path, **settings: str) -> Iterator[LocalStack]:
    """The real local stack (`make run`), its model the fake Gemini, with `settings`."""
    env = {"GOOGLE_GEMINI_BASE_URL": gemini.base_url, "GEMINI_API_KEY": "fake-key", **settings}
    # WS_PORT=0: the WebSocket API on a port the OS picks (by default it would be PORT + 1).
    stack = LocalStack(log, {**env, "WS_PORT": "0"}, MAKE_RUN)
    try:
        stack.wait_until_healthy()
        yield stack
    finally:
        stack.kill()


@pytest.fixture(scope="session")
def stack(gemini: FakeGemini, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    """The pages' stack. A small history budget, so a long conversation's context is
    visibly truncated; Gemini 3 models among the default ones, for their thinking levels."""
    log = tmp_path_factory.mktemp("stack") / "stack.log"
    models = ",".join((*DEFAULT_ALLOWED_MODELS, *GEMINI_3))
    with web_stack(gemini, log, HISTORY_CHAR_BUDGET="400", ALLOWED_MODELS=models) as started:
        yield started


@pytest.fixture
def fake(gemini: FakeGemini) -> FakeGemini:
    gemini.clear()
    return gemini


@pytest.fixture
def browser(stack: LocalStack, tmp_path: Path) -> Iterator[Callable[[tuple[int, int]], Browser]]:
    """Open browsers (each a new visitor); at the end, none may have logged an error."""
    require_chromium()
    opened: list[Browser] = []

    def open_browser(size: tuple[int, int] = DESKTOP, websocket: bool = True) -> Browser:
        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for flag in CHROMIUM_FLAGS:
            options.add_argument(flag)
        profile = tmp_path / f"browser{len(opened)}"
        options.add_argument(f"--user-data-dir={profile / 'profile'}")
        downloads = profile / "downloads"
        downloads.mkdir(parents=True)
        options.add_experimental_option(
            "prefs",
            {"download.default_directory": str(downloads), "download.prompt_for_download": False},
        )
        options.add_argument(f"--window-size={size[0]},{size[1]}")
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
        # A window cannot be narrower than Chromium's minimum; the emulated screen can.
        driver.execute_cdp_cmd(
            "Emulation.setDeviceMetricsOverride",
            {"width": size[0], "height": size[1], "deviceScaleFactor": 1, "mobile": size < DESKTOP},
        )
        if not websocket:
            # A browser (or a network) without WebSockets: the pages must fall back to REST.
            driver.execute_cdp_cmd(
                "Page.addScriptToEvaluateOnNewDocument", {"source": "delete window.WebSocket;"}
            )
        browser = Browser(driver, f"http://127.0.0.1:{stack.port}", downloads)
        opened.append(browser)
        return browser

    yield open_browser
    errors = {}
    for number, each in enumerate(opened):
        errors[number] = each.console_errors()
        each.driver.quit()
    assert not any(errors.values()), f"the browser console logged errors: {errors}"
