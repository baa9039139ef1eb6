"""What a model call costs in tokens, and an upper bound of it known before the call.

The cost is Gemini's `totalTokenCount`: prompt (cached tokens included), reply,
thinking and tool-use prompt tokens. The bound, which a budget reserves, is
- the reply's ceiling: the request's maxOutputTokens, plus the model's largest
  thinking budget where it thinks (Gemini may count thinking apart from it);
- the prompt: one token per UTF-8 byte of every text sent (system prompt, turns,
  text files, a reply's JSON Schema), which holds for Gemini's tokenizer, and one per
  byte of an image or PDF, far above Gemini's 258 tokens per image tile or PDF page.
Tool use (Google Search, URL context, code execution) adds prompt tokens that no request can
bound; a call with tools may cost more than its bound, and is settled to its cost.
"""

from __future__ import annotations

from chalicelib.model.base import FilePart, ModelReply, ModelRequest
from chalicelib.schemas.reply_format import compact_json

# (model name prefix, the largest thinking budget it may spend); first match wins.
THINKING_CEILINGS: tuple[tuple[str, int], ...] = (
    ("gemini-3", 65_536),
    ("gemini-2.5-pro", 32_768),
    ("gemini-2.5-", 24_576),
    ("gemini-2.0-", 0),
)


def thinking_ceiling(model: str) -> int:
    for prefix, ceiling in THINKING_CEILINGS:
        if model.startswith(prefix):
            return ceiling
    # A model not in the table: assume the most any Gemini model thinks.
    return max(ceiling for _, ceiling in THINKING_CEILINGS)


def _file_bound(file: FilePart) -> int:
    return len(file.data)


def cost_bound(request: ModelRequest, thinks: bool = True) -> int:
    """An upper bound of the request's cost; `thinks` is False for a model that never thinks
    (the offline model)."""
    prompt = len(request.system_prompt.encode())
    if request.reply_schema is not None:
        prompt += len(compact_json(request.reply_schema).encode())
    prompt += sum(_file_bound(file) for file in request.knowledge)
    for turn in request.contents:
        prompt += len(turn.text.encode()) + sum(_file_bound(file) for file in turn.files)
    thinking = thinking_ceiling(request.model) if thinks else 0
    return prompt + request.max_output_tokens + thinking


def reply_cost(reply: ModelReply) -> int:
    """The call's cost as Gemini counts it (totalTokenCount)."""
    return (
        reply.prompt_tokens
        + reply.reply_tokens
        + reply.thinking_tokens
        + reply.tool_use_prompt_tokens
    )
