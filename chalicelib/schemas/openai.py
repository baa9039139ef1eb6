"""OpenAI's shapes, for an agent's /v1 endpoints: Chat Completions, Responses and Models.

Named and cased as OpenAI names them (snake_case), so OpenAI's SDKs read them. Requests
ignore fields they do not name (OpenAI clients send many optional ones) but check the
types of those they do.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from chalicelib.schemas.agents import MAX_STOP_SEQUENCE_CHARS, MAX_STOP_SEQUENCES
from chalicelib.schemas.base import MAX_SYSTEM_PROMPT_CHARS, MessageText, integral
from chalicelib.schemas.reply_format import JsonSchemaObject

MAX_INPUT_MESSAGES = 1000
OWNED_BY = "ai-maker"

# As a visitor's message: 1-32,000 characters, not only white space.
Text = MessageText
Stop = Annotated[str, Field(min_length=1, max_length=MAX_STOP_SEQUENCE_CHARS)]
Fraction = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]
Temperature = Annotated[float, Field(ge=0, le=2, allow_inf_nan=False)]
TokenCount = Annotated[int, Field(ge=1), BeforeValidator(integral)]


class OpenAIRequest(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True, use_attribute_docstrings=True)


class OpenAIShape(BaseModel):
    model_config = ConfigDict(use_attribute_docstrings=True)


# --- requests ----------------------------------------------------------------------


class TextPart(OpenAIRequest):
    type: Literal["text", "input_text", "output_text"]
    """`text` in Chat Completions; `input_text` (or an assistant's `output_text`) in Responses."""
    text: Text
    """The text."""


Content = Text | Annotated[list[TextPart], Field(min_length=1, max_length=100)]
Role = Literal["system", "developer", "user", "assistant"]


class ChatMessage(OpenAIRequest):
    role: Role
    """`system` and `developer` messages come after the agent's own prompt, never instead."""
    content: Content
    """A string, or text parts."""


class StreamOptions(OpenAIRequest):
    include_usage: bool = False
    """A last chunk with the usage, and no choices."""


class JsonSchemaSpec(OpenAIRequest):
    name: Annotated[str, Field(min_length=1, max_length=64)]
    """The schema's name (not sent to the model)."""
    schema_: JsonSchemaObject | None = Field(default=None, alias="schema")
    """The JSON Schema the reply follows (at most 16 KB as JSON); without it, any JSON."""
    strict: bool | None = None
    """Accepted: the reply is always checked against the schema."""


class ChatJsonSchemaFormat(OpenAIRequest):
    type: Literal["json_schema"]
    """The reply is JSON following `json_schema.schema`."""
    json_schema: JsonSchemaSpec
    """The schema the reply follows."""


class ResponseJsonSchemaFormat(JsonSchemaSpec):
    type: Literal["json_schema"]
    """The reply is JSON following `schema`."""


class PlainFormat(OpenAIRequest):
    type: Literal["text", "json_object"]
    """`text`: the agent's own reply format; `json_object`: any JSON."""


ChatFormat = Annotated[PlainFormat | ChatJsonSchemaFormat, Field(discriminator="type")]
ResponseFormat = Annotated[PlainFormat | ResponseJsonSchemaFormat, Field(discriminator="type")]


class ResponseText(OpenAIRequest):
    format: ResponseFormat | None = None
    """The reply's format, as `response_format` in Chat Completions."""


def json_schema_asked(
    asked: PlainFormat | ChatJsonSchemaFormat | ResponseJsonSchemaFormat | None,
) -> dict[str, Any] | None:
    """The JSON Schema a format asks the reply to follow (`{}`: any JSON); None when it
    keeps the agent's own format."""
    if asked is None or asked.type == "text":
        return None
    if isinstance(asked, ChatJsonSchemaFormat):
        return asked.json_schema.schema_ or {}
    return (asked.schema_ if isinstance(asked, ResponseJsonSchemaFormat) else None) or {}


class GenerationOptions(OpenAIRequest):
    """Settings a request may ask for: used where the agent allows session overrides (within
    the server's ceilings), else ignored."""

    temperature: Temperature | None = None
    """Sampling temperature, 0 to 2."""
    top_p: Fraction | None = None
    """Nucleus sampling, 0 to 1."""
    stream: bool | None = False
    """Answer `text/event-stream`. The events come in one buffered body (see the docs)."""
    user: str | None = None
    """Accepted and ignored."""


class ChatCompletionCreate(GenerationOptions):
    model: str
    """The agent's `chatConfigId` (what `GET /v1/models` lists)."""
    messages: Annotated[list[ChatMessage], Field(min_length=1, max_length=MAX_INPUT_MESSAGES)]
    """The conversation, oldest first; the last one is the user's."""
    max_tokens: TokenCount | None = None
    """The longest reply in tokens, capped at the server's `MAX_OUTPUT_TOKENS`."""
    max_completion_tokens: TokenCount | None = None
    """Wins over `max_tokens`."""
    stop: Stop | Annotated[list[Stop], Field(max_length=MAX_STOP_SEQUENCES)] | None = None
    """Up to 5 strings (1-50 characters each) at which the model stops."""
    stream_options: StreamOptions | None = None
    """With `stream`: whether a last chunk carries the usage."""
    n: Annotated[int, Field(ge=1, le=1), BeforeValidator(integral)] | None = None
    """Only 1."""
    response_format: ChatFormat | None = None
    """`json_object` or `json_schema`: the reply is JSON (following the schema), in place of
    the agent's own reply format; `text` keeps the agent's."""


class InputMessage(OpenAIRequest):
    type: Literal["message"] = "message"
    """Always `message`."""
    role: Role
    """`system` and `developer` messages come after the agent's own prompt, never instead."""
    content: Content
    """A string, or text parts."""


class ResponseCreate(GenerationOptions):
    model: str | None = None
    """The agent's `chatConfigId`; may be left out."""
    input: Text | Annotated[list[InputMessage], Field(min_length=1, max_length=MAX_INPUT_MESSAGES)]
    """A string (the user's message) or message items, the last one the user's."""
    instructions: Annotated[str, Field(max_length=MAX_SYSTEM_PROMPT_CHARS)] | None = None
    """Added after the agent's own prompt, for this call only."""
    previous_response_id: str | None = None
    """Continue the conversation of this response (of the same agent)."""
    store: bool = True
    """False: nothing is stored, and the response cannot be continued."""
    max_output_tokens: TokenCount | None = None
    """The longest reply in tokens, capped at the server's `MAX_OUTPUT_TOKENS`."""
    text: ResponseText | None = None
    """`format`: the reply's format, as `response_format` in Chat Completions."""

    @property
    def text_format(self) -> PlainFormat | ResponseJsonSchemaFormat | None:
        return self.text.format if self.text else None


# --- answers -----------------------------------------------------------------------


class AssistantMessage(OpenAIShape):
    role: Literal["assistant"] = "assistant"
    """Always `assistant`."""
    content: str
    """The agent's reply."""
    refusal: None = None
    """Always null."""


FinishReason = Literal["stop", "length", "content_filter"]


class Choice(OpenAIShape):
    index: int = 0
    """Always 0."""
    message: AssistantMessage
    """The agent's reply."""
    finish_reason: FinishReason
    """`stop`, `length` (at the token limit) or `content_filter` (blocked)."""
    logprobs: None = None
    """Always null."""


class CompletionUsage(OpenAIShape):
    prompt_tokens: int
    """Tokens read: prompt, knowledge, history and message."""
    completion_tokens: int
    """The reply's tokens, thinking included."""
    total_tokens: int
    """Their sum."""


class ChatCompletion(OpenAIShape):
    id: str
    """`chatcmpl-...`, new for each call."""
    object: Literal["chat.completion"] = "chat.completion"
    """Always `chat.completion`."""
    created: int
    """When it was answered (Unix seconds)."""
    model: str
    """The agent's `chatConfigId`."""
    choices: list[Choice]
    """One choice."""
    usage: CompletionUsage
    """Tokens, as Gemini counted them."""


class ChunkDelta(OpenAIShape):
    role: Literal["assistant"] | None = None
    content: str | None = None


class ChunkChoice(OpenAIShape):
    index: int = 0
    delta: ChunkDelta
    finish_reason: FinishReason | None = None
    logprobs: None = None


class ChatCompletionChunk(OpenAIShape):
    """One `data:` event of a streamed completion (the last is `data: [DONE]`)."""

    id: str
    object: Literal["chat.completion.chunk"] = "chat.completion.chunk"
    created: int
    model: str
    choices: list[ChunkChoice]
    usage: CompletionUsage | None = None


class OutputText(OpenAIShape):
    type: Literal["output_text"] = "output_text"
    """Always `output_text`."""
    text: str
    """The agent's reply."""
    annotations: list[dict[str, str]] = []
    """Always empty."""


class OutputMessage(OpenAIShape):
    type: Literal["message"] = "message"
    """Always `message`."""
    id: str
    """`msg_...`."""
    status: Literal["completed", "in_progress"] = "completed"
    """`completed`."""
    role: Literal["assistant"] = "assistant"
    """Always `assistant`."""
    content: list[OutputText]
    """The reply, as one text part."""


class ResponseUsage(OpenAIShape):
    input_tokens: int
    """Tokens read: prompt, knowledge, history and message."""
    output_tokens: int
    """The reply's tokens, thinking included."""
    total_tokens: int
    """Their sum."""


class Response(OpenAIShape):
    id: str
    """Continue the conversation with it as `previous_response_id` (if stored)."""
    object: Literal["response"] = "response"
    """Always `response`."""
    created_at: int
    """When it was answered (Unix seconds)."""
    model: str
    """The agent's `chatConfigId`."""
    status: Literal["completed", "in_progress", "incomplete"] = "completed"
    """`completed`, or `incomplete` when the reply met its token limit."""
    output: list[OutputMessage]
    """One assistant message."""
    usage: ResponseUsage | None
    """Tokens, as Gemini counted them."""
    previous_response_id: str | None = None
    """The response this one continues, if any."""
    store: bool = True
    """Whether it was stored (and can be continued)."""
    error: None = None
    """Always null: a failure is an error answer."""
    incomplete_details: dict[str, str] | None = None
    """Why the reply is incomplete (`max_output_tokens`), else null."""


class ModelObject(OpenAIShape):
    id: str
    """The agent's `chatConfigId`."""
    object: Literal["model"] = "model"
    """Always `model`."""
    created: int
    """When the agent was made (Unix seconds)."""
    owned_by: str = OWNED_BY
    """Always `ai-maker`."""


class ModelObjectList(OpenAIShape):
    object: Literal["list"] = "list"
    """Always `list`."""
    data: list[ModelObject]
    """The key's agent, alone."""


class OpenAIErrorDetail(OpenAIShape):
    message: str
    """A sentence for a person."""
    type: str
    """`invalid_request_error`, `authentication_error`, `rate_limit_error`, ..."""
    code: str
    """The API's stable code (`invalid_api_key`, `quota_exceeded`, ...)."""
    param: str | None
    """The request field at fault, if one is."""


class OpenAIErrorBody(OpenAIShape):
    """Every error of the /v1 endpoints, as OpenAI shapes them."""

    error: OpenAIErrorDetail
    """What went wrong."""
