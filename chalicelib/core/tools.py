"""Gemini's built-in tools an agent may switch on, and which models support each.

The one table of model/tool support: validation refuses a tool its model lacks,
and a send passes Gemini only the tools its model supports and the server allows.
"""

from __future__ import annotations

from collections.abc import Iterable

GOOGLE_SEARCH = "googleSearch"
URL_CONTEXT = "urlContext"
CODE_EXECUTION = "codeExecution"
TOOL_NAMES = (GOOGLE_SEARCH, URL_CONTEXT, CODE_EXECUTION)

# (model name prefix, the tools it supports); the first matching prefix wins, and a
# model matching none supports no tool.
MODEL_TOOLS: tuple[tuple[str, frozenset[str]], ...] = (
    ("gemini-3", frozenset({GOOGLE_SEARCH, URL_CONTEXT, CODE_EXECUTION})),
    ("gemini-2.5-", frozenset({GOOGLE_SEARCH, URL_CONTEXT, CODE_EXECUTION})),
    ("gemini-2.0-flash-lite", frozenset()),
    ("gemini-2.0-flash", frozenset({GOOGLE_SEARCH, CODE_EXECUTION})),
)


def tools_of_model(model: str) -> frozenset[str]:
    """The tools `model` supports."""
    for prefix, tools in MODEL_TOOLS:
        if model.startswith(prefix):
            return tools
    return frozenset()


def tool_problems(model: str, tools: Iterable[str], allowed: Iterable[str]) -> dict[str, str]:
    """Why each of `tools` may not be switched on for `model`, by tool name; empty if all may."""
    allowed = frozenset(allowed)
    supported = tools_of_model(model)
    problems = {}
    for tool in tools:
        if tool not in allowed:
            problems[tool] = "this server does not allow this tool (ALLOWED_TOOLS)"
        elif tool not in supported:
            problems[tool] = f"the model {model} does not support this tool"
    return problems


def tools_in_force(model: str, tools: Iterable[str], allowed: Iterable[str]) -> tuple[str, ...]:
    """The tools a send passes Gemini: switched on, supported by the model, allowed now."""
    usable = tools_of_model(model) & frozenset(allowed)
    return tuple(tool for tool in TOOL_NAMES if tool in usable and tool in set(tools))
