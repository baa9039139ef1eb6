"""The web app's pages and files as the API serves them: types, security headers, no escape."""

from __future__ import annotations

import re

import pytest

from chalicelib.api.http import public_base_url, stage_prefix
from chalicelib.core.errors import NotFound
from chalicelib.web import pages
from tests.utils import ApiClient


def test_the_create_page_is_html_with_a_strict_policy(api: ApiClient) -> None:
    response = api.get("/")
    assert response.status == 200
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "style-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy and "default-src 'none'" in policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert response.headers["Referrer-Policy"] == "no-referrer"
    # The middleware's common headers reach pages too, and leave the HTML as it is.
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    html = response.raw.decode()
    assert html.startswith("<!doctype html>")
    assert '<script type="module" src="/static/create.js">' in html
    assert "{base}" not in html


def test_the_share_link_page_is_served_for_any_id(api: ApiClient) -> None:
    # The page itself asks for the config, so an unknown id still gets a page that says so.
    response = api.get("/chat/0123456789abcdef0123456789abcdef")
    assert response.status == 200
    assert '<script type="module" src="/static/chat.js">' in response.raw.decode()
    assert response.headers["Referrer-Policy"] == "no-referrer"


def test_the_operator_page_is_served_with_a_strict_policy_and_no_token(api: ApiClient) -> None:
    # The page asks for the operator's token itself: without one, it is the same page.
    response = api.get("/operator")
    assert response.status == 200
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert "unsafe-inline" not in policy
    html = response.raw.decode()
    assert '<script type="module" src="/static/operator.js">' in html
    assert 'type="password"' in html and "{base}" not in html


@pytest.mark.parametrize(
    ("name", "content_type"),
    [
        ("app.css", "text/css; charset=utf-8"),
        ("chat.js", "text/javascript; charset=utf-8"),
        ("markdown.js", "text/javascript; charset=utf-8"),
        ("icon.svg", "image/svg+xml"),
    ],
)
def test_static_files_carry_their_type(api: ApiClient, name: str, content_type: str) -> None:
    response = api.get(f"/static/{name}")
    assert response.status == 200
    assert response.headers["Content-Type"] == content_type
    assert response.raw.decode() == (pages.STATIC_DIR / name).read_text()


@pytest.mark.parametrize(
    "name", ["nope.js", "..%2Fpages.py", "%2E%2E%2Fpages.py", "pages.py", "..", "api.js%00"]
)
def test_nothing_but_the_static_files_is_served(api: ApiClient, name: str) -> None:
    # Each file has its own route: any other name is a path the gateway does not know.
    response = api.get(f"/static/{name}")
    assert response.status in (403, 404)
    assert b"import" not in response.raw and b"def " not in response.raw


def test_the_static_routes_are_exactly_the_files() -> None:
    from app import app

    served = {path.removeprefix("/static/") for path in app.routes if path.startswith("/static/")}
    assert (
        served
        == pages.asset_names()
        == {p.name for p in pages.STATIC_DIR.iterdir() if p.suffix in pages.CONTENT_TYPES}
    )


def test_every_file_a_page_loads_is_served() -> None:
    for page_name in pages.PAGES:
        html = pages.page(page_name, "", None).body
        for path in re.findall(r'(?:src|href)="/static/([^"]+)"', html):
            assert path in pages.asset_names(), path
    for module in pages.STATIC_DIR.glob("*.js"):
        for imported in re.findall(r'from "\./([^"]+)"', module.read_text()):
            assert imported in pages.asset_names(), (module.name, imported)


def test_a_page_under_a_stage_links_below_it() -> None:
    html = pages.page("chat", "/api", None).body
    assert 'data-base="/api"' in html
    assert 'src="/api/static/chat.js"' in html


def test_the_websocket_url_and_the_bucket_are_the_only_other_places_a_page_may_connect_to() -> None:
    bucket = "https://test-configs.s3.amazonaws.com"
    policy = pages.page("chat", "", "wss://ws.example/api").headers["Content-Security-Policy"]
    assert f"connect-src 'self' wss://ws.example/api {bucket};" in policy
    assert f"img-src 'self' {bucket};" in policy
    policy = pages.page("chat", "", None).headers["Content-Security-Policy"]
    assert f"connect-src 'self' {bucket};" in policy


# --- where share links point --------------------------------------------------------


def test_share_links_open_this_apps_own_chat_page_by_default(api: ApiClient) -> None:
    response = api.post(
        "/create-chat",
        {"title": "t", "model": "gemini-2.5-flash", "systemPrompt": "", "temperature": 1},
        headers={"Host": "127.0.0.1:8000"},
    )
    assert response.status == 201
    assert response.json["shareableUrl"] == (
        f"http://127.0.0.1:8000/chat/{response.json['chatConfigId']}"
    )


def test_frontend_base_url_still_wins(api: ApiClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FRONTEND_BASE_URL", "https://chat.example.org/")
    created = api.create_chat()
    assert created["shareableUrl"] == f"https://chat.example.org/chat/{created['chatConfigId']}"


def test_on_api_gateway_the_base_is_https_and_the_stage() -> None:
    headers = {"host": "abc123.execute-api.eu-west-1.amazonaws.com", "x-forwarded-proto": "https"}
    context = {"stage": "api", "path": "/api/create-chat"}
    assert public_base_url(headers, context) == (
        "https://abc123.execute-api.eu-west-1.amazonaws.com/api"
    )
    # Behind a custom domain the path does not start with the stage, and neither does the link.
    custom = {"stage": "api", "path": "/create-chat"}
    assert public_base_url({"host": "chat.example.org", "x-forwarded-proto": "https"}, custom) == (
        "https://chat.example.org"
    )
    assert stage_prefix({"stage": "api", "path": "/apiary"}) == ""


@pytest.mark.parametrize("host", ["", "evil.example/path", "a b", "x\r\ny", "h:1:2"])
def test_a_host_header_that_is_not_a_host_gives_a_relative_link(host: str) -> None:
    assert public_base_url({"host": host}, {}) == ""


def test_every_error_code_has_a_sentence_in_the_pages() -> None:
    from chalicelib.core import errors

    def codes(cls: type[errors.AppError]) -> set[str]:
        return {cls.code}.union(*(codes(sub) for sub in cls.__subclasses__()))

    script = (pages.STATIC_DIR / "api.js").read_text()
    # These are built from the error's details or Retry-After.
    composed = {
        "quota_exceeded",
        "budget_exhausted",
        "rate_limited",
        "model_rate_limited",
        "validation_error",
    }
    missing = {code for code in codes(errors.AppError) - composed if f"\n  {code}: " not in script}
    assert missing == set()
    assert {code for code in composed if f'code === "{code}"' not in script} == set()


@pytest.mark.parametrize("name", ["nope.js", "../pages.py", "pages.py", "..", ""])
def test_asset_reads_only_the_listed_files(name: str) -> None:
    with pytest.raises(NotFound):
        pages.asset(name)


def test_the_icons_are_lucides_served_files_with_their_licence(api: ApiClient) -> None:
    for name in {path.name for path in pages.STATIC_DIR.glob("lucide-*.svg")}:
        assert name in pages.asset_names()
        response = api.get(f"/static/{name}")
        assert response.status == 200 and response.headers["Content-Type"] == "image/svg+xml"
        assert response.raw.decode().startswith("<!-- @license lucide-static")
    # The licence goes with the files (and into the zip), though it is not served.
    licence = (pages.STATIC_DIR / "LICENSE-lucide.txt").read_text()
    assert licence.startswith("ISC License")
    assert "LICENSE-lucide.txt" not in pages.asset_names()


def test_the_test_tools_are_never_served() -> None:
    # axe-core is vendored for the browser tests only.
    assert not {name for name in pages.asset_names() if "axe" in name}
    assert not list(pages.WEB_DIR.rglob("axe*"))


# How the pages name an icon: a class in the HTML, or the first argument of a button helper.
ICON_IN_HTML = re.compile(r'class="icon icon-([a-z0-9-]+)"')
ICON_IN_SCRIPT = re.compile(
    r'(?:\bicon|iconButton|labelledButton|confirmButton|panelButton)\("([a-z0-9-]+)"'
)
ICON_RULE = re.compile(r'\.icon-([a-z0-9-]+) \{ --icon: url\("lucide-\1\.svg"\); \}')


def test_every_icon_a_page_names_is_a_lucide_file_with_one_rule() -> None:
    sources = [*pages.WEB_DIR.glob("*.html"), *pages.STATIC_DIR.glob("*.js")]
    named = {
        name
        for source in sources
        for pattern in (ICON_IN_HTML, ICON_IN_SCRIPT)
        for name in pattern.findall(source.read_text())
    }
    shipped = {path.stem.removeprefix("lucide-") for path in pages.STATIC_DIR.glob("lucide-*.svg")}
    styles = {path.name: path.read_text() for path in pages.STATIC_DIR.glob("*.css")}
    assert ICON_RULE.findall(styles["app.css"]) == sorted(shipped)
    # One icon set, styled in one place: no page's own sheet redefines an icon.
    assert all(
        ".icon-" not in text.replace(".icon-button", "")
        for name, text in styles.items()
        if name != "app.css"
    )
    assert {"copy", "check", "pencil", "arrow-up"} <= named
    assert named <= shipped, f"no Lucide file for {sorted(named - shipped)}"
    assert shipped <= named | {"check"}, (
        f"shipped but unused: {sorted(shipped - named - {'check'})}"
    )
