"""A reply that ran code, in a real browser: its text, code and output as blocks in order,
nothing of them run, streamed and after a reload alike."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from selenium.webdriver.common.by import By

from tests.fake_gemini import FakeGemini, code_part, code_result_part, with_parts
from tests.local_stack import LocalStack
from tests.web.browser import (
    Browser,
    hold_animation_frames,
    new_agent,
    open_chat,
    run_held_frames,
    stored_replies,
    type_and_enter,
)

pytestmark = pytest.mark.timeout(90)
OpenBrowser = Callable[..., Browser]

# The last reply's code blocks, read in one script: nothing can go stale between finding
# an element and reading it.
_BLOCKS = """const body = document.querySelector('.message.model:last-of-type .body');
return body ? [...body.querySelectorAll('.code-block')].map((block) => [
  block.querySelector('.language').textContent, block.querySelector('code').textContent]) : [];"""


def code_blocks(visitor: Browser) -> list[tuple[str, str]]:
    """The last reply's code blocks: (language, code without its last newline)."""
    return [(language, code.removesuffix("\n")) for language, code in visitor.js(_BLOCKS)]


def test_code_and_its_output_show_as_blocks_in_order(
    stack: LocalStack, fake: FakeGemini, browser: OpenBrowser
) -> None:
    config_id = new_agent(stack, tools={"codeExecution": True})["chatConfigId"]
    visitor = browser()
    hold_animation_frames(visitor)
    open_chat(visitor, config_id)
    fake.queue(
        with_parts(
            "Adding **up**.",
            code_part("print('<img src=x onerror=alert(1)>')"),
            code_result_part("<img src=x onerror=alert(1)>\n"),
            code_part("1/0"),
            code_result_part("ZeroDivisionError", "OUTCOME_FAILED"),
            "Done.",
        )
    )
    type_and_enter(visitor, "Add")
    visitor.wait(lambda _: stored_replies(visitor))
    # The streamed text's frame comes only now, after the stored reply (as on a busy
    # machine): it must not draw the bare text over the code blocks.
    assert run_held_frames(visitor) > 0
    expected = [
        ("python", "print('<img src=x onerror=alert(1)>')"),
        ("output", "<img src=x onerror=alert(1)>"),
        ("python", "1/0"),
        ("output (OUTCOME_FAILED)", "ZeroDivisionError"),
    ]
    assert code_blocks(visitor) == expected
    body = visitor.driver.find_element(By.CSS_SELECTOR, ".message.model .body")
    assert body.find_element(By.TAG_NAME, "strong").text == "up"
    assert body.text.endswith("Done.")
    assert visitor.driver.find_elements(By.CSS_SELECTOR, ".body img") == []
    visitor.driver.refresh()
    visitor.wait(lambda _: stored_replies(visitor))
    assert code_blocks(visitor) == expected
