"""Every route of the API as data: the registry `chalicelib.api.openapi` builds the contract from.

tests/test_openapi.py fails when a route in app.py has no entry here, or an entry
has no route; after changing either, run `make openapi` to rewrite openapi.json.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel

from chalicelib import schemas as s
from chalicelib.core import errors
from chalicelib.schemas import insights as _insights
from chalicelib.schemas import keys as _keys
from chalicelib.schemas import openai as _openai
from chalicelib.schemas import shares as _shares
from chalicelib.stores import idempotency

JsonSchema = dict[str, Any]
Auth = Literal[
    "none",
    "edit token",
    "session token",
    "optional edit token",
    "operator token",
    "optional operator token",
    "api key",
]
API_VERSION = "0.1.0"


@dataclass(frozen=True)
class Param:
    """A header parameter (query parameters come from a query model)."""

    name: str
    location: Literal["query", "header"]
    schema: JsonSchema
    required: bool = False
    description: str = ""


@dataclass(frozen=True)
class Operation:
    """One route: what it takes, what it answers, and the errors it can answer with."""

    method: str
    path: str
    operation_id: str
    summary: str
    tag: str
    # A model, an inline JSON schema, or None for a bodiless answer (204).
    response: type[BaseModel] | JsonSchema | None
    status: int = 200
    request: type[BaseModel] | None = None
    # False: the body may be left out (all its fields are optional).
    body_required: bool = True
    auth: Auth = "none"
    query: type[BaseModel] | None = None
    headers: tuple[Param, ...] = ()
    # Another media type the success body may take, as a string (an export as Markdown).
    text_media_type: str | None = None
    errors: tuple[type[errors.AppError], ...] = ()
    description: str = ""


# Chalice checks Content-Type on every route (a GET included), and any route can fail.
ALWAYS: tuple[type[errors.AppError], ...] = (errors.UnsupportedMediaType, errors.AppError)
BODY = (errors.InvalidJson, errors.ValidationFailed, errors.PayloadTooLarge)
TOKEN = (errors.AuthRequired, errors.Forbidden)
STORAGE = (errors.StorageUnavailable,)
MODEL = (
    errors.ContentBlocked,
    errors.ModelRateLimited,
    errors.ModelError,
    errors.ModelUnavailable,
    errors.ModelTimeout,
    errors.QuotaExceeded,
    errors.BudgetExhausted,
    errors.RateLimited,
)

IDEMPOTENCY_KEY = Param(
    idempotency.HEADER,
    "header",
    # The pattern parse_key checks, so the two cannot drift apart.
    {"pattern": idempotency.KEY_PATTERN.pattern, "type": "string"},
    description="1-64 visible ASCII characters. A retry with the same key and message within "
    "24 hours gets the first reply back instead of a second model call.",
)

CONFIGS = "Chat configurations"
SESSIONS = "Sessions"
SERVICE = "Service"
CONFIG_PATH = "/chat-config/{chat_config_id}"
SESSION_PATH = "/session/{session_id}"

OPERATIONS: tuple[Operation, ...] = (
    Operation(
        "GET", "/health", "getHealth",
        summary="Liveness, and which model answers",
        tag=SERVICE,
        response=s.Health,
    ),
    Operation(
        "GET", "/models", "listModels",
        summary="The models a chat may use",
        tag=SERVICE,
        response=s.ModelList,
        description="The first one is the default.",
    ),
    Operation(
        "GET", "/openapi.json", "getOpenApi",
        summary="This OpenAPI document",
        tag=SERVICE,
        response={"type": "object"},
    ),
    Operation(
        "GET", "/asyncapi.json", "getAsyncApi",
        summary="The WebSocket API's AsyncAPI 3.0 document",
        tag=SERVICE,
        response={"type": "object"},
        description="The streaming protocol: the frames a client sends and the server answers.",
    ),
    Operation(
        "GET", "/operator/usage", "getOperatorUsage",
        summary="What the whole server did on a UTC day",
        tag=SERVICE,
        auth="operator token",
        query=s.UsageQuery,
        response=s.OperatorUsage,
        errors=(errors.ValidationFailed, *TOKEN, errors.NotFound, *STORAGE),
        description="Tokens (against BUDGET_TOKENS_PER_DAY), agents, sessions, replies and "
        "refusals. `404 not_found` when no operator token is configured.",
    ),
    Operation(
        "POST", "/create-chat", "createChatConfig",
        summary="Create a chat configuration",
        tag=CONFIGS,
        request=s.ChatConfigCreate,
        status=201,
        auth="optional operator token",
        response=s.ChatConfigCreated,
        errors=(
            *BODY, errors.CreationClosed, errors.QuotaExceeded, errors.RateLimited,
            errors.ConcurrentUpdate, *STORAGE,
        ),
        description="`model` must be one of the models `GET /models` lists. "
        "The edit token is shown only here: keep it.",
    ),
    Operation(
        "GET", CONFIG_PATH, "getChatConfig",
        summary="Read a chat configuration",
        tag=CONFIGS,
        auth="optional edit token",
        response=s.ChatConfigPublic,
        errors=(*TOKEN, errors.ConfigNotFound, *STORAGE),
    ),
    Operation(
        "PUT", CONFIG_PATH, "updateChatConfig",
        summary="Replace a configuration's settings",
        tag=CONFIGS,
        auth="edit token",
        request=s.ChatConfigUpdate,
        response=s.ChatConfigPublic,
        errors=(*BODY, *TOKEN, errors.ConfigNotFound, errors.ConcurrentUpdate, *STORAGE),
        description="The optional fields keep their values when omitted.",
    ),
    Operation(
        "DELETE", CONFIG_PATH, "deleteChatConfig",
        summary="Delete a chat configuration",
        tag=CONFIGS,
        auth="edit token",
        status=204,
        response=None,
        errors=(*TOKEN, errors.ConfigNotFound, *STORAGE),
        description="Its sessions can still read their history, but no longer send.",
    ),
    Operation(
        "POST", f"{CONFIG_PATH}/rotate-token", "rotateEditToken",
        summary="Replace the edit token",
        tag=CONFIGS,
        auth="edit token",
        response=s.EditTokenRotated,
        errors=(*TOKEN, errors.ConfigNotFound, errors.ConcurrentUpdate, *STORAGE),
        description="The old token stops working at once.",
    ),
    Operation(
        "POST", "/chat-session", "createSession",
        summary="Start a session of a configuration",
        tag=SESSIONS,
        request=s.SessionCreate,
        status=201,
        response=s.SessionCreated,
        errors=(
            *BODY, errors.ConfigNotFound, errors.SharingDisabled, errors.QuotaExceeded,
            errors.RateLimited, errors.ShareNotFound, errors.ConfigDeleted, *STORAGE,
        ),
        description="The session token is shown only here: keep it. With `fromShare`, its "
        "history starts as that shared snapshot's messages (stored, not counted as sent); "
        "`410 config_deleted` when the snapshot's agent was deleted.",
    ),
    Operation(
        "POST", "/session-message", "sendMessage",
        summary="Send a message, get the reply",
        tag=SESSIONS,
        auth="session token",
        headers=(IDEMPOTENCY_KEY,),
        request=s.MessageSend,
        response=s.MessageReply,
        errors=(
            *BODY, *TOKEN, errors.SessionNotFound, errors.ConfigDeleted, *MODEL,
            errors.IdempotencyConflict, errors.IdempotencyInProgress, *STORAGE,
            errors.InvalidAttachment, errors.ConcurrentUpdate, errors.TooManyBranches,
        ),
    ),
    Operation(
        "GET", SESSION_PATH, "getSession",
        summary="Read a session and its latest messages",
        tag=SESSIONS,
        auth="session token",
        response=s.SessionView,
        errors=(*TOKEN, errors.SessionNotFound, *STORAGE),
        description="The latest 100 messages, oldest first.",
    ),
    Operation(
        "PUT", SESSION_PATH, "updateSession",
        summary="Change a session's settings",
        tag=SESSIONS,
        auth="session token",
        request=s.SessionUpdate,
        response=s.SessionSettings,
        errors=(*BODY, *TOKEN, errors.SessionNotFound, errors.SettingsLocked, *STORAGE),
    ),
    Operation(
        "DELETE", SESSION_PATH, "deleteSession",
        summary="Delete a session and its messages",
        tag=SESSIONS,
        auth="session token",
        status=204,
        response=None,
        errors=(*TOKEN, errors.SessionNotFound, *STORAGE),
    ),
    Operation(
        "GET", f"{SESSION_PATH}/messages", "listMessages",
        summary="Page through the messages",
        tag=SESSIONS,
        auth="session token",
        query=s.MessagePageQuery,
        response=s.MessagePage,
        errors=(errors.ValidationFailed, *TOKEN, errors.SessionNotFound, *STORAGE),
        description="The newest `limit` messages before the cursor, oldest first; "
        "pass `nextCursor` as `before` to page further back.",
    ),
    Operation(
        "POST", f"{SESSION_PATH}/regenerate", "regenerateReply",
        summary="Ask again for a reply, keeping the old one",
        tag=SESSIONS,
        auth="session token",
        request=s.RegenerateRequest,
        body_required=False,
        response=s.MessageReply,
        errors=(
            *BODY, *TOKEN, errors.SessionNotFound, errors.NothingToRegenerate,
            errors.MessageNotFound, errors.ConfigDeleted, errors.ConcurrentUpdate,
            errors.TooManyBranches, *MODEL, *STORAGE,
        ),
        description="The new reply is a sibling of the old one (same user message) and "
        "becomes the active leaf; the old one stays, one sibling step away. Without a body "
        "(or `messageId`), the last reply; `messageId` names an earlier reply of the active "
        "path, asked again with the history it had.",
    ),
    Operation(
        "POST", f"{SESSION_PATH}/messages/{{message_id}}/edit", "editMessage",
        summary="Edit an earlier message, keeping both answers",
        tag=SESSIONS,
        auth="session token",
        headers=(IDEMPOTENCY_KEY,),
        request=s.MessageEdit,
        response=s.MessageReply,
        errors=(
            *BODY, *TOKEN, errors.SessionNotFound, errors.MessageNotFound, errors.ConfigDeleted,
            *MODEL, errors.IdempotencyConflict, errors.IdempotencyInProgress,
            errors.ConcurrentUpdate, errors.TooManyBranches, *STORAGE, errors.InvalidAttachment,
        ),
        description="`message_id` is a user message of the active path. Its new version is "
        "stored beside it (same parent), answered with the history up to that parent, and "
        "its reply becomes the active leaf; answered as a send (quotas, budgets, "
        "`Idempotency-Key`).",
    ),
    Operation(
        "PUT", f"{SESSION_PATH}/active", "setActiveMessage",
        summary="Show another branch",
        tag=SESSIONS,
        auth="session token",
        request=s.ActiveSet,
        response=s.MessagePage,
        errors=(
            *BODY, *TOKEN, errors.SessionNotFound, errors.MessageNotFound,
            errors.ConcurrentUpdate, *STORAGE,
        ),
        description="Makes the deepest path through `messageId` (its newest child at each "
        "step) the active one, and answers that path's last page (as `GET "
        "/session/{id}/messages`).",
    ),
    Operation(
        "GET", f"{SESSION_PATH}/export", "exportSession",
        summary="Export the whole conversation",
        tag=SESSIONS,
        auth="session token",
        query=s.ExportQuery,
        response=s.SessionExport,
        text_media_type="text/markdown",
        errors=(errors.ValidationFailed, *TOKEN, errors.SessionNotFound, *STORAGE),
        description="`format=json` (the default), or `format=markdown` for "
        "`text/markdown; charset=utf-8`.",
    ),
)  # fmt: skip


OPENAI = "OpenAI-compatible API"
KEYS_PATH = f"{CONFIG_PATH}/api-keys"
API_KEY = (errors.AuthRequired, errors.InvalidApiKey, *STORAGE)
EVENT_STREAM = "text/event-stream"
STREAMED = (
    "With `stream: true`, `text/event-stream`: OpenAI's streamed events, written into one "
    "buffered body (Chalice and a Python Lambda cannot stream an HTTP body)."
)

OPERATIONS += (
    Operation(
        "POST", KEYS_PATH, "createApiKey",
        summary="Make an API key of the agent",
        tag=CONFIGS,
        auth="edit token",
        request=_keys.ApiKeyCreate,
        status=201,
        response=_keys.ApiKeyCreated,
        errors=(*BODY, *TOKEN, errors.ConfigNotFound, errors.TooManyApiKeys, *STORAGE),
        description="The key opens the agent's `/v1` endpoints. It is shown only here: only "
        f"its hash is stored. An agent holds at most {_keys.MAX_API_KEYS} keys.",
    ),
    Operation(
        "GET", KEYS_PATH, "listApiKeys",
        summary="List the agent's API keys",
        tag=CONFIGS,
        auth="edit token",
        response=_keys.ApiKeyList,
        errors=(*TOKEN, errors.ConfigNotFound, *STORAGE),
    ),
    Operation(
        "DELETE", f"{KEYS_PATH}/{{key_id}}", "revokeApiKey",
        summary="Revoke an API key",
        tag=CONFIGS,
        auth="edit token",
        status=204,
        response=None,
        errors=(*TOKEN, errors.ConfigNotFound, errors.NotFound, *STORAGE),
        description="The key is refused from this moment.",
    ),
    Operation(
        "GET", "/v1/models", "listOpenAIModels",
        summary="The key's agent, as OpenAI's model list",
        tag=OPENAI,
        auth="api key",
        response=_openai.ModelObjectList,
        errors=API_KEY,
    ),
    Operation(
        "GET", "/v1/models/{model_id}", "getOpenAIModel",
        summary="The key's agent, as an OpenAI model",
        tag=OPENAI,
        auth="api key",
        response=_openai.ModelObject,
        errors=(*API_KEY, errors.ModelNotFound),
    ),
    Operation(
        "POST", "/v1/chat/completions", "createChatCompletion",
        summary="OpenAI's Chat Completions, answered by the agent; nothing is stored",
        tag=OPENAI,
        auth="api key",
        request=_openai.ChatCompletionCreate,
        response=_openai.ChatCompletion,
        text_media_type=EVENT_STREAM,
        errors=(*BODY, *API_KEY, errors.ModelNotFound, errors.SharingDisabled, *MODEL),
        description="`model` is the agent's `chatConfigId`. " + STREAMED,
    ),
    Operation(
        "POST", "/v1/responses", "createResponse",
        summary="OpenAI's Responses, answered by the agent, in a stored conversation",
        tag=OPENAI,
        auth="api key",
        request=_openai.ResponseCreate,
        response=_openai.Response,
        text_media_type=EVENT_STREAM,
        errors=(
            *BODY, *API_KEY, errors.ModelNotFound, errors.ResponseNotFound,
            errors.SharingDisabled, *MODEL,
        ),
        description="The first call starts a conversation; `previous_response_id` continues "
        "it. " + STREAMED,
    ),
)  # fmt: skip


def _file_operations(path: str, owner: str, tag: str, auth: Auth) -> tuple[Operation, ...]:
    """The file routes of one owner (a config's knowledge, a session's attachments)."""
    found = (*TOKEN, errors.ConfigNotFound, errors.SessionNotFound, *STORAGE)
    file = (*found, errors.FileNotFound)
    return (
        Operation(
            "POST", f"{path}/files", f"start{owner}Upload",
            summary="Announce a file upload: a presigned S3 POST for it", tag=tag, auth=auth,
            request=s.FileUploadCreate, status=201, response=s.FileUploadStarted,
            errors=(*BODY, *found, errors.ConfigDeleted, errors.FileTooLarge, errors.QuotaExceeded),
            description="POST the file to `upload.url` with `upload.fields` as form fields and "
            "the file last, as `file`; then complete it.",
        ),
        Operation(
            "POST", f"{path}/files/{{file_id}}/complete", f"complete{owner}Upload",
            summary="Check an uploaded file and make it usable", tag=tag, auth=auth,
            response=s.FilePublic,
            errors=(*file, errors.UploadIncomplete, errors.UploadExpired, errors.FileRejected),
        ),
        Operation(
            "GET", f"{path}/files", f"list{owner}Files",
            summary="List the files", tag=tag, auth=auth, response=s.FileList, errors=found,
        ),
        Operation(
            "DELETE", f"{path}/files/{{file_id}}", f"delete{owner}File",
            summary="Delete a file", tag=tag, auth=auth, status=204, response=None, errors=file,
        ),
        Operation(
            "GET", f"{path}/files/{{file_id}}/link", f"link{owner}File",
            summary="A short-lived link to a completed file's bytes", tag=tag, auth=auth,
            response=s.FileLink, errors=file,
        ),
    )  # fmt: skip


OPERATIONS += _file_operations(CONFIG_PATH, "Knowledge", CONFIGS, "edit token")
OPERATIONS += _file_operations(SESSION_PATH, "Attachment", SESSIONS, "session token")

SHARES = "Shares"
SHARES_PATH = f"{SESSION_PATH}/shares"
OPERATIONS += (
    Operation(
        "POST", SHARES_PATH, "createShare",
        summary="Share a read-only snapshot of the conversation",
        tag=SHARES,
        auth="session token",
        request=_shares.ShareCreate,
        status=201,
        response=_shares.ShareCreated,
        errors=(
            *BODY, *TOKEN, errors.SessionNotFound, errors.MessageNotFound,
            errors.NothingToShare, errors.TooManyShares, *STORAGE,
        ),
        description="A frozen copy of the messages up to `upToMessageId` (by default all so "
        "far): later sends, regenerations and edits do not change it. No token, session id "
        "or system prompt goes into it. At most LIMIT_SHARES_PER_SESSION at once.",
    ),
    Operation(
        "GET", SHARES_PATH, "listShares",
        summary="The session's shares",
        tag=SHARES,
        auth="session token",
        response=_shares.ShareList,
        errors=(*TOKEN, errors.SessionNotFound, *STORAGE),
    ),
    Operation(
        "DELETE", f"{SHARES_PATH}/{{share_id}}", "revokeShare",
        summary="Revoke a share",
        tag=SHARES,
        auth="session token",
        status=204,
        response=None,
        errors=(*TOKEN, errors.SessionNotFound, errors.ShareNotFound, *STORAGE),
        description="From then on the share is `404 share_not_found` for everyone.",
    ),
    Operation(
        "GET", "/shares/{share_id}", "getShare",
        summary="Read a shared snapshot",
        tag=SHARES,
        response=_shares.SharedConversation,
        errors=(errors.ShareNotFound, *STORAGE),
        description="Anyone with the id may read it. Deleting the session revokes it; "
        "deleting the agent leaves it readable, but no longer to continue.",
    ),
)  # fmt: skip


def _links(parameter: str, pointer: str, *operation_ids: str) -> dict[str, JsonSchema]:
    """Links to operations that take one id from this response's body."""
    return {
        op_id[0].upper() + op_id[1:]: {
            "operationId": op_id,
            "parameters": {parameter: f"$response.body#/{pointer}"},
        }
        for op_id in operation_ids
    }


# What each operation's success answer leads to: how a client (and a stateful fuzzer)
# gets from a created config to its sessions, and from a session to its messages.
SESSION_OPERATIONS = (
    "getSession", "updateSession", "deleteSession", "listMessages", "regenerateReply",
    "exportSession", "setActiveMessage",
)  # fmt: skip
LINKS: dict[str, dict[str, JsonSchema]] = {
    "createChatConfig": {
        **_links(
            "path.chat_config_id",
            "chatConfigId",
            "getChatConfig",
            "updateChatConfig",
            "deleteChatConfig",
            "rotateEditToken",
        ),  # fmt: skip
        "CreateSession": {
            "operationId": "createSession",
            "requestBody": {"chatConfigId": "$response.body#/chatConfigId"},
        },
    },
    "createSession": {
        **_links("path.session_id", "sessionId", *SESSION_OPERATIONS),
        "SendMessage": {
            "operationId": "sendMessage",
            "requestBody": {"sessionId": "$response.body#/sessionId", "message": "Hello"},
        },
    },
    "sendMessage": _links("path.session_id", "sessionId", *SESSION_OPERATIONS),
    "listMessages": {
        "ListOlderMessages": {
            "operationId": "listMessages",
            "parameters": {
                "path.session_id": "$request.path.session_id",
                "query.before": "$response.body#/nextCursor",
            },
        }
    },
}

# Creator insight: a visitor's feedback on a reply, and the agent's analytics.
FEEDBACK_PATH = f"{SESSION_PATH}/messages/{{message_id}}/feedback"
FEEDBACK_ERRORS = (*TOKEN, errors.SessionNotFound, errors.MessageNotFound, *STORAGE)

OPERATIONS += (
    Operation(
        "PUT", FEEDBACK_PATH, "setFeedback",
        summary="Rate a reply",
        tag=SESSIONS,
        auth="session token",
        request=_insights.FeedbackSet,
        response=_insights.Feedback,
        errors=(*BODY, *FEEDBACK_ERRORS),
        description="`up` or `down`, with an optional comment; a second rating replaces the "
        "first. Only a reply (`role: model`) can be rated: a user message is "
        "`400 validation_error`. The agent's creator sees the counts and comments "
        "(`GET /chat-config/{id}/analytics`), never the conversation.",
    ),
    Operation(
        "DELETE", FEEDBACK_PATH, "removeFeedback",
        summary="Take a reply's rating back",
        tag=SESSIONS,
        auth="session token",
        response=None,
        status=204,
        errors=FEEDBACK_ERRORS,
        description="`204` also when the reply had no rating.",
    ),
    Operation(
        "GET", f"{CONFIG_PATH}/analytics", "getAnalytics",
        summary="The agent's day series: sessions, replies, tokens, ratings, refusals",
        tag=CONFIGS,
        auth="edit token",
        query=_insights.AnalyticsQuery,
        response=_insights.AgentAnalytics,
        errors=(errors.ValidationFailed, *TOKEN, errors.ConfigNotFound, *STORAGE),
        description="One entry per UTC day, oldest first, ending today (zeros included), the "
        "totals over those days, and the 50 latest comments of ratings of their replies "
        "(without the replies or their sessions).",
    ),
)  # fmt: skip
