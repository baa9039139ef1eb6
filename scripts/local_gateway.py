"""Chalice's local server, made to answer unknown paths and methods as the deployed API does.

chalice.local imitates API Gateway's defaults: an unknown path is
`403 {"message": "Missing Authentication Token"}`, and a method its HTTP handler has
no `do_` method for (TRACE, QUERY, any other name) gets an HTML 501 page. Deployed,
infra/gateway.py turns the first into `404 not_found` and sends every method of a
known path to the app, which answers `405 method_not_allowed`. `install()` does the
same here, by hooking two of chalice.local's classes, which it offers no other way to
change; it runs wherever the app is served locally (`chalice local`, `make run`, the
tests).

chalice.local also gives every request the source address 127.0.0.1; the hooks put the
socket's peer address there instead, as API Gateway's `sourceIp` is the client's, so
per-client limits count each client apart here too.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from chalice import local

from chalicelib.api.http import error_response
from chalicelib.core import errors


class UnknownPath(local.LocalGatewayException):
    CODE = 404


def install(headers: Mapping[str, str]) -> None:
    """Answer unknown paths with 404 not_found and `headers`; pass every method to the app."""
    gateway: Any = local.LocalGateway
    if getattr(gateway, "_answers_like_the_api", False):
        return
    _, body, _ = error_response(errors.NotFound())
    encoded = json.dumps(body, separators=(",", ":")).encode()
    find_route = gateway._generate_lambda_event

    def generate_lambda_event(self: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            event = find_route(self, *args, **kwargs)
        except ValueError as exc:  # No route matches the path.
            # A fresh dict each time: chalice.local pops Content-Type from it.
            raise UnknownPath(dict(headers), encoded) from exc
        peer = getattr(self, "peer_address", None)
        if peer:
            event["requestContext"]["identity"]["sourceIp"] = peer
        return event

    gateway._generate_lambda_event = generate_lambda_event
    gateway._answers_like_the_api = True
    handler: Any = local.ChaliceRequestHandler

    def any_method(self: Any, name: str) -> Any:
        # http.server answers 501 to a method without a do_ attribute; only missing
        # attributes reach __getattr__, so every method not declared goes to the app.
        if name.startswith("do_") and name[3:].isupper():
            return self._generic_handle
        raise AttributeError(name)

    handler.__getattr__ = any_method
    generic_handle = handler._generic_handle

    def handle_with_peer(self: Any) -> None:
        # One LocalGateway per request handler, so the address stays this request's.
        self.local_gateway.peer_address = self.client_address[0]
        generic_handle(self)

    handler._generic_handle = handle_with_peer
    # The declared methods are the original function under other names.
    for name in dir(handler):
        if name.startswith("do_") and getattr(handler, name) is generic_handle:
            setattr(handler, name, handle_with_peer)
