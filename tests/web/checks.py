"""Checks any page's test can run on what the browser laid out and what it exposes.

- `overflows`: elements that stick out of the viewport or out of their container, from
  the layout boxes Chromium computed (getBoundingClientRect), and menus too narrow for
  their options' names. `assert_no_overflow` fails on any.
- `accessibility_violations`: axe-core's "serious" and "critical" violations.
  `assert_accessible` fails on any. axe-core is vendored for the tests alone
  (tests/web/vendor/, with its licence): the app never serves it and the Lambda zip
  never holds it. It is injected through WebDriver, which the page's
  Content-Security-Policy does not govern, so the page's own policy stays as it is.

Both take a Browser, so the chat page's tests can call them as the create page's do.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from tests.web.browser import Browser

VENDOR = Path(__file__).resolve().parent / "vendor"
AXE = VENDOR / "axe.min.js"
AXE_VERSION = "4.14.1"
FAILING_IMPACTS = ("serious", "critical")

OVERFLOW = Path(__file__).resolve().parent / "overflow.js"


def overflows(browser: Browser) -> list[dict[str, Any]]:
    """What sticks out horizontally on the page as laid out now; empty when nothing does."""
    found: list[dict[str, Any]] = browser.js(_source(OVERFLOW))
    return found


def assert_no_overflow(browser: Browser, where: str = "") -> None:
    found = overflows(browser)
    assert not found, f"elements overflow {where or 'the page'}: {found}"


@functools.cache
def _source(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def accessibility_violations(
    browser: Browser, impacts: tuple[str, ...] = FAILING_IMPACTS
) -> list[dict[str, Any]]:
    """axe-core's violations of these impacts on the page as it is now, each with the
    rule, its help text and the elements (selectors) that break it."""
    if not browser.js("return Boolean(window.axe)"):
        browser.js(_source(AXE))
    results: dict[str, Any] = browser.driver.execute_async_script(
        """const done = arguments[arguments.length - 1];
        // Colours are judged once the page is still: a fade half done is no page's contrast.
        // (Endless ones, such as a spinner, are not waited for.)
        const ending = document.getAnimations()
          .filter((a) => a.effect?.getComputedTiming().endTime !== Infinity);
        Promise.all(ending.map((a) => a.finished.catch(() => {})))
          .then(() => axe.run(document, {resultTypes: ['violations']}))
          .then((r) => done(r.violations), (e) => done({error: String(e)}));"""
    )
    assert not isinstance(results, dict), results
    return [
        {
            "rule": v["id"],
            "impact": v["impact"],
            "help": v["help"],
            "elements": [node["target"] for node in v["nodes"]],
        }
        for v in results
        if v["impact"] in impacts
    ]


def assert_accessible(browser: Browser, where: str = "") -> None:
    found = accessibility_violations(browser)
    assert not found, (
        f"axe-core finds serious or critical problems on {where or 'the page'}: {found}"
    )


# Runs in the page: the visible controls smaller than `min` CSS pixels either way. A
# checkbox counts by its label when the label holds it (the whole line is the target).
# A link counts unless it sits in running text, as WCAG's target-size rule exempts it:
# text of its own around it, or a reply's rendered Markdown and its sources.
TARGETS_SCRIPT = """
const [min, root] = arguments;
const small = [];
const selector = 'button, summary, select, textarea, a[href], [role=switch], '
  + 'input:not([type=hidden]):not([type=file])';
const inText = (link) => link.closest('.body, .citations')
  || link.parentElement.textContent.trim().length > link.textContent.trim().length;
for (const el of (root || document).querySelectorAll(selector)) {
  const style = getComputedStyle(el);
  if (el.closest('[hidden], .visually-hidden') || style.visibility === 'hidden') continue;
  if (el.matches('a:not(.button)') && inText(el)) continue;
  let target = el;
  if (el.type === 'checkbox' || el.type === 'radio') target = el.closest('label') || el;
  const box = target.getBoundingClientRect();
  if (!box.width || !box.height) continue;
  if (box.width < min || box.height < min) {
    const name = el.id ? `${el.tagName.toLowerCase()}#${el.id}` : el.tagName.toLowerCase();
    small.push({element: `${name} "${(el.innerText || el.value || '').trim().slice(0, 30)}"`,
                width: box.width, height: box.height});
  }
}
return small;
"""


def small_targets(browser: Browser, minimum: int = 44) -> list[dict[str, Any]]:
    """The visible controls smaller than `minimum` CSS pixels wide or high."""
    found: list[dict[str, Any]] = browser.js(TARGETS_SCRIPT, minimum, None)
    return found


def assert_touch_targets(browser: Browser, where: str = "", minimum: int = 44) -> None:
    found = small_targets(browser, minimum)
    assert not found, f"controls smaller than {minimum} px on {where or 'the page'}: {found}"
