"""Gemini's safety filters: the categories an agent may set, the thresholds from loosest to
strictest, and the operator's floor (SAFETY_MINIMUM) no agent may go below."""

from __future__ import annotations

from collections.abc import Mapping

# The API's names for Gemini's harm categories.
CATEGORIES = {
    "harassment": "HARM_CATEGORY_HARASSMENT",
    "hateSpeech": "HARM_CATEGORY_HATE_SPEECH",
    "sexuallyExplicit": "HARM_CATEGORY_SEXUALLY_EXPLICIT",
    "dangerousContent": "HARM_CATEGORY_DANGEROUS_CONTENT",
}
# Loosest first: a later threshold blocks more.
THRESHOLDS = ("BLOCK_NONE", "BLOCK_ONLY_HIGH", "BLOCK_MEDIUM_AND_ABOVE", "BLOCK_LOW_AND_ABOVE")


def parse_minimum(raw: str) -> dict[str, str]:
    """SAFETY_MINIMUM as {category: threshold}: empty, one threshold for every category, or
    `category=threshold` pairs separated by commas. ValueError says what is wrong."""
    raw = raw.strip()
    if not raw:
        return {}
    if "=" not in raw:
        if raw not in THRESHOLDS:
            raise ValueError(f"{raw!r} is not one of {', '.join(THRESHOLDS)}")
        return dict.fromkeys(CATEGORIES, raw)
    floor = {}
    for pair in filter(None, (part.strip() for part in raw.split(","))):
        category, _, threshold = (text.strip() for text in pair.partition("="))
        if category not in CATEGORIES:
            raise ValueError(f"{category!r} is not one of {', '.join(CATEGORIES)}")
        if threshold not in THRESHOLDS:
            raise ValueError(f"{threshold!r} is not one of {', '.join(THRESHOLDS)}")
        floor[category] = threshold
    return floor


def below_floor(settings: Mapping[str, str | None], floor: Mapping[str, str]) -> dict[str, str]:
    """The categories `settings` sets looser than `floor`, with the floor's threshold."""
    return {
        category: floor[category]
        for category, threshold in settings.items()
        if threshold is not None
        and category in floor
        and THRESHOLDS.index(threshold) < THRESHOLDS.index(floor[category])
    }


def thresholds_in_force(
    settings: Mapping[str, str | None], floor: Mapping[str, str]
) -> tuple[tuple[str, str], ...]:
    """(Gemini category, threshold) to send: each setting, raised to the floor where the
    floor is stricter (an agent made before the floor rose), and the floor where unset."""
    sent = []
    for category, gemini_category in CATEGORIES.items():
        chosen = [t for t in (settings.get(category), floor.get(category)) if t is not None]
        if chosen:
            sent.append((gemini_category, max(chosen, key=THRESHOLDS.index)))
    return tuple(sent)


def category_name(gemini_category: str) -> str:
    """The API's name of a Gemini harm category (Gemini's own for one it does not list)."""
    for name, value in CATEGORIES.items():
        if value == gemini_category:
            return name
    return gemini_category
