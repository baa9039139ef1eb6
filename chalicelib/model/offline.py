"""The offline model: a deterministic stand-in for local development with no Gemini key.
Asked for JSON, it answers a value made from the schema's simple keywords."""

from __future__ import annotations

import json
from typing import Any

from chalicelib.core.tools import GOOGLE_SEARCH
from chalicelib.model.base import FilePart, ModelReply, ModelRequest
from chalicelib.schemas import Citations, CitationSource, CitationSupport

# Shown when the agent searches, so the web app's rendering of citations can be seen
# without a key; labelled for what it is.
SAMPLE_CITATION_TITLE = "Sample citation from the offline model (not a search result)"
SAMPLE_CITATION_URI = "https://ai.google.dev/gemini-api/docs/google-search"


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
        if request.reply_json:
            text = json.dumps(_sample(request.reply_schema, text))
        prompt_chars = len(request.system_prompt) + sum(len(t.text) for t in request.contents)
        return ModelReply(
            text=text,
            prompt_tokens=max(1, prompt_chars // 4),
            reply_tokens=max(1, len(text) // 4),
            citations=_sample_citations(text, new_message)
            if GOOGLE_SEARCH in request.tools
            else None,
        )


def _sample_citations(text: str, query: str) -> Citations:
    """One fixed source, supporting the whole reply, as Gemini counts (UTF-8 bytes)."""
    return Citations(
        sources=[CitationSource(title=SAMPLE_CITATION_TITLE, uri=SAMPLE_CITATION_URI)],
        supports=[CitationSupport(start_index=0, end_index=len(text.encode()), sources=[0])],
        queries=[query[:200]],
    )


# Deeper than any schema a person writes by hand; a recursive one ends here.
_MAX_SAMPLE_DEPTH = 8


def _sample(schema: Any, text: str, depth: int = 0) -> Any:
    """A value following a simple schema: its const or first enum value, the first branch
    of anyOf or oneOf, an object of its required properties, `text` for a string. What
    it cannot follow ($ref, patterns...) the reply check refuses, as it would Gemini's."""
    if not isinstance(schema, dict) or depth > _MAX_SAMPLE_DEPTH:
        return text
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        return schema["enum"][0]
    branches = schema.get("anyOf") or schema.get("oneOf")
    if branches:
        return _sample(branches[0], text, depth + 1)
    kind = schema.get("type")
    kind = kind[0] if isinstance(kind, list) and kind else kind
    if kind == "object" or "properties" in schema:
        properties = schema.get("properties") or {}
        names = schema.get("required", list(properties))
        return {name: _sample(properties.get(name), text, depth + 1) for name in names}
    simple = {"array": [], "integer": 0, "number": 0, "boolean": False, "null": None}
    if kind in simple:
        return (
            schema.get("minimum", simple[kind]) if kind in ("integer", "number") else simple[kind]
        )
    return text[: schema.get("maxLength", len(text))]
