"""What makes a chat an agent: its greeting and starters, its generation settings, its
built-in tools, and the citations of a grounded reply."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BeforeValidator, ConfigDict, Field
from pydantic.alias_generators import to_camel

from chalicelib.core.errors import ValidationFailed
from chalicelib.core.settings import get_settings
from chalicelib.core.tools import (
    MEDIA_RESOLUTION_MODELS,
    TOOL_NAMES,
    Thinking,
    media_resolution_problem,
    searches_files,
    thinking_of_model,
    thinking_problems,
    tool_problems,
    tools_of_model,
)
from chalicelib.schemas.base import (
    NOT_BLANK,
    TEMPERATURE_DECIMALS,
    RequestModel,
    ResponseModel,
    integral,
    not_blank,
)
from chalicelib.schemas.reply_format import ReplyFormat, reply_format_rules
from chalicelib.schemas.safety import SafetySettings

MAX_GREETING_CHARS = 1000
MAX_STARTERS = 4
MAX_STARTER_CHARS = 200
MAX_STOP_SEQUENCES = 5
MAX_STOP_SEQUENCE_CHARS = 50
MAX_TOP_K = 500
# A stored reply's citations stay small, whatever the model returns.
MAX_CITATION_SOURCES = 20
MAX_CITATION_SUPPORTS = 100
MAX_CITATION_QUERIES = 10
MAX_CITATION_TITLE_CHARS = 300
MAX_CITATION_URI_CHARS = 2048


def _within_max_output_tokens(value: int | None) -> int | None:
    ceiling = get_settings().max_output_tokens
    if value is not None and value > ceiling:
        raise ValueError(f"may be at most {ceiling}, this server's MAX_OUTPUT_TOKENS")
    return value


def _max_output_tokens_maximum(schema: dict[str, Any]) -> None:
    # The ceiling as the server has it when the document is made.
    schema["maximum"] = get_settings().max_output_tokens


def _storable_fraction(value: float) -> float:
    # As temperatures: a finer difference changes nothing, and DynamoDB stores it exactly.
    return round(value, TEMPERATURE_DECIMALS) + 0.0


Greeting = Annotated[str, Field(max_length=MAX_GREETING_CHARS)]
Starter = Annotated[
    str, Field(min_length=1, max_length=MAX_STARTER_CHARS), AfterValidator(not_blank), NOT_BLANK
]
Starters = Annotated[list[Starter], Field(max_length=MAX_STARTERS)]
TopP = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False), AfterValidator(_storable_fraction)]
TopK = Annotated[int, Field(ge=1, le=MAX_TOP_K), BeforeValidator(integral)]
MaxOutputTokens = Annotated[
    int,
    Field(ge=1, json_schema_extra=_max_output_tokens_maximum),
    BeforeValidator(integral),
    AfterValidator(_within_max_output_tokens),
]
StopSequence = Annotated[str, Field(min_length=1, max_length=MAX_STOP_SEQUENCE_CHARS)]
StopSequences = Annotated[list[StopSequence], Field(max_length=MAX_STOP_SEQUENCES)]


class ToolSwitches(RequestModel):
    """Gemini's built-in tools, each off unless switched on."""

    # Strict as a request; and named in camelCase in the responses that show it.
    model_config = ConfigDict(serialize_by_alias=True)

    google_search: bool = False
    """Grounding with Google Search: the reply may carry `citations`."""
    url_context: bool = False
    """URL context: the model may read the web pages a message links to."""
    code_execution: bool = False
    """Code execution: the model may write and run Python; the reply carries `parts`."""

    def enabled(self) -> tuple[str, ...]:
        """The switched-on tools, by their API names."""
        on = {to_camel(name) for name, value in self if value}
        return tuple(name for name in TOOL_NAMES if name in on)


# How an agent's knowledge reaches the model: sent with every message (`context`, or its
# context cache), searched in a File Search store (`search`), or chosen by its size (`auto`).
KnowledgeMode = Literal["context", "search", "auto"]


def ensure_knowledge_mode_usable(
    model: str, mode: str, tools: ToolSwitches, field: str = "knowledgeMode"
) -> None:
    """ValidationFailed when `search` is asked of a model without File Search, or beside a
    built-in tool (Gemini does not combine File Search with them)."""
    if mode != "search":
        return
    why = None
    if not searches_files(model):
        why = f"the model {model} does not take File Search; use context or auto"
    elif tools.enabled():
        why = "File Search does not combine with Gemini's built-in tools; use context or auto"
    if why:
        raise ValidationFailed(
            f"Invalid fields: {field}.", details={"fields": [{"field": field, "message": why}]}
        )


MAX_THINKING_BUDGET = 32768


def _stored_integral(value: object) -> object:
    # As DynamoDB gives a session's copy back (a request's JSON never holds a Decimal).
    if isinstance(value, Decimal) and value == value.to_integral_value():
        return int(value)
    return integral(value)


ThinkingBudget = Annotated[
    int, Field(ge=0, le=MAX_THINKING_BUDGET), BeforeValidator(_stored_integral)
]


class ThinkingSettings(RequestModel):
    """How much the model thinks before it answers, and whether its thoughts are shown.
    Gemini 3 models take a `level`, 2.5 models a `budget`; never both."""

    model_config = ConfigDict(serialize_by_alias=True)

    level: Literal["minimal", "low", "medium", "high"] | None = None
    """Gemini 3's thinking level; null leaves it to the model."""
    budget: ThinkingBudget | None = None
    """Gemini 2.5's thinking budget in tokens (0: no thinking, where the model allows it);
    null leaves it to the model."""
    show_thoughts: bool = False
    """Keep the model's thought summaries with the reply (`thoughts`) and stream them as
    `thought` frames."""


def ensure_thinking_usable(model: str, thinking: ThinkingSettings, field: str = "thinking") -> None:
    """ValidationFailed when `model` does not take the thinking setting; `field` names what
    the client changed (the setting, or the model under it)."""
    problems = thinking_problems(model, thinking.level, thinking.budget, thinking.show_thoughts)
    if problems:
        raise ValidationFailed(
            f"Invalid fields: {field}.",
            details={
                "fields": [
                    {"field": name if field == "thinking" else field, "message": why}
                    for name, why in problems.items()
                ]
            },
        )


MediaResolution = Literal["low", "medium", "high"]


def ensure_media_resolution_usable(
    model: str, resolution: str | None, field: str = "mediaResolution"
) -> None:
    """ValidationFailed when `model` takes no media resolution; `field` as for thinking."""
    problem = media_resolution_problem(model, resolution)
    if problem:
        raise ValidationFailed(
            f"Invalid fields: {field}.", details={"fields": [{"field": field, "message": problem}]}
        )


_NOT_SEARCH = {"properties": {"knowledgeMode": {"not": {"const": "search"}}}}


def document_tool_support(schema: dict[str, Any]) -> None:
    """The schema's `allOf`: a tool stays off where the server or the chosen model lacks it
    (the model/tool table and ALLOWED_TOOLS, as the server has them when the document is made),
    a thinking setting and a reply format are ones the chosen model takes, and `search` needs
    a File Search model and no built-in tool.
    """
    settings = get_settings()
    rules: list[dict[str, Any]] = []
    for tool in TOOL_NAMES:
        off = {"properties": {"tools": {"properties": {tool: {"const": False}}}}}
        if tool not in settings.allowed_tools:
            rules.append(off)
            continue
        lacking = [model for model in settings.allowed_models if tool not in tools_of_model(model)]
        if lacking:
            model_lacks = {"properties": {"model": {"enum": lacking}}, "required": ["model"]}
            rules.append({"if": model_lacks, "then": off})
    rules += _thinking_rules(settings.allowed_models)
    without_resolution = [
        model for model in settings.allowed_models if not model.startswith(MEDIA_RESOLUTION_MODELS)
    ]
    if without_resolution:
        model_is = {"properties": {"model": {"enum": without_resolution}}, "required": ["model"]}
        unset = {"properties": {"mediaResolution": {"type": "null"}}}
        rules.append({"if": model_is, "then": unset})
    no_search = [model for model in settings.allowed_models if not searches_files(model)]
    if no_search:
        model_lacks = {"properties": {"model": {"enum": no_search}}, "required": ["model"]}
        rules.append({"if": model_lacks, "then": _NOT_SEARCH})
    # File Search never goes beside a built-in tool.
    for tool in TOOL_NAMES:
        tool_on = {"properties": {tool: {"const": True}}, "required": [tool]}
        with_tool = {"properties": {"tools": tool_on}, "required": ["tools"]}
        rules.append({"if": with_tool, "then": _NOT_SEARCH})
    rules += reply_format_rules(settings.allowed_models)
    if rules:
        schema["allOf"] = rules


def _thinking_rules(models: tuple[str, ...]) -> list[dict[str, Any]]:
    """A level or a budget, never both; and per model, only what it takes (the model table)."""
    either = [{"properties": {name: {"type": "null"}}} for name in ("level", "budget")]
    rules: list[dict[str, Any]] = [{"properties": {"thinking": {"anyOf": either}}}]
    by_kind: dict[Thinking, list[str]] = {}
    for model in models:
        by_kind.setdefault(thinking_of_model(model), []).append(model)
    for takes, named in by_kind.items():
        null: dict[str, Any] = {"type": "null"}
        level = {"anyOf": [null, {"enum": list(takes.levels)}]} if takes.levels else null
        budget: dict[str, Any] = null
        if takes.budget:
            ranges = [{"type": "integer", "minimum": takes.budget[0], "maximum": takes.budget[1]}]
            budget = {"anyOf": [null, *ranges, *([{"const": 0}] if takes.may_stop else [])]}
        fields = {"level": level, "budget": budget}
        if not takes.thinks:
            fields["showThoughts"] = {"const": False}
        model_is = {"properties": {"model": {"enum": named}}, "required": ["model"]}
        rules.append({"if": model_is, "then": {"properties": {"thinking": {"properties": fields}}}})
    return rules


def ensure_tools_usable(model: str, tools: ToolSwitches, field: str = "tools") -> None:
    """ValidationFailed when a switched-on tool is not allowed here or not supported by `model`.

    `field` names what the client changed: the tools, or the model under them.
    """
    problems = tool_problems(model, tools.enabled(), get_settings().allowed_tools)
    if problems:
        raise ValidationFailed(
            f"Invalid fields: {field}.",
            details={
                "fields": [
                    {"field": field if field != "tools" else f"tools.{tool}", "message": why}
                    for tool, why in problems.items()
                ]
            },
        )


class AgentSettingsUpdate(RequestModel):
    """The agent's optional settings. On create, omitted or null is the default; on PUT,
    omitted keeps the value and null resets it to the default."""

    greeting: Greeting | None = None
    """Shown to a visitor before their first message, up to 1,000 characters; never sent
    to the model and never stored as a message."""
    starters: Starters | None = None
    """Up to 4 suggested first messages, each 1-200 characters."""
    top_p: TopP | None = None
    """Nucleus sampling, 0 to 1; null leaves it to the model."""
    top_k: TopK | None = None
    """Top-k sampling, 1 to 500; null leaves it to the model."""
    max_output_tokens: MaxOutputTokens | None = None
    """The longest reply in tokens, 1 to the server's `MAX_OUTPUT_TOKENS` (its default)."""
    stop_sequences: StopSequences | None = None
    """Up to 5 strings (1-50 characters each) at which the model stops writing."""
    tools: ToolSwitches | None = None
    """Gemini's built-in tools; each must be supported by the model and allowed by the server."""
    thinking: ThinkingSettings | None = None
    """The model's thinking: a level (Gemini 3) or a budget (2.5), and whether thoughts show."""
    safety: SafetySettings | None = None
    """Gemini's safety filters by category, never looser than the server's SAFETY_MINIMUM."""
    media_resolution: MediaResolution | None = None
    """Gemini 3's tokens per attached image, PDF page and video frame: `low`, `medium` or
    `high`; null leaves it to the model."""
    knowledge_mode: KnowledgeMode | None = None
    """How the knowledge files reach the model: `context` (sent with every message), `search`
    (a File Search store; only passages the model retrieves are read), or `auto` (search from
    the server's `KNOWLEDGE_SEARCH_MIN_TOKENS` up). The default is `auto`."""
    response_format: ReplyFormat | None = None
    """`{"type": "text"}` (the default), or `{"type": "json_schema", "schema": {...}}`: every
    reply is JSON that follows the schema (see JSON replies)."""


AGENT_FIELDS = tuple(AgentSettingsUpdate.model_fields)


class CitationSource(ResponseModel):
    title: str
    """The source's title, as the search gave it (often its site)."""
    uri: str
    """Its address, `http` or `https`; empty for a passage of the agent's knowledge (File
    Search), whose `title` is the file's name."""


class CitationSupport(ResponseModel):
    start_index: int
    """Where the supported part of the reply starts, as Gemini counts (UTF-8 bytes)."""
    end_index: int
    """Where it ends (exclusive)."""
    sources: list[int]
    """Indexes into `sources`."""


class Citations(ResponseModel):
    """Where a grounded reply's facts come from."""

    sources: list[CitationSource]
    """The web pages, and the agent's knowledge files, the reply draws on."""
    supports: list[CitationSupport] = []
    """Which parts of the reply each source supports, where Gemini says."""
    queries: list[str] = []
    """The Google Search queries the model ran."""
