"""Files in a real browser: a creator gives an agent a PDF, a visitor attaches an image to a
message, and both reach the model; the image shows as a thumbnail."""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement

from tests.fake_gemini import FakeGemini
from tests.local_stack import LocalStack
from tests.uploads import PDF
from tests.web.browser import (
    Browser,
    new_agent,
    open_chat,
    open_my_agents,
    stored_replies,
    type_and_enter,
)

pytestmark = pytest.mark.timeout(120)
OpenBrowser = Callable[..., Browser]


def tiny_png() -> bytes:
    """A real 1x1 PNG, so the browser can draw its thumbnail."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xff\x00\x00")
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


def add_knowledge(creator: Browser, created: dict[str, Any], file: Path) -> WebElement:
    """On "My agents", open the agent's Knowledge panel and pick `file`; the panel."""
    item = open_my_agents(creator, created)
    item.find_element(By.XPATH, ".//button[normalize-space()='Knowledge']").click()
    field = f"knowledge-{created['chatConfigId']}"
    creator.wait(lambda d: d.find_element(By.ID, field)).send_keys(str(file))
    return item.find_element(By.CLASS_NAME, "knowledge")


def test_knowledge_and_an_attachment_reach_the_model(
    stack: LocalStack, fake: FakeGemini, browser: OpenBrowser, tmp_path: Path
) -> None:
    pdf, image = tmp_path / "handbook.pdf", tmp_path / "cat.png"
    pdf.write_bytes(PDF)
    image.write_bytes(tiny_png())
    created = new_agent(stack, promptVisibility="private")
    config_id = created["chatConfigId"]

    # The creator: "My agents" -> Knowledge -> add the PDF.
    creator = browser()
    panel = add_knowledge(creator, created, pdf)
    creator.wait(lambda _: "handbook.pdf (" in panel.text and "Added" in panel.text)
    creator.shot("knowledge")

    # A visitor: attach the image, ask about both.
    visitor = browser()
    open_chat(visitor, config_id)
    visitor.driver.find_element(By.ID, "attach-input").send_keys(str(image))
    visitor.wait(lambda d: d.find_elements(By.CSS_SELECTOR, '#attachments li[data-state="ready"]'))
    type_and_enter(visitor, "What do the handbook and the picture show?")
    visitor.wait(lambda _: stored_replies(visitor))
    request = next(r for r in reversed(fake.requests) if "enerateContent" in r.path)
    assert request.inline_files() == [("application/pdf", PDF), ("image/png", tiny_png())]
    user = visitor.driver.find_element(By.CSS_SELECTOR, ".message.user")
    assert "cat.png" in user.text
    thumbnail = user.find_element(By.CSS_SELECTOR, "img.thumbnail")
    visitor.wait(lambda _: visitor.js("return arguments[0].naturalWidth", thumbnail) == 1)
    assert visitor.driver.find_elements(By.CSS_SELECTOR, "#attachments li") == []
    assert "handbook.pdf" not in visitor.driver.find_element(By.TAG_NAME, "body").text
    visitor.shot("attachment", docs="chat-attachment")


def test_searched_knowledge_shows_its_state_and_replies_cite_the_file(
    stack: LocalStack, fake: FakeGemini, browser: OpenBrowser, tmp_path: Path
) -> None:
    notes = tmp_path / "mars.txt"
    notes.write_text("The sky over Mars is butterscotch at noon. " * 30)
    created = new_agent(stack, knowledgeMode="search")
    config_id = created["chatConfigId"]
    creator = browser()
    panel = add_knowledge(creator, created, notes)
    creator.wait(lambda _: "mars.txt (" in panel.text and "searchable" in panel.text)
    how = panel.find_element(By.CLASS_NAME, "knowledge-search").text
    assert how.startswith("Searched with File Search (about ") and how.endswith(": ready.")

    visitor = browser()
    open_chat(visitor, config_id)
    type_and_enter(visitor, "What colour is the sky over Mars?")
    visitor.wait(lambda _: stored_replies(visitor))
    request = next(r for r in reversed(fake.requests) if "enerateContent" in r.path)
    assert request.inline_files() == [] and "tools" in request.body
    sources = visitor.wait(lambda d: d.find_element(By.CSS_SELECTOR, ".message.model .citations"))
    assert [li.text for li in sources.find_elements(By.TAG_NAME, "li")] == ["mars.txt"]
    assert sources.find_elements(By.TAG_NAME, "a") == []
