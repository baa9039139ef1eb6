"""The page checks themselves: each fails on what it is meant to catch, and axe-core runs
under the page's own Content-Security-Policy without loosening it."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.web.browser import PHONE_390, Browser, open_create_page
from tests.web.checks import (
    AXE_VERSION,
    accessibility_violations,
    assert_accessible,
    assert_no_overflow,
    assert_touch_targets,
    overflows,
    small_targets,
)

pytestmark = pytest.mark.timeout(90)
OpenBrowser = Callable[..., Browser]


def test_the_overflow_check_finds_what_sticks_out(browser: OpenBrowser) -> None:
    page = browser(PHONE_390)
    open_create_page(page)
    page.js(
        """const wide = document.createElement('div'); wide.id = 'too-wide';
        wide.style.width = '600px'; wide.textContent = 'wide';
        document.querySelector('main').append(wide);
        const box = document.createElement('div'); box.id = 'narrow';
        box.style.width = '100px'; box.style.whiteSpace = 'nowrap';
        box.textContent = 'a line of text far longer than its box allows';
        document.querySelector('main').append(box);
        const menu = document.createElement('select'); menu.id = 'thin-menu';
        menu.style.width = '60px'; menu.append(new Option('a model with a long name'));
        document.querySelector('main').append(menu);"""
    )
    found = {(f["element"].split(" ")[0], f["problem"]) for f in overflows(page)}
    assert {("div#too-wide", "viewport"), ("div#narrow", "content")} <= found
    assert ("select#thin-menu", "menu") in found
    with pytest.raises(AssertionError, match="too-wide"):
        assert_no_overflow(page)


def test_axe_runs_under_the_pages_policy_and_fails_on_serious_problems(
    browser: OpenBrowser,
) -> None:
    page = browser()
    open_create_page(page)
    # The page's policy is in force: a script the page itself would add does not run...
    page.js(
        """const s = document.createElement('script'); s.textContent = 'window.inlineRan = 1';
        document.head.append(s);"""
    )
    assert page.js("return window.inlineRan === undefined")
    page.expect_console_errors("Content Security Policy")
    # ...while axe-core, injected by WebDriver, does.
    accessibility_violations(page)
    assert page.js("return axe.version") == AXE_VERSION
    page.js(
        """const b = document.createElement('button'); b.id = 'nameless';
        document.querySelector('main').append(b);"""
    )
    found = accessibility_violations(page)
    assert any(v["rule"] == "button-name" and v["impact"] == "critical" for v in found), found
    with pytest.raises(AssertionError, match="button-name"):
        assert_accessible(page)


def test_the_touch_target_check_finds_small_controls(browser: OpenBrowser) -> None:
    page = browser(PHONE_390)
    open_create_page(page)
    page.js(
        """const b = document.createElement('button'); b.id = 'tiny'; b.textContent = 'x';
        b.style.cssText = 'min-height: 0; min-width: 0; padding: 0; height: 20px; width: 20px';
        document.querySelector('main').append(b);
        // A link on its own is a target; a link inside a sentence is words (WCAG exempts it).
        const alone = document.createElement('p');
        alone.innerHTML = '<a id="lone" href="#">lone</a>';
        const sentence = document.createElement('p');
        sentence.innerHTML = 'Read <a id="inline" href="#">this</a> first.';
        document.querySelector('main').append(alone, sentence);"""
    )
    assert [t["element"] for t in small_targets(page)] == ['button#tiny "x"', 'a#lone "lone"']
    with pytest.raises(AssertionError, match="tiny"):
        assert_touch_targets(page)
