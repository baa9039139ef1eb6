"""A conversation as Markdown: its settings, then one heading per turn."""

from __future__ import annotations

from chalicelib.schemas import SessionExport

_SPEAKERS = {"user": "User", "model": "Model"}


def to_markdown(export: SessionExport) -> str:
    prompt = "*(hidden by the creator)*" if export.system_prompt_hidden else export.prompt_text
    lines = [
        f"# {export.title}",
        "",
        f"- Session: `{export.session_id}`",
        f"- Model: `{export.model}`",
        f"- Temperature: {export.temperature}",
        f"- Started: {export.created_at}",
        f"- Exported: {export.exported_at}",
        f"- Tokens: {export.usage.total_tokens} "
        f"({export.usage.prompt_tokens} prompt, {export.usage.reply_tokens} reply)",
        "",
        "## System prompt",
        "",
        prompt or "*(none)*",
    ]
    for message in export.messages:
        lines += ["", f"## {_SPEAKERS[message.role]} · {message.created_at}", "", message.content]
        for file in message.attachments or ():
            lines += ["", f"*Attached: {file.filename} ({file.content_type}, {file.size} bytes)*"]
    return "\n".join(lines) + "\n"
