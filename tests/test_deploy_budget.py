"""The operator's daily token budget at deploy time (infra/budget.py): given, asked, defaulted."""

from __future__ import annotations

import io
import os
import pty
import select
import subprocess
import sys
from pathlib import Path

import pytest

from infra.budget import DEFAULT_BUDGET, PROMPT, Budget, BudgetError, choose

ROOT = Path(__file__).resolve().parent.parent
ASKED = "Daily token budget for all model calls [2000000]: "


class Terminal(io.StringIO):
    """Typed answers, as a terminal's input."""

    def isatty(self) -> bool:
        return True


class Unreadable(io.StringIO):
    def readline(self, size: int | None = -1) -> str:  # type: ignore[override]
        raise AssertionError("nothing should be read")


def test_the_prompt_states_the_default() -> None:
    assert PROMPT.format(default=DEFAULT_BUDGET) == ASKED
    assert DEFAULT_BUDGET == 2_000_000


@pytest.mark.parametrize(
    ("given", "tokens"), [("1000", 1000), ("0", 0), (" 2_500 ", 2500), ("3,000,000", 3_000_000)]
)
def test_a_given_budget_is_used_without_asking(given: str, tokens: int) -> None:
    out = io.StringIO()
    assert choose(given, stdin=Unreadable(), out=out) == Budget(tokens, chosen=True)
    assert out.getvalue() == ""


@pytest.mark.parametrize("given", ["-1", "1.5", "lots", "", "2e6", "١٢"])
def test_a_given_budget_that_is_not_a_whole_number_stops(given: str) -> None:
    with pytest.raises(BudgetError, match="BUDGET_TOKENS_PER_DAY must be a whole number"):
        choose(given, stdin=Unreadable(), out=io.StringIO())


def test_at_a_terminal_enter_takes_the_default() -> None:
    out = io.StringIO()
    assert choose(None, stdin=Terminal("\n"), out=out) == Budget(DEFAULT_BUDGET, chosen=True)
    assert out.getvalue() == ASKED


def test_at_a_terminal_zero_means_no_budget() -> None:
    assert choose(None, stdin=Terminal("0\n"), out=io.StringIO()) == Budget(0, chosen=True)


def test_at_a_terminal_a_bad_answer_is_asked_again() -> None:
    out = io.StringIO()
    assert choose(None, stdin=Terminal("lots\n-5\n300000\n"), out=out).tokens == 300_000
    retry = "A whole number of tokens, 0 for no budget, or Enter for 2000000.\n"
    assert out.getvalue() == ASKED + retry + ASKED + retry + ASKED


def test_at_a_terminal_the_end_of_input_stops_rather_than_guess() -> None:
    with pytest.raises(BudgetError, match="no answer"):
        choose(None, stdin=Terminal("lots\n"), out=io.StringIO())


def test_at_a_terminal_the_default_offered_can_be_the_stages_own() -> None:
    out = io.StringIO()
    assert choose(None, 5000, stdin=Terminal("\n"), out=out).tokens == 5000
    assert out.getvalue() == "Daily token budget for all model calls [5000]: "


def test_without_a_terminal_the_default_is_used_and_said_in_one_line() -> None:
    out = io.StringIO()
    assert choose(None, stdin=io.StringIO("123\n"), out=out) == Budget(DEFAULT_BUDGET, chosen=False)
    (line,) = out.getvalue().splitlines()
    assert (
        line == "BUDGET_TOKENS_PER_DAY not given and no terminal to ask: using 2000000 tokens/day"
    )


def test_a_real_terminal_is_asked(tmp_path: Path) -> None:
    """Through a pseudo-terminal, as `make package` run by hand: sys.stdin is a tty."""
    controller, terminal = pty.openpty()
    code = "from infra.budget import choose; print(choose(None).tokens)"
    process = subprocess.Popen(
        [sys.executable, "-c", code],
        cwd=ROOT,
        stdin=terminal,
        stderr=terminal,
        stdout=subprocess.PIPE,
        text=True,
    )
    os.close(terminal)
    try:
        os.write(controller, b"many\n")
        os.write(controller, b"1234\n")
        stdout, _ = process.communicate(timeout=30)
        shown = b""
        while select.select([controller], [], [], 0.5)[0]:
            try:
                chunk = os.read(controller, 4096)
            except OSError:  # the terminal closed with the process
                break
            if not chunk:
                break
            shown += chunk
    finally:
        os.close(controller)
    assert process.returncode == 0
    assert stdout.strip() == "1234"
    assert shown.decode().count(ASKED) == 2
