"""The Markdown renderer of replies (static/markdown.js), run in the browser on its own."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.web.browser import Browser

NEW_TAB = 'rel="noopener noreferrer" target="_blank"'
CASES = [
    ("plain <b>text</b> & more", "<p>plain &lt;b&gt;text&lt;/b&gt; &amp; more</p>"),
    ("two\nlines\n\nnew para", "<p>two<br>lines</p><p>new para</p>"),
    ("**bold** and *it* and _it_", "<p><strong>bold</strong> and <em>it</em> and <em>it</em></p>"),
    ("a `x < y` b", "<p>a <code>x &lt; y</code> b</p>"),
    (
        "```py\nif a < b:\n    pass\n```",
        '<pre><code data-language="py">if a &lt; b:\n    pass</code></pre>',
    ),
    # While a reply streams its fence may not be closed yet: the code runs to the end.
    ("```\nopen", "<pre><code>open</code></pre>"),
    (
        "- one\n- two\n\n3. three\n4. four",
        '<ul><li>one</li><li>two</li></ul><ol start="3"><li>three</li><li>four</li></ol>',
    ),
    ("# Title\n> quoted", "<h3>Title</h3><blockquote><p>quoted</p></blockquote>"),
    (
        "[site](https://example.org/wiki/A_(b)) http://example.com/x.",
        f'<p><a href="https://example.org/wiki/A_(b)" {NEW_TAB}>site</a> '
        f'<a href="http://example.com/x" {NEW_TAB}>http://example.com/x</a>.</p>',
    ),
    ("[bad](javascript:alert(1)) [rel](/relative) [d](data:text/html,x)", "<p>bad rel d</p>"),
    ("[**x**](JaVaScRiPt:alert(1))", "<p><strong>x</strong></p>"),
    ("<img src=x onerror=alert(1)>", "<p>&lt;img src=x onerror=alert(1)&gt;</p>"),
]


@pytest.mark.timeout(60)
def test_markdown_renders_to_nodes_and_never_to_markup(browser: Callable[..., Browser]) -> None:
    page = browser()
    page.open("/")
    rendered = page.driver.execute_async_script(
        """const [cases, done] = arguments;
        import(document.body.dataset.base + "/static/markdown.js").then(({ renderMarkdown }) => {
          done(cases.map((text) => {
            const box = document.createElement("div");
            box.append(renderMarkdown(text));
            return box.innerHTML;
          }));
        });""",
        [text for text, _ in CASES],
    )
    assert dict(zip([text for text, _ in CASES], rendered, strict=True)) == dict(CASES)
