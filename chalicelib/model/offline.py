"""The offline model: a deterministic stand-in for local development with no Gemini key."""

from __future__ import annotations

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
