"""What `chalice local` starts, once per process, on the first event it serves.

The dev stage sets LOCAL_AWS=moto. Chalice's CLI sets AWS_CHALICE_CLI_MODE=true
in every command it runs and Lambda never does, and the prod stage is refused
here, so neither can start a local server. Commands that only import the app
(`chalice deploy`, `chalice package`) serve no event, so they start nothing.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from collections.abc import Callable

from chalicelib.core import settings as names
from chalicelib.core.settings import get_settings
from chalicelib.local import aws
from chalicelib.model.choice import model_mode

log = logging.getLogger("ai_maker.local")

# Each starts one local server (or decides it is not needed) and says what it serves.
# They run in order: a later server may rely on an earlier one's environment.
# A further local server is added here, or with `register`.
STARTERS: tuple[Callable[[], str], ...] = (aws.start,)

MODELS = {
    "gemini": "Gemini",
    "offline": "the offline model (no GEMINI_API_KEY)",
    "unavailable": "no model (no Gemini key in this stage: sends answer 503)",
}


def register(start: Callable[[], str]) -> None:
    """Add a local server, started after the others: app.py adds the WebSocket gateway,
    which serves the app itself (and chalicelib never imports it)."""
    global STARTERS
    if start not in STARTERS:
        STARTERS = (*STARTERS, start)


_lock = threading.Lock()
_started = False


def wanted() -> bool:
    """`chalice local` (or another chalice command) in a stage that asks for local servers."""
    settings = get_settings()
    cli = os.environ.get(names.AWS_CHALICE_CLI_MODE, "").strip().lower() == "true"
    return cli and settings.local_aws == "moto" and not settings.is_production


def ensure_started() -> None:
    """Start the local servers if this process is `chalice local` in the dev stage; once."""
    global _started
    if _started:
        return
    with _lock:
        if _started:
            return
        if wanted():
            # chalice local restarts its worker when a file in the project changes, and
            # a new .pyc looks like one: it would lose the in-memory AWS mid-request.
            sys.dont_write_bytecode = True
            served = [start() for start in STARTERS]
            mode = model_mode(get_settings())
            log.info("chalice local: using %s and %s", ", ".join(served), MODELS[mode])
        _started = True


def reset() -> None:
    """Forget that the servers started (tests)."""
    global _started
    _started = False
