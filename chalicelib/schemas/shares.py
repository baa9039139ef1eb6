"""Shapes of read-only conversation snapshots (shares) and their routes."""

from __future__ import annotations

from pydantic import Field
from pydantic.json_schema import SkipJsonSchema

from chalicelib.schemas.base import RequestModel, ResourceId, ResponseModel
from chalicelib.schemas.conversations import MessageCore, _not_sent


class ShareCreate(RequestModel):
    up_to_message_id: ResourceId | SkipJsonSchema[None] = Field(default_factory=_not_sent)
    """The last message the snapshot holds (a message id of the session); by default the
    whole conversation so far."""


class ShareSummary(ResponseModel):
    share_id: str
    """The share's id (192 random bits, URL-safe)."""
    url: str
    """The read-only page of the snapshot, to pass on."""
    created_at: str
    """When it was made (ISO 8601, UTC)."""
    message_count: int
    """The messages it holds."""
    up_to_message_id: str
    """The last message it holds."""


class ShareCreated(ResponseModel):
    share_id: str
    """The share's id (192 random bits, URL-safe)."""
    url: str
    """The read-only page of the snapshot, to pass on."""
    created_at: str
    """When it was made (ISO 8601, UTC)."""
    message_count: int
    """The messages it holds."""


class ShareList(ResponseModel):
    shares: list[ShareSummary]
    """The session's shares, oldest first."""


class SharedAttachment(ResponseModel):
    filename: str
    """The file's name (the file itself is not shared)."""


class SharedMessage(MessageCore):
    """A message as shared: its files only by name."""

    attachments: list[SharedAttachment] | SkipJsonSchema[None] = Field(
        default_factory=_not_sent, exclude_if=lambda value: value is None
    )
    """Only on a user message that carried files: their names."""


class SharedAgent(ResponseModel):
    chat_config_id: str
    """The agent the conversation was held with (`POST /chat-session` continues it)."""
    title: str
    """Its title when the snapshot was made."""
    model: str
    """The model that answered."""


class SharedConversation(ResponseModel):
    share_id: str
    """The share's id."""
    title: str
    """The conversation's title when it was shared."""
    agent: SharedAgent
    """The agent it was held with."""
    messages: list[SharedMessage]
    """Every message up to the shared point, oldest first."""
    created_at: str
    """When the snapshot was made (ISO 8601, UTC)."""


__all__ = [
    "ShareCreate",
    "ShareCreated",
    "ShareList",
    "ShareSummary",
    "SharedAgent",
    "SharedAttachment",
    "SharedConversation",
    "SharedMessage",
]
