"""Shapes of sessions and their messages, and of the service routes."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic.alias_generators import to_camel
from pydantic.json_schema import SkipJsonSchema

from chalicelib.schemas.base import (
    MessageText,
    ModelName,
    RequestModel,
    ResourceId,
    ResponseModel,
    SystemPrompt,
    Temperature,
    Title,
)
from chalicelib.schemas.configs import ChatSettings

# --- sessions ------------------------------------------------------------------


class SessionCreate(RequestModel):
    chat_config_id: ResourceId


def _no_default(schema: dict[str, Any]) -> None:
    # An omitted field is simply not changed; null is not a value to send.
    schema.pop("default", None)


class SessionUpdate(RequestModel):
    """Any non-empty subset of the session's settings (null is not a value)."""

    model_config = ConfigDict(json_schema_extra={"minProperties": 1})

    title: Title | SkipJsonSchema[None] = Field(None, json_schema_extra=_no_default)
    model: ModelName | SkipJsonSchema[None] = Field(None, json_schema_extra=_no_default)
    system_prompt: SystemPrompt | SkipJsonSchema[None] = Field(None, json_schema_extra=_no_default)
    temperature: Temperature | SkipJsonSchema[None] = Field(None, json_schema_extra=_no_default)

    @model_validator(mode="after")
    def _some_field_given(self) -> SessionUpdate:
        if not self.model_fields_set:
            raise ValueError("send at least one of title, model, systemPrompt, temperature")
        nulls = sorted(name for name in self.model_fields_set if getattr(self, name) is None)
        if nulls:
            raise ValueError(f"must not be null: {', '.join(to_camel(n) for n in nulls)}")
        return self

    def changes(self) -> dict[str, Any]:
        """The given fields, by their Python names."""
        return {name: getattr(self, name) for name in self.model_fields_set}


class SessionSettings(ChatSettings):
    session_id: str
    chat_config_id: str
    created_at: str
    updated_at: str


class SessionCreated(SessionSettings):
    session_token: str


class EditTokenRotated(ResponseModel):
    edit_token: str


class StoredMessage(ResponseModel):
    id: str
    role: Literal["user", "model"]
    content: str
    created_at: str
    # Only on a reply whose generation the client stopped: the part written until then.
    stopped: Literal[True] | SkipJsonSchema[None] = Field(
        None, exclude_if=lambda value: value is None, json_schema_extra=_no_default
    )


class Usage(ResponseModel):
    """Tokens, as the model counted them."""

    prompt_tokens: int = 0
    reply_tokens: int = 0
    total_tokens: int = 0

    @classmethod
    def of(cls, prompt_tokens: int, reply_tokens: int) -> Usage:
        return cls(
            prompt_tokens=prompt_tokens,
            reply_tokens=reply_tokens,
            total_tokens=prompt_tokens + reply_tokens,
        )


class ContextInfo(ResponseModel):
    """How much of the conversation went to the model with this message."""

    messages_sent: int
    messages_total: int
    truncated: bool


class SessionView(SessionSettings):
    usage: Usage
    messages: list[StoredMessage]


class SessionExport(SessionSettings):
    usage: Usage
    exported_at: str
    messages: list[StoredMessage]


class MessagePageQuery(BaseModel):
    """Query parameters of GET /session/{id}/messages (strings, so not strict)."""

    model_config = ConfigDict(extra="forbid")

    limit: Annotated[int, Field(ge=1, le=100)] = 50
    before: Annotated[str | None, Field(min_length=1, max_length=200)] = None


class ExportQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    format: Literal["json", "markdown"] = "json"


class MessagePage(ResponseModel):
    """A page of messages, oldest first; `nextCursor` pages further back."""

    messages: list[StoredMessage]
    next_cursor: str | None


# --- messages ------------------------------------------------------------------


class MessageSend(RequestModel):
    session_id: ResourceId
    message: MessageText


class MessageReply(ResponseModel):
    message: str
    session_id: str
    model: str
    user_message: StoredMessage
    reply: StoredMessage
    usage: Usage
    context: ContextInfo


# --- service -------------------------------------------------------------------


class ModelInfo(ResponseModel):
    id: str
    default: bool


class ModelList(ResponseModel):
    models: list[ModelInfo]


class Health(ResponseModel):
    status: Literal["ok"]
    model: Literal["gemini", "offline", "unavailable"]
    # Where WebSocket clients connect; null when this deployment has no WebSocket API.
    websocket_url: str | None


class ErrorBody(ResponseModel):
    error: str
    code: str
    details: dict[str, Any] | list[Any] | None = None
