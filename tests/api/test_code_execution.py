"""Code execution: the tool reaches Gemini (whole and streamed) where the model and the
server allow it, and a reply's code and results are kept in order as `parts`, returned by
send, regenerate, history, the `done` frame, shares and the exports."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.schemas.replies import (
    MAX_PART_CHARS,
    MAX_PARTS_CHARS,
    MAX_REPLY_PARTS,
    CodePart,
    CodeResultPart,
    TextPart,
    bounded_parts,
)
from tests.fake_gemini import FakeGemini, code_part, code_result_part, with_parts
from tests.utils import ApiClient, assert_error
from tests.ws_client import ws_connect

CODE = {"tools": {"codeExecution": True}}
SOURCE = "print(sum(range(101)))"
REPLY = (
    "Let me add them up.",
    code_part(SOURCE),
    code_result_part("5050\n"),
    "The sum is 5050.",
)
PARTS = [
    {"type": "text", "text": "Let me add them up."},
    {"type": "code", "language": "PYTHON", "code": SOURCE},
    {"type": "codeResult", "outcome": "OUTCOME_OK", "output": "5050\n"},
    {"type": "text", "text": "The sum is 5050."},
]
CONTENT = "Let me add them up.The sum is 5050."


def history(api: ApiClient, session: dict[str, Any]) -> list[dict[str, Any]]:
    response = api.get(f"/session/{session['sessionId']}", token=session["sessionToken"])
    return list(response.json["messages"])


def test_gemini_gets_the_tool_and_the_reply_keeps_its_parts_everywhere(
    api: ApiClient, fake_gemini: FakeGemini
) -> None:
    session = api.new_session(**CODE)
    fake_gemini.queue(with_parts(*REPLY))
    sent = api.send(session, "Add 1 to 100.").json
    assert fake_gemini.last_request.body["tools"] == [{"codeExecution": {}}]
    assert sent["reply"]["parts"] == PARTS
    assert sent["reply"]["content"] == CONTENT
    assert "parts" not in sent["userMessage"]
    assert history(api, session)[1]["parts"] == PARTS
    token = session["sessionToken"]
    page = api.get(f"/session/{session['sessionId']}/messages", token=token)
    assert page.json["messages"][1]["parts"] == PARTS
    export = api.get(f"/session/{session['sessionId']}/export", token=token)
    assert export.json["messages"][1]["parts"] == PARTS
    assert export.json["tools"]["codeExecution"] is True


def test_a_reply_without_code_has_no_parts(api: ApiClient, fake_gemini: FakeGemini) -> None:
    session = api.new_session(**CODE)
    fake_gemini.queue(with_parts("Just ", "text."))
    sent = api.send(session, "Hi").json
    assert sent["reply"]["content"] == "Just text."
    assert "parts" not in sent["reply"]


def test_the_markdown_export_fences_code_and_output(
    api: ApiClient, fake_gemini: FakeGemini
) -> None:
    session = api.new_session(**CODE)
    tricky = "s = '```'\nprint(s)"
    fake_gemini.queue(with_parts("Watch.", code_part(tricky), code_result_part("```\n")))
    api.send(session, "Fences?")
    markdown = api.get(
        f"/session/{session['sessionId']}/export?format=markdown", token=session["sessionToken"]
    ).raw.decode()
    # A fence longer than the backticks inside, so the code cannot close it.
    assert (
        f"Watch.\n\n````python\n{tricky}\n````\n\nOutput (OUTCOME_OK):\n\n````\n```\n\n````\n"
        in (markdown)
    )


def test_regenerating_replaces_or_drops_the_parts(api: ApiClient, fake_gemini: FakeGemini) -> None:
    session = api.new_session(**CODE)
    api.send(session, "Add 1 to 100.")
    assert "parts" not in history(api, session)[1]
    regenerate = f"/session/{session['sessionId']}/regenerate"
    fake_gemini.queue(with_parts(*REPLY))
    again = api.post(regenerate, token=session["sessionToken"]).json
    assert again["reply"]["parts"] == PARTS
    assert history(api, session)[1]["parts"] == PARTS
    plain = api.post(regenerate, token=session["sessionToken"]).json
    assert "parts" not in plain["reply"]
    assert "parts" not in history(api, session)[1]


def test_a_streamed_reply_keeps_its_parts_in_the_done_frame(
    api: ApiClient, fake_gemini: FakeGemini, ws_url: str
) -> None:
    session = api.new_session(**CODE)
    fake_gemini.queue(with_parts(*REPLY))
    with ws_connect(ws_url) as ws:
        frames = ws.send_message(session, "Add 1 to 100.")
    assert fake_gemini.last_request.body["tools"] == [{"codeExecution": {}}]
    done = frames[-1]
    assert done["type"] == "done", done
    assert done["result"]["reply"]["parts"] == PARTS
    deltas = "".join(frame["text"] for frame in frames if frame["type"] == "delta")
    assert deltas == CONTENT == done["result"]["reply"]["content"]
    assert history(api, session)[1]["parts"] == PARTS


def test_a_share_keeps_the_parts(api: ApiClient, fake_gemini: FakeGemini) -> None:
    session = api.new_session(**CODE)
    fake_gemini.queue(with_parts(*REPLY))
    api.send(session, "Add 1 to 100.")
    created = api.post(
        f"/session/{session['sessionId']}/shares", {}, token=session["sessionToken"]
    ).json
    shared = api.get(f"/shares/{created['shareId']}").json
    assert shared["messages"][1]["parts"] == PARTS


def test_code_execution_is_refused_where_the_model_or_server_lacks_it(
    api: ApiClient, fake_gemini: FakeGemini, monkeypatch: pytest.MonkeyPatch
) -> None:
    session = api.new_session(**CODE)
    monkeypatch.setenv("ALLOWED_TOOLS", "googleSearch,urlContext")
    response = api.post("/create-chat", {**_base(), **CODE})
    assert_error(response, 400, "validation_error")
    problem = response.json["details"]["fields"][0]
    assert problem["field"] == "tools.codeExecution"
    assert "ALLOWED_TOOLS" in problem["message"]
    # An agent made before keeps its switch, but Gemini no longer gets the tool.
    api.send(session, "Hi")
    assert "tools" not in fake_gemini.last_request.body


def _base() -> dict[str, Any]:
    from tests.utils import DEFAULT_CONFIG

    return dict(DEFAULT_CONFIG)


def test_parts_are_bounded_in_count_and_size() -> None:
    code = CodePart(language="PYTHON", code="x" * (MAX_PART_CHARS + 5))
    parts = bounded_parts([TextPart(text="a"), TextPart(text="b"), code])
    assert parts is not None
    assert parts[0] == TextPart(text="ab")
    assert parts[1] == CodePart(language="PYTHON", code="x" * MAX_PART_CHARS)
    many = bounded_parts([CodeResultPart(outcome="OUTCOME_OK", output="1")] * (MAX_REPLY_PARTS + 3))
    assert many is not None and len(many) == MAX_REPLY_PARTS
    large = bounded_parts([CodePart(language="PYTHON", code="y" * MAX_PART_CHARS)] * 10)
    assert large is not None
    kept = "".join(part.code for part in large if isinstance(part, CodePart))
    assert len(kept) == MAX_PARTS_CHARS and len(large) == MAX_PARTS_CHARS // MAX_PART_CHARS
    assert bounded_parts([TextPart(text="only text")]) is None
