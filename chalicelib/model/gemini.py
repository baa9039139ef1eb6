"""Gemini through google-genai, bounded by a deadline over all attempts.

`google.genai` is imported only when a message is sent: its import alone takes
about a second, and no other route should pay for it on a cold start.
"""

from __future__ import annotations

import contextvars
import logging
import queue
import random
import re
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.core.aws import get_ssm_client
from chalicelib.core.errors import (
    ContentBlocked,
    ModelError,
    ModelRateLimited,
    ModelTimeout,
    ModelUnavailable,
)
from chalicelib.model.base import ModelReply, ModelRequest
from chalicelib.model.wire import (
    block_details,
    citations_of,
    reply_parts_of,
    request_parts,
    thoughts_of,
    token_counts,
)
from chalicelib.schemas.replies import bounded_parts, bounded_thoughts

if TYPE_CHECKING:
    from google.genai import Client

logger = logging.getLogger(__name__)

_RETRYABLE_STATUSES = {500, 502, 503, 504}
_BLOCKING_FINISH_REASONS = {
    "SAFETY",
    "PROHIBITED_CONTENT",
    "BLOCKLIST",
    "SPII",
    "IMAGE_SAFETY",
    "RECITATION",
}
_MAX_ATTEMPTS = 3

T = TypeVar("T")


_client_lock = threading.Lock()
_client_cache: dict[str, Client] = {}


def _gemini_client(api_key: str) -> Client:
    with _client_lock:
        client = _client_cache.get(api_key)
        if client is None:
            from google import genai

            client = genai.Client(api_key=api_key)
            _client_cache.clear()
            _client_cache[api_key] = client
        return client


def reset_client() -> None:
    with _client_lock:
        _client_cache.clear()


def _retry_after_seconds(details: Any, headers: Any) -> int | None:
    """Seconds to wait, from Google's RetryInfo or a Retry-After header."""
    header = headers.get("retry-after") if headers is not None else None
    if header and str(header).isdigit():
        return int(header)
    error = details.get("error", details) if isinstance(details, dict) else {}
    for detail in error.get("details", []) if isinstance(error, dict) else []:
        delay = detail.get("retryDelay") if isinstance(detail, dict) else None
        match = re.fullmatch(r"(\d+(?:\.\d+)?)s", str(delay or ""))
        if match:
            return max(1, round(float(match.group(1))))
    return None


def call_before(deadline: float, call: Callable[[], T]) -> T:
    """`call()`'s result if it comes before `deadline` (a `time.monotonic()` value).

    httpx's timeouts bound each read, so a reply trickled a few bytes at a time
    would never time out. The call runs in a worker thread instead, and at the
    deadline it is abandoned: ModelTimeout, and whatever it returns later is
    dropped, never stored. The abandoned thread ends with its own per-read timeout
    or with the reply.
    """
    outcome: queue.SimpleQueue[tuple[bool, Any]] = queue.SimpleQueue()
    context = contextvars.copy_context()

    def work() -> None:
        try:
            outcome.put((True, context.run(call)))
        except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread
            outcome.put((False, exc))

    threading.Thread(target=work, name="model-call", daemon=True).start()
    try:
        succeeded, value = outcome.get(timeout=max(0.0, deadline - time.monotonic()))
    except queue.Empty:
        raise ModelTimeout() from None
    if not succeeded:
        raise value
    return value  # type: ignore[no-any-return]


class GeminiModel:
    """Gemini through google-genai, bounded by a deadline over all attempts."""

    def __init__(self, api_key: str, timeout_seconds: float) -> None:
        self._api_key = api_key
        self._timeout_seconds = timeout_seconds

    def generate(self, request: ModelRequest) -> ModelReply:
        import httpx2
        from google.genai import errors as genai_errors

        deadline = time.monotonic() + self._timeout_seconds
        for attempt in range(_MAX_ATTEMPTS):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            last_attempt = attempt == _MAX_ATTEMPTS - 1
            call = self._generate_call(request, remaining)
            try:
                response = call_before(deadline, call)
            except genai_errors.APIError as exc:
                if exc.code not in _RETRYABLE_STATUSES or last_attempt:
                    raise _model_error_from_api(exc) from exc
                logger.warning("model answered %s; retrying", exc.code)
            except httpx2.TimeoutException as exc:
                raise ModelTimeout() from exc
            except httpx2.TransportError as exc:
                if last_attempt:
                    raise ModelUnavailable() from exc
                logger.warning("model call failed (%s); retrying", type(exc).__name__)
            except ModelError:
                raise
            except Exception as exc:  # noqa: BLE001 - whatever the SDK raised reading the answer
                raise _unreadable(exc) from None
            else:
                key_accepted()
                return _reply_from_response(response)
            time.sleep(min(random.uniform(0.2, 0.5) * 2**attempt, max(0.0, remaining / 4)))
        raise ModelTimeout()

    def _generate_call(self, request: ModelRequest, timeout_seconds: float) -> Callable[[], Any]:
        """One generateContent call, ready to run: only the SDK's own work is left in it."""
        contents, config = request_parts(request, timeout_seconds)
        models = _gemini_client(self._api_key).models
        return lambda: models.generate_content(
            model=request.model, contents=contents, config=config
        )


def _unreadable(exc: Exception) -> ModelError:
    """The error for an answer the SDK could not read (broken JSON, wrong types, HTML).

    Only the exception's type is logged: its text (pydantic's `input_value=...`,
    say) may quote the answer, and the caller raises this `from None` so no
    traceback carries it either.
    """
    logger.warning("the model's answer could not be read (%s)", type(exc).__name__)
    return ModelError("The model's answer could not be read.")


def raise_if_prompt_blocked(response: Any) -> None:
    """ContentBlocked when the safety filters refused the prompt itself."""
    feedback = response.prompt_feedback
    if feedback is not None and feedback.block_reason:
        raise ContentBlocked(
            "The model's safety filters blocked this message.",
            details=block_details(
                str(feedback.block_reason.value), "prompt", feedback.safety_ratings
            ),
        )


def _reply_from_response(response: Any) -> ModelReply:
    raise_if_prompt_blocked(response)
    candidates = response.candidates or []
    if not candidates:
        raise ModelError("The model returned no reply.")
    candidate = candidates[0]
    finish_reason = candidate.finish_reason.value if candidate.finish_reason else "STOP"
    parts = candidate.content.parts if candidate.content and candidate.content.parts else []
    text = "".join(part.text for part in parts if part.text and not part.thought)
    if finish_reason in _BLOCKING_FINISH_REASONS:
        raise ContentBlocked(
            "The model's safety filters blocked the reply.",
            details=block_details(finish_reason, "reply", candidate.safety_ratings),
        )
    if not text:
        raise ModelError("The model returned an empty reply.", details={"reason": finish_reason})
    prompt, reply, tool_use_prompt, thinking, cached = token_counts(response.usage_metadata)
    return ModelReply(
        text=text,
        prompt_tokens=prompt,
        reply_tokens=reply,
        tool_use_prompt_tokens=tool_use_prompt,
        thinking_tokens=thinking,
        cached_tokens=cached,
        citations=citations_of(candidate),
        cut_short=finish_reason == "MAX_TOKENS",
        parts=bounded_parts(reply_parts_of(parts)),
        thoughts=bounded_thoughts(thoughts_of(parts)),
    )


def _model_error_from_api(exc: Any) -> ModelError:
    status = int(exc.code or 0)
    if status == 429:
        retry_after = _retry_after_seconds(
            exc.details, getattr(getattr(exc, "response", None), "headers", None)
        )
        return ModelRateLimited(retry_after=retry_after)
    if status in (401, 403) or _key_invalid(exc.details):
        logger.error("Gemini refused the API key (%s)", status)
        _key_state["refused"] = True
        return ModelUnavailable("The model is not available: the server's key was refused.")
    if status == 503:
        return ModelUnavailable()
    if status == 504:
        return ModelTimeout()
    return ModelError(details={"modelStatus": status})


def _key_invalid(details: Any) -> bool:
    """Whether Gemini's error says the key is not valid: it answers such a key with
    400 INVALID_ARGUMENT and an ErrorInfo whose reason is API_KEY_INVALID."""
    error = details.get("error", details) if isinstance(details, dict) else {}
    for detail in error.get("details", []) if isinstance(error, dict) else []:
        if isinstance(detail, dict) and detail.get("reason") == "API_KEY_INVALID":
            return True
    return False


# Whether the last answer of Gemini in this process refused the key (for /health).
_key_state = {"refused": False}


def key_accepted() -> None:
    """Gemini answered a call: the key it refused before (if any) has been replaced."""
    _key_state["refused"] = False


def key_refused() -> bool:
    """Whether Gemini refused the key of this process's latest call."""
    return _key_state["refused"]


_key_cache: dict[str, str] = {}


def key_from_parameter(name: str) -> str:
    """The key in an SSM SecureString, read once per process and cached."""
    with _client_lock:
        cached = _key_cache.get(name)
    if cached:
        return cached
    try:
        response = get_ssm_client().get_parameter(Name=name, WithDecryption=True)
        key = response["Parameter"].get("Value", "").strip()
    except (ClientError, BotoCoreError) as exc:
        logger.error("could not read the Gemini key's parameter (%s)", type(exc).__name__)
        raise ModelUnavailable("The model is not available: its key could not be read.") from exc
    if not key:
        raise ModelUnavailable("The model is not available: its key parameter is empty.")
    with _client_lock:
        _key_cache[name] = key
    return key


def reset_key_cache() -> None:
    with _client_lock:
        _key_cache.clear()
        key_accepted()
