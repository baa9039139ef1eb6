"""moto's server as `chalice deploy` needs it: the one step moto 5.2.5 cannot serve as sent.

chalice sends its REST API as a Swagger 2.0 document (ImportRestApi on the first
deploy, PutRestApi on the next). moto imports only OpenAPI 3 documents
("Only OpenAPI 3.x.x are currently supported"), requires an `info.description`,
and fails on an integration without a `uri` (chalice's CORS preflights are MOCK
integrations, which have none). `SwaggerRelabel` sits in front of moto and fixes
exactly those three things in those two requests; the paths, methods and Lambda
integrations moto builds the API from are chalice's own, and it keeps every
document chalice sent, as sent, for the tests to read.

The app's WebSocket API (API Gateway v2) needs two more. moto serves no
CreateDeployment, which chalice calls before it creates the stage; the adapter
answers it with a new deployment id, as API Gateway does. Nor does it serve
UpdateStage, which the after-deploy step calls to throttle the stage; the adapter
keeps each request as sent and sets the stage's default route settings in moto to
the request's, whole (so GetStage, served by moto, answers them), and answers the
stage as moto renders it.
"""

from __future__ import annotations

import io
import json
import threading
import uuid
from typing import Any
from urllib.parse import unquote

from moto.apigatewayv2.models import Stage, apigatewayv2_backends
from moto.server import ThreadedMotoServer

Wsgi = Any


class SwaggerRelabel:
    def __init__(self, app: Wsgi) -> None:
        self.app = app
        self.documents: list[dict[str, Any]] = []
        self.websocket_stage_updates: list[dict[str, Any]] = []
        self.lock = threading.Lock()  # moto's models are not thread-safe

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        if self._is_websocket_deployment(environ):
            body = json.dumps(
                {"deploymentId": uuid.uuid4().hex[:10], "deploymentStatus": "DEPLOYED"}
            ).encode()
            start_response("201 Created", [("Content-Type", "application/json")])
            return [body]
        if self._is_websocket_stage_update(environ):
            return self._update_websocket_stage(environ, start_response)
        if self._is_api_definition(environ):
            length = int(environ.get("CONTENT_LENGTH") or 0)
            document = json.loads(environ["wsgi.input"].read(length))
            self.documents.append(json.loads(json.dumps(document)))
            body = json.dumps(relabel(document)).encode()
            environ["wsgi.input"] = io.BytesIO(body)
            environ["CONTENT_LENGTH"] = str(len(body))
        with self.lock:
            return list(self.app(environ, start_response))

    @staticmethod
    def _is_websocket_deployment(environ: dict[str, Any]) -> bool:
        """CreateDeployment of an API Gateway v2 API: POST /v2/apis/{id}/deployments."""
        path, method = environ.get("PATH_INFO", ""), environ.get("REQUEST_METHOD")
        return method == "POST" and path.startswith("/v2/apis/") and path.endswith("/deployments")

    @staticmethod
    def _is_websocket_stage_update(environ: dict[str, Any]) -> bool:
        """UpdateStage of an API Gateway v2 API: PATCH /v2/apis/{id}/stages/{name}."""
        parts = environ.get("PATH_INFO", "").split("/")
        return (
            environ.get("REQUEST_METHOD") == "PATCH"
            and parts[1:3] == ["v2", "apis"]
            and (len(parts) == 6 and parts[4] == "stages")
        )

    def _update_websocket_stage(self, environ: dict[str, Any], start_response: Any) -> Any:
        _, _, _, api_id, _, stage_name = environ["PATH_INFO"].split("/")
        length = int(environ.get("CONTENT_LENGTH") or 0)
        request = json.loads(environ["wsgi.input"].read(length) or b"{}")
        self.websocket_stage_updates.append(request)
        with self.lock:
            stage = _websocket_stage(api_id, unquote(stage_name))
            if "defaultRouteSettings" in request:
                stage.default_route_settings = request["defaultRouteSettings"]
            body = json.dumps(stage.to_json()).encode()
        start_response("200 OK", [("Content-Type", "application/json")])
        return [body]

    @staticmethod
    def _is_api_definition(environ: dict[str, Any]) -> bool:
        """ImportRestApi (POST /restapis?mode=import) or PutRestApi (PUT /restapis/{id})."""
        path, method = environ.get("PATH_INFO", ""), environ.get("REQUEST_METHOD")
        query = environ.get("QUERY_STRING", "")
        importing = method == "POST" and path == "/restapis" and "mode=import" in query
        putting = method == "PUT" and path.count("/") == 2 and path.startswith("/restapis/")
        return importing or putting


def _websocket_stage(api_id: str, stage_name: str) -> Stage:
    """The stage in moto's own models, whichever account and region hold the API."""
    for regions in apigatewayv2_backends.values():
        for backend in regions.values():
            if api_id in backend.apis:
                return backend.apis[api_id].get_stage(stage_name)
    raise KeyError(api_id)


def relabel(document: dict[str, Any]) -> dict[str, Any]:
    if document.pop("swagger", None) is not None:
        document["openapi"] = "3.0.1"
    document["info"].setdefault("description", "")
    for methods in document["paths"].values():
        for operation in methods.values():
            integration = operation.get("x-amazon-apigateway-integration", {})
            integration.setdefault("uri", "")
            integration.setdefault("httpMethod", "POST")
    return document


def start_moto() -> tuple[ThreadedMotoServer, SwaggerRelabel, str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    assert server._server is not None
    adapter = SwaggerRelabel(server._server.app)
    server._server.app = adapter
    host, port = server.get_host_and_port()
    return server, adapter, f"http://{host}:{port}"
