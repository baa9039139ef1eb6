"""A model request as google-genai contents: knowledge first, then the turns with their files."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalicelib.model.base import FilePart, ModelRequest

if TYPE_CHECKING:
    from google.genai import types


def file_parts(files: tuple[FilePart, ...]) -> list[types.Part]:
    """Text files as text, headed by their names; other files as inline data after theirs."""
    from google.genai import types

    parts: list[types.Part] = []
    for file in files:
        if file.is_text:
            text = file.data.decode("utf-8", errors="replace")
            parts.append(types.Part(text=f"--- file: {file.name} ---\n{text}"))
        else:
            parts.append(types.Part(text=f"--- file: {file.name} ({file.mime_type}) ---"))
            parts.append(types.Part.from_bytes(data=file.data, mime_type=file.mime_type))
    return parts


def knowledge_contents(knowledge: tuple[FilePart, ...]) -> list[types.Content]:
    """The knowledge as one user turn, as it is sent inline or put in a context cache."""
    from google.genai import types

    if not knowledge:
        return []
    intro = types.Part(text="Knowledge files for this conversation:")
    return [types.Content(role="user", parts=[intro, *file_parts(knowledge)])]


def contents_of(request: ModelRequest) -> list[types.Content]:
    from google.genai import types

    leading = [] if request.cached_content else knowledge_contents(request.knowledge)
    return leading + [
        types.Content(role=turn.role, parts=[*file_parts(turn.files), types.Part(text=turn.text)])
        for turn in request.contents
    ]


def config_fields(request: ModelRequest) -> dict[str, Any]:
    """The GenerateContentConfig fields that depend on a context cache."""
    if request.cached_content:
        # The cache holds the system instruction; sending it again is an error.
        return {"cached_content": request.cached_content}
    return {"system_instruction": request.system_prompt or None}
