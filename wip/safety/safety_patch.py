import re
def edit(p, pairs):
    s=open(p).read()
    for a,b in pairs:
        assert a in s, (p, a)
        s=s.replace(a,b,1)
    open(p,'w').write(s)

# settings
edit('chalicelib/core/settings.py', [
('''ALLOWED_TOOLS = "ALLOWED_TOOLS"
''','''ALLOWED_TOOLS = "ALLOWED_TOOLS"
# The safety filters' floor: one threshold for every category, or category=threshold pairs.
SAFETY_MINIMUM = "SAFETY_MINIMUM"
'''),
('''    allowed_tools: tuple[str, ...]
''','''    allowed_tools: tuple[str, ...]
    # The strictest-of floor of each safety category (see core/safety.py); empty: none.
    safety_minimum: dict[str, str]
'''),
('''        allowed_tools=_tools(ALLOWED_TOOLS),
''','''        allowed_tools=_tools(ALLOWED_TOOLS),
        safety_minimum=_safety_minimum(SAFETY_MINIMUM),
'''),
('''def _tools(name: str) -> tuple[str, ...]:''','''def _safety_minimum(name: str) -> dict[str, str]:
    try:
        return parse_minimum(os.environ.get(name, ""))
    except ValueError as exc:
        raise ConfigurationError(f"{name}: {exc}") from None


def _tools(name: str) -> tuple[str, ...]:'''),
('''from chalicelib.core.tools import TOOL_NAMES
''','''from chalicelib.core.safety import parse_minimum
from chalicelib.core.tools import TOOL_NAMES
'''),
])

edit('chalicelib/schemas/agents.py', [
('''    thinking: ThinkingSettings | None = None
    """The model's thinking: a level (Gemini 3) or a budget (2.5), and whether thoughts show."""
''','''    thinking: ThinkingSettings | None = None
    """The model's thinking: a level (Gemini 3) or a budget (2.5), and whether thoughts show."""
    safety: SafetySettings | None = None
    """Gemini's safety filters by category, never looser than the server's SAFETY_MINIMUM."""
'''),
('''from chalicelib.schemas.base import (''','''from chalicelib.schemas.safety import SafetySettings
from chalicelib.schemas.base import ('''),
])
edit('chalicelib/schemas/configs.py', [
('''    thinking: ThinkingSettings = ThinkingSettings()
    """The model's thinking level or budget, and whether its thoughts are shown."""
''','''    thinking: ThinkingSettings = ThinkingSettings()
    """The model's thinking level or budget, and whether its thoughts are shown."""
    safety: SafetySettings = SafetySettings()
    """Gemini's safety thresholds by harm category; null leaves one to the model."""
'''),
('''from chalicelib.schemas.agents import (''','''from chalicelib.schemas.safety import SafetySettings
from chalicelib.schemas.agents import ('''),
])
edit('chalicelib/services/configs.py', [
('''    ensure_thinking_usable(config.model, config.thinking)
    note_ids''','''    ensure_thinking_usable(config.model, config.thinking)
    ensure_safety_allowed(config.safety)
    note_ids'''),
('''    _replace(config, updated, etag)
    agent_changed(config_id''','''    if "safety" in changes:
        ensure_safety_allowed(updated.safety)
    _replace(config, updated, etag)
    agent_changed(config_id'''),
('''from chalicelib.schemas import (''','''from chalicelib.schemas.safety import ensure_safety_allowed
from chalicelib.schemas import ('''),
])
edit('chalicelib/model/base.py', [
('''    include_thoughts: bool = False
''','''    include_thoughts: bool = False
    # (Gemini harm category, threshold) for the categories set; the rest left to the model.
    safety: tuple[tuple[str, str], ...] = ()
'''),
])
edit('chalicelib/model/wire.py', [
('''        thinking_config=_thinking_config(request),
''','''        thinking_config=_thinking_config(request),
        safety_settings=[
            types.SafetySetting(
                category=types.HarmCategory(category), threshold=types.HarmBlockThreshold(threshold)
            )
            for category, threshold in request.safety
        ]
        or None,
'''),
('''def thoughts_of(''','''def block_details(reason: str, blocked: str, ratings: list[Any] | None) -> dict[str, Any]:
    """A ContentBlocked's details: why, what was blocked, and the harm category that blocked
    it where Gemini says (`harassment`, `hateSpeech`...)."""
    details: dict[str, Any] = {"reason": reason, "blocked": blocked}
    ratings = list(ratings or [])
    likely = [r for r in ratings if r.probability and r.probability.value in ("HIGH", "MEDIUM")]
    flagged = [r for r in ratings if r.blocked] or likely
    if flagged and flagged[0].category:
        details["category"] = category_name(str(flagged[0].category.value))
    return details


def thoughts_of('''),
('''from chalicelib.core.tools import''','''from chalicelib.core.safety import category_name
from chalicelib.core.tools import'''),
])
edit('chalicelib/model/gemini.py', [
('''            details={"reason": str(feedback.block_reason.value), "blocked": "prompt"},''','''            details=block_details(
                str(feedback.block_reason.value), "prompt", feedback.safety_ratings
            ),'''),
('''            details={"reason": finish_reason, "blocked": "reply"},''','''            details=block_details(finish_reason, "reply", candidate.safety_ratings),'''),
('''from chalicelib.model.wire import (
''','''from chalicelib.model.wire import (
    block_details,
'''),
])
edit('chalicelib/model/stream.py', [
('''            details={"reason": finish_reason, "blocked": "reply"},''','''            details=block_details(finish_reason, "reply", candidate.safety_ratings),'''),
('''from chalicelib.model.wire import (
''','''from chalicelib.model.wire import (
    block_details,
'''),
])
edit('chalicelib/services/exchange.py', [
('''        include_thoughts=session.thinking.show_thoughts,
''','''        include_thoughts=session.thinking.show_thoughts,
        # A floor raised since the agent was made holds for its sessions too.
        safety=thresholds_in_force(session.safety.by_category(), settings.safety_minimum),
'''),
('''from chalicelib.core.tools import tools_in_force
''','''from chalicelib.core.safety import thresholds_in_force
from chalicelib.core.tools import tools_in_force
'''),
])
edit('tests/fake_gemini.py', [
('''def blocked_prompt(reason: str = "SAFETY") -> FakeReply:
    return FakeReply(
        body={
            "promptFeedback": {"blockReason": reason},''','''def blocked_prompt(
    reason: str = "SAFETY", category: str = "HARM_CATEGORY_HARASSMENT"
) -> FakeReply:
    rating = {"category": category, "probability": "HIGH", "blocked": True}
    return FakeReply(
        body={
            "promptFeedback": {"blockReason": reason, "safetyRatings": [rating]},'''),
('''def blocked_reply() -> FakeReply:''','''def blocked_reply(category: str = "HARM_CATEGORY_HARASSMENT") -> FakeReply:'''),
('''                    "safetyRatings": [
                        {"category": "HARM_CATEGORY_HARASSMENT", "probability": "HIGH"}
                    ],''','''                    "safetyRatings": [
                        {"category": "HARM_CATEGORY_HATE_SPEECH", "probability": "NEGLIGIBLE"},
                        {"category": category, "probability": "HIGH", "blocked": True},
                    ],'''),
])
