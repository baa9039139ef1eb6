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
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)
from pydantic.alias_generators import to_camel
from pydantic.json_schema import SkipJsonSchema

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


# The documented pattern says what the validators check: not only white space.
NOT_BLANK = Field(json_schema_extra={"pattern": r"\S"})
Title = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_TITLE_CHARS),
    NOT_BLANK,
]
ModelName = Annotated[str, AfterValidator(_allowed_model)]
SystemPrompt = Annotated[str, Field(max_length=MAX_SYSTEM_PROMPT_CHARS)]
Temperature = Annotated[float, Field(ge=0, le=2, allow_inf_nan=False)]
MessageText = Annotated[
    str,
    Field(min_length=1, max_length=MAX_MESSAGE_CHARS),
    AfterValidator(_not_blank),
    NOT_BLANK,
]
ResourceId = Annotated[str, Field(pattern=ID_PATTERN)]
PromptVisibility = Literal["public", "private"]

# Each limit a creator may set, with the setting that is its default and ceiling.
LIMIT_CEILINGS = {
    "messages_per_session": "limit_messages_per_session",
    "messages_per_day": "limit_messages_per_day",
    "sessions_per_day": "limit_sessions_per_day",
}


def _within_ceiling(field: str) -> AfterValidator:
    def check(value: int | None) -> int | None:
        ceiling = getattr(get_settings(), LIMIT_CEILINGS[field])
        if value is not None and value > ceiling:
            raise ValueError(f"may be at most {ceiling}, this server's ceiling")
        return value

    return AfterValidator(check)


def _integral(value: object) -> object:
    # JSON Schema's integer includes 5.0; strict mode alone would refuse it.
    return int(value) if isinstance(value, float) and value.is_integer() else value


LimitValue = Annotated[int, BeforeValidator(_integral), Field(ge=0)]


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


class LimitsUpdate(RequestModel):
    """A creator's limits. An omitted limit keeps its value; null resets it to the default."""

    messages_per_session: Annotated[LimitValue | None, _within_ceiling("messages_per_session")] = (
        None
    )
    messages_per_day: Annotated[LimitValue | None, _within_ceiling("messages_per_day")] = None
    sessions_per_day: Annotated[LimitValue | None, _within_ceiling("sessions_per_day")] = None


class CreatorLimits(ResponseModel):
    """The limits a creator set; None means the server's default."""

    messages_per_session: int | None = None
    messages_per_day: int | None = None
    sessions_per_day: int | None = None

    def merged(self, update: LimitsUpdate) -> CreatorLimits:
        return self.model_copy(
            update={name: getattr(update, name) for name in update.model_fields_set}
        )

    def in_force(self) -> Limits:
        """Each limit as enforced now: the creator's, capped by today's ceiling."""
        settings = get_settings()
        values = {}
        for name, setting in LIMIT_CEILINGS.items():
            ceiling: int = getattr(settings, setting)
            chosen = getattr(self, name)
            values[name] = ceiling if chosen is None else min(chosen, ceiling)
        return Limits(**values)


class Limits(ResponseModel):
    """The limits in force."""

    messages_per_session: int
    messages_per_day: int
    sessions_per_day: int


class ChatConfigCreate(RequestModel):
    title: Title
    model: ModelName
    system_prompt: SystemPrompt
    temperature: Temperature
    allow_session_overrides: bool = True
    prompt_visibility: PromptVisibility = "public"
    sharing: bool = True
    limits: LimitsUpdate | None = None


class ChatConfigUpdate(RequestModel):
    """PUT replaces the settings. The optional fields keep their values when omitted."""

    title: Title
    model: ModelName
    system_prompt: SystemPrompt
    temperature: Temperature
    allow_session_overrides: bool | None = None
    prompt_visibility: PromptVisibility | None = None
    sharing: bool | None = None
    limits: LimitsUpdate | None = None


class ChatSettings(ResponseModel):
    """What a config sets, and a session copies when it starts.

    Stored records always hold the prompt; a response hides a private one
    (`systemPrompt: null, systemPromptHidden: true`).
    """

    title: str
    model: str
    system_prompt: str | None
    system_prompt_hidden: bool = False
    temperature: float
    allow_session_overrides: bool
    prompt_visibility: PromptVisibility = "public"

    @property
    def prompt_text(self) -> str:
        return self.system_prompt or ""

    def chat_settings(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in ChatSettings.model_fields}

    def with_prompt_hidden(self, reveal: bool = False) -> dict[str, Any]:
        """The fields for a response: a private prompt only for its creator."""
        fields = self.model_dump(by_alias=False)
        if self.prompt_visibility == "private" and not reveal:
            fields.update(system_prompt=None, system_prompt_hidden=True)
        return fields


class ChatConfigPublic(ChatSettings):
    chat_config_id: str
    sharing: bool
    limits: Limits
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


class ErrorBody(ResponseModel):
    error: str
    code: str
    details: dict[str, Any] | list[Any] | None = None
