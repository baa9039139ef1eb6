"""What a reply holds besides its text: the parts of a reply that ran code (Gemini's code
execution tool), in the order the model wrote them, kept small whatever the model returns."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated, Literal

from pydantic import Field, TypeAdapter

from chalicelib.schemas.base import ResponseModel

# A stored reply's parts stay small, as its citations do: each part's text is cut at
# MAX_PART_CHARS, and parts past MAX_REPLY_PARTS or MAX_PARTS_CHARS in all are dropped.
MAX_REPLY_PARTS = 40
MAX_PART_CHARS = 10_000
MAX_PARTS_CHARS = 40_000
# A reply's thought summaries are cut here.
MAX_THOUGHTS_CHARS = 20_000


class TextPart(ResponseModel):
    """Text the model wrote between code parts."""

    type: Literal["text"] = "text"
    """`text`."""
    text: str
    """What the model wrote."""


class CodePart(ResponseModel):
    """Code the model wrote and ran (the code execution tool)."""

    type: Literal["code"] = "code"
    """`code`."""
    language: str
    """As Gemini names it, such as `PYTHON`."""
    code: str
    """The code that ran."""


class CodeResultPart(ResponseModel):
    """What running the code before it gave."""

    type: Literal["codeResult"] = "codeResult"
    """`codeResult`."""
    outcome: str
    """As Gemini names it: `OUTCOME_OK`, `OUTCOME_FAILED` or `OUTCOME_DEADLINE_EXCEEDED`."""
    output: str
    """Its standard output, or the error it ended with."""


ReplyPart = Annotated[TextPart | CodePart | CodeResultPart, Field(discriminator="type")]
# Parts to and from their stored (JSON) form.
REPLY_PARTS: TypeAdapter[list[ReplyPart]] = TypeAdapter(list[ReplyPart])


def _cut(text: str, room: int) -> str:
    return text[: min(MAX_PART_CHARS, room)]


def bounded_parts(parts: Iterable[ReplyPart]) -> list[ReplyPart] | None:
    """`parts` as a reply keeps them: adjacent text joined, empty text dropped, each part
    cut and the whole bounded; None when no code ran (the reply's text says it all)."""
    joined: list[ReplyPart] = []
    for part in parts:
        if isinstance(part, TextPart) and joined and isinstance(joined[-1], TextPart):
            joined[-1] = TextPart(text=joined[-1].text + part.text)
        else:
            joined.append(part)
    if not any(not isinstance(part, TextPart) for part in joined):
        return None
    kept: list[ReplyPart] = []
    room = MAX_PARTS_CHARS
    for part in joined:
        if len(kept) == MAX_REPLY_PARTS or room <= 0:
            break
        if isinstance(part, TextPart):
            if not part.text:
                continue
            part = TextPart(text=_cut(part.text, room))
            room -= len(part.text)
        elif isinstance(part, CodePart):
            part = CodePart(language=part.language, code=_cut(part.code, room))
            room -= len(part.code)
        else:
            part = CodeResultPart(outcome=part.outcome, output=_cut(part.output, room))
            room -= len(part.output)
        kept.append(part)
    return kept


def bounded_thoughts(thoughts: str) -> str | None:
    """Thought summaries as a reply keeps them: cut, and None when there are none."""
    return thoughts[:MAX_THOUGHTS_CHARS] or None
