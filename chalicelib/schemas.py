"""Request and response shapes of the API.

One pydantic model per shape: requests validate with them, responses
serialize through them, and later the OpenAPI document is generated from them.
Responses use camelCase; requests also accept the seed's snake_case names.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)
from pydantic.alias_generators import to_camel

from chalicelib.settings import get_settings

MAX_TITLE_CHARS = 100
MAX_SYSTEM_PROMPT_CHARS = 20_000
MAX_MESSAGE_CHARS = 32_000
ID_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"


def _allowed_model(name: str) -> str:
    allowed = get_settings().allowed_models
    if name not in allowed:
        raise ValueError(f"must be one of: {', '.join(allowed)}")
    return name


def _not_blank(text: str) -> str:
    if not text.strip():
        raise ValueError("must contain more than white space")
    return text


Title = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_TITLE_CHARS)
]
ModelName = Annotated[str, AfterValidator(_allowed_model)]
SystemPrompt = Annotated[str, Field(max_length=MAX_SYSTEM_PROMPT_CHARS)]
Temperature = Annotated[float, Field(ge=0, le=2, allow_inf_nan=False)]
MessageText = Annotated[
    str, Field(min_length=1, max_length=MAX_MESSAGE_CHARS), AfterValidator(_not_blank)
]
ResourceId = Annotated[str, Field(pattern=ID_PATTERN)]


class RequestModel(BaseModel):
    """Strict: no type coercion, no unknown fields."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        validate_by_name=True,
        validate_by_alias=True,
        extra="forbid",
        strict=True,
    )


class ResponseModel(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel,
        validate_by_name=True,
        validate_by_alias=True,
        serialize_by_alias=True,
    )

    def to_json_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True)


# --- chat configurations -------------------------------------------------------


class ChatConfigCreate(RequestModel):
    title: Title
    model: ModelName
    system_prompt: SystemPrompt
    temperature: Temperature
    allow_session_overrides: bool = True


class ChatConfigUpdate(RequestModel):
    """PUT replaces the settings; `allowSessionOverrides` keeps its value when omitted."""

    title: Title
    model: ModelName
    system_prompt: SystemPrompt
    temperature: Temperature
    allow_session_overrides: bool | None = None


class ChatSettings(ResponseModel):
    """What a config sets, and a session copies when it starts."""

    title: str
    model: str
    system_prompt: str
    temperature: float
    allow_session_overrides: bool

    def chat_settings(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in ChatSettings.model_fields}


class ChatConfigPublic(ChatSettings):
    chat_config_id: str
    created_at: str
    updated_at: str


class ChatConfigCreated(ResponseModel):
    chat_config_id: str
    shareable_url: str
    edit_token: str
    config: ChatConfigPublic


# --- sessions ------------------------------------------------------------------


class SessionCreate(RequestModel):
    chat_config_id: ResourceId


class SessionUpdate(RequestModel):
    """Any non-empty subset of the session's settings."""

    title: Title | None = None
    model: ModelName | None = None
    system_prompt: SystemPrompt | None = None
    temperature: Temperature | None = None

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


class StoredMessage(ResponseModel):
    id: str
    role: Literal["user", "model"]
    content: str
    created_at: str


class SessionView(SessionSettings):
    messages: list[StoredMessage]


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


# --- service -------------------------------------------------------------------


class Health(ResponseModel):
    status: Literal["ok"]
    model: Literal["gemini", "offline", "unavailable"]


class ErrorBody(ResponseModel):
    error: str
    code: str
    details: dict[str, Any] | list[Any] | None = None
