"""The offline model: a deterministic stand-in for local development with no Gemini key."""

from __future__ import annotations

from chalicelib.model.base import ModelReply, ModelRequest


class OfflineModel:
    """A deterministic stand-in for local development with no Gemini key."""

    def generate(self, request: ModelRequest) -> ModelReply:
        new_message = request.contents[-1].text
        earlier = len(request.contents) - 1
        text = (
            f'[offline model] You said: "{new_message}". '
            f"I can see {earlier} earlier message(s) of this conversation. "
            "This reply comes from the offline development model; "
            "set GEMINI_API_KEY to talk to Gemini."
        )
        prompt_chars = len(request.system_prompt) + sum(len(t.text) for t in request.contents)
        return ModelReply(
            text=text,
            prompt_tokens=max(1, prompt_chars // 4),
            reply_tokens=max(1, len(text) // 4),
        )
