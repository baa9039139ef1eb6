"""What every model takes and gives: a request of turns, a reply with its token counts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

Role = Literal["user", "model"]


@dataclass(frozen=True)
class Turn:
    role: Role
    text: str


@dataclass(frozen=True)
class ModelRequest:
    model: str
    system_prompt: str
    temperature: float
    max_output_tokens: int
    # Oldest first; the last turn is the new user message.
    contents: list[Turn]


@dataclass(frozen=True)
class ModelReply:
    text: str
    prompt_tokens: int = 0
    reply_tokens: int = 0
    # The client stopped the reply: `text` is what was written until then.
    stopped: bool = False


class ChatModel(Protocol):
    def generate(self, request: ModelRequest) -> ModelReply: ...
