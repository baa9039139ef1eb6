"""AI Maker's HTTP API: routes only. The logic lives in chalicelib."""

from __future__ import annotations

import functools
import logging
import os
from collections.abc import Callable
from typing import Any

from chalice.app import Chalice, CORSConfig, Request, Response
from pydantic import BaseModel

from chalicelib import service
from chalicelib.errors import AppError
from chalicelib.http import (
    bearer_token,
    error_response,
    parse_body,
    rewrite_framework_error,
)
from chalicelib.schemas import (
    ChatConfigCreate,
    ChatConfigUpdate,
    MessageSend,
    SessionCreate,
    SessionUpdate,
)
from chalicelib.settings import CORS_ALLOW_ORIGIN

app = Chalice(app_name="ai-maker")
app.log.setLevel(logging.INFO)
# API Gateway fixes the allowed origin at deploy time; the app does at start-up.
CORS = CORSConfig(
    allow_origin=os.environ.get(CORS_ALLOW_ORIGIN, "").strip() or "*",
    allow_headers=["Authorization", "Content-Type"],
    expose_headers=["Retry-After"],
    max_age=600,
)
app.api.cors = CORS

View = Callable[..., BaseModel]


def _json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(body=body, status_code=status, headers=dict(headers or {}))


def operation(path: str, method: str, status: int = 200) -> Callable[[View], View]:
    """Register a route whose view returns a response model or raises an AppError."""

    def register(view: View) -> View:
        @functools.wraps(view)
        def handle(**path_params: str) -> Response:
            try:
                result = view(**path_params)
            except AppError as exc:
                return _json_response(*error_response(exc))
            return _json_response(status, result.model_dump(mode="json", by_alias=True))

        app.route(path, methods=[method])(handle)
        return view

    return register


@app.middleware("http")
def uniform_errors(event: Any, get_response: Callable[[Any], Response]) -> Response:
    """Give the framework's own error answers (bad JSON, 405, 415, 500) our shape."""
    response = get_response(event)
    rewritten = rewrite_framework_error(response.status_code, response.body)
    if rewritten is not None:
        response.body = rewritten
        response.headers["Content-Type"] = "application/json"
    # Chalice leaves CORS headers off some of its own answers (405, 500).
    for name, value in CORS.get_access_control_headers().items():
        response.headers.setdefault(name, value)
    return response


def _request() -> Request:
    request = app.current_request
    assert request is not None, "only called while serving a request"
    return request


def _body() -> bytes:
    raw = _request().raw_body
    return raw.encode("utf-8") if isinstance(raw, str) else raw


def _token() -> str:
    return bearer_token(_request().headers)


@operation("/health", "GET")
def health() -> BaseModel:
    return service.health()


@operation("/create-chat", "POST", status=201)
def create_chat() -> BaseModel:
    return service.create_chat_config(parse_body(ChatConfigCreate, _body()))


@operation("/chat-config/{chat_config_id}", "GET")
def get_chat_config(chat_config_id: str) -> BaseModel:
    return service.get_chat_config(chat_config_id)


@operation("/chat-config/{chat_config_id}", "PUT")
def update_chat_config(chat_config_id: str) -> BaseModel:
    token = _token()
    return service.update_chat_config(chat_config_id, token, parse_body(ChatConfigUpdate, _body()))


@operation("/chat-session", "POST", status=201)
def create_session() -> BaseModel:
    return service.create_session(parse_body(SessionCreate, _body()))


@operation("/session-message", "POST")
def send_message() -> BaseModel:
    token = _token()
    return service.send_message(token, parse_body(MessageSend, _body()))


@operation("/session/{session_id}", "GET")
def get_session(session_id: str) -> BaseModel:
    return service.get_session(session_id, _token())


@operation("/session/{session_id}", "PUT")
def update_session(session_id: str) -> BaseModel:
    token = _token()
    return service.update_session(session_id, token, parse_body(SessionUpdate, _body()))
