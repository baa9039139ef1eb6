"""AI Maker's HTTP API: routes only. The logic lives in chalicelib."""

from __future__ import annotations

import functools
import logging
import os
import time
from collections.abc import Callable

from chalice.app import Chalice, CORSConfig, Request, Response, WebsocketEvent
from pydantic import BaseModel

from chalicelib.api import origins, websocket
from chalicelib.api.http import (
    CORS_ALLOW_HEADERS,
    CORS_EXPOSE_HEADERS,
    JSON_CONTENT_TYPE,
    SECURITY_HEADERS,
    bearer_token,
    error_response,
    json_text,
    openai_error_response,
    optional_bearer_token,
    parse_body,
    public_base_url,
    rewrite_framework_error,
    stage_prefix,
    validate,
)
from chalicelib.api.openai_events import EVENT_STREAM, completion_events, response_events
from chalicelib.core import logs
from chalicelib.core.clients import Caller
from chalicelib.core.errors import AppError, AuthRequired
from chalicelib.core.settings import get_settings
from chalicelib.local import services as local_services
from chalicelib.schemas import (
    ActiveSet,
    ChatConfigCreate,
    ChatConfigUpdate,
    ExportQuery,
    FileUploadCreate,
    MessageEdit,
    MessagePageQuery,
    MessageSend,
    RegenerateRequest,
    SessionCreate,
    SessionUpdate,
    TextBody,
    UsageQuery,
)
from chalicelib.schemas.insights import AnalyticsQuery, FeedbackSet
from chalicelib.schemas.keys import ApiKeyCreate
from chalicelib.schemas.openai import ChatCompletionCreate, ResponseCreate
from chalicelib.schemas.shares import ShareCreate
from chalicelib.services import access, agent_api
from chalicelib.services import configs as config_service
from chalicelib.services import conversation as message_service
from chalicelib.services import files as file_service
from chalicelib.services import insights as insight_service
from chalicelib.services import keys as key_service
from chalicelib.services import sessions as session_service
from chalicelib.services import shares as share_service
from chalicelib.stores import idempotency
from chalicelib.web import pages

app = Chalice(app_name="ai-maker")
# Chalice's WebSocket API: streamed replies (see chalicelib/api/websocket.py).
app.experimental_feature_flags.update(["WEBSOCKETS"])
app.log.setLevel(logging.INFO)
logs.logger.setLevel(logging.INFO)
# API Gateway fixes the allowed origin at deploy time; the app does at start-up.
CORS = CORSConfig(
    allow_origin=get_settings().cors_allow_origin,
    allow_headers=list(CORS_ALLOW_HEADERS),
    expose_headers=list(CORS_EXPOSE_HEADERS),
    max_age=600,
)
app.api.cors = CORS
# Bodies are serialized here, not by Chalice, whose json.dumps escapes every non-ASCII character.
JSON = {"Content-Type": JSON_CONTENT_TYPE}

if os.environ.get("AWS_CHALICE_CLI_MODE"):
    # Served by `chalice local`: unknown paths and methods answer as they do deployed.
    from scripts import local_gateway, local_reloader
    from scripts.websocket_gateway import local_starter

    local_gateway.install({**CORS.get_access_control_headers(), **SECURITY_HEADERS, **JSON})
    # Saving the local data is no edit: autoreload passes over it.
    local_reloader.install()
    # chalice local serves no WebSockets: the local gateway does, beside it.
    local_services.register(local_starter(app))

View = Callable[..., BaseModel | TextBody | None]
WebView = Callable[..., pages.WebFile]
# The web app's paths: pages and files, not part of the API's OpenAPI contract.
WEB_ROUTES: set[str] = set()


def _error(exc: AppError, openai: bool = False) -> Response:
    access.count_refusal(exc)
    status, body, headers = (openai_error_response if openai else error_response)(exc)
    return Response(body=json_text(body), status_code=status, headers={**JSON, **headers})


def operation(path: str, method: str, status: int = 200) -> Callable[[View], View]:
    """Register a route whose view returns a response model, a text body, or None (204).
    A /v1 route answers its errors in OpenAI's shape."""
    openai = path.startswith("/v1/")

    def register(view: View) -> View:
        @functools.wraps(view)
        def handle(**path_params: str) -> Response:
            try:
                result = view(**path_params)
            except AppError as exc:
                return _error(exc, openai)
            if result is None:
                return Response(body="", status_code=204)
            if isinstance(result, TextBody):
                return Response(
                    body=result.text,
                    status_code=status,
                    headers={"Content-Type": result.content_type},
                )
            return Response(
                body=result.model_dump_json(by_alias=True), status_code=status, headers=dict(JSON)
            )

        app.route(path, methods=[method])(handle)
        return view

    return register


def web(path: str) -> Callable[[WebView], WebView]:
    """Register a GET route of the web app, whose view returns the file to serve."""

    def register(view: WebView) -> WebView:
        @functools.wraps(view)
        def handle(**path_params: str) -> Response:
            try:
                file = view(**path_params)
            except AppError as exc:
                return _error(exc)
            return Response(body=file.body, status_code=200, headers=dict(file.headers))

        app.route(path, methods=["GET"])(handle)
        WEB_ROUTES.add(path)
        return view

    return register


@app.middleware("all")
def start_local_servers(event: object, get_response: Callable[[object], object]) -> object:
    """`chalice local` in the dev stage: start the local servers on the first event (else no-op)."""
    local_services.ensure_started()
    return get_response(event)


@app.middleware("http")
def shape_and_log(event: Request, get_response: Callable[[Request], Response]) -> Response:
    """Give the framework's own errors our shape, add common headers, log one line."""
    started = time.perf_counter()
    logs.start_request()
    response = get_response(event)
    rewritten = rewrite_framework_error(response.status_code, response.body)
    if rewritten is not None:
        response.body = json_text(rewritten)
        response.headers.update(JSON)
    # Chalice leaves CORS headers off some of its own answers (405, 500).
    for name, value in {**CORS.get_access_control_headers(), **SECURITY_HEADERS}.items():
        response.headers.setdefault(name, value)
    logs.log_request(
        method=event.method,
        route=event.context.get("resourcePath", "?"),
        status=response.status_code,
        duration_ms=(time.perf_counter() - started) * 1000,
        request_id=event.context.get("requestId"),
    )
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


def _query() -> dict[str, str]:
    return dict(_request().query_params or {})


def _caller(operator_may_call: bool = True) -> Caller:
    """Who sent the request: its client (API Gateway's sourceIp) and, on a route the
    operator's token may call, whether it bears it. A send bears a session token, so it
    never looks the operator's token up (on AWS, an SSM read)."""
    request = _request()
    source_ip = request.context.get("identity", {}).get("sourceIp")
    bearer = None
    if operator_may_call:
        try:
            bearer = optional_bearer_token(request.headers)
        except AuthRequired:
            bearer = None  # only the operator's token counts here, and this is none
    return access.caller(source_ip, request.headers.get("x-forwarded-for"), bearer)


@operation("/health", "GET")
def health() -> BaseModel:
    return session_service.health()


@operation("/models", "GET")
def list_models() -> BaseModel:
    return session_service.list_models()


# --- chat configurations (the creator's) ------------------------------------------


@operation("/create-chat", "POST", status=201)
def create_chat() -> BaseModel:
    request = parse_body(ChatConfigCreate, _body())
    own_base_url = public_base_url(_request().headers, _request().context)
    return config_service.create_chat_config(request, own_base_url, _caller())


@operation("/chat-config/{chat_config_id}", "GET")
def get_chat_config(chat_config_id: str) -> BaseModel:
    token = optional_bearer_token(_request().headers)
    return config_service.get_chat_config(chat_config_id, token)


@operation("/chat-config/{chat_config_id}", "PUT")
def update_chat_config(chat_config_id: str) -> BaseModel:
    token = _token()
    request = parse_body(ChatConfigUpdate, _body())
    return config_service.update_chat_config(chat_config_id, token, request)


@operation("/chat-config/{chat_config_id}", "DELETE")
def delete_chat_config(chat_config_id: str) -> None:
    config_service.delete_chat_config(chat_config_id, _token())


@operation("/chat-config/{chat_config_id}/rotate-token", "POST")
def rotate_edit_token(chat_config_id: str) -> BaseModel:
    return config_service.rotate_edit_token(chat_config_id, _token())


# --- sessions ------------------------------------------------------------------------


@operation("/chat-session", "POST", status=201)
def create_session() -> BaseModel:
    return session_service.create_session(parse_body(SessionCreate, _body()), _caller())


@operation("/session-message", "POST")
def send_message() -> BaseModel:
    token = _token()
    key = idempotency.parse_key(_request().headers.get(idempotency.HEADER.lower()))
    request = parse_body(MessageSend, _body())
    return message_service.send_message(token, request, key, who=_caller(False))


@operation("/session/{session_id}", "GET")
def get_session(session_id: str) -> BaseModel:
    return session_service.get_session(session_id, _token())


@operation("/session/{session_id}", "PUT")
def update_session(session_id: str) -> BaseModel:
    token = _token()
    return session_service.update_session(session_id, token, parse_body(SessionUpdate, _body()))


@operation("/session/{session_id}", "DELETE")
def delete_session(session_id: str) -> None:
    session_service.delete_session(session_id, _token())


@operation("/session/{session_id}/messages", "GET")
def list_messages(session_id: str) -> BaseModel:
    token = _token()
    return session_service.list_messages(session_id, token, validate(MessagePageQuery, _query()))


@operation("/session/{session_id}/regenerate", "POST")
def regenerate(session_id: str) -> BaseModel:
    token, body = _token(), _body()
    request = parse_body(RegenerateRequest, body) if body.strip() else None
    return message_service.regenerate(session_id, token, request, who=_caller(False))


@operation("/session/{session_id}/messages/{message_id}/edit", "POST")
def edit_message(session_id: str, message_id: str) -> BaseModel:
    token = _token()
    key = idempotency.parse_key(_request().headers.get(idempotency.HEADER.lower()))
    request = parse_body(MessageEdit, _body())
    return message_service.edit_message(
        session_id, message_id, token, request, key, who=_caller(False)
    )


@operation("/session/{session_id}/active", "PUT")
def set_active_message(session_id: str) -> BaseModel:
    token = _token()
    return session_service.set_active(session_id, token, parse_body(ActiveSet, _body()))


@operation("/session/{session_id}/export", "GET")
def export_session(session_id: str) -> BaseModel | TextBody:
    token = _token()
    return session_service.export_session(session_id, token, validate(ExportQuery, _query()))


# --- files: a config's knowledge (edit token), a session's attachments (session token) --


@operation("/chat-config/{chat_config_id}/files", "POST", status=201)
def start_knowledge_upload(chat_config_id: str) -> BaseModel:
    token = _token()
    request = parse_body(FileUploadCreate, _body())
    return file_service.start_upload("config", chat_config_id, token, request)


@operation("/chat-config/{chat_config_id}/files", "GET")
def list_knowledge_files(chat_config_id: str) -> BaseModel:
    return file_service.list_files("config", chat_config_id, _token())


@operation("/chat-config/{chat_config_id}/files/{file_id}/complete", "POST")
def complete_knowledge_upload(chat_config_id: str, file_id: str) -> BaseModel:
    return file_service.complete_upload("config", chat_config_id, _token(), file_id)


@operation("/chat-config/{chat_config_id}/files/{file_id}", "DELETE")
def delete_knowledge_file(chat_config_id: str, file_id: str) -> None:
    file_service.delete_file("config", chat_config_id, _token(), file_id)


@operation("/chat-config/{chat_config_id}/files/{file_id}/link", "GET")
def link_knowledge_file(chat_config_id: str, file_id: str) -> BaseModel:
    return file_service.file_link("config", chat_config_id, _token(), file_id)


@operation("/session/{session_id}/files", "POST", status=201)
def start_attachment_upload(session_id: str) -> BaseModel:
    token = _token()
    request = parse_body(FileUploadCreate, _body())
    return file_service.start_upload("session", session_id, token, request)


@operation("/session/{session_id}/files", "GET")
def list_attachment_files(session_id: str) -> BaseModel:
    return file_service.list_files("session", session_id, _token())


@operation("/session/{session_id}/files/{file_id}/complete", "POST")
def complete_attachment_upload(session_id: str, file_id: str) -> BaseModel:
    return file_service.complete_upload("session", session_id, _token(), file_id)


@operation("/session/{session_id}/files/{file_id}", "DELETE")
def delete_attachment_file(session_id: str, file_id: str) -> None:
    file_service.delete_file("session", session_id, _token(), file_id)


@operation("/session/{session_id}/files/{file_id}/link", "GET")
def link_attachment_file(session_id: str, file_id: str) -> BaseModel:
    return file_service.file_link("session", session_id, _token(), file_id)


# --- an agent's API keys (the creator's), and the agent as an OpenAI-compatible API ----


@operation("/chat-config/{chat_config_id}/api-keys", "POST", status=201)
def create_api_key(chat_config_id: str) -> BaseModel:
    token = _token()
    request = parse_body(ApiKeyCreate, _body())
    return key_service.create_key(chat_config_id, token, request)


@operation("/chat-config/{chat_config_id}/api-keys", "GET")
def list_api_keys(chat_config_id: str) -> BaseModel:
    return key_service.list_keys(chat_config_id, _token())


@operation("/chat-config/{chat_config_id}/api-keys/{key_id}", "DELETE")
def revoke_api_key(chat_config_id: str, key_id: str) -> None:
    key_service.revoke_key(chat_config_id, _token(), key_id)


@operation("/v1/models", "GET")
def openai_models() -> BaseModel:
    return agent_api.list_models(key_service.authenticate(_token()))


@operation("/v1/models/{model_id}", "GET")
def openai_model(model_id: str) -> BaseModel:
    return agent_api.get_model(key_service.authenticate(_token()), model_id)


@operation("/v1/chat/completions", "POST")
def openai_chat_completion() -> BaseModel | TextBody:
    agent = key_service.authenticate(_token())
    request = parse_body(ChatCompletionCreate, _body())
    completion = agent_api.chat_completion(agent, request, _caller(False))
    if not request.stream:
        return completion
    usage = bool(request.stream_options and request.stream_options.include_usage)
    return TextBody(completion_events(completion, usage), EVENT_STREAM)


@operation("/v1/responses", "POST")
def openai_response() -> BaseModel | TextBody:
    agent = key_service.authenticate(_token())
    request = parse_body(ResponseCreate, _body())
    response = agent_api.create_response(agent, request, _caller(False))
    return TextBody(response_events(response), EVENT_STREAM) if request.stream else response


# --- creator insight: a visitor's feedback on a reply, and an agent's analytics ------


@operation("/session/{session_id}/messages/{message_id}/feedback", "PUT")
def set_feedback(session_id: str, message_id: str) -> BaseModel:
    token = _token()
    request = parse_body(FeedbackSet, _body())
    return insight_service.set_feedback(session_id, message_id, token, request)


@operation("/session/{session_id}/messages/{message_id}/feedback", "DELETE")
def remove_feedback(session_id: str, message_id: str) -> None:
    insight_service.remove_feedback(session_id, message_id, _token())


@operation("/chat-config/{chat_config_id}/analytics", "GET")
def agent_analytics(chat_config_id: str) -> BaseModel:
    token = _token()
    return insight_service.agent_analytics(
        chat_config_id, token, validate(AnalyticsQuery, _query())
    )


# --- shares: read-only snapshots of a conversation (session token; reading: none) ----


@operation("/session/{session_id}/shares", "POST", status=201)
def create_share(session_id: str) -> BaseModel:
    token = _token()
    request = parse_body(ShareCreate, _body() or b"{}")
    base_url = public_base_url(_request().headers, _request().context)
    return share_service.create_share(session_id, token, request, base_url)


@operation("/session/{session_id}/shares", "GET")
def list_shares(session_id: str) -> BaseModel:
    base_url = public_base_url(_request().headers, _request().context)
    return share_service.list_shares(session_id, _token(), base_url)


@operation("/session/{session_id}/shares/{share_id}", "DELETE")
def revoke_share(session_id: str, share_id: str) -> None:
    share_service.revoke_share(session_id, _token(), share_id)


@operation("/shares/{share_id}", "GET")
def get_share(share_id: str) -> BaseModel:
    return share_service.get_share(share_id)


@web("/shared/{share_id}")
def shared_page(share_id: str) -> pages.WebFile:
    shared = share_service.find_share(share_id)
    return pages.shared_page(stage_prefix(_request().context), shared)


# --- the operator's view ----------------------------------------------------------


@operation("/operator/usage", "GET")
def operator_usage() -> BaseModel:
    token = optional_bearer_token(_request().headers)
    return access.operator_usage(token, validate(UsageQuery, _query()))


@operation("/openapi.json", "GET")
def openapi_document() -> TextBody:
    """This API's OpenAPI 3.1 contract, generated from the models the routes validate with."""
    from chalicelib.api import openapi  # On first use: no other route needs the generator.

    return TextBody(openapi.render(), JSON_CONTENT_TYPE)


@operation("/asyncapi.json", "GET")
def asyncapi_document() -> TextBody:
    """The WebSocket API's AsyncAPI 3.0 contract, generated from the frame models."""
    from chalicelib.api import asyncapi  # On first use, as for the OpenAPI document.

    return TextBody(asyncapi.render(), JSON_CONTENT_TYPE)


# --- the WebSocket API: streamed replies ---------------------------------------------


@app.on_ws_connect()
def ws_connect(event: WebsocketEvent) -> dict[str, int]:
    """A new socket: refused (403) when a browser opens it from a page elsewhere."""
    headers = event.to_dict().get("headers") or {}
    return {"statusCode": 200 if origins.admits(headers) else 403}


@app.on_ws_message()
def ws_message(event: WebsocketEvent) -> None:
    """One client frame; its request's frames go back through the @connections API."""
    endpoint = websocket.management_endpoint(event.domain_name, event.stage)
    identity = event.to_dict().get("requestContext", {}).get("identity", {})
    who = access.caller(identity.get("sourceIp"), None, None)
    websocket.handle_frame(
        event.body, websocket.connection_post(endpoint, event.connection_id), who
    )


# --- the web app: the pages behind / and the share link ----------------------------


@web("/")
def create_page() -> pages.WebFile:
    return pages.page("create", stage_prefix(_request().context), get_settings().websocket_url)


@web("/chat/{chat_config_id}")
def chat_page(chat_config_id: str) -> pages.WebFile:
    # The page reads the config itself, so an unknown id gets a page that says so.
    return pages.page("chat", stage_prefix(_request().context), get_settings().websocket_url)


@web("/embed/{chat_config_id}")
def embed_page(chat_config_id: str) -> pages.WebFile:
    # Framed only by the sites the agent allows: its CSP's frame-ancestors names them.
    ancestors = config_service.embed_origins(chat_config_id)
    base = stage_prefix(_request().context)
    return pages.page("embed", base, get_settings().websocket_url, ancestors)


@web("/operator")
def operator_page() -> pages.WebFile:
    # The page asks for the operator's token itself; without it, it shows nothing.
    return pages.page("operator", stage_prefix(_request().context), None)


@web("/embed.js")
def embed_script() -> pages.WebFile:
    return pages.embed_script()


# One route per file, so no path (`..`, `%2F`) can name anything else.
for _name in sorted(pages.asset_names()):
    web(f"/static/{_name}")(functools.partial(pages.asset, _name))
