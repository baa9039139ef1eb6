"""Gemini's grounding metadata as citations, read from the SDK's own types."""

from __future__ import annotations

from google.genai import types

from chalicelib.model.wire import citations_of
from chalicelib.schemas.agents import MAX_CITATION_SOURCES


def candidate(metadata: dict) -> types.Candidate:
    return types.Candidate.model_validate({"groundingMetadata": metadata})


def test_a_source_without_a_title_is_named_by_its_domain_or_address() -> None:
    found = citations_of(
        candidate(
            {
                "groundingChunks": [
                    {"web": {"uri": "https://a.example/x", "domain": "a.example"}},
                    {"web": {"uri": " HTTPS://B.example/y "}},
                    {"retrievedContext": {"uri": "https://c.example"}},
                    {"web": {"uri": "https://d.example/" + "z" * 3000, "title": "too long"}},
                ]
            }
        )
    )
    assert found is not None
    assert [(s.title, s.uri) for s in found.sources] == [
        ("a.example", "https://a.example/x"),
        ("HTTPS://B.example/y", "HTTPS://B.example/y"),
    ]
    assert found.supports == [] and found.queries == []


def test_sources_are_capped_and_supports_keep_only_kept_ones() -> None:
    chunks = [
        {"web": {"uri": f"https://s{n}.example", "title": f"s{n}"}}
        for n in range(MAX_CITATION_SOURCES + 5)
    ]
    supports = [
        {"segment": {"startIndex": 0, "endIndex": 4}, "groundingChunkIndices": [0, 24]},
        {"segment": {"endIndex": 9}, "groundingChunkIndices": [24]},
        {"groundingChunkIndices": [1]},
    ]
    found = citations_of(candidate({"groundingChunks": chunks, "groundingSupports": supports}))
    assert found is not None
    assert len(found.sources) == MAX_CITATION_SOURCES
    assert [(s.start_index, s.end_index, s.sources) for s in found.supports] == [(0, 4, [0])]


def test_no_metadata_is_no_citations() -> None:
    assert citations_of(types.Candidate()) is None
    assert citations_of(None) is None
    assert citations_of(candidate({"webSearchQueries": ["q"]})) is None
