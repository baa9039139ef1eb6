"""Shapes of sessions and their messages, and of the service routes."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator
from pydantic.json_schema import SkipJsonSchema

from chalicelib.core.tools import thinking_of_model
from chalicelib.schemas.agents import Citations, MaxOutputTokens, StopSequences, TopK, TopP
from chalicelib.schemas.base import (
    Cursor,
    MessageText,
    ModelName,
    RequestModel,
    ResourceId,
    ResponseModel,
    SystemPrompt,
    Temperature,
    Title,
    integral,
)
from chalicelib.schemas.configs import ChatSettings
from chalicelib.schemas.files import Attachment, AttachmentIds
from chalicelib.schemas.insights import Feedback
from chalicelib.schemas.replies import ReplyPart

# --- sessions ------------------------------------------------------------------


def _not_sent() -> Any:
    # A factory, not a default: the schema shows no default, and typing allows it.
    return None


class SessionCreate(RequestModel):
    chat_config_id: ResourceId
    """The configuration to start a session from."""
    from_share: ResourceId | SkipJsonSchema[None] = Field(default_factory=_not_sent)
    """A shared snapshot of a chat with this configuration (`GET /shares/{shareId}`): the new
    session's history starts as the snapshot's messages."""


class SessionUpdate(RequestModel):
    """Any non-empty subset of the session's settings (null is not a value)."""

    model_config = ConfigDict(json_schema_extra={"minProperties": 1})

    # None stands only for "not sent" (defaults are not validated): a null sent fails
    # the field's own type, reported under its name, with no union in between.
    title: Title = Field(default_factory=_not_sent)
    """The session's name."""
    model: ModelName = Field(default_factory=_not_sent)
    """The Gemini model; one of `GET /models`."""
    system_prompt: SystemPrompt = Field(default_factory=_not_sent)
    """The instructions the model gets, up to 20,000 characters."""
    temperature: Temperature = Field(default_factory=_not_sent)
    """Sampling temperature, 0 to 2."""
    # Null is a value here: it hands the setting back to the model (or the server's ceiling).
    top_p: TopP | None = None
    """Nucleus sampling, 0 to 1; null leaves it to the model."""
    top_k: TopK | None = None
    """Top-k sampling, 1 to 500; null leaves it to the model."""
    max_output_tokens: MaxOutputTokens | None = None
    """The longest reply in tokens, 1 to the server's `MAX_OUTPUT_TOKENS`."""
    stop_sequences: StopSequences | None = None
    """Up to 5 strings (1-50 characters each) at which the model stops; null means none."""

    @model_validator(mode="after")
    def _some_field_given(self) -> SessionUpdate:
        if not self.model_fields_set:
            raise ValueError(
                "send at least one of title, model, systemPrompt, temperature, topP, topK, "
                "maxOutputTokens, stopSequences"
            )
        return self

    def changes(self) -> dict[str, Any]:
        """The given fields, by their Python names (null stop sequences as none)."""
        changes = {name: getattr(self, name) for name in self.model_fields_set}
        if "stop_sequences" in changes and changes["stop_sequences"] is None:
            changes["stop_sequences"] = []
        return changes


class SessionSettings(ChatSettings):
    session_id: str
    """The session's id."""
    chat_config_id: str
    """The configuration the session started from."""
    created_at: str
    """When it started (ISO 8601, UTC)."""
    updated_at: str
    """When its settings last changed (ISO 8601, UTC)."""


class SessionCreated(SessionSettings):
    session_token: str
    """The token that opens this session, shown only here."""


class EditTokenRotated(ResponseModel):
    edit_token: str
    """The new edit token; the old one no longer works."""


class MessageCore(ResponseModel):
    """What a stored and a shared message both hold (not a shape of its own)."""

    id: str
    """The message's id; ids sort in conversation order."""
    role: Literal["user", "model"]
    """`user` for the visitor's messages, `model` for replies."""
    content: str
    """The text."""
    created_at: str
    """When it was stored (ISO 8601, UTC)."""
    stopped: Literal[True] | SkipJsonSchema[None] = Field(
        default_factory=_not_sent, exclude_if=lambda value: value is None
    )
    """Only on a reply whose generation the client stopped: the part written until then."""
    citations: Citations | SkipJsonSchema[None] = Field(
        default_factory=_not_sent, exclude_if=lambda value: value is None
    )
    """Only on a grounded reply: the web sources it draws on (see `tools.googleSearch`)."""
    parts: list[ReplyPart] | SkipJsonSchema[None] = Field(
        default_factory=_not_sent, exclude_if=lambda value: value is None
    )
    """Only on a reply that ran code (see `tools.codeExecution`): its text, code and code
    results in order; `content` is its text alone."""
    thoughts: str | SkipJsonSchema[None] = Field(
        default_factory=_not_sent, exclude_if=lambda value: value is None
    )
    """Only on a reply of an agent with `thinking.showThoughts`: the model's thought
    summaries (at most 20,000 characters)."""


class Siblings(ResponseModel):
    """A message's place among its parent's children (edits, regenerations)."""

    index: int
    """From 0, in the order they were made."""
    count: int
    """How many children its parent has, itself included (at least 2)."""


class StoredMessage(MessageCore):
    parent_id: str | None = None
    """The message it follows; null for a first message. A conversation is a tree: an edit
    or a regeneration adds a sibling, and a session shows one path of it."""
    siblings: Siblings | SkipJsonSchema[None] = Field(
        default_factory=_not_sent, exclude_if=lambda value: value is None
    )
    """Only on a message of the active path that has siblings: its place among them (see
    `PUT /session/{id}/active` to show another)."""
    attachments: list[Attachment] | SkipJsonSchema[None] = Field(
        default_factory=_not_sent, exclude_if=lambda value: value is None
    )
    """Only on a user message that carries files: the session's files sent with it."""
    feedback: Feedback | SkipJsonSchema[None] = Field(
        default_factory=_not_sent, exclude_if=lambda value: value is None
    )
    """Only on a reply its visitor rated (PUT /session/{id}/messages/{messageId}/feedback)."""

    def context_chars(self) -> int:
        """What the message counts against the history budget, its files' estimates included."""
        return len(self.content) + sum(file.estimated_chars() for file in self.attachments or ())


class Usage(ResponseModel):
    """Tokens, as the model counted them."""

    prompt_tokens: int = 0
    """Tokens the model read: prompt, history and message."""
    reply_tokens: int = 0
    """Tokens the model wrote."""
    tool_use_prompt_tokens: int = 0
    """Tokens the model read from its tools' results (a search, a web page)."""
    thinking_tokens: int = 0
    """Tokens the model spent thinking before it wrote (billed as output)."""
    total_tokens: int = 0
    """Their sum."""
    cached_tokens: int | SkipJsonSchema[None] = Field(
        default_factory=_not_sent, exclude_if=lambda value: value is None
    )
    """Only when some were: of the prompt tokens, those read from the agent's context cache
    (billed at a lower rate); per exchange (a session's totals keep them in `promptTokens`)."""

    @classmethod
    def of(
        cls,
        prompt_tokens: int,
        reply_tokens: int,
        tool_use_prompt_tokens: int = 0,
        thinking_tokens: int = 0,
        cached_tokens: int = 0,
    ) -> Usage:
        return cls(
            prompt_tokens=prompt_tokens,
            reply_tokens=reply_tokens,
            tool_use_prompt_tokens=tool_use_prompt_tokens,
            thinking_tokens=thinking_tokens,
            total_tokens=prompt_tokens + reply_tokens + tool_use_prompt_tokens + thinking_tokens,
            cached_tokens=cached_tokens or None,
        )


class ContextInfo(ResponseModel):
    """How much of the conversation went to the model with this message."""

    messages_sent: int
    """Messages sent to the model as context, the new one included."""
    messages_total: int
    """Messages in the conversation, the new one included."""
    truncated: bool
    """Whether older messages were left out to fit `HISTORY_CHAR_BUDGET`."""


class SessionView(SessionSettings):
    usage: Usage
    """Token totals of the whole session."""
    messages: list[StoredMessage]
    """The latest 100 messages, oldest first."""


class SessionExport(SessionSettings):
    usage: Usage
    """Token totals of the whole session."""
    exported_at: str
    """When the export was made (ISO 8601, UTC)."""
    messages: list[StoredMessage]
    """Every message of the conversation's tree, every branch's, oldest first: each with
    its `parentId`, and `siblings` where it has any."""
    active_leaf_id: str | None = None
    """The last message of the active path (null without messages): the path is it and its
    parents up to the first message."""


class MessagePageQuery(BaseModel):
    """Query parameters of GET /session/{id}/messages (strings, so not strict)."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    limit: Annotated[int, Field(ge=1, le=100)] = 50
    """How many messages, at most."""
    before: Cursor | None = None
    """A message id (a page's `nextCursor`): the page holds the messages before it."""


class ExportQuery(BaseModel):
    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    format: Literal["json", "markdown"] = "json"
    """`json`, or `markdown` for `text/markdown; charset=utf-8`."""


class MessagePage(ResponseModel):
    """A page of messages, oldest first; `nextCursor` pages further back."""

    messages: list[StoredMessage]
    """The page's messages, oldest first."""
    next_cursor: str | None
    """`before` for the page before this one; null at the start of the conversation."""


# --- messages ------------------------------------------------------------------


class MessageSend(RequestModel):
    session_id: ResourceId
    """The session to send to."""
    message: MessageText
    """The text, 1-32,000 characters, not only white space."""
    attachments: AttachmentIds = Field(default_factory=list)
    """Ids of completed files of this session to send with the message, at most 5."""


class MessageEdit(RequestModel):
    message: MessageText
    """The new text of the message, 1-32,000 characters, not only white space."""
    attachments: AttachmentIds = Field(default_factory=list)
    """Ids of completed files of this session to send with it, at most 5."""


class RegenerateRequest(RequestModel):
    message_id: ResourceId | SkipJsonSchema[None] = Field(default_factory=_not_sent)
    """A reply of the active path to ask again for; by default the last one."""


class ActiveSet(RequestModel):
    message_id: ResourceId
    """Any message of the session: the deepest path through it (its newest child at each
    step) becomes the active one."""
    sibling: Annotated[int, Field(ge=0), BeforeValidator(integral)] | None = None
    """Instead, that message's sibling at this index (as `siblings.index` counts, from 0):
    how "‹ 2/3 ›" steps between versions without knowing their ids."""


class MessageReply(ResponseModel):
    message: str
    """The reply's text (as in `reply.content`)."""
    session_id: str
    """The session."""
    model: str
    """The model that answered."""
    user_message: StoredMessage
    """The message as stored."""
    reply: StoredMessage
    """The reply as stored."""
    usage: Usage
    """Tokens of this exchange."""
    context: ContextInfo
    """How much of the conversation went to the model."""


# --- service -------------------------------------------------------------------


class ThinkingBudgetRange(ResponseModel):
    minimum: int
    """The smallest budget the model takes, in tokens (but 0, where `mayStop`)."""
    maximum: int
    """The largest budget the model takes, in tokens."""
    may_stop: bool
    """Whether 0 (no thinking at all) is taken too."""


class ModelThinking(ResponseModel):
    """What `thinking` the model takes: a level (Gemini 3), a budget (2.5), or neither (it
    does not think, and `thinking.showThoughts` is refused)."""

    levels: list[Literal["minimal", "low", "medium", "high"]]
    """The levels `thinking.level` takes for this model; empty when it takes none."""
    budget: ThinkingBudgetRange | None
    """The range `thinking.budget` takes for this model; null when it takes none."""


class ModelInfo(ResponseModel):
    id: str
    """The model's name, as `model` takes it."""
    default: bool
    """Whether it is the default (the first one)."""
    thinking: ModelThinking
    """The thinking settings the model takes (the server's model table)."""

    @classmethod
    def of(cls, model: str, *, default: bool) -> ModelInfo:
        takes = thinking_of_model(model)
        budget = takes.budget and ThinkingBudgetRange(
            minimum=takes.budget[0], maximum=takes.budget[1], may_stop=takes.may_stop
        )
        thinking = ModelThinking.model_validate({"levels": takes.levels, "budget": budget})
        return cls(id=model, default=default, thinking=thinking)


class ModelList(ResponseModel):
    models: list[ModelInfo]
    """The models a chat may use, the default first."""


class Health(ResponseModel):
    status: Literal["ok"]
    """Always `ok` when the API answers."""
    model: Literal["gemini", "offline", "unavailable", "key_refused"]
    """What answers messages: Gemini, the offline model, or nothing (no key in `prod`);
    `key_refused` once Gemini has refused the server's key (until it accepts one)."""
    websocket_url: str | None
    """Where WebSocket clients connect (streamed replies); null without a WebSocket API."""


class ErrorBody(ResponseModel):
    error: str
    """A sentence for a person."""
    code: str
    """A stable code to act on."""
    details: dict[str, Any] | list[Any] | None = None
    """More about the error, where it helps (for `validation_error`, the fields and why)."""
