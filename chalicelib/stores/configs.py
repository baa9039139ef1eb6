"""The S3 store of chat configurations: one JSON object per config.

Objects live at `chat-configs/{chatConfigId}.json`. Writes are conditional
(If-None-Match on create, If-Match on replace), so two editors can never
silently overwrite each other.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError
from pydantic import ValidationError

from chalicelib.core.errors import ConcurrentUpdate, StorageUnavailable
from chalicelib.core.s3 import unless_missing
from chalicelib.core.tokens import is_valid_id
from chalicelib.schemas import ChatConfigPublic, ChatSettings, CreatorLimits
from chalicelib.schemas.embed import EmbedSettings

if TYPE_CHECKING:
    from mypy_boto3_s3.client import S3Client

KEY_PREFIX = "chat-configs/"
_CONDITION_CODES = {"PreconditionFailed", "ConditionalRequestConflict", "412", "409"}


class StoredChatConfig(ChatSettings):
    """A config as stored: its settings, the creator's controls and the edit token's hash."""

    chat_config_id: str
    sharing: bool = True
    embed: EmbedSettings = EmbedSettings()
    limits: CreatorLimits = CreatorLimits()
    # Bumped whenever the limits change, so sessions notice (see quotas.py).
    limits_version: int = 1
    created_at: str
    updated_at: str
    edit_token_hash: str
    # Set while an edit's new controls may not be in the DynamoDB mirror yet; whoever
    # reads the config next brings the mirror in step (see configs/service.py).
    mirror_pending: bool = False

    def to_public(self, reveal_prompt: bool = False) -> ChatConfigPublic:
        fields = self.with_prompt_hidden(reveal_prompt)
        fields.pop("edit_token_hash")
        fields.pop("limits_version")
        fields.pop("mirror_pending")
        fields["limits"] = self.limits.in_force()
        return ChatConfigPublic.model_validate(fields)


class ConfigStore:
    def __init__(self, s3_client: S3Client, bucket: str) -> None:
        self._s3 = s3_client
        self._bucket = bucket

    @staticmethod
    def key_for(config_id: str) -> str:
        return f"{KEY_PREFIX}{config_id}.json"

    def get(self, config_id: str) -> tuple[StoredChatConfig, str] | None:
        """The config and its ETag, or None when there is no such config."""
        if not is_valid_id(config_id):
            return None
        key = self.key_for(config_id)

        def read() -> tuple[bytes, str]:
            response = self._s3.get_object(Bucket=self._bucket, Key=key)
            return response["Body"].read(), response["ETag"]

        found = unless_missing(read)
        if found is None:
            return None
        body, etag = found
        try:
            config = StoredChatConfig.model_validate_json(body)
        except ValidationError as exc:
            raise StorageUnavailable("A stored configuration could not be read.") from exc
        return config, etag

    def create(self, config: StoredChatConfig) -> str:
        """Store a new config; never overwrites an existing one.

        Its id is new and random, so an object already there can only be this very
        write, applied by an attempt whose answer was lost and then retried.
        """
        try:
            return self._put(config, IfNoneMatch="*")
        except ConcurrentUpdate:
            found = self.get(config.chat_config_id)
            if found is None or found[0] != config:
                raise
            return found[1]

    def replace(self, config: StoredChatConfig, etag: str) -> str:
        """Replace a config, only if it is still the version read; returns the new ETag."""
        return self._put(config, IfMatch=etag)

    def delete(self, config_id: str) -> None:
        try:
            self._s3.delete_object(Bucket=self._bucket, Key=self.key_for(config_id))
        except (ClientError, BotoCoreError) as exc:
            raise StorageUnavailable() from exc

    def _put(self, config: StoredChatConfig, **condition: Any) -> str:
        body = config.model_dump_json(by_alias=True).encode("utf-8")
        try:
            response = self._s3.put_object(
                Bucket=self._bucket,
                Key=self.key_for(config.chat_config_id),
                Body=body,
                ContentType="application/json",
                **condition,
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in _CONDITION_CODES:
                raise ConcurrentUpdate() from exc
            raise StorageUnavailable() from exc
        except BotoCoreError as exc:
            raise StorageUnavailable() from exc
        return response["ETag"]
