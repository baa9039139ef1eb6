"""A conversation as Markdown: its settings, then one heading per turn; a grounded
reply's sources follow it as footnotes, and a reply that ran code shows its code and
results as fenced blocks, as a JSON agent's replies are; shown thoughts come before the
reply, quoted."""

from __future__ import annotations

import re
from collections.abc import Sequence
from urllib.parse import quote

from chalicelib.schemas import Citations, SessionExport, StoredMessage
from chalicelib.schemas.replies import CodePart, ReplyPart, TextPart

_SPEAKERS = {"user": "User", "model": "Model"}
# Kept as they are in a link's destination; anything else (spaces, brackets) is escaped.
_URI_SAFE = ":/?#@!$&'*+,;=%-._~"


def to_markdown(
    export: SessionExport, path: Sequence[StoredMessage], other_branches: int = 0
) -> str:
    """The export's settings and its active path's messages (`path`); the branches left
    out are counted, not shown."""
    prompt = "*(hidden by the creator)*" if export.system_prompt_hidden else export.prompt_text
    usage = export.usage
    lines = [
        f"# {export.title}",
        "",
        f"- Session: `{export.session_id}`",
        f"- Model: `{export.model}`",
        f"- Temperature: {export.temperature}",
        f"- Started: {export.created_at}",
        f"- Exported: {export.exported_at}",
        f"- Tokens: {usage.total_tokens} "
        f"({usage.prompt_tokens} prompt, {usage.reply_tokens} reply, "
        f"{usage.tool_use_prompt_tokens} tool use, {usage.thinking_tokens} thinking)",
        "",
        "## System prompt",
        "",
        prompt or "*(none)*",
    ]
    if other_branches:
        branches = f"{other_branches} other branches are" if other_branches > 1 else ""
        lines += [
            "",
            f"*This is the active branch; {branches or 'one other branch is'} in the JSON "
            "export (edits and regenerations keep the earlier answers).*",
        ]
    footnotes = 0
    json_replies = export.response_format.type == "json_schema"
    for message in path:
        lines += ["", f"## {_SPEAKERS[message.role]} · {message.created_at}"]
        if message.thoughts:
            quoted = "\n".join(f"> {line}".rstrip() for line in message.thoughts.splitlines())
            lines += ["", "> *Thoughts*", ">", quoted]
        content = message.content
        if json_replies and message.role == "model":
            content = _fenced(content, "json")
        lines += _parts(message.parts) if message.parts else ["", content]
        if message.citations:
            lines += _footnotes(message.citations, footnotes)
            footnotes += len(message.citations.sources)
        for file in message.attachments or ():
            lines += ["", f"*Attached: {file.filename} ({file.content_type}, {file.size} bytes)*"]
        if message.feedback:
            comment = f" — {message.feedback.comment}" if message.feedback.comment else ""
            lines += ["", f"*Rated: {message.feedback.rating}{comment}*"]
    return "\n".join(lines) + "\n"


def _fenced(text: str, info: str = "") -> str:
    # A fence longer than any run of backticks inside, so the text cannot close it.
    fence = "`" * max(3, 1 + max((len(run) for run in re.findall(r"`+", text)), default=0))
    return f"{fence}{info}\n{text}\n{fence}"


def _parts(parts: list[ReplyPart]) -> list[str]:
    """A reply's text, code and code results in order; code and output fenced."""
    lines = []
    for part in parts:
        if isinstance(part, TextPart):
            lines += ["", part.text]
        elif isinstance(part, CodePart):
            lines += ["", _fenced(part.code, part.language.lower())]
        else:
            lines += ["", f"Output ({part.outcome}):", "", _fenced(part.output)]
    return lines


def _footnotes(citations: Citations, before: int) -> list[str]:
    """ "Sources: [^1] [^2]" and their definitions, numbered on from `before`."""
    numbers = range(before + 1, before + 1 + len(citations.sources))
    lines = ["", "Sources: " + " ".join(f"[^{n}]" for n in numbers), ""]
    for number, source in zip(numbers, citations.sources, strict=True):
        title = (
            " ".join(source.title.split())
            .replace("\\", "\\\\")
            .replace("[", "\\[")
            .replace("]", "\\]")
        )
        # A knowledge file (File Search) has no address: its name alone.
        link = f"[{title}]({quote(source.uri, safe=_URI_SAFE)})" if source.uri else title
        lines.append(f"[^{number}]: {link}")
    return lines
