"""Starting the CLI asks the terminal nothing: a terminal that answers no query (an editor's,
a CI runner's pty) made `import chalice.cli` wait about 10 s for replies."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import time

import pytest

# What blessed sends when it probes a terminal: XTGETTCAP, and a cursor position request.
QUERIES = (b"\x1bP+q", b"\x1b[6n")


@pytest.mark.timeout(90)
def test_importing_the_chalice_cli_in_a_quiet_terminal_queries_nothing() -> None:
    controller, terminal = pty.openpty()
    child = subprocess.Popen(
        [sys.executable, "-c", "import chalice.cli"],
        stdin=terminal,
        stdout=terminal,
        stderr=terminal,
        env={**os.environ, "TERM": "xterm-256color"},
        close_fds=True,
    )
    os.close(terminal)
    written = b""
    deadline = time.monotonic() + 60
    while child.poll() is None and time.monotonic() < deadline:
        ready, _, _ = select.select([controller], [], [], 0.1)
        if ready:
            try:
                written += os.read(controller, 4096)
            except OSError:  # the child closed its side
                break
    os.close(controller)
    assert child.wait(timeout=30) == 0, written
    assert not [query for query in QUERIES if query in written], written
