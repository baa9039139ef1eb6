"""Grounded replies: Gemini's grounding metadata becomes `citations`, stored with the reply
and returned by send, regenerate, history, the streamed `done` frame and the exports;
usage counts tool-use and thinking tokens."""

from __future__ import annotations

from typing import Any

from tests.fake_gemini import FakeGemini, grounded, grounding_metadata
from tests.utils import ApiClient
from tests.ws_client import ws_connect

SEARCH = {"tools": {"googleSearch": True}}
TEXT = "Knots hold. Bowlines hold best."
METADATA = grounding_metadata(
    sources=[
        ("knots.example", "https://knots.example/bowline"),
        ("evil", "javascript:alert(1)"),
        ("sailing.example", "http://sailing.example/ropes?a=1&b=(2)"),
    ],
    supports=[(0, 11, [0]), (12, 31, [1, 2, 0]), (12, 31, [1])],
    queries=["bowline knot strength"],
)
# The javascript: source is dropped, and the indexes after it move up.
CITATIONS = {
    "sources": [
        {"title": "knots.example", "uri": "https://knots.example/bowline"},
        {"title": "sailing.example", "uri": "http://sailing.example/ropes?a=1&b=(2)"},
    ],
    "supports": [
        {"startIndex": 0, "endIndex": 11, "sources": [0]},
        {"startIndex": 12, "endIndex": 31, "sources": [0, 1]},
    ],
    "queries": ["bowline knot strength"],
}


def history(api: ApiClient, session: dict[str, Any]) -> list[dict[str, Any]]:
    response = api.get(f"/session/{session['sessionId']}", token=session["sessionToken"])
    return list(response.json["messages"])


def test_a_grounded_reply_carries_its_citations_everywhere(
    api: ApiClient, fake_gemini: FakeGemini
) -> None:
    session = api.new_session(**SEARCH)
    fake_gemini.queue(grounded(TEXT, METADATA))
    sent = api.send(session, "Which knot?").json
    assert sent["reply"]["citations"] == CITATIONS
    assert "citations" not in sent["userMessage"]
    assert history(api, session)[1]["citations"] == CITATIONS
    page = api.get(f"/session/{session['sessionId']}/messages", token=session["sessionToken"])
    assert page.json["messages"][1]["citations"] == CITATIONS
    export = api.get(f"/session/{session['sessionId']}/export", token=session["sessionToken"])
    assert export.json["messages"][1]["citations"] == CITATIONS


def test_the_markdown_export_lists_sources_as_footnotes(
    api: ApiClient, fake_gemini: FakeGemini
) -> None:
    session = api.new_session(**SEARCH)
    fake_gemini.queue(grounded(TEXT, METADATA), grounded("More.", METADATA))
    api.send(session, "Which knot?")
    api.send(session, "And?")
    markdown = api.get(
        f"/session/{session['sessionId']}/export?format=markdown", token=session["sessionToken"]
    ).raw.decode()
    assert f"{TEXT}\n\nSources: [^1] [^2]\n\n" in markdown
    assert "[^1]: [knots.example](https://knots.example/bowline)\n" in markdown
    assert "[^2]: [sailing.example](http://sailing.example/ropes?a=1&b=%282%29)\n" in markdown
    # Numbered on across the conversation, so each footnote is its own.
    assert "Sources: [^3] [^4]" in markdown
    assert "javascript:" not in markdown


def test_regenerating_replaces_or_drops_the_citations(
    api: ApiClient, fake_gemini: FakeGemini
) -> None:
    session = api.new_session(**SEARCH)
    api.send(session, "Which knot?")
    assert "citations" not in history(api, session)[1]
    regenerate = f"/session/{session['sessionId']}/regenerate"
    fake_gemini.queue(grounded(TEXT, METADATA))
    again = api.post(regenerate, token=session["sessionToken"]).json
    assert again["reply"]["citations"] == CITATIONS
    assert history(api, session)[1]["citations"] == CITATIONS
    # A new reply without grounding leaves no stale citations behind.
    plain = api.post(regenerate, token=session["sessionToken"]).json
    assert "citations" not in plain["reply"]
    assert "citations" not in history(api, session)[1]


def test_the_streamed_done_frame_carries_the_citations(
    api: ApiClient, fake_gemini: FakeGemini, ws_url: str
) -> None:
    session = api.new_session(**SEARCH)
    fake_gemini.queue(grounded(TEXT, METADATA, tool_use_prompt_tokens=7, thoughts_tokens=11))
    with ws_connect(ws_url) as ws:
        frames = ws.send_message(session, "Which knot?")
    done = frames[-1]
    assert done["type"] == "done", done
    assert done["result"]["reply"]["citations"] == CITATIONS
    usage = done["result"]["usage"]
    assert (usage["toolUsePromptTokens"], usage["thinkingTokens"]) == (7, 11)
    assert history(api, session)[1]["citations"] == CITATIONS


def test_metadata_without_web_sources_gives_no_citations(
    api: ApiClient, fake_gemini: FakeGemini
) -> None:
    session = api.new_session(**SEARCH)
    only_bad = grounding_metadata([("ftp", "ftp://files.example/x")], [(0, 3, [0])], ["q"])
    fake_gemini.queue(grounded("Hm.", only_bad), grounded("Hm.", {"webSearchQueries": ["q"]}))
    assert "citations" not in api.send(session, "one").json["reply"]
    assert "citations" not in api.send(session, "two").json["reply"]


def test_usage_counts_tool_use_and_thinking_tokens(api: ApiClient, fake_gemini: FakeGemini) -> None:
    session = api.new_session(**SEARCH)
    fake_gemini.queue(grounded(TEXT, METADATA, tool_use_prompt_tokens=30, thoughts_tokens=20))
    usage = api.send(session, "Which knot?").json["usage"]
    assert usage["toolUsePromptTokens"] == 30 and usage["thinkingTokens"] == 20
    assert usage["totalTokens"] == (usage["promptTokens"] + usage["replyTokens"] + 30 + 20)
    fake_gemini.queue(grounded(TEXT, METADATA, tool_use_prompt_tokens=5, thoughts_tokens=1))
    api.send(session, "More")
    view = api.get(f"/session/{session['sessionId']}", token=session["sessionToken"]).json
    assert view["usage"]["toolUsePromptTokens"] == 35
    assert view["usage"]["thinkingTokens"] == 21


def test_the_offline_model_shows_a_labelled_sample_citation(api: ApiClient) -> None:
    searching = api.new_session(**SEARCH)
    reply = api.send(searching, "Hi").json["reply"]
    (source,) = reply["citations"]["sources"]
    assert "offline model" in source["title"] and "not a search result" in source["title"]
    assert source["uri"].startswith("https://")
    assert "citations" not in api.send(api.new_session(), "Hi").json["reply"]


def test_the_offline_model_streams_the_sample_citation(api: ApiClient, ws_url: str) -> None:
    session = api.new_session(**SEARCH)
    with ws_connect(ws_url) as ws:
        frames = ws.send_message(session, "Hi")
    assert frames[-1]["result"]["reply"]["citations"]["sources"]
