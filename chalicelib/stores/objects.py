"""The S3 side of files: presigned forms, checks of what arrived, reads and deletions.

An upload lands under `file-uploads/` (a lifecycle rule deletes what stays there a
day: uploads never completed); completing it copies the object to `files/`. Both
keys are `{prefix}{owner}/{fileId}`, with owner `config/{id}` or `session/{id}`.
"""

from __future__ import annotations

import base64
import json
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.core.errors import StorageUnavailable
from chalicelib.core.s3 import unless_missing

if TYPE_CHECKING:
    from mypy_boto3_s3.client import S3Client
    from mypy_boto3_s3.type_defs import ObjectIdentifierTypeDef

logger = logging.getLogger(__name__)

PENDING_PREFIX = "file-uploads/"
READY_PREFIX = "files/"


def pending_key(owner: str, file_id: str) -> str:
    return f"{PENDING_PREFIX}{owner}/{file_id}"


def ready_key(owner: str, file_id: str) -> str:
    return f"{READY_PREFIX}{owner}/{file_id}"


@dataclass(frozen=True)
class Arrived:
    """What S3 holds at an upload's key."""

    size: int
    content_type: str


class FileObjects:
    def __init__(self, s3_client: S3Client, bucket: str) -> None:
        self._s3 = s3_client
        self._bucket = bucket

    def upload_form(
        self, key: str, content_type: str, size: int, expires_seconds: int
    ) -> tuple[str, dict[str, str], str]:
        """A presigned POST for exactly this key, size and type (S3 enforces all three), and
        when it expires: its policy's own `expiration`, which botocore rounds down to a second."""
        try:
            form = self._s3.generate_presigned_post(
                Bucket=self._bucket,
                Key=key,
                Fields={"Content-Type": content_type},
                Conditions=[{"Content-Type": content_type}, ["content-length-range", size, size]],
                ExpiresIn=expires_seconds,
            )
        except (ClientError, BotoCoreError) as exc:
            raise StorageUnavailable() from exc
        fields = {name: str(value) for name, value in form["fields"].items()}
        policy = json.loads(base64.b64decode(fields["policy"]))
        return str(form["url"]), fields, str(policy["expiration"])

    def arrived(self, key: str) -> Arrived | None:
        head = unless_missing(lambda: self._s3.head_object(Bucket=self._bucket, Key=key))
        if head is None:
            return None
        return Arrived(int(head["ContentLength"]), str(head.get("ContentType", "")))

    def read(self, key: str, first_bytes: int | None = None) -> bytes | None:
        """The object's bytes (only the first ones, if asked), or None when it is gone."""
        extra: dict[str, Any] = {"Range": f"bytes=0-{first_bytes - 1}"} if first_bytes else {}
        return unless_missing(
            lambda: bytes(self._s3.get_object(Bucket=self._bucket, Key=key, **extra)["Body"].read())
        )

    def promote(self, source: str, target: str) -> None:
        """Copy an upload to its lasting key; the pending copy is removed after."""
        try:
            self._s3.copy_object(
                Bucket=self._bucket, Key=target, CopySource={"Bucket": self._bucket, "Key": source}
            )
        except (ClientError, BotoCoreError) as exc:
            raise StorageUnavailable() from exc
        self.delete([source], best_effort=True)

    def delete(self, keys: list[str], *, best_effort: bool = False) -> None:
        """Delete these objects (missing ones are no error). Best effort logs a failure:
        what is left under the pending prefix, the lifecycle rule removes."""
        for start in range(0, len(keys), 1000):
            batch: list[ObjectIdentifierTypeDef] = [
                {"Key": key} for key in keys[start : start + 1000]
            ]
            try:
                self._s3.delete_objects(Bucket=self._bucket, Delete={"Objects": batch})
            except (ClientError, BotoCoreError) as exc:
                if not best_effort:
                    raise StorageUnavailable() from exc
                logger.warning("could not delete %d file object(s)", len(batch))

    def keys_under(self, prefix: str) -> list[str]:
        try:
            pages = self._s3.get_paginator("list_objects_v2").paginate(
                Bucket=self._bucket, Prefix=prefix
            )
            return [str(item["Key"]) for page in pages for item in page.get("Contents", [])]
        except (ClientError, BotoCoreError) as exc:
            raise StorageUnavailable() from exc

    def origins(self) -> tuple[str, ...]:
        """Where browsers POST uploads and GET files: the origins of presigned URLs."""
        from urllib.parse import urlsplit

        urls = [
            self.upload_form(f"{PENDING_PREFIX}origin", "text/plain", 1, 60)[0],
            self.link(f"{READY_PREFIX}origin", 60),
        ]
        found = []
        for url in urls:
            parts = urlsplit(url)
            origin = f"{parts.scheme}://{parts.netloc}"
            if origin not in found:
                found.append(origin)
        return tuple(found)

    def link(self, key: str, expires_seconds: int) -> str:
        """A presigned GET of the object."""
        try:
            return str(
                self._s3.generate_presigned_url(
                    "get_object",
                    Params={"Bucket": self._bucket, "Key": key},
                    ExpiresIn=expires_seconds,
                )
            )
        except (ClientError, BotoCoreError) as exc:
            raise StorageUnavailable() from exc
