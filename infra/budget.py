"""The operator's daily token budget, chosen when a stage is packaged or bootstrapped.

The app reads BUDGET_TOKENS_PER_DAY (0: no budget) as the bound on every Gemini token
of a UTC day. A deploy must not leave it unbounded by accident, so `make package` and
`make bootstrap` ask for it: a value given to make is used as it is; at a terminal
the operator is asked, with a default; elsewhere (CI, tests) the default is used and
one line says so.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import TextIO

# A few hundred exchanges a day and a bill of a few dollars at most on Gemini 2.5 Flash,
# yet far above what one call reserves (about 27,000 tokens there): docs/deployment.md.
DEFAULT_BUDGET = 2_000_000
VARIABLE = "BUDGET_TOKENS_PER_DAY"
PROMPT = "Daily token budget for all model calls [{default}]: "
RETRY = "A whole number of tokens, 0 for no budget, or Enter for {default}."


class BudgetError(ValueError):
    """The budget given is not a non-negative whole number, or no answer came."""


@dataclass(frozen=True)
class Budget:
    tokens: int
    chosen: bool  # False: nobody chose it, the default was taken without asking


def parse(text: str) -> int:
    """A non-negative whole number of tokens; `_` and `,` may group its digits."""
    digits = text.strip().replace("_", "").replace(",", "")
    if not digits.isascii() or not digits.isdigit():
        raise BudgetError(f"{VARIABLE} must be a whole number of tokens, 0 or more: {text!r}")
    return int(digits)


def choose(
    given: str | None,
    default: int = DEFAULT_BUDGET,
    stdin: TextIO | None = None,
    out: TextIO | None = None,
) -> Budget:
    """The budget given, else the operator's answer at a terminal, else the default."""
    stdin, out = stdin or sys.stdin, out or sys.stderr
    if given is not None:
        return Budget(parse(given), chosen=True)
    if not stdin.isatty():
        print(f"{VARIABLE} not given and no terminal to ask: using {default} tokens/day", file=out)
        return Budget(default, chosen=False)
    while True:
        out.write(PROMPT.format(default=default))
        out.flush()
        line = stdin.readline()
        if not line:  # end of input (Ctrl-D): stop rather than guess
            raise BudgetError(f"no answer for {VARIABLE}")
        if not line.strip():
            return Budget(default, chosen=True)
        try:
            return Budget(parse(line), chosen=True)
        except BudgetError:
            print(RETRY.format(default=default), file=out)
