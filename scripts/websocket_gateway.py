"""A local stand-in for API Gateway's WebSocket API, for `make run` and the tests.

Chalice's own local server serves no WebSockets. This gateway accepts WebSocket
connections (the `websockets` library), turns connections and frames into the
`$connect`, `$default` and `$disconnect` events API Gateway sends, and calls the app's
Chalice handlers with them. It also serves the `@connections` management API that
boto3's `apigatewaymanagementapi` client calls, so handlers post frames back through
the same code as on AWS. It translates; it doesn't think. Never part of the Lambda.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import os
import secrets
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from chalice.app import Chalice
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from chalicelib.core.settings import API_ORIGIN

log = logging.getLogger("websocket_gateway")

STAGE = "local"
# API Gateway's idle limit does not apply here; a post waits this long at most.
POST_TIMEOUT_SECONDS = 10
# API Gateway's frame quota (32 KB), which applies to @connections posts too: a larger
# one closes the connection with 1009. Enforced here as the app assumes it (32,000 bytes),
# so a frame that would break on AWS breaks in the tests.
FRAME_LIMIT_BYTES = 32_000
MESSAGE_TOO_BIG = 1009


class GatewayUnavailable(RuntimeError):
    """The gateway could not listen (its port is taken, say)."""


@dataclass
class _Connection:
    socket: ServerConnection
    # The opening request's headers, which API Gateway gives the $connect event only.
    headers: dict[str, str] = field(default_factory=dict)
    connected_at: float = field(default_factory=time.time)
    last_active_at: float = field(default_factory=time.time)

    @property
    def peer_address(self) -> str:
        """The client's address, as API Gateway reports a connection's sourceIp."""
        remote = self.socket.remote_address
        return str(remote[0]) if remote else ""


class LocalWebsocketGateway:
    """A running gateway: WebSocket clients at `url`, `@connections` at `management_url`."""

    def __init__(self, app: Chalice, host: str, port: int) -> None:
        self._app = app
        self._host = host
        self._connections: dict[str, _Connection] = {}
        # Admitted by $connect, until its handler takes it.
        self._opening: dict[ServerConnection, str] = {}
        self._lock = threading.Lock()
        # One invocation per frame, concurrently, as Lambda runs them.
        self._invocations = ThreadPoolExecutor(max_workers=64, thread_name_prefix="ws-invoke")
        self._management = ThreadingHTTPServer((host, 0), _ManagementHandler)
        self._management.daemon_threads = True
        self._management.gateway = self  # type: ignore[attr-defined]
        self._loop = asyncio.new_event_loop()
        self._server: Server | None = None
        self._failure = "did not start in time"
        ready = threading.Event()
        self._threads = [
            threading.Thread(target=self._management.serve_forever, name="ws-management"),
            threading.Thread(target=self._run_loop, args=(port, ready), name="ws-gateway"),
        ]
        for thread in self._threads:
            thread.daemon = True
            thread.start()
        if not ready.wait(10) or self._server is None:
            self.stop()
            raise GatewayUnavailable(f"{host}:{port}: {self._failure}")

    @property
    def port(self) -> int:
        assert self._server is not None
        return int(next(iter(self._server.sockets)).getsockname()[1])

    @property
    def url(self) -> str:
        return f"ws://{self._host}:{self.port}"

    @property
    def domain_name(self) -> str:
        """Where the `@connections` API listens: the event's `domainName`, as on AWS."""
        return f"{self._host}:{self._management.server_address[1]}"

    @property
    def management_url(self) -> str:
        return f"http://{self.domain_name}/{STAGE}"

    def stop(self) -> None:
        if self._server is not None:
            self._loop.call_soon_threadsafe(self._server.close)
        self._management.shutdown()
        self._management.server_close()
        for thread in self._threads:
            thread.join(timeout=10)
        self._invocations.shutdown(wait=False, cancel_futures=True)

    # --- WebSocket side (the event loop's thread) ------------------------------------

    def _run_loop(self, port: int, ready: threading.Event) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            self._loop.run_until_complete(self._serve(port, ready))
        finally:
            ready.set()
            self._loop.close()

    async def _serve(self, port: int, ready: threading.Event) -> None:
        try:
            server = await serve(
                self._handle,
                self._host,
                port,
                max_size=128 * 1024,
                process_request=self._connect,
            )
        except OSError as exc:
            self._failure = exc.strerror or str(exc)
            return
        self._server = server
        ready.set()
        await server.wait_closed()

    async def _connect(self, socket: ServerConnection, request: Request) -> Response | None:
        """$connect, before the upgrade: a refusal answers the handshake with 403, as
        API Gateway does when the $connect integration answers one."""
        connection_id = base64.b64encode(secrets.token_bytes(10)).decode()
        connection = _Connection(socket, dict(request.headers.raw_items()))
        with self._lock:
            self._connections[connection_id] = connection
            self._opening[socket] = connection_id
        connect = await asyncio.to_thread(self._invoke, "$connect", connection_id, None)
        if connect is not None and connect.get("statusCode", 200) >= 300:
            with self._lock:
                self._connections.pop(connection_id, None)
                self._opening.pop(socket, None)
            return socket.respond(HTTPStatus.FORBIDDEN, "Forbidden\n")
        return None

    async def _handle(self, socket: ServerConnection) -> None:
        with self._lock:
            connection_id = self._opening.pop(socket)
            connection = self._connections[connection_id]
        try:
            async for message in socket:
                connection.last_active_at = time.time()
                body = message if isinstance(message, str) else message.decode("utf-8", "replace")
                self._invocations.submit(self._invoke, "$default", connection_id, body)
        except ConnectionClosed:
            pass
        finally:
            with self._lock:
                self._connections.pop(connection_id, None)
            self._invocations.submit(self._invoke, "$disconnect", connection_id, None)

    # --- the app's side (worker threads) ---------------------------------------------

    def _invoke(self, route_key: str, connection_id: str, body: str | None) -> Any:
        """Call the app's handler for a route, as API Gateway's Lambda integration would."""
        config = self._app.websocket_handlers.get(route_key)
        if config is None:
            return None
        event = self._event(route_key, connection_id, body)
        try:
            return self._app.handler_map[config.name](event, None)
        except Exception:
            log.exception("the %s handler failed", route_key)
            return {"statusCode": 500}

    def _event(self, route_key: str, connection_id: str, body: str | None) -> dict[str, Any]:
        now = time.time()
        connection = self._connections.get(connection_id)
        event_type = {"$connect": "CONNECT", "$disconnect": "DISCONNECT"}.get(route_key, "MESSAGE")
        context = {
            "routeKey": route_key,
            "eventType": event_type,
            "messageDirection": "IN",
            "connectionId": connection_id,
            "connectedAt": int((connection.connected_at if connection else now) * 1000),
            "requestTimeEpoch": int(now * 1000),
            "requestId": secrets.token_hex(8),
            "extendedRequestId": secrets.token_hex(8),
            "domainName": self.domain_name,
            "stage": STAGE,
            "apiId": "local",
            "identity": {"sourceIp": connection.peer_address if connection else self._host},
        }
        if event_type == "MESSAGE":
            context["messageId"] = secrets.token_hex(8)
        event: dict[str, Any] = {"requestContext": context, "isBase64Encoded": False}
        if event_type == "CONNECT" and connection is not None:
            event["headers"] = connection.headers
        if body is not None:
            event["body"] = body
        return event

    # --- @connections (the management server's threads) ------------------------------

    def post(self, connection_id: str, data: bytes) -> bool:
        connection = self._connections.get(connection_id)
        if connection is None:
            return False
        if len(data) > FRAME_LIMIT_BYTES:
            log.warning("a %d-byte frame closed its connection, as on API Gateway", len(data))
            closing = connection.socket.close(MESSAGE_TOO_BIG, "Message too big")
            asyncio.run_coroutine_threadsafe(closing, self._loop)
            return True
        text = data.decode("utf-8", "replace")
        sent = asyncio.run_coroutine_threadsafe(connection.socket.send(text), self._loop)
        try:
            sent.result(POST_TIMEOUT_SECONDS)
        except (ConnectionClosed, TimeoutError):
            return False
        return True

    def disconnect(self, connection_id: str) -> bool:
        connection = self._connections.get(connection_id)
        if connection is None:
            return False
        asyncio.run_coroutine_threadsafe(connection.socket.close(), self._loop)
        return True

    def info(self, connection_id: str) -> dict[str, Any] | None:
        connection = self._connections.get(connection_id)
        if connection is None:
            return None
        stamp = "%Y-%m-%dT%H:%M:%SZ"
        return {
            "ConnectedAt": time.strftime(stamp, time.gmtime(connection.connected_at)),
            "LastActiveAt": time.strftime(stamp, time.gmtime(connection.last_active_at)),
            "Identity": {"SourceIp": connection.peer_address, "UserAgent": ""},
        }


class _ManagementHandler(BaseHTTPRequestHandler):
    """`POST|GET|DELETE /<stage>/@connections/<id>`, answered as API Gateway does."""

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _connection_id(self) -> str | None:
        prefix = f"/{STAGE}/@connections/"
        if not self.path.startswith(prefix):
            return None
        from urllib.parse import unquote

        return unquote(self.path[len(prefix) :])

    def _answer(self, status: int, body: dict[str, Any] | None = None, error: str = "") -> None:
        data = json.dumps(body).encode() if body is not None else b""
        self.send_response(status)
        if error:
            self.send_header("x-amzn-ErrorType", error)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _gone(self) -> None:
        self._answer(410, {"message": None}, "GoneException")

    def do_POST(self) -> None:
        connection_id = self._connection_id()
        length = int(self.headers.get("Content-Length") or 0)
        data = self.rfile.read(length)
        if connection_id is None:
            self._answer(404, {"message": "Not Found"}, "NotFoundException")
        elif self.server.gateway.post(connection_id, data):  # type: ignore[attr-defined]
            self._answer(200)
        else:
            self._gone()

    def do_DELETE(self) -> None:
        connection_id = self._connection_id()
        if connection_id is not None and self.server.gateway.disconnect(connection_id):  # type: ignore[attr-defined]
            self._answer(204)
        else:
            self._gone()

    def do_GET(self) -> None:
        connection_id = self._connection_id()
        info = self.server.gateway.info(connection_id) if connection_id else None  # type: ignore[attr-defined]
        if info is None:
            self._gone()
        else:
            self._answer(200, info)


def start_websocket_gateway(app: Chalice, host: str, port: int) -> LocalWebsocketGateway:
    """Serve the app's WebSocket API on host:port (0: a free port) in background threads.

    Sets WEBSOCKET_URL, so GET /health tells clients where to connect; `stop()` ends it.
    """
    gateway = LocalWebsocketGateway(app, host, port)
    os.environ["WEBSOCKET_URL"] = gateway.url
    return gateway


def served_port(argv: list[str]) -> int:
    """The HTTP port: PORT (`make run` sets it), else the `--port` a bare `chalice local`
    was given on its command line, else chalice's default, 8000."""
    if os.environ.get("PORT"):
        return int(os.environ["PORT"])
    for index, argument in enumerate(argv):
        if argument == "--port" and index + 1 < len(argv):
            return int(argv[index + 1])
        if argument.startswith("--port="):
            return int(argument.removeprefix("--port="))
    return 8000


def local_starter(app: Chalice) -> Callable[[], str]:
    """A starter for `chalice local` (chalicelib.local.services): the gateway on HOST and
    WS_PORT, else the HTTP port + 1."""

    def start() -> str:
        host = os.environ.get("HOST", "127.0.0.1")
        http_port = served_port(sys.argv)
        port = int(os.environ.get("WS_PORT") or http_port + 1)
        # The pages are served here, and the WebSocket API admits the browsers they open.
        os.environ.setdefault(API_ORIGIN, f"http://{host}:{http_port}")
        try:
            gateway = start_websocket_gateway(app, host, port)
        except GatewayUnavailable as exc:
            # The REST API still serves, and GET /health says there is no WebSocket API,
            # so the web app sends over REST: a busy port costs streaming, not the server.
            log.warning("no WebSocket API: %s; set WS_PORT to a free port", exc)
            return f"no WebSocket API ({exc}; set WS_PORT)"
        return f"the WebSocket API on {gateway.url}"

    return start
