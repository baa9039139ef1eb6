"""The WebSocket transport: a client frame in, the request's frames out.

Every failure becomes an `error` frame with the REST API's code for the same cause,
and never closes the connection. Frames go back through API Gateway's `@connections`
API, the same on AWS and behind the local gateway.
"""

from __future__ import annotations

import ipaddress
import logging
import time
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from pydantic import TypeAdapter, ValidationError

from chalicelib.api.http import error_response, parse_json_object, validation_failed
from chalicelib.core import errors, logs
from chalicelib.core.aws import get_connections_client
from chalicelib.core.clients import ANONYMOUS, Caller
from chalicelib.schemas.frames import (
    ClientFrame,
    DoneFrame,
    EditFrame,
    ErrorFrame,
    FeedbackFrame,
    FeedbackResultFrame,
    RegenerateFrame,
    RequestId,
    SendFrame,
    StopFrame,
)
from chalicelib.schemas.insights import FeedbackSet
from chalicelib.services import access, insights, streaming
from chalicelib.services.streaming import Channel, Post

logger = logging.getLogger(__name__)

Frame = SendFrame | EditFrame | RegenerateFrame | StopFrame | FeedbackFrame
_CLIENT_FRAME: TypeAdapter[Frame] = TypeAdapter(ClientFrame)
_REQUEST_ID: TypeAdapter[str] = TypeAdapter(RequestId)
# The client frames' actions: only these reach a log line, whatever a client sends.
ACTIONS = ("send", "edit", "regenerate", "stop", "feedback")


def management_endpoint(domain_name: str, stage: str) -> str:
    """Where a connection's frames are posted: API Gateway's callback URL.

    API Gateway serves it over https at the domain the client connected to; only the
    local gateway, on a loopback address, speaks plain http.
    """
    host = domain_name.rsplit(":", 1)[0].strip("[]")
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = host == "localhost"
    return f"{'http' if loopback else 'https'}://{domain_name}/{stage}"


def connection_post(endpoint: str, connection_id: str) -> Post:
    """Posts frames to one connection; False once it is gone."""
    client = get_connections_client(endpoint)

    def post(data: str) -> bool:
        try:
            client.post_to_connection(ConnectionId=connection_id, Data=data.encode("utf-8"))
        except client.exceptions.GoneException:
            return False
        except (ClientError, BotoCoreError) as exc:
            # Unreachable for now: this frame is lost, the reply is still stored.
            logger.warning("could not post a frame (%s)", type(exc).__name__)
        return True

    return post


def handle_frame(body: str, post: Post, who: Caller = ANONYMOUS) -> None:
    """Read one client frame, answer it with its frames, and log one line for it."""
    logs.start_request()
    started = time.monotonic()
    data: dict[str, Any] | None = None
    channel = Channel(post, None)
    try:
        data = _json_object(body)
        channel.request_id = _readable_request_id(data)
        _answer(_parse(data), channel, who)
    except errors.AppError as exc:
        _send_error(channel, exc)
    finally:
        action = data.get("action") if data else None
        logs.log_frame(
            action=action if isinstance(action, str) and action in ACTIONS else None,
            outcome=_outcome(channel),
            frames=channel.frames,
            duration_ms=(time.monotonic() - started) * 1000,
            request_id=channel.request_id,
        )


def _answer(frame: Frame, channel: Channel, who: Caller) -> None:
    channel.request_id = frame.request_id
    logs.note_ids(session_id=frame.session_id)
    try:
        if isinstance(frame, SendFrame):
            streaming.stream_send(frame, channel, who)
        elif isinstance(frame, EditFrame):
            streaming.stream_edit(frame, channel, who)
        elif isinstance(frame, RegenerateFrame):
            streaming.stream_regeneration(frame, channel, who)
        elif isinstance(frame, FeedbackFrame):
            _feedback(frame, channel)
        else:
            assert isinstance(frame, StopFrame)
            streaming.stop(frame)
    except errors.AppError as exc:
        _send_error(channel, exc)
    except Exception:
        logger.exception("a WebSocket request failed")
        _send_error(channel, errors.AppError())


def _feedback(frame: FeedbackFrame, channel: Channel) -> None:
    if frame.rating is None:
        insights.remove_feedback(frame.session_id, frame.message_id, frame.token)
        stored = None
    else:
        request = FeedbackSet(rating=frame.rating, comment=frame.comment)
        stored = insights.set_feedback(frame.session_id, frame.message_id, frame.token, request)
    channel.send(
        FeedbackResultFrame(
            request_id=frame.request_id,
            seq=channel.next_seq(),
            message_id=frame.message_id,
            feedback=stored,
        )
    )


def _outcome(channel: Channel) -> str:
    last = channel.last_frame
    if isinstance(last, ErrorFrame):
        return last.code
    if isinstance(last, DoneFrame):
        return "stopped" if last.stopped else "done"
    if isinstance(last, FeedbackResultFrame):
        return "done"
    return "accepted"  # a stop, which no frame answers


def _json_object(body: str) -> dict[str, Any]:
    try:
        return parse_json_object(body.encode("utf-8"))
    except errors.InvalidJson as exc:
        raise errors.InvalidJson("A frame must be a JSON object.") from exc


def _parse(data: dict[str, Any]) -> Frame:
    try:
        return _CLIENT_FRAME.validate_python(data)
    except ValidationError as exc:
        raise validation_failed(exc, data) from exc


def _readable_request_id(data: dict[str, Any] | None) -> str | None:
    try:
        return _REQUEST_ID.validate_python(data.get("requestId")) if data else None
    except ValidationError:
        return None


def _send_error(channel: Channel, error: errors.AppError) -> None:
    access.count_refusal(error)
    _, body, _ = error_response(error)
    channel.send(
        ErrorFrame(
            request_id=channel.request_id,
            seq=channel.next_seq(),
            error=body["error"],
            code=body["code"],
            details=body.get("details"),
            retry_after=error.retry_after,
        )
    )
