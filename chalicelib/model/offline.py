"""The offline model: a deterministic stand-in for local development with no Gemini key."""

from __future__ import annotations

from chalicelib.model.base import FilePart, ModelReply, ModelRequest


def _described(files: tuple[FilePart, ...]) -> str:
    return ", ".join(f"{file.name} ({file.mime_type}, {len(file.data)} bytes)" for file in files)


def _files_note(request: ModelRequest) -> str:
    """What files it received; knowledge by count and type only (a private prompt's are secret)."""
    notes = []
    if request.knowledge or request.cached_content:
        kinds = sorted({file.mime_type for file in request.knowledge})
        cached = " (from the context cache)" if request.cached_content else ""
        notes.append(
            f"I received {len(request.knowledge)} knowledge file(s){cached}"
            + (f" of type {', '.join(kinds)}" if kinds else "")
            + ". "
        )
    attached = request.contents[-1].files
    if attached:
        notes.append(f"Attached to your message: {_described(attached)}. ")
    return "".join(notes)


class OfflineModel:
    """A deterministic stand-in for local development with no Gemini key."""

    def generate(self, request: ModelRequest) -> ModelReply:
        new_message = request.contents[-1].text
        earlier = len(request.contents) - 1
        text = (
            f'[offline model] You said: "{new_message}". '
            f"I can see {earlier} earlier message(s) of this conversation. "
            f"{_files_note(request)}"
            "This reply comes from the offline development model; "
            "set GEMINI_API_KEY to talk to Gemini."
        )
        prompt_chars = len(request.system_prompt) + sum(len(t.text) for t in request.contents)
        return ModelReply(
            text=text,
            prompt_tokens=max(1, prompt_chars // 4),
            reply_tokens=max(1, len(text) // 4),
        )
