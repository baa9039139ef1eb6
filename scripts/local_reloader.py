"""chalice local's autoreload, made to pass over the directory where the local AWS keeps its data.

`chalice local` restarts its worker when any file under the project changes, and
the local data (LOCAL_DATA_DIR, `.local` by default) changes after every write:
each save would restart the server. chalice offers no setting for what its file
watchers see, so `install()` hooks both (the stat-based one, and watchdog's when
watchdog is installed) to skip that directory; edits anywhere else restart as before.
The worker imports the app while its watcher starts, so a watcher may have seen the
directory already: the hooks also forget what it saw there.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from chalice.cli.filewatch import stat

from chalicelib.local.snapshot import data_directory


def install() -> None:
    directory = data_directory()
    inside = _inside(directory) if directory else _nowhere
    watcher: Any = stat.StatFileWatcher
    if getattr(watcher, "_skips_local_data", False):
        return
    is_changed, single_pass = watcher._is_changed_file, watcher._single_pass_poll

    def is_changed_file(self: Any, path: str, new_mtimes: dict[str, float]) -> bool:
        return False if inside(path) else bool(is_changed(self, path, new_mtimes))

    def single_pass_poll(self: Any, root_dir: str, callback: Callable[[], None]) -> None:
        self._mtime_cache = {path: at for path, at in self._mtime_cache.items() if not inside(path)}
        single_pass(self, root_dir, callback)

    watcher._is_changed_file = is_changed_file
    watcher._single_pass_poll = single_pass_poll
    watcher._skips_local_data = True
    _install_watchdog(inside)


def _install_watchdog(inside: Callable[[str], bool]) -> None:
    try:
        from chalice.cli.filewatch import eventbased  # noqa: PLC0415 - needs watchdog
    except ImportError:
        return  # chalice uses the stat-based watcher.
    restarter: Any = eventbased.WatchdogRestarter
    on_any_event = restarter.on_any_event

    def on_event_outside_local_data(self: Any, event: Any) -> None:
        paths = (event.src_path, getattr(event, "dest_path", ""))
        if not any(path and inside(str(path)) for path in paths):
            on_any_event(self, event)

    restarter.on_any_event = on_event_outside_local_data


def _nowhere(path: str) -> bool:
    return False


def _inside(directory: Path) -> Callable[[str], bool]:
    # By string, not Path.resolve(): the stat watcher asks once a second for every file.
    prefixes = tuple({str(directory.resolve()), os.path.abspath(directory)})

    def inside(path: str) -> bool:
        absolute = os.path.abspath(path)
        return any(
            absolute == prefix or absolute.startswith(prefix + os.sep) for prefix in prefixes
        )

    return inside
