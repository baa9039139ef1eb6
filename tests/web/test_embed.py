"""The embed in Chromium: a creator's page on another origin carries the one-line snippet.

Each host page is served by a plain HTTP server of its own on another local port, so
the browser sees a second site, as a creator's would be: the launcher opens the agent
in a frame, the chat streams, a reload comes back to it; a site the agent does not
allow gets no chat, and can't open a socket of its own to the WebSocket API.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from selenium.webdriver.common.by import By

from tests.fake_gemini import FakeGemini, streamed
from tests.local_stack import LocalStack, free_port
from tests.web.browser import (
    PHONE_390,
    WIDE,
    Browser,
    call,
    last_state,
    make_agent_and_open_panel,
    messages,
    new_agent,
    type_and_enter,
)
from tests.web.checks import assert_accessible, assert_no_overflow, assert_touch_targets

pytestmark = pytest.mark.timeout(120)
OpenBrowser = Callable[..., Browser]

HOST_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>A creator's site</title>
<link rel="icon" href="data:,">
{policy}
</head><body><main><h1>Welcome to my shop</h1><p id="own">The site's own text.</p></main>
<script src="{api}/embed.js" data-agent="{agent}" data-label="Ask us" data-color="#b3261e"
  async></script>
</body></html>
"""
# All a creator's own CSP needs to allow for the embed: the script and the frame.
STRICT_POLICY = """<meta http-equiv="Content-Security-Policy"
  content="default-src 'none'; script-src {api}; frame-src {api}">"""


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Callable[..., str]]:
    """Serve a host page carrying the snippet on a port of its own; returns its URL."""
    servers: list[ThreadingHTTPServer] = []

    def serve(api: str, agent: str, policy: str = STRICT_POLICY) -> str:
        folder = tmp_path / f"site{len(servers)}"
        folder.mkdir()
        page = HOST_PAGE.format(api=api, agent=agent, policy=policy.format(api=api))
        (folder / "index.html").write_text(page)
        handler = functools.partial(QuietHandler, directory=str(folder))
        server = ThreadingHTTPServer(("127.0.0.1", free_port()), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_port}"

    yield serve
    for server in servers:
        server.shutdown()
        server.server_close()


def launcher(visitor: Browser) -> Any:
    return visitor.wait(lambda d: d.find_element(By.CSS_SELECTOR, "[data-ai-maker-embed] button"))


def open_launcher(visitor: Browser) -> None:
    button = launcher(visitor)
    assert button.text == "Ask us" and button.get_attribute("aria-expanded") == "false"
    button.click()
    assert button.get_attribute("aria-expanded") == "true"
    frame = visitor.wait(lambda d: d.find_element(By.CSS_SELECTOR, "[data-ai-maker-embed] iframe"))
    visitor.driver.switch_to.frame(frame)


def test_the_launcher_opens_the_agent_on_an_allowed_site_and_a_reload_comes_back(
    stack: LocalStack, fake: FakeGemini, browser: OpenBrowser, site: Callable[..., str]
) -> None:
    api = f"http://127.0.0.1:{stack.port}"
    agent = new_agent(stack, greeting="Ahoy! Ask me anything.")
    config_id = agent["chatConfigId"]
    host = site(api, config_id)
    call(
        stack,
        "PUT",
        f"/chat-config/{config_id}",
        {
            **{
                key: agent["config"][key]
                for key in ("title", "model", "systemPrompt", "temperature")
            },
            "embed": {"enabled": True, "allowedOrigins": [host]},
        },
        token=agent["editToken"],
    )
    visitor = browser()
    visitor.open(host)
    launcher(visitor)
    # One element added, at the end of the body: the page's own stays as it was.
    children = "[...document.body.children]"
    added = visitor.js(f"return {children}.map(e => e.tagName + (e.dataset.aiMakerEmbed ?? ''))")
    assert added == ["MAIN", "SCRIPT", f"DIV{config_id}"]
    assert visitor.js("return document.querySelectorAll('style, link').length") == 1  # the icon
    open_launcher(visitor)
    visitor.wait(lambda d: d.find_element(By.ID, "agent-title").text == "Pirate tutor")
    assert visitor.driver.find_element(By.ID, "greeting").text == "Ahoy! Ask me anything."
    full_page = visitor.driver.find_element(By.ID, "full-page")
    assert full_page.get_attribute("href") == f"{api}/chat/{config_id}"

    pieces = ("Arr, ", "the ", "treasure ", "is ", "buried.")
    fake.queue(streamed(*pieces, delay=0.4))
    type_and_enter(visitor, "Where is the treasure?")
    visitor.wait(lambda _: last_state(visitor) == "streaming" and messages(visitor)[-1]["text"])
    assert visitor.driver.find_element(By.ID, "stop").is_displayed()
    visitor.wait(lambda _: last_state(visitor) == "done")
    assert messages(visitor)[-1]["text"] == "".join(pieces)
    # Streamed over the WebSocket API, from the frame (the API's own origin).
    assert visitor.js("return document.cookie") == ""
    visitor.driver.switch_to.default_content()
    visitor.shot("embed-open", docs="embed-open")
    assert visitor.driver.get_cookies() == []

    visitor.driver.refresh()
    open_launcher(visitor)
    visitor.wait(lambda _: len(messages(visitor)) == 2)
    assert [m["text"] for m in messages(visitor)] == ["Where is the treasure?", "".join(pieces)]


def test_a_site_the_agent_does_not_allow_gets_no_chat_and_no_socket(
    stack: LocalStack, browser: OpenBrowser, site: Callable[..., str]
) -> None:
    api = f"http://127.0.0.1:{stack.port}"
    allowed = "http://127.0.0.1:1"  # some other site
    config_id = new_agent(stack, embed={"enabled": True, "allowedOrigins": [allowed]})[
        "chatConfigId"
    ]
    # A page with no CSP of its own, free to try whatever a script can.
    elsewhere = site(api, config_id, policy="")
    visitor = browser()
    visitor.expect_console_errors("frame-ancestors", "WebSocket connection to")
    visitor.open(elsewhere)
    open_launcher(visitor)
    visitor.driver.switch_to.default_content()
    # The browser refuses the frame, and says why (and logs nothing else).
    seen: list[dict[str, Any]] = []

    def refused(_: object) -> bool:
        seen.extend(visitor.driver.get_log("browser"))  # type: ignore[no-untyped-call]
        return any("frame-ancestors" in entry["message"] for entry in seen)

    visitor.wait(refused)
    assert all("frame-ancestors" in e["message"] for e in seen if e["level"] == "SEVERE")
    visitor.driver.switch_to.frame(visitor.driver.find_element(By.TAG_NAME, "iframe"))
    assert visitor.driver.find_elements(By.ID, "message") == []
    visitor.driver.switch_to.default_content()

    # Nor can the page open a socket of its own (its Origin is its own).
    socket_url = call(stack, "GET", "/health")["websocketUrl"]
    outcome = visitor.driver.execute_async_script(
        """const done = arguments[arguments.length - 1];
        const socket = new WebSocket(arguments[0]);
        socket.onopen = () => done("open");
        socket.onclose = (event) => done(`closed ${event.code}`);""",
        socket_url,
    )
    assert outcome == "closed 1006"  # the handshake was refused: it never opened


@pytest.mark.parametrize("size", [WIDE, PHONE_390], ids=["1280", "390"])
def test_my_agents_switches_the_embed_on_for_named_sites_and_gives_the_snippet(
    stack: LocalStack, browser: OpenBrowser, size: tuple[int, int]
) -> None:
    page = browser(size)
    config_id, panel = make_agent_and_open_panel(page, "Shop helper", "Embed", ".embed-panel")
    switch = panel.find_element(By.ID, f"embed-on-{config_id}")
    page.wait(lambda _: switch.is_enabled())
    assert not switch.is_selected()
    switch.click()
    origins = panel.find_element(By.ID, f"embed-origins-{config_id}")
    origins.send_keys("https://Shop.Example.com\nhttp://shop.example.com")
    save = panel.find_element(By.XPATH, ".//button[normalize-space()='Save embed']")
    page.expect_failed_requests(400)  # provoked: the second origin is refused
    save.click()
    status = panel.find_element(By.CSS_SELECTOR, ".status")
    # The refusal names the line the server would not take, and nothing is saved.
    page.wait(lambda _: "line 2" in status.text)
    assert "https" in status.text
    edit_token = page.js(f"return JSON.parse(localStorage['ai-maker:agent:{config_id}']).editToken")
    stored = call(stack, "GET", f"/chat-config/{config_id}", token=edit_token)
    assert stored["embed"] == {"enabled": False, "allowedOrigins": []}
    origins.clear()
    origins.send_keys("https://Shop.Example.com\nhttp://127.0.0.1:8765")
    save.click()
    page.wait(lambda _: "Saved" in status.text)
    stored = call(stack, "GET", f"/chat-config/{config_id}", token=edit_token)
    expected = ["https://shop.example.com", "http://127.0.0.1:8765"]
    assert stored["embed"] == {"enabled": True, "allowedOrigins": expected}
    assert origins.get_attribute("value") == "\n".join(expected)  # as the browser names them

    snippet = panel.find_element(By.CSS_SELECTOR, ".snippet pre")
    assert snippet.text == (
        f'<script src="{page.base_url}/embed.js" data-agent="{config_id}" async></script>'
    )
    label = panel.find_element(By.ID, f"embed-label-{config_id}")
    label.clear()
    label.send_keys('Ask "us"')
    assert 'data-label="Ask &quot;us&quot;"' in snippet.text
    assert panel.find_element(By.CSS_SELECTOR, ".embed-launcher").text == 'Ask "us"'
    try_it = panel.find_element(By.LINK_TEXT, "Try the embedded chat")
    assert try_it.get_attribute("href") == f"{page.base_url}/embed/{config_id}"
    page.js("arguments[0].scrollIntoView({block: 'center'})", panel)
    assert_no_overflow(page, "the embed panel")
    assert_touch_targets(page, "the embed panel")
    assert_accessible(page, "the embed panel")
    page.shot(f"studio-embed-{size[0]}", docs="studio-embed" if size[0] == 390 else None)
