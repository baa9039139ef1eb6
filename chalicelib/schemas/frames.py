"""The WebSocket protocol's frames: what a client sends, and what the server answers.

Every server frame carries `type`, `requestId` and `seq` (from 0 per request, so a
client can see a gap). The AsyncAPI document is generated from these models.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field
from pydantic.json_schema import SkipJsonSchema

from chalicelib.schemas.base import MessageText, RequestModel, ResourceId, ResponseModel
from chalicelib.schemas.conversations import ContextInfo, MessageReply
from chalicelib.schemas.files import AttachmentIds
from chalicelib.schemas.insights import MAX_COMMENT_CHARS, Feedback, Rating

RequestId = Annotated[str, Field(min_length=1, max_length=64)]
IdempotencyKey = Annotated[str, Field(pattern=r"^[\x21-\x7e]{1,64}$")]
SessionToken = Annotated[str, Field(min_length=1, max_length=200)]
Comment = Annotated[str, Field(max_length=MAX_COMMENT_CHARS)]

# --- client to server ------------------------------------------------------------


class SendFrame(RequestModel):
    """Send a message; the reply streams back as start, delta..., done."""

    action: Literal["send"]
    request_id: RequestId
    session_id: ResourceId
    token: SessionToken
    message: MessageText
    idempotency_key: IdempotencyKey | None = None
    attachments: AttachmentIds = Field(default_factory=list)


class RegenerateFrame(RequestModel):
    """Ask again for a reply (by default the last; `messageId` an earlier one of the active
    path); the new one streams back and becomes the active leaf, a sibling of the old."""

    action: Literal["regenerate"]
    request_id: RequestId
    session_id: ResourceId
    token: SessionToken
    message_id: ResourceId | None = None


class EditFrame(RequestModel):
    """Edit a user message of the active path (as POST /session/{id}/messages/{messageId}/edit
    does); the reply to the new version streams back as a send's does."""

    action: Literal["edit"]
    request_id: RequestId
    session_id: ResourceId
    token: SessionToken
    message_id: ResourceId
    message: MessageText
    idempotency_key: IdempotencyKey | None = None
    attachments: AttachmentIds = Field(default_factory=list)


class StopFrame(RequestModel):
    """Stop a running request (by its requestId): its partial reply is stored as stopped."""

    action: Literal["stop"]
    request_id: RequestId
    session_id: ResourceId
    token: SessionToken


class FeedbackFrame(RequestModel):
    """Rate a reply (as PUT /session/{id}/messages/{messageId}/feedback does), or take its
    rating back with `rating` null (as DELETE does); a `feedback` frame answers."""

    action: Literal["feedback"]
    request_id: RequestId
    session_id: ResourceId
    token: SessionToken
    message_id: ResourceId
    rating: Rating | None
    comment: Comment | None = None


ClientFrame = Annotated[
    SendFrame | EditFrame | RegenerateFrame | StopFrame | FeedbackFrame,
    Field(discriminator="action"),
]

# --- server to client ------------------------------------------------------------


def _absent() -> Any:
    # A factory, not a default: the field is left out when empty, and shows no default.
    return None


class StartFrame(ResponseModel):
    """The request was accepted and its quota reserved."""

    type: Literal["start"] = "start"
    request_id: str
    seq: int
    context: ContextInfo


class ThoughtFrame(ResponseModel):
    """The next piece of the model's thought summaries, before the reply's deltas; only for
    an agent with `thinking.showThoughts`. Joined, they are the stored reply's `thoughts`."""

    type: Literal["thought"] = "thought"
    request_id: str
    seq: int
    text: str


class DeltaFrame(ResponseModel):
    """The next piece of the reply; a request's deltas, joined, are its reply."""

    type: Literal["delta"] = "delta"
    request_id: str
    seq: int
    text: str


class DoneFrame(ResponseModel):
    """The exchange is stored; `result` is what the REST API returns for it."""

    type: Literal["done"] = "done"
    request_id: str
    seq: int
    result: MessageReply
    stopped: bool
    texts_omitted: bool = False
    """True only when the whole result would not fit in one 32 KB frame: `result.message`,
    `result.userMessage.content` and `result.reply.content` are then empty, and
    `result.reply.parts` and `thoughts` left out. They are the message sent and the deltas joined;
    `GET /session/{id}/messages` has them all."""

    def without_texts(self) -> DoneFrame:
        result = self.result
        texts = {"content": ""}
        smaller = result.model_copy(
            update={
                "message": "",
                "user_message": result.user_message.model_copy(update=texts),
                "reply": result.reply.model_copy(update={**texts, "parts": None, "thoughts": None}),
            }
        )
        return self.model_copy(update={"result": smaller, "texts_omitted": True})


class FeedbackResultFrame(ResponseModel):
    """A reply's feedback as stored, after a `feedback` frame (null: taken back)."""

    type: Literal["feedback"] = "feedback"
    request_id: str
    seq: int
    message_id: str
    feedback: Feedback | None


class ErrorFrame(ResponseModel):
    """The request failed (nothing stored), or a frame could not be read (`requestId` null)."""

    type: Literal["error"] = "error"
    request_id: str | None
    seq: int
    error: str
    code: str
    details: dict[str, Any] | list[Any] | SkipJsonSchema[None] = Field(
        default_factory=_absent, exclude_if=lambda v: v is None
    )
    # Seconds, where the REST API would send Retry-After.
    retry_after: int | SkipJsonSchema[None] = Field(
        default_factory=_absent, exclude_if=lambda v: v is None
    )


ServerFrame = StartFrame | ThoughtFrame | DeltaFrame | DoneFrame | FeedbackResultFrame | ErrorFrame
