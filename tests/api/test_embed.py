"""The embed: the `embed` field, the embed page's framing, the one-line script, and the
WebSocket API's `Origin` check on `$connect`."""

from __future__ import annotations

from typing import Any

import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect
from websockets.typing import Origin

from tests.utils import DEFAULT_CONFIG, ApiClient, ApiResponse, assert_error

SITE = "https://shop.example.com"
LOCAL_SITE = "http://127.0.0.1:8765"


def fields_named(response: ApiResponse) -> list[str]:
    return [problem["field"] for problem in response.json["details"]["fields"]]


def frame_ancestors(response: ApiResponse) -> str:
    policy = response.headers["Content-Security-Policy"]
    (directive,) = [d.strip() for d in policy.split(";") if "frame-ancestors" in d]
    return directive


def embedded(**embed: Any) -> dict[str, Any]:
    return {"embed": {"enabled": True, "allowedOrigins": [SITE], **embed}}


# --- the field ------------------------------------------------------------------


def test_the_embed_is_off_unless_switched_on(api: ApiClient) -> None:
    created = api.create_chat()
    assert created["config"]["embed"] == {"enabled": False, "allowedOrigins": []}
    shown = api.get(f"/chat-config/{created['chatConfigId']}").json
    assert shown["embed"] == {"enabled": False, "allowedOrigins": []}


def test_origins_are_kept_as_a_browser_names_them(api: ApiClient) -> None:
    origins = ["HTTPS://Shop.Example.com:443", "http://localhost:3000", LOCAL_SITE, SITE]
    created = api.create_chat(embed={"enabled": True, "allowedOrigins": origins})
    # Lower case, no default port, each once; anyone may read them (the CSP names them).
    expected = [SITE, "http://localhost:3000", LOCAL_SITE]
    assert created["config"]["embed"] == {"enabled": True, "allowedOrigins": expected}
    public = api.get(f"/chat-config/{created['chatConfigId']}").json
    assert public["embed"]["allowedOrigins"] == expected


def test_an_edit_sets_the_embed_and_an_edit_without_it_keeps_it(api: ApiClient) -> None:
    created = api.create_chat()
    path, token = f"/chat-config/{created['chatConfigId']}", created["editToken"]
    base = {key: created["config"][key] for key in ("title", "model", "temperature")}
    base["systemPrompt"] = created["config"]["systemPrompt"]
    switched = api.put(path, {**base, **embedded()}, token=token)
    assert switched.status == 200, switched.json
    assert switched.json["embed"] == {"enabled": True, "allowedOrigins": [SITE]}
    kept = api.put(path, {**base, "title": "Renamed"}, token=token)
    assert kept.json["embed"] == {"enabled": True, "allowedOrigins": [SITE]}
    off = api.put(path, {**base, "embed": {"enabled": False}}, token=token)
    assert off.json["embed"] == {"enabled": False, "allowedOrigins": []}


@pytest.mark.parametrize(
    "origin",
    [
        "http://shop.example.com",  # plain http, not on this machine
        "https://shop.example.com/",  # a path
        "https://shop.example.com/chat",
        "https://*.example.com",  # CSP would take a wildcard: the field does not
        "https://shop.example.com; script-src *",  # a directive smuggled in
        "https://shop.example.com https://evil.example",  # a second source
        "'self'",
        "ftp://shop.example.com",
        "https://shop.example.com:70000",
        "https://user@shop.example.com",
        "",
    ],
)
def test_anything_but_an_https_or_local_origin_is_refused(api: ApiClient, origin: str) -> None:
    response = api.post("/create-chat", {**DEFAULT_CONFIG, **embedded(allowedOrigins=[origin])})
    assert_error(response, 400, "validation_error")
    assert fields_named(response) == ["embed.allowedOrigins.0"]


def test_at_most_ten_origins(api: ApiClient) -> None:
    ten = [f"https://site{n}.example.com" for n in range(10)]
    assert (
        api.post("/create-chat", {**DEFAULT_CONFIG, **embedded(allowedOrigins=ten)}).status == 201
    )
    eleven = [*ten, "https://one-more.example.com"]
    response = api.post("/create-chat", {**DEFAULT_CONFIG, **embedded(allowedOrigins=eleven)})
    assert_error(response, 400, "validation_error")
    assert fields_named(response) == ["embed.allowedOrigins"]


# --- the pages' framing -----------------------------------------------------------


def test_the_embed_page_may_be_framed_by_exactly_the_allowed_origins(api: ApiClient) -> None:
    created = api.create_chat(embed={"enabled": True, "allowedOrigins": [SITE, LOCAL_SITE]})
    page = api.get(f"/embed/{created['chatConfigId']}")
    assert page.status == 200
    assert page.headers["Content-Type"].startswith("text/html")
    assert frame_ancestors(page) == f"frame-ancestors {SITE} {LOCAL_SITE}"
    # No X-Frame-Options to contradict the CSP (a browser would obey the stricter).
    assert "X-Frame-Options" not in page.headers
    assert b'data-mode="embed"' in page.raw


@pytest.mark.parametrize(
    "embed",
    [{"enabled": False, "allowedOrigins": [SITE]}, {"enabled": True, "allowedOrigins": []}],
)
def test_an_embed_switched_off_or_without_origins_is_framed_by_no_one(
    api: ApiClient, embed: dict[str, Any]
) -> None:
    created = api.create_chat(embed=embed)
    page = api.get(f"/embed/{created['chatConfigId']}")
    assert page.status == 200  # the page itself says that embedding is off
    assert frame_ancestors(page) == "frame-ancestors 'none'"
    assert page.headers["X-Frame-Options"] == "DENY"


def test_an_unknown_agents_embed_page_is_framed_by_no_one(api: ApiClient) -> None:
    page = api.get("/embed/doesnotexist0000")
    assert page.status == 200
    assert frame_ancestors(page) == "frame-ancestors 'none'"


def test_every_other_page_keeps_no_framing(api: ApiClient) -> None:
    created = api.create_chat(**embedded())
    for path in ("/", f"/chat/{created['chatConfigId']}", "/static/chat.js"):
        page = api.get(path)
        assert page.status == 200, path
        assert frame_ancestors(page) == "frame-ancestors 'none'", path
        assert page.headers["X-Frame-Options"] == "DENY", path


def test_the_embed_script_is_served_as_javascript(api: ApiClient) -> None:
    script = api.get("/embed.js")
    assert script.status == 200
    assert script.headers["Content-Type"] == "text/javascript; charset=utf-8"
    assert b"data-agent" in script.raw and b"document.cookie" not in script.raw


# --- the WebSocket API's Origin check ----------------------------------------------


@pytest.fixture
def api_origin(monkeypatch: pytest.MonkeyPatch) -> str:
    origin = "http://127.0.0.1:8000"
    monkeypatch.setenv("API_ORIGIN", origin)
    return origin


def test_a_socket_from_the_apis_own_pages_is_admitted(ws_url: str, api_origin: str) -> None:
    # Either loopback name: a browser names the one in its address bar.
    for origin in (api_origin, "http://localhost:8000"):
        with connect(ws_url, origin=Origin(origin)) as socket:
            socket.send("{}")
            assert "error" in socket.recv(timeout=10)


def test_a_socket_without_an_origin_is_admitted(ws_url: str, api_origin: str) -> None:
    """Not a browser: Origin is a browser's control, and no authentication."""
    with connect(ws_url) as socket:
        socket.send("{}")
        assert "error" in socket.recv(timeout=10)


@pytest.mark.parametrize(
    "origin",
    [SITE, "http://127.0.0.1:8765", "https://127.0.0.1:8000", "null", "http://evil.example:8000"],
)
def test_a_socket_from_a_page_elsewhere_is_refused(
    ws_url: str, api_origin: str, origin: str
) -> None:
    """Even from an origin the agent allows to frame its embed page: that page is the
    API's own, and opens its socket with the API's origin."""
    with pytest.raises(InvalidStatus) as refused:
        connect(ws_url, origin=Origin(origin))
    assert refused.value.response.status_code == 403


def test_the_frontends_and_the_named_cors_origin_are_admitted(
    ws_url: str, api_origin: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FRONTEND_BASE_URL", "https://chat.example.com/app")
    monkeypatch.setenv("CORS_ALLOW_ORIGIN", "https://studio.example.com")
    for origin in ("https://chat.example.com", "https://studio.example.com"):
        with connect(ws_url, origin=Origin(origin)) as socket:
            socket.send("{}")
            assert "error" in socket.recv(timeout=10)


def test_without_a_known_api_origin_browsers_are_refused(
    ws_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("API_ORIGIN", raising=False)
    with pytest.raises(InvalidStatus):
        connect(ws_url, origin=Origin("http://127.0.0.1:8000"))
