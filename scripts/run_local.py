"""`make run`: `chalice local` on HOST:PORT, without its file watcher, ready for a burst.

What the app serves, and the local AWS it starts, are `chalice local`'s own (see
chalicelib/local). This adds only what a quick path needs:

- a listen queue of 128 connections: chalice's server keeps socketserver's 5,
  and a burst of browser requests beyond it is reset by the kernel;
- one line, not a traceback, when the port is taken;
- a clean stop on Ctrl-C or SIGTERM;
- no autoreload: chalice's stat-based watcher would walk .venv every second, and
  the local data lasts across restarts anyway (chalicelib/local/snapshot.py).
"""

from __future__ import annotations

import argparse
import errno
import os
import signal
import socket
import sys
from types import FrameType

from chalice import cli
from chalice.local import ThreadedHTTPServer

LISTEN_BACKLOG = 128


def port_in_use(host: str, port: int) -> bool:
    # The same options as the server's own bind, so a port in TIME_WAIT counts as free.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return True
            raise
    return False


def free_port_pair(host: str, after: int) -> int:
    """The first port above `after` + 1 that is free, and whose WebSocket port (+ 1) is too,
    unless WS_PORT fixes that one: a taken port's + 1 is often its own server's gateway."""
    pair = not os.environ.get("WS_PORT", "").strip()
    port = after + 2
    while port < 65_535 and (port_in_use(host, port) or (pair and port_in_use(host, port + 1))):
        port += 1
    return port


def stop(signum: int, frame: FrameType | None) -> None:
    # `kill` to make run's process group signals make and this process, and make then
    # signals it again: later signals are ignored, so it stops once, without a traceback.
    for caught in (signal.SIGINT, signal.SIGTERM):
        signal.signal(caught, signal.SIG_IGN)
    # Leaves serve_forever() by an exception neither click nor chalice catches.
    print("Stopped.", flush=True)
    raise SystemExit(0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    parser.add_argument("--stage", default=os.environ.get("STAGE", "dev"))
    args = parser.parse_args(argv)
    if port_in_use(args.host, args.port):
        print(
            f"make run: {args.host}:{args.port} is already in use; "
            f"stop what uses it or pick another port "
            f"(PORT={free_port_pair(args.host, args.port)} make run).",
            file=sys.stderr,
        )
        return 1
    # Where the WebSocket gateway listens follows (PORT + 1, unless WS_PORT is set).
    os.environ["HOST"], os.environ["PORT"] = args.host, str(args.port)
    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    ThreadedHTTPServer.request_queue_size = LISTEN_BACKLOG
    sys.argv = ["chalice", "local", "--host", args.host, "--port", str(args.port)]
    sys.argv += ["--stage", args.stage, "--no-autoreload"]
    result: int = cli.main()
    return result


if __name__ == "__main__":
    raise SystemExit(main())
