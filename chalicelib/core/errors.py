"""Domain errors. Each has a stable `code` a client can act on.

These know nothing of HTTP; `chalicelib.api.http` maps them to status codes.
"""

from __future__ import annotations

from typing import Any


class AppError(Exception):
    """Base of every error a client may see."""

    code = "internal_error"
    default_message = "Something went wrong on our side."

    def __init__(
        self,
        message: str | None = None,
        *,
        details: dict[str, Any] | list[Any] | None = None,
        retry_after: int | None = None,
    ) -> None:
        self.message = message or self.default_message
        self.details = details
        self.retry_after = retry_after
        super().__init__(self.message)


class InvalidJson(AppError):
    code = "invalid_json"
    default_message = "The request body must be a JSON object."


class ValidationFailed(AppError):
    code = "validation_error"
    default_message = "The request is not valid."


class UnsupportedMediaType(AppError):
    code = "unsupported_media_type"
    default_message = "Send the request body as application/json."


class MethodNotAllowed(AppError):
    code = "method_not_allowed"
    default_message = "This method is not allowed on this path."


class AuthRequired(AppError):
    code = "auth_required"
    default_message = "Send your token as 'Authorization: Bearer <token>'."


class Forbidden(AppError):
    code = "forbidden"
    default_message = "That token does not open this resource."


class SettingsLocked(AppError):
    code = "settings_locked"
    default_message = "This chat's creator does not allow changing these settings."


class ConfigNotFound(AppError):
    code = "config_not_found"
    default_message = "No chat configuration has that id."


class SessionNotFound(AppError):
    code = "session_not_found"
    default_message = "No chat session has that id."


class NotFound(AppError):
    code = "not_found"
    default_message = "Nothing is served at this path."


class PayloadTooLarge(AppError):
    code = "payload_too_large"
    default_message = "The request body is too large."


class ConcurrentUpdate(AppError):
    code = "conflict"
    default_message = "Someone else changed this at the same time; read it again and retry."


class ModelError(AppError):
    """Base of failures of the language model call."""

    code = "model_error"
    default_message = "The model returned an error."


class ContentBlocked(ModelError):
    code = "content_blocked"
    default_message = "The model's safety filters blocked this prompt or its reply."


class ModelRateLimited(ModelError):
    code = "model_rate_limited"
    default_message = "The model is receiving too many requests; try again shortly."


class ModelUnavailable(ModelError):
    code = "model_unavailable"
    default_message = "The model is not available right now."


class ModelTimeout(ModelError):
    code = "model_timeout"
    default_message = "The model did not answer in time."


class ReplyTooLate(ModelTimeout):
    default_message = (
        "The reply came after this request's deadline, so it was not stored. Try again."
    )


class StorageUnavailable(AppError):
    code = "storage_unavailable"
    default_message = "Storage is not available right now; nothing was changed. Try again."

    def __init__(self, message: str | None = None, **kwargs: Any) -> None:
        # Storage faults pass within seconds: say when to try again.
        kwargs.setdefault("retry_after", 1)
        super().__init__(message, **kwargs)


class ConfigurationError(AppError):
    """The server is misconfigured (a bad setting); an operator must fix it."""

    code = "internal_error"
    default_message = "The server is misconfigured."


class QuotaExceeded(AppError):
    code = "quota_exceeded"
    default_message = "A usage limit of this chat has been reached."


class BudgetExhausted(AppError):
    code = "budget_exhausted"
    default_message = "This service has used today's token budget; it resets at midnight UTC."


class RateLimited(AppError):
    code = "rate_limited"
    default_message = "Too many requests from your address; try again shortly."


class CreationClosed(AppError):
    code = "creation_closed"
    default_message = "New agents can be created only by this service's operator."


class SharingDisabled(AppError):
    code = "sharing_disabled"
    default_message = "The creator of this chat has turned off sharing; no new sessions."


class ConfigDeleted(AppError):
    code = "config_deleted"
    default_message = "The creator of this chat deleted it; the history can still be read."


class IdempotencyConflict(AppError):
    code = "idempotency_conflict"
    default_message = "This Idempotency-Key was already used with a different message."


class IdempotencyInProgress(AppError):
    code = "idempotency_in_progress"
    default_message = "A request with this Idempotency-Key is still being answered; retry shortly."


class NothingToRegenerate(AppError):
    code = "nothing_to_regenerate"
    default_message = "This session has no reply to regenerate yet."


class TooManyBranches(AppError):
    code = "too_many_branches"
    default_message = (
        "This conversation's active path has branched too often to branch again here; "
        "send on the latest message, or start a new session."
    )


class FileNotFound(AppError):
    code = "file_not_found"
    default_message = "No file of this chat or session has that id."


class FileTooLarge(AppError):
    code = "file_too_large"
    default_message = "The file is larger than this chat allows."


class UploadIncomplete(AppError):
    code = "upload_incomplete"
    default_message = "The file has not arrived in storage yet; upload it, then complete it."


class UploadExpired(AppError):
    code = "upload_expired"
    default_message = "This upload's time is over; announce the file again."


class FileRejected(AppError):
    code = "file_rejected"
    default_message = "The uploaded file is not what was announced, so it was deleted."


class InvalidAttachment(AppError):
    code = "invalid_attachment"
    default_message = "An attachment is not a completed file of this session."


class InvalidApiKey(AppError):
    code = "invalid_api_key"
    default_message = (
        "Send an API key of this agent as 'Authorization: Bearer aim_...'; this one is "
        "not valid, was revoked, or its agent was deleted."
    )


class TooManyApiKeys(AppError):
    code = "too_many_api_keys"
    default_message = "This agent has as many API keys as it may; revoke one first."


class ModelNotFound(AppError):
    code = "model_not_found"
    default_message = "This API key's agent is not that model; use its chatConfigId."


class ResponseNotFound(AppError):
    code = "response_not_found"
    default_message = "No response of this API key's agent has that id."


class ShareNotFound(AppError):
    code = "share_not_found"
    default_message = "No shared conversation has that id; it may have been revoked."


class TooManyShares(AppError):
    code = "too_many_shares"
    default_message = "This session has as many shared snapshots as it may; revoke one first."


class NothingToShare(AppError):
    code = "nothing_to_share"
    default_message = "This session has no messages yet; there is nothing to share."


class MessageNotFound(AppError):
    code = "message_not_found"
    default_message = "This session has no message with that id."
