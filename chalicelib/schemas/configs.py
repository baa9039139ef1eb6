"""Shapes of chat configurations: settings, limits, and the creator's answers."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, ConfigDict, Field

from chalicelib.core.settings import get_settings
from chalicelib.schemas.agents import (
    AgentSettingsUpdate,
    KnowledgeMode,
    MediaResolution,
    ThinkingSettings,
    ToolSwitches,
    document_tool_support,
)
from chalicelib.schemas.base import (
    ModelName,
    PromptVisibility,
    RequestModel,
    ResponseModel,
    SystemPrompt,
    Temperature,
    Title,
    integral,
)
from chalicelib.schemas.embed import EmbedSettings
from chalicelib.schemas.reply_format import ReplyFormat, TextFormat
from chalicelib.schemas.safety import SafetySettings

# Each limit a creator may set, with the setting that is its default and ceiling.
LIMIT_CEILINGS = {
    "messages_per_session": "limit_messages_per_session",
    "messages_per_day": "limit_messages_per_day",
    "sessions_per_day": "limit_sessions_per_day",
    "file_max_bytes": "file_max_bytes",
    "files_per_config": "limit_files_per_config",
    "files_per_session": "limit_files_per_session",
    "file_bytes_per_day": "limit_file_bytes_per_day",
    "tokens_per_day": "limit_tokens_per_day",
}


def _ceiling(field: str) -> int:
    ceiling: int = getattr(get_settings(), LIMIT_CEILINGS[field])
    return ceiling


# Limits whose ceiling 0 means "no ceiling" rather than "nothing allowed".
OPEN_WHEN_ZERO = frozenset({"tokens_per_day"})


def _within_ceiling(field: str) -> AfterValidator:
    def check(value: int | None) -> int | None:
        ceiling = _ceiling(field)
        if field in OPEN_WHEN_ZERO and ceiling == 0:
            return value
        if value is not None and value > ceiling:
            raise ValueError(f"may be at most {ceiling}, this server's ceiling")
        return value

    return AfterValidator(check)


def _ceiling_as_maximum(field: str) -> Any:
    """The schema's `maximum`: the ceiling as the server has it when the document is made."""

    def document(schema: dict[str, Any]) -> None:
        if field in OPEN_WHEN_ZERO and _ceiling(field) == 0:
            return
        for branch in schema.get("anyOf", [schema]):
            if branch.get("type") == "integer":
                branch["maximum"] = _ceiling(field)

    return Field(json_schema_extra=document)


# The bound before the validator, so the schema states it (as `minimum`).
LimitValue = Annotated[int, Field(ge=0), BeforeValidator(integral)]


# --- chat configurations -------------------------------------------------------


def limit_in_force(chosen: int | None, ceiling: int) -> int:
    """A creator's limit as enforced: the server's ceiling when unset, never above it."""
    return ceiling if chosen is None else min(chosen, ceiling)


def token_budget_in_force(chosen: int | None, ceiling: int) -> int | None:
    """An agent's tokens per day as enforced; None when neither the creator nor the server
    (LIMIT_TOKENS_PER_DAY 0) sets one."""
    if ceiling == 0:
        return chosen
    return limit_in_force(chosen, ceiling)


class LimitsUpdate(RequestModel):
    """A creator's limits. An omitted limit keeps its value; null resets it to the default."""

    messages_per_session: Annotated[
        LimitValue | None,
        _within_ceiling("messages_per_session"),
        _ceiling_as_maximum("messages_per_session"),
    ] = None
    """Messages one session may send in all."""
    messages_per_day: Annotated[
        LimitValue | None,
        _within_ceiling("messages_per_day"),
        _ceiling_as_maximum("messages_per_day"),
    ] = None
    """Messages across all sessions per UTC day."""
    sessions_per_day: Annotated[
        LimitValue | None,
        _within_ceiling("sessions_per_day"),
        _ceiling_as_maximum("sessions_per_day"),
    ] = None
    """New sessions per UTC day."""
    file_max_bytes: Annotated[
        LimitValue | None,
        _within_ceiling("file_max_bytes"),
        _ceiling_as_maximum("file_max_bytes"),
    ] = None
    """Bytes one uploaded file may have."""
    files_per_config: Annotated[
        LimitValue | None,
        _within_ceiling("files_per_config"),
        _ceiling_as_maximum("files_per_config"),
    ] = None
    """Knowledge files the configuration may hold."""
    files_per_session: Annotated[
        LimitValue | None,
        _within_ceiling("files_per_session"),
        _ceiling_as_maximum("files_per_session"),
    ] = None
    """Files one session may hold."""
    file_bytes_per_day: Annotated[
        LimitValue | None,
        _within_ceiling("file_bytes_per_day"),
        _ceiling_as_maximum("file_bytes_per_day"),
    ] = None
    """Bytes uploaded to the configuration and its sessions per UTC day."""
    tokens_per_day: Annotated[
        LimitValue | None,
        _within_ceiling("tokens_per_day"),
        _ceiling_as_maximum("tokens_per_day"),
    ] = None
    """Gemini tokens of all this agent's model calls per UTC day (see Running it in public)."""


class CreatorLimits(ResponseModel):
    """The limits a creator set; None means the server's default."""

    messages_per_session: int | None = None
    messages_per_day: int | None = None
    sessions_per_day: int | None = None
    file_max_bytes: int | None = None
    files_per_config: int | None = None
    files_per_session: int | None = None
    file_bytes_per_day: int | None = None
    tokens_per_day: int | None = None

    def merged(self, update: LimitsUpdate) -> CreatorLimits:
        return self.model_copy(
            update={name: getattr(update, name) for name in update.model_fields_set}
        )

    def in_force(self) -> Limits:
        """Each limit as enforced now: the creator's, capped by today's ceiling."""
        settings = get_settings()
        values: dict[str, int | None] = {}
        for name, setting in LIMIT_CEILINGS.items():
            ceiling: int = getattr(settings, setting)
            values[name] = limit_in_force(getattr(self, name), ceiling)
        values["tokens_per_day"] = token_budget_in_force(
            self.tokens_per_day, settings.limit_tokens_per_day
        )
        return Limits.model_validate(values)


class Limits(ResponseModel):
    """The limits in force."""

    messages_per_session: int
    """Messages one session may send in all."""
    messages_per_day: int
    """Messages across all sessions per UTC day."""
    sessions_per_day: int
    """New sessions per UTC day."""
    file_max_bytes: int
    """Bytes one uploaded file may have."""
    files_per_config: int
    """Knowledge files the configuration may hold."""
    files_per_session: int
    """Files one session may hold."""
    file_bytes_per_day: int
    """Bytes uploaded to the configuration and its sessions per UTC day."""
    tokens_per_day: int | None
    """Gemini tokens of the agent's model calls per UTC day; null when there is no limit."""


class ChatConfigCreate(AgentSettingsUpdate):
    model_config = ConfigDict(json_schema_extra=document_tool_support)

    title: Title
    """The chat's name, 1-100 characters, not only white space (trimmed)."""
    model: ModelName
    """The Gemini model; one of `GET /models`."""
    system_prompt: SystemPrompt
    """Instructions the model gets before the conversation, up to 20,000 characters."""
    temperature: Temperature
    """Sampling temperature, 0 to 2."""
    allow_session_overrides: bool = True
    """Whether sessions may change the model, prompt, temperature and generation settings."""
    prompt_visibility: PromptVisibility = "public"
    """`private` shows the prompt only with the edit token."""
    sharing: bool = True
    """Whether new sessions may start."""
    embed: EmbedSettings = EmbedSettings()
    """Where the chat may be embedded; off by default."""
    limits: LimitsUpdate | None = None
    """The creator's limits, each at most the server's ceiling."""


class ChatConfigUpdate(AgentSettingsUpdate):
    """PUT replaces the settings. The optional fields keep their values when omitted."""

    model_config = ConfigDict(json_schema_extra=document_tool_support)

    title: Title
    """The chat's name, 1-100 characters, not only white space (trimmed)."""
    model: ModelName
    """The Gemini model; one of `GET /models`."""
    system_prompt: SystemPrompt
    """Instructions the model gets before the conversation, up to 20,000 characters."""
    temperature: Temperature
    """Sampling temperature, 0 to 2."""
    allow_session_overrides: bool | None = None
    """Whether sessions may change the model, prompt, temperature and generation settings;
    kept when omitted."""
    prompt_visibility: PromptVisibility | None = None
    """`private` shows the prompt only with the edit token; kept when omitted."""
    sharing: bool | None = None
    """Whether new sessions may start; kept when omitted."""
    embed: EmbedSettings | None = None
    """Where the chat may be embedded; kept when omitted."""
    limits: LimitsUpdate | None = None
    """Limits to change; an omitted one is kept, null resets it to the default."""


class ChatSettings(ResponseModel):
    """What a config sets, and a session copies when it starts.

    Stored records always hold the prompt; a response hides a private one
    (`systemPrompt: null, systemPromptHidden: true`).
    """

    title: str
    """The chat's name."""
    model: str
    """The Gemini model that answers."""
    system_prompt: str | None
    """The instructions the model gets; null when the prompt is private and hidden."""
    system_prompt_hidden: bool = False
    """True when `systemPrompt` is withheld (a private prompt, without the edit token)."""
    temperature: float
    """Sampling temperature, 0 to 2."""
    allow_session_overrides: bool
    """Whether sessions may change the model, prompt, temperature and generation settings."""
    prompt_visibility: PromptVisibility = "public"
    """`private`: the prompt is shown only with the edit token."""
    greeting: str = ""
    """Shown to a visitor before their first message; never sent to the model."""
    starters: list[str] = []
    """Suggested first messages, up to 4."""
    top_p: float | None = None
    """Nucleus sampling, 0 to 1; null leaves it to the model."""
    top_k: int | None = None
    """Top-k sampling, 1 to 500; null leaves it to the model."""
    max_output_tokens: int | None = None
    """The longest reply in tokens; null means the server's `MAX_OUTPUT_TOKENS`."""
    stop_sequences: list[str] = []
    """Strings at which the model stops writing."""
    tools: ToolSwitches = ToolSwitches()
    """Gemini's built-in tools that are switched on."""
    thinking: ThinkingSettings = ThinkingSettings()
    """The model's thinking level or budget, and whether its thoughts are shown."""
    safety: SafetySettings = SafetySettings()
    """Gemini's safety thresholds by harm category; null leaves one to the model."""
    media_resolution: MediaResolution | None = None
    """Gemini 3's media resolution for attachments; null leaves it to the model."""
    knowledge_mode: KnowledgeMode = "auto"
    """How the knowledge reaches the model: `context`, `search` (File Search) or `auto`."""
    response_format: ReplyFormat = TextFormat(type="text")
    """Text, or JSON following a JSON Schema."""

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
    """The configuration's id, as in its share link."""
    sharing: bool
    """Whether new sessions may start."""
    embed: EmbedSettings = EmbedSettings()
    """Where the chat may be embedded: the origins its embed page lets frame it."""
    limits: Limits
    """The limits in force: the creator's, capped by the server's ceilings."""
    created_at: str
    """When it was created (ISO 8601, UTC)."""
    updated_at: str
    """When it last changed (ISO 8601, UTC)."""


class ChatConfigCreated(ResponseModel):
    chat_config_id: str
    """The new configuration's id."""
    shareable_url: str
    """The link to share: `FRONTEND_BASE_URL/chat/{chatConfigId}`."""
    edit_token: str
    """The creator's token for this configuration, shown only here."""
    config: ChatConfigPublic
    """The configuration as stored."""
