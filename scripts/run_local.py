"""`make run`: serve the API on this machine with no AWS account.

AWS is moto's in-memory server, started here, unless AWS_ENDPOINT_URL names another endpoint."""

from __future__ import annotations

import json
import logging
import os
import signal
import threading
from pathlib import Path
from types import FrameType
from typing import Any

from chalice.config import Config
from chalice.local import LocalDevServer, create_local_server
from moto.server import ThreadedMotoServer

from chalicelib.core.aws import get_dynamodb_resource, get_s3_client, reset_clients
from chalicelib.core.provisioning import ensure_bucket, ensure_table
from chalicelib.core.settings import get_settings
from chalicelib.model.choice import model_mode
from scripts.websocket_gateway import LocalWebsocketGateway, start_websocket_gateway

PROJECT_DIR = Path(__file__).resolve().parent.parent
CONFIG_FILE = PROJECT_DIR / ".chalice" / "config.json"

log = logging.getLogger("run_local")


def start_local_aws() -> ThreadedMotoServer | None:
    """Start moto in process unless AWS_ENDPOINT_URL already names an endpoint."""
    if os.environ.get("AWS_ENDPOINT_URL"):
        return None
    # Port 0 lets the OS pick a free port, with no race against other processes.
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    moto.start()
    serialize_requests(moto)
    host, port = moto.get_host_and_port()
    os.environ["AWS_ENDPOINT_URL"] = f"http://{host}:{port}"
    # moto accepts any credentials; these keep boto3 from looking for real ones.
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    return moto


def serialize_requests(moto: ThreadedMotoServer) -> None:
    """Let moto answer one request at a time.

    moto changes its in-memory tables without locks, so concurrent requests (a
    browser sending two messages at once) could corrupt them; real DynamoDB
    applies each conditional write atomically, and a lock gives the same.
    """
    server = moto._server  # moto offers no hook for wrapping its WSGI app
    assert server is not None
    app = server.app
    lock = threading.Lock()

    def one_at_a_time(environ: Any, start_response: Any) -> Any:
        with lock:
            return list(app(environ, start_response))

    server.app = one_at_a_time


def read_chalice_config() -> dict[str, Any]:
    if not CONFIG_FILE.exists():
        return {}
    config: dict[str, Any] = json.loads(CONFIG_FILE.read_text())
    return config


def apply_stage_environment(config_from_disk: dict[str, Any], stage: str) -> None:
    """Fill in the stage's variables; unlike `chalice local`, the caller's environment wins."""
    stage_config = config_from_disk.get("stages", {}).get(stage, {})
    for source in (stage_config, config_from_disk):
        for name, value in source.get("environment_variables", {}).items():
            os.environ.setdefault(name, str(value))


def provision_storage() -> None:
    settings = get_settings()
    reset_clients()  # Clients made before now would miss the endpoint and credentials.
    ensure_bucket(get_s3_client(), settings.config_bucket)
    ensure_table(get_dynamodb_resource(), settings.sessions_table)


def build_server(config_from_disk: dict[str, Any], stage: str) -> LocalDevServer:
    # As under `chalice local`, which sets it: the app then answers unknown paths as deployed.
    os.environ["AWS_CHALICE_CLI_MODE"] = "true"
    from app import app  # Imported only now, so module-level code sees the final environment.

    # Config.create() would file config_from_disk under user params, where chalice never reads
    # it; the constructor puts it where the stage's lambda_timeout and memory size are found.
    config = Config(
        chalice_stage=stage,
        user_provided_params={"project_dir": str(PROJECT_DIR), "chalice_app": app},
        config_from_disk=config_from_disk,
    )
    host = os.environ.get("HOST", "127.0.0.1")
    port = int(os.environ.get("PORT", "8000"))
    return create_local_server(app, config, host, port)


def start_gateway(server: LocalDevServer) -> LocalWebsocketGateway:
    """The WebSocket API next to the HTTP API: on PORT + 1 unless WS_PORT says otherwise."""
    from app import app

    port = int(os.environ.get("WS_PORT") or server.port + 1)
    return start_websocket_gateway(app, server.host, port)


def install_stop_handlers(stop: threading.Event) -> None:
    def request_stop(signum: int, frame: FrameType | None) -> None:
        # Event.set() takes a lock the interrupted main thread may hold inside Event.wait();
        # setting it from another thread cannot deadlock.
        threading.Thread(target=stop.set, daemon=True).start()

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)


def describe_stack(server: LocalDevServer, moto: ThreadedMotoServer | None) -> None:
    endpoint = os.environ["AWS_ENDPOINT_URL"]
    aws = f"local in-memory AWS (moto) at {endpoint}" if moto else f"AWS endpoint {endpoint}"
    model = {
        "gemini": "Gemini",
        "offline": "the offline model (no GEMINI_API_KEY)",
        "unavailable": "no model (no Gemini key in this stage: sends answer 503)",
    }[model_mode(get_settings())]
    log.info("Serving on http://%s:%s using %s and %s", server.host, server.port, aws, model)
    log.info("WebSocket API (streamed replies) on %s", os.environ["WEBSOCKET_URL"])


def serve_until_stopped(server: LocalDevServer, stop: threading.Event) -> None:
    thread = threading.Thread(target=server.server.serve_forever, name="http", daemon=True)
    thread.start()
    stop.wait()
    log.info("Stopping")
    server.shutdown()
    thread.join()
    server.server.server_close()


def main() -> int:
    # Only this script's lines at INFO: botocore and moto would log every call.
    logging.basicConfig(level=logging.WARNING, format="%(name)s: %(message)s")
    log.setLevel(logging.INFO)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # Else it picks INFO for itself.
    stop = threading.Event()
    install_stop_handlers(stop)
    stage = os.environ.get("CHALICE_STAGE", "dev")
    config_from_disk = read_chalice_config()
    moto = start_local_aws()
    try:
        os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
        apply_stage_environment(config_from_disk, stage)
        provision_storage()
        server = build_server(config_from_disk, stage)
        gateway = start_gateway(server)
        try:
            describe_stack(server, moto)
            serve_until_stopped(server, stop)
        finally:
            gateway.stop()
    finally:
        if moto is not None:
            moto.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
