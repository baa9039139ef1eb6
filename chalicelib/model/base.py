"""What every model takes and gives: a request of turns, a reply with its token counts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, Protocol

from chalicelib.schemas import Citations
from chalicelib.schemas.replies import ReplyPart

Role = Literal["user", "model"]


@dataclass(frozen=True)
class FilePart:
    """A file the model reads: text as text, anything else as inline data."""

    name: str
    mime_type: str
    data: bytes

    @property
    def is_text(self) -> bool:
        return self.mime_type.startswith("text/")


@dataclass(frozen=True)
class Turn:
    role: Role
    text: str
    # Files this turn carries (a user message's attachments), before its text.
    files: tuple[FilePart, ...] = ()


@dataclass(frozen=True)
class ModelRequest:
    model: str
    system_prompt: str
    temperature: float
    max_output_tokens: int
    # Oldest first; the last turn is the new user message.
    contents: list[Turn]
    # None leaves a setting to the model.
    top_p: float | None = None
    top_k: int | None = None
    stop_sequences: tuple[str, ...] = ()
    # Gemini's built-in tools, by their API names (see core/tools.py).
    tools: tuple[str, ...] = ()
    # The agent's knowledge files, read after the system prompt.
    knowledge: tuple[FilePart, ...] = ()
    # A context cache holding the system prompt and the knowledge: neither is sent.
    cached_content: str | None = None
    # A File Search store holding the knowledge: the model searches it, and only the
    # knowledge it does not take (images) is sent.
    file_search_store: str | None = None
    # Thinking: a level (Gemini 3) or a budget (2.5), None leaving it to the model; and
    # whether the reply brings its thought summaries.
    thinking_level: str | None = None
    thinking_budget: int | None = None
    include_thoughts: bool = False
    # Gemini 3's media resolution (low, medium, high); None leaves it to the model.
    media_resolution: str | None = None
    # (Gemini harm category, threshold) for the categories set; the rest left to the model.
    safety: tuple[tuple[str, str], ...] = ()
    # A JSON reply (responseMimeType application/json), following this JSON Schema if given.
    reply_json: bool = False
    reply_schema: dict[str, Any] | None = None


@dataclass(frozen=True)
class ModelReply:
    text: str
    prompt_tokens: int = 0
    reply_tokens: int = 0
    # Of the prompt tokens, those read from a context cache.
    cached_tokens: int = 0
    # The client stopped the reply: `text` is what was written until then.
    stopped: bool = False
    tool_use_prompt_tokens: int = 0
    thinking_tokens: int = 0
    citations: Citations | None = None
    # The reply ended at max_output_tokens, not where the model chose to stop.
    cut_short: bool = False
    # Text, code and code results in order, bounded; None when no code ran.
    parts: list[ReplyPart] | None = None
    # The thought summaries, bounded, when the request asked for them and the model gave some.
    thoughts: str | None = None


class ChatModel(Protocol):
    def generate(self, request: ModelRequest) -> ModelReply: ...
