"""What goes to Gemini and what comes back, for the whole and the streamed call alike:
the request's config and contents (files as model/parts.py makes them), and a
response's citations, parts (code and its results) and token counts."""

from __future__ import annotations

import logging
from typing import Any

from chalicelib.core.errors import ModelError
from chalicelib.core.safety import category_name
from chalicelib.core.tools import CODE_EXECUTION, GOOGLE_SEARCH, URL_CONTEXT
from chalicelib.model.base import ModelRequest
from chalicelib.model.parts import config_fields, contents_of
from chalicelib.schemas import Citations, CitationSource, CitationSupport
from chalicelib.schemas.agents import (
    MAX_CITATION_QUERIES,
    MAX_CITATION_SOURCES,
    MAX_CITATION_SUPPORTS,
    MAX_CITATION_TITLE_CHARS,
    MAX_CITATION_URI_CHARS,
)
from chalicelib.schemas.replies import CodePart, CodeResultPart, ReplyPart, TextPart

logger = logging.getLogger(__name__)

# Far above any model's output, and small enough that running totals stay exact numbers.
_MAX_TOKEN_COUNT = 10**9
_WEB_SCHEMES = ("http://", "https://")


def request_parts(request: ModelRequest, read_timeout_seconds: float) -> tuple[Any, Any]:
    """(contents, config) for generate_content and generate_content_stream."""
    from google.genai import types

    builders = {
        GOOGLE_SEARCH: lambda: types.Tool(google_search=types.GoogleSearch()),
        URL_CONTEXT: lambda: types.Tool(url_context=types.UrlContext()),
        CODE_EXECUTION: lambda: types.Tool(code_execution=types.ToolCodeExecution()),
    }
    config = types.GenerateContentConfig(
        # The system instruction, or the context cache that holds it.
        **config_fields(request),
        temperature=request.temperature,
        top_p=request.top_p,
        top_k=request.top_k,
        max_output_tokens=request.max_output_tokens,
        stop_sequences=list(request.stop_sequences) or None,
        tools=[builders[name]() for name in request.tools] + _file_search(request) or None,
        thinking_config=_thinking_config(request),
        safety_settings=[
            types.SafetySetting(
                category=types.HarmCategory(category), threshold=types.HarmBlockThreshold(threshold)
            )
            for category, threshold in request.safety
        ]
        or None,
        media_resolution=(
            types.MediaResolution(f"MEDIA_RESOLUTION_{request.media_resolution.upper()}")
            if request.media_resolution
            else None
        ),
        response_mime_type="application/json" if request.reply_json else None,
        response_json_schema=request.reply_schema,
        # google-genai's timeout is per HTTP read, in milliseconds.
        http_options=types.HttpOptions(timeout=max(1, int(read_timeout_seconds * 1000))),
    )
    return contents_of(request), config


def _file_search(request: ModelRequest) -> list[Any]:
    from google.genai import types

    if not request.file_search_store:
        return []
    names = [request.file_search_store]
    return [types.Tool(file_search=types.FileSearch(file_search_store_names=names))]


def _thinking_config(request: ModelRequest) -> Any:
    from google.genai import types

    level, budget = request.thinking_level, request.thinking_budget
    if level is None and budget is None and not request.include_thoughts:
        return None
    return types.ThinkingConfig(
        thinking_level=types.ThinkingLevel(level.upper()) if level else None,
        thinking_budget=budget,
        include_thoughts=True if request.include_thoughts else None,
    )


def block_details(reason: str, blocked: str, ratings: list[Any] | None) -> dict[str, Any]:
    """A ContentBlocked's details: why, what was blocked, and the harm category that blocked
    it where Gemini says (`harassment`, `hateSpeech`...)."""
    details: dict[str, Any] = {"reason": reason, "blocked": blocked}
    ratings = list(ratings or [])
    likely = [r for r in ratings if r.probability and r.probability.value in ("HIGH", "MEDIUM")]
    flagged = [r for r in ratings if r.blocked] or likely
    if flagged and flagged[0].category:
        details["category"] = category_name(str(flagged[0].category.value))
    return details


def thoughts_of(parts: list[Any]) -> str:
    """The thought summaries among a candidate's parts, joined."""
    return "".join(part.text for part in parts if part.text and part.thought)


def reply_parts_of(parts: list[Any]) -> list[ReplyPart]:
    """A candidate's parts as reply parts, in order: its text (thoughts left out), the code
    it ran and what running it gave; anything else is not kept."""
    kept: list[ReplyPart] = []
    for part in parts:
        code, result = part.executable_code, part.code_execution_result
        if part.text and not part.thought:
            kept.append(TextPart(text=part.text))
        elif code is not None:
            language = code.language.value if code.language else "LANGUAGE_UNSPECIFIED"
            kept.append(CodePart(language=str(language), code=code.code or ""))
        elif result is not None:
            outcome = result.outcome.value if result.outcome else "OUTCOME_UNSPECIFIED"
            kept.append(CodeResultPart(outcome=str(outcome), output=result.output or ""))
    return kept


def token_count(value: int | None) -> int:
    if value is None:
        return 0
    if not 0 <= value <= _MAX_TOKEN_COUNT:
        logger.warning("the model reported an impossible token count")
        raise ModelError("The model's answer could not be read.")
    return value


def token_counts(usage: Any) -> tuple[int, int, int, int, int]:
    """(prompt, reply, tool-use prompt, thinking, cached) tokens of a response's usage
    metadata; the cached ones are part of the prompt's."""
    if usage is None:
        return 0, 0, 0, 0, 0
    return (
        token_count(usage.prompt_token_count),
        token_count(usage.candidates_token_count),
        token_count(usage.tool_use_prompt_token_count),
        token_count(usage.thoughts_token_count),
        token_count(usage.cached_content_token_count),
    )


def citations_of(candidate: Any) -> Citations | None:
    """A candidate's grounding metadata as citations: http(s) web sources and the knowledge
    files File Search drew on (one source a file), with the supports and queries that refer
    to them; None when there are none."""
    metadata = getattr(candidate, "grounding_metadata", None) if candidate else None
    if metadata is None:
        return None
    sources: list[CitationSource] = []
    # A chunk's index in Gemini's list -> its index in ours.
    kept: dict[int, int] = {}
    for index, chunk in enumerate(metadata.grounding_chunks or []):
        source = _web_source(chunk.web) if chunk.web else _knowledge_source(chunk)
        if source is None:
            continue
        if not source.uri and source in sources:
            kept[index] = sources.index(source)  # another passage of the same file
            continue
        if len(sources) == MAX_CITATION_SOURCES:
            break
        kept[index] = len(sources)
        sources.append(source)
    supports = []
    for support in metadata.grounding_supports or []:
        segment = support.segment
        indexes = [kept[i] for i in support.grounding_chunk_indices or [] if i in kept]
        if segment is None or segment.end_index is None or not indexes:
            continue
        supports.append(
            CitationSupport(
                start_index=segment.start_index or 0,
                end_index=segment.end_index,
                sources=sorted(set(indexes)),
            )
        )
    queries = [q for q in metadata.web_search_queries or [] if q][:MAX_CITATION_QUERIES]
    if not sources:
        return None
    return Citations(sources=sources, supports=supports[:MAX_CITATION_SUPPORTS], queries=queries)


def _web_source(web: Any) -> CitationSource | None:
    uri = (web.uri or "").strip()
    if not uri.lower().startswith(_WEB_SCHEMES) or len(uri) > MAX_CITATION_URI_CHARS:
        return None
    title = (web.title or web.domain or uri).strip()[:MAX_CITATION_TITLE_CHARS]
    return CitationSource(title=title, uri=uri)


def _knowledge_source(chunk: Any) -> CitationSource | None:
    """A passage File Search retrieved from the agent's knowledge: its file's name (the
    document's display name), and no address."""
    context = chunk.retrieved_context
    title = (context.title or "").strip() if context and context.file_search_store else ""
    return CitationSource(title=title[:MAX_CITATION_TITLE_CHARS], uri="") if title else None
