"""Shapes of files: an upload's announcement and its presigned form, a file as listed,
and a message's attachments."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BeforeValidator, Field

from chalicelib.schemas.base import RequestModel, ResourceId, ResponseModel, integral
from chalicelib.schemas.configs import _ceiling_as_maximum, _within_ceiling

# The types a file may have; its first bytes must agree (see chalicelib/services/file_kinds.py).
ContentType = Literal[
    "application/pdf",
    "image/png",
    "image/jpeg",
    "image/webp",
    "text/plain",
    "text/markdown",
    "text/csv",
]
FileStatus = Literal["pending", "ready"]
MAX_FILENAME_CHARS = 200
# Files one message may carry.
MAX_ATTACHMENTS = 5
# What an image costs in the history budget: Gemini counts 258 tokens, about 4 characters each.
IMAGE_CHARS = 258 * 4


# No slashes or control characters, and more than white space: in one pattern, so the
# contract states exactly what is checked.
FILENAME_PATTERN = r"^[^/\\\x00-\x1f]*[^\s/\\\x00-\x1f][^/\\\x00-\x1f]*$"
Filename = Annotated[
    str, Field(min_length=1, max_length=MAX_FILENAME_CHARS, pattern=FILENAME_PATTERN)
]


class FileUploadCreate(RequestModel):
    """An upload to come: what the browser will send to S3."""

    filename: Filename
    """The file's name as the user knows it, 1-200 characters, no slashes."""
    content_type: ContentType
    """Its type; its first bytes must agree when the upload completes."""
    size: Annotated[
        int,
        Field(ge=1),
        BeforeValidator(integral),
        _within_ceiling("file_max_bytes"),
        _ceiling_as_maximum("file_max_bytes"),
    ]
    """Its exact size in bytes: at most `FILE_MAX_BYTES`, and the config's `fileMaxBytes`."""


class UploadForm(ResponseModel):
    url: str
    """Where the browser POSTs the file (multipart/form-data)."""
    fields: dict[str, str]
    """Form fields to send as they are, before the `file` field."""


class FilePublic(ResponseModel):
    file_id: str
    """The file's id."""
    filename: str
    """The name it was uploaded with."""
    content_type: ContentType
    """Its type, checked against its first bytes."""
    size: int
    """Its size in bytes."""
    status: FileStatus
    """`pending` until the upload is completed, then `ready`."""
    created_at: str
    """When the upload was announced (ISO 8601, UTC)."""


class FileUploadStarted(ResponseModel):
    file_id: str
    """The file's id, for `.../files/{fileId}/complete`."""
    upload: UploadForm
    """The presigned POST: one object, exactly `size` bytes, of `contentType`."""
    expires_at: str
    """When the form stops working (ISO 8601, UTC); complete the upload soon after."""
    file: FilePublic
    """The file as listed, `pending` until completed."""


class KnowledgeSearch(ResponseModel):
    """How an agent's knowledge reaches the model, and its File Search store's state."""

    mode: Literal["context", "search"]
    """`search` when new sessions search the knowledge (the agent's `knowledgeMode`, `auto`
    resolved by size and model); `context` when it is sent with every message."""
    estimated_tokens: int
    """The knowledge's size as the server estimates it (about 4 characters a token)."""
    state: Literal["importing", "ready", "failed"] | None
    """The store's state: `importing` (sends read the knowledge inline meanwhile), `ready`,
    or `failed` (sends read it inline; retried later); null when there is no store."""
    imported_file_ids: list[str] = []
    """The files whose passages the store holds."""


class FileList(ResponseModel):
    files: list[FilePublic]
    """Oldest first."""
    search: KnowledgeSearch | None = None
    """An agent's knowledge only: how it reaches the model (null for a session's files)."""


class Attachment(ResponseModel):
    """A file a message carries: the session's own, sent to the model with it."""

    file_id: str
    """The file's id."""
    filename: str
    """Its name."""
    content_type: ContentType
    """Its type."""
    size: int
    """Its size in bytes."""

    def estimated_chars(self) -> int:
        """Its share of the history budget, at about 4 characters a token: a text file its
        bytes, an image 1,032 (Gemini's 258 tokens), a PDF a third of its bytes (258 tokens a
        page, taking a page for 3 KB), at least 1,032."""
        if self.content_type.startswith("text/"):
            return self.size
        if self.content_type == "application/pdf":
            return max(IMAGE_CHARS, self.size // 3)
        return IMAGE_CHARS


AttachmentIds = Annotated[list[ResourceId], Field(max_length=MAX_ATTACHMENTS)]


class FileLink(ResponseModel):
    url: str
    """A short-lived link to the file's bytes, for its token's holder."""
    expires_at: str
    """When the link stops working (ISO 8601, UTC)."""
