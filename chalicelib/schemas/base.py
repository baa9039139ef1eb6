"""What every API shape shares: the base models and the field types.

Requests are strict (no type coercion, no unknown fields) and accept both
camelCase and the seed's snake_case names; responses use camelCase.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints
from pydantic.alias_generators import to_camel

from chalicelib.core.settings import get_settings
from chalicelib.core.tokens import ID_PATTERN

MAX_TITLE_CHARS = 100
MAX_SYSTEM_PROMPT_CHARS = 20_000
MAX_MESSAGE_CHARS = 32_000
# Temperatures are kept to this many decimal places: a finer difference changes
# nothing, and DynamoDB cannot store numbers smaller than 1E-130 (1e-200, say).
TEMPERATURE_DECIMALS = 6


def _allowed_model(name: str) -> str:
    allowed = get_settings().allowed_models
    if name not in allowed:
        raise ValueError(f"must be one of: {', '.join(allowed)}")
    return name


def _storable_temperature(value: float) -> float:
    # Adding 0.0 turns -0.0 into 0.0.
    return round(value, TEMPERATURE_DECIMALS) + 0.0


def _allowed_models_enum(schema: dict[str, Any]) -> None:
    # Read when the document is generated, like the setting the validator reads.
    schema["enum"] = list(get_settings().allowed_models)


def integral(value: object) -> object:
    """5.0 as 5: JSON Schema's integer includes it; strict mode alone would refuse it."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


def not_blank(text: str) -> str:
    if not text.strip():
        raise ValueError("must contain more than white space")
    return text


# The documented pattern says what the validators check: not only white space.
NOT_BLANK = Field(json_schema_extra={"pattern": r"\S"})
Title = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_TITLE_CHARS),
    NOT_BLANK,
]
ModelName = Annotated[
    str, AfterValidator(_allowed_model), Field(json_schema_extra=_allowed_models_enum)
]
SystemPrompt = Annotated[str, Field(max_length=MAX_SYSTEM_PROMPT_CHARS)]
Temperature = Annotated[
    float, Field(ge=0, le=2, allow_inf_nan=False), AfterValidator(_storable_temperature)
]
MessageText = Annotated[
    str,
    Field(min_length=1, max_length=MAX_MESSAGE_CHARS),
    AfterValidator(not_blank),
    NOT_BLANK,
]
ResourceId = Annotated[str, Field(pattern=ID_PATTERN)]
# A page's cursor is the id of its oldest message, so any message id works as one.
Cursor = Annotated[str, Field(pattern=ID_PATTERN)]
PromptVisibility = Literal["public", "private"]


class RequestModel(BaseModel):
    """Strict: no type coercion, no unknown fields."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        validate_by_name=True,
        validate_by_alias=True,
        extra="forbid",
        strict=True,
        use_attribute_docstrings=True,
    )


class ResponseModel(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel,
        validate_by_name=True,
        validate_by_alias=True,
        serialize_by_alias=True,
        use_attribute_docstrings=True,
    )


@dataclass(frozen=True)
class TextBody:
    """A response that is not JSON (an export as Markdown, say)."""

    text: str
    content_type: str
