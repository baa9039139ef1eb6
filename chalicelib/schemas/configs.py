"""Shapes of chat configurations: settings, limits, and the creator's answers."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field

from chalicelib.core.settings import get_settings
from chalicelib.schemas.base import (
    ModelName,
    PromptVisibility,
    RequestModel,
    ResponseModel,
    SystemPrompt,
    Temperature,
    Title,
)

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


# --- chat configurations -------------------------------------------------------


def limit_in_force(chosen: int | None, ceiling: int) -> int:
    """A creator's limit as enforced: the server's ceiling when unset, never above it."""
    return ceiling if chosen is None else min(chosen, ceiling)


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
            values[name] = limit_in_force(getattr(self, name), ceiling)
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
