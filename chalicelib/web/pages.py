"""The web app's files: the pages behind `/` and the share link, and their static assets.

The files sit beside this module and are served as they are, with no build step. A
page gets the path the API is served under (API Gateway puts the stage first), and
every answer carries a strict Content-Security-Policy: scripts and styles only from
this origin, requests only to this API, its WebSocket URL and the bucket's presigned
uploads (whose links also give the images), no framing.
"""

from __future__ import annotations

import functools
import logging
import re
from dataclasses import dataclass
from html import escape
from pathlib import Path

from botocore.exceptions import BotoCoreError

from chalicelib.core.errors import AppError, NotFound
from chalicelib.schemas.shares import SharedConversation
from chalicelib.services.file_removal import file_objects

logger = logging.getLogger(__name__)

WEB_DIR = Path(__file__).resolve().parent
STATIC_DIR = WEB_DIR / "static"
# The embed page is the chat page in its compact mode, made to sit in a frame.
PAGES = {
    "create": "index.html",
    "chat": "chat.html",
    "embed": "chat.html",
    "shared": "shared.html",
    "operator": "operator.html",
}
# The one line a creator pastes on their site: it adds the launcher and the frame.
EMBED_SCRIPT = WEB_DIR / "embed.js"
# A shared chat's preview (og:description): the start of its first message.
PREVIEW_CHARS = 200
_PLACEHOLDER = re.compile(r"\{(base|title|description)\}")
CONTENT_TYPES = {
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".svg": "image/svg+xml",
}
HTML = "text/html; charset=utf-8"
NO_FRAMING = "'none'"


@dataclass(frozen=True)
class WebFile:
    """A file as served: its text and every header it needs."""

    body: str
    headers: dict[str, str]


def content_security_policy(
    websocket_url: str | None, storage: tuple[str, ...] = (), frame_ancestors: tuple[str, ...] = ()
) -> str:
    """`storage`: the bucket's origins, where uploads go and thumbnails come from;
    `frame_ancestors`: the sites that may frame the page (none: no site may)."""
    connect = " ".join(("'self'", *((websocket_url,) if websocket_url else ()), *storage))
    return "; ".join(
        (
            "default-src 'none'",
            "script-src 'self'",
            "style-src 'self'",
            " ".join(("img-src 'self'", *storage)),
            f"connect-src {connect}",
            "form-action 'none'",
            "base-uri 'none'",
            f"frame-ancestors {' '.join(frame_ancestors) or NO_FRAMING}",
        )
    )


def security_headers(
    websocket_url: str | None, storage: tuple[str, ...] = (), frame_ancestors: tuple[str, ...] = ()
) -> dict[str, str]:
    headers = {
        "Content-Security-Policy": content_security_policy(websocket_url, storage, frame_ancestors),
        # A share link is a capability of sorts: it must not leak to linked sites.
        "Referrer-Policy": "no-referrer",
    }
    if not frame_ancestors:
        # For browsers older than frame-ancestors; never set where the CSP allows a frame.
        headers["X-Frame-Options"] = "DENY"
    return headers


@functools.cache
def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def page(
    name: str, base_path: str, websocket_url: str | None, frame_ancestors: tuple[str, ...] = ()
) -> WebFile:
    """A page (a key of PAGES), its links pointing under `base_path` ("" or "/<stage>").
    Only the embed page is given `frame_ancestors`: its agent's allowed origins."""
    html = _read(WEB_DIR / PAGES[name]).replace("{base}", escape(base_path, quote=True))
    html = html.replace("{mode}", name)
    headers = security_headers(websocket_url, _storage(), frame_ancestors)
    return WebFile(html, {"Content-Type": HTML, **headers})


def embed_script() -> WebFile:
    """GET /embed.js, loaded by other sites' pages: it runs there, so no CSP of ours."""
    return WebFile(_read(EMBED_SCRIPT), {"Content-Type": CONTENT_TYPES[".js"]})


def shared_page(base_path: str, shared: SharedConversation | None) -> WebFile:
    """A shared chat's read-only page, its preview tags filled from the share (escaped), so
    a pasted link unfurls; an unknown or revoked share's page says so."""
    if shared is None:
        title = "Shared chat not found"
        description = "This shared chat does not exist or was revoked."
    else:
        first = shared.messages[0].content if shared.messages else ""
        title = shared.title
        description = f"A chat with {shared.agent.title}: {' '.join(first.split())}"
        if len(description) > PREVIEW_CHARS:
            description = description[: PREVIEW_CHARS - 1] + "…"
    values = {"base": base_path, "title": title, "description": description}
    # One pass, so a title's own "{description}" stays text.
    html = _PLACEHOLDER.sub(
        lambda match: escape(values[match[1]], quote=True), _read(WEB_DIR / PAGES["shared"])
    )
    return WebFile(html, {"Content-Type": HTML, **security_headers(None)})


def _storage() -> tuple[str, ...]:
    """The bucket's origins for the page's uploads; none if they cannot be worked out."""
    try:
        return file_objects().origins()
    except (AppError, BotoCoreError):
        logger.warning("the page cannot upload files: no presigned URL could be made")
        return ()


@functools.cache
def asset_names() -> frozenset[str]:
    """The files /static/{name} serves: exactly those in static/, by name."""
    return frozenset(p.name for p in STATIC_DIR.iterdir() if p.suffix in CONTENT_TYPES)


def asset(name: str) -> WebFile:
    """A file of static/ (app.py gives each its own route)."""
    if name not in asset_names():
        raise NotFound()
    path = STATIC_DIR / name
    headers = {"Content-Type": CONTENT_TYPES[path.suffix], **security_headers(None)}
    return WebFile(_read(path), headers)
