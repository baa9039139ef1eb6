"""An agent's safety settings: a threshold per harm category, never looser than the
operator's floor (SAFETY_MINIMUM)."""

from __future__ import annotations

from typing import Literal

from pydantic import ConfigDict

from chalicelib.core.errors import ValidationFailed
from chalicelib.core.safety import below_floor
from chalicelib.core.settings import get_settings
from chalicelib.schemas.base import RequestModel

Threshold = Literal[
    "BLOCK_NONE", "BLOCK_ONLY_HIGH", "BLOCK_MEDIUM_AND_ABOVE", "BLOCK_LOW_AND_ABOVE"
]


class SafetySettings(RequestModel):
    """Gemini's safety filters, per harm category; null leaves a category to the model
    (or to the server's floor, where it sets one)."""

    # Strict as a request; and named in camelCase in the responses that show it.
    model_config = ConfigDict(serialize_by_alias=True)

    harassment: Threshold | None = None
    """Harassment: the least likely harm that is blocked."""
    hate_speech: Threshold | None = None
    """Hate speech."""
    sexually_explicit: Threshold | None = None
    """Sexually explicit content."""
    dangerous_content: Threshold | None = None
    """Dangerous content."""

    def by_category(self) -> dict[str, str | None]:
        """The thresholds by the API's category names."""
        return self.model_dump(by_alias=True)


def ensure_safety_allowed(safety: SafetySettings) -> None:
    """ValidationFailed when a category is set looser than the server's SAFETY_MINIMUM."""
    looser = below_floor(safety.by_category(), get_settings().safety_minimum)
    if looser:
        raise ValidationFailed(
            "Invalid fields: safety.",
            details={
                "fields": [
                    {
                        "field": f"safety.{category}",
                        "message": f"may be no looser than {floor}, this server's SAFETY_MINIMUM",
                    }
                    for category, floor in looser.items()
                ]
            },
        )
