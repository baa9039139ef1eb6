"""Gemini's built-in tools an agent may switch on, and which models support each; how
each model takes a thinking setting; which take a media resolution; and which write JSON
replies, with which tools.

The one table of model/tool support: validation refuses a tool its model lacks,
and a send passes Gemini only the tools its model supports and the server allows.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

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


# Models that take the File Search tool (an agent's knowledge searched, not sent).
FILE_SEARCH_MODELS = ("gemini-3", "gemini-2.5-")


def searches_files(model: str) -> bool:
    return model.startswith(FILE_SEARCH_MODELS)


THINKING_LEVELS = ("minimal", "low", "medium", "high")


@dataclass(frozen=True)
class Thinking:
    """How a model takes a thinking setting: Gemini 3 by level, 2.5 by a token budget."""

    levels: tuple[str, ...] = ()
    # The budget's range, in tokens; 0 (no thinking) too where `may_stop`.
    budget: tuple[int, int] | None = None
    may_stop: bool = False

    @property
    def thinks(self) -> bool:
        return bool(self.levels or self.budget)


# As MODEL_TOOLS: the first matching prefix wins; a model matching none does not think.
MODEL_THINKING: tuple[tuple[str, Thinking], ...] = (
    ("gemini-3-pro", Thinking(levels=("low", "high"))),
    ("gemini-3", Thinking(levels=THINKING_LEVELS)),
    ("gemini-2.5-pro", Thinking(budget=(128, 32768))),
    ("gemini-2.5-flash-lite", Thinking(budget=(512, 24576), may_stop=True)),
    ("gemini-2.5-", Thinking(budget=(1, 24576), may_stop=True)),
)


def thinking_of_model(model: str) -> Thinking:
    for prefix, thinking in MODEL_THINKING:
        if model.startswith(prefix):
            return thinking
    return Thinking()


def thinking_problems(
    model: str, level: str | None, budget: int | None, show_thoughts: bool
) -> dict[str, str]:
    """Why a thinking setting does not suit `model`, by its field; empty if it does."""
    takes = thinking_of_model(model)
    if level is not None and budget is not None:
        return {"thinking": "set a level or a budget, not both"}
    problems = {}
    if level is not None and level not in takes.levels:
        instead = " (it takes thinking.budget)" if takes.budget else ""
        problems["thinking.level"] = (
            f"the model {model} takes only the levels {', '.join(takes.levels)}"
            if takes.levels
            else f"the model {model} takes no thinking level{instead}"
        )
    if budget is not None:
        if takes.budget is None:
            instead = " (it takes thinking.level)" if takes.levels else ""
            problems["thinking.budget"] = f"the model {model} takes no thinking budget{instead}"
        elif not (takes.budget[0] <= budget <= takes.budget[1] or (takes.may_stop and not budget)):
            low, high = takes.budget
            stop = "0 or " if takes.may_stop else ""
            problems["thinking.budget"] = f"the model {model} takes {stop}{low}-{high} tokens"
    if show_thoughts and not takes.thinks:
        problems["thinking.showThoughts"] = f"the model {model} does not think"
    return problems


MEDIA_RESOLUTIONS = ("low", "medium", "high")
# The models that take a media resolution, by name prefix: Gemini 3, whose tokens per image,
# PDF page and video frame at each level Gemini documents (the README's table).
MEDIA_RESOLUTION_MODELS = ("gemini-3",)


def media_resolution_problem(model: str, resolution: str | None) -> str | None:
    """Why `model` does not take `resolution`; None if it does (or none is set)."""
    if resolution is None or model.startswith(MEDIA_RESOLUTION_MODELS):
        return None
    return f"the model {model} takes no media resolution (Gemini 3 models do)"


@dataclass(frozen=True)
class JsonReplies:
    """How a model writes JSON replies (responseMimeType application/json): whether it
    takes a JSON Schema (responseJsonSchema), and whether it does so with built-in tools on."""

    schema: bool = False
    with_tools: bool = False


# As MODEL_TOOLS: the first matching prefix wins; a model matching none writes no JSON replies.
# Only Gemini 3 combines them with tools: older models answer 400 ("Tool use with a response
# mime type: 'application/json' is unsupported"); 2.0 takes no JSON Schema, only JSON.
MODEL_JSON_REPLIES: tuple[tuple[str, JsonReplies], ...] = (
    ("gemini-3", JsonReplies(schema=True, with_tools=True)),
    ("gemini-2.5-", JsonReplies(schema=True)),
    ("gemini-2.0-", JsonReplies()),
)


def reply_format_problem(model: str, tools: Iterable[str], with_schema: bool) -> str | None:
    """Why `model` cannot write JSON replies (following a schema) with `tools` on; None if
    it can."""
    takes = next((json for prefix, json in MODEL_JSON_REPLIES if model.startswith(prefix)), None)
    tools = tuple(tools)
    if takes is None:
        return f"the model {model} does not write JSON replies"
    if with_schema and not takes.schema:
        return f"the model {model} takes no JSON Schema for its replies"
    if tools and not takes.with_tools:
        return (
            f"the model {model} writes no JSON replies with built-in tools on "
            f"({', '.join(tools)}); only Gemini 3 models do"
        )
    return None
