"""Every environment variable the app reads, with its default.

Settings are read when used, never at import time, so an operator (or a test)
can change them without re-importing the app.
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass

from chalicelib.core.errors import ConfigurationError
from chalicelib.core.safety import parse_minimum
from chalicelib.core.tools import TOOL_NAMES

DEFAULT_ALLOWED_MODELS = (
    "gemini-2.5-flash",
    "gemini-2.5-flash-lite",
    "gemini-2.5-pro",
    "gemini-2.0-flash",
)

# The highest HISTORY_MAX_MESSAGES: that many short messages still fit one 1 MB Query page.
MAX_HISTORY_MESSAGES = 1000

# Environment variable names, kept in one place.
CONFIG_BUCKET = "CONFIG_BUCKET"
SESSIONS_TABLE = "SESSIONS_TABLE"
ALLOWED_MODELS = "ALLOWED_MODELS"
# Comma-separated tool names (googleSearch, urlContext, codeExecution); unset means all,
# "none" means none.
ALLOWED_TOOLS = "ALLOWED_TOOLS"
# The safety filters' floor: one threshold for every category, or category=threshold pairs.
SAFETY_MINIMUM = "SAFETY_MINIMUM"
MODEL_TIMEOUT_SECONDS = "MODEL_TIMEOUT_SECONDS"
REQUEST_DEADLINE_SECONDS = "REQUEST_DEADLINE_SECONDS"
MODEL_STREAM_TIMEOUT_SECONDS = "MODEL_STREAM_TIMEOUT_SECONDS"
WEBSOCKET_URL = "WEBSOCKET_URL"
API_ORIGIN = "API_ORIGIN"
HISTORY_CHAR_BUDGET = "HISTORY_CHAR_BUDGET"
HISTORY_MAX_MESSAGES = "HISTORY_MAX_MESSAGES"
MAX_OUTPUT_TOKENS = "MAX_OUTPUT_TOKENS"
FRONTEND_BASE_URL = "FRONTEND_BASE_URL"
CORS_ALLOW_ORIGIN = "CORS_ALLOW_ORIGIN"
STAGE = "STAGE"
GEMINI_API_KEY = "GEMINI_API_KEY"
GEMINI_API_KEY_PARAMETER = "GEMINI_API_KEY_PARAMETER"
LIMIT_MESSAGES_PER_SESSION = "LIMIT_MESSAGES_PER_SESSION"
LIMIT_MESSAGES_PER_DAY = "LIMIT_MESSAGES_PER_DAY"
BUDGET_TOKENS_PER_DAY = "BUDGET_TOKENS_PER_DAY"
LIMIT_TOKENS_PER_DAY = "LIMIT_TOKENS_PER_DAY"
LIMIT_SESSIONS_PER_DAY = "LIMIT_SESSIONS_PER_DAY"
# Running in public (see docs/public.md): who may create agents, and per-client limits.
AGENT_CREATION = "AGENT_CREATION"
AGENT_CREATION_MODES = ("open", "operator")
LIMIT_AGENTS_PER_DAY = "LIMIT_AGENTS_PER_DAY"
LIMIT_AGENTS_PER_CLIENT_PER_DAY = "LIMIT_AGENTS_PER_CLIENT_PER_DAY"
LIMIT_SESSIONS_PER_CLIENT_PER_HOUR = "LIMIT_SESSIONS_PER_CLIENT_PER_HOUR"
LIMIT_MESSAGES_PER_CLIENT_PER_MINUTE = "LIMIT_MESSAGES_PER_CLIENT_PER_MINUTE"
TRUSTED_PROXY_HOPS = "TRUSTED_PROXY_HOPS"
OPERATOR_TOKEN = "OPERATOR_TOKEN"
OPERATOR_TOKEN_PARAMETER = "OPERATOR_TOKEN_PARAMETER"
CLIENT_HASH_SECRET = "CLIENT_HASH_SECRET"
CLIENT_HASH_SECRET_PARAMETER = "CLIENT_HASH_SECRET_PARAMETER"
FILE_MAX_BYTES = "FILE_MAX_BYTES"
LIMIT_FILES_PER_CONFIG = "LIMIT_FILES_PER_CONFIG"
LIMIT_FILES_PER_SESSION = "LIMIT_FILES_PER_SESSION"
LIMIT_SHARES_PER_SESSION = "LIMIT_SHARES_PER_SESSION"
LIMIT_FILE_BYTES_PER_DAY = "LIMIT_FILE_BYTES_PER_DAY"
CONTEXT_CACHE_MIN_TOKENS = "CONTEXT_CACHE_MIN_TOKENS"
KNOWLEDGE_SEARCH_MIN_TOKENS = "KNOWLEDGE_SEARCH_MIN_TOKENS"
# "moto": `chalice local` starts an in-memory AWS when no other is configured (dev stage).
LOCAL_AWS = "LOCAL_AWS"
LOCAL_AWS_MOTO = "moto"
# Where the local AWS keeps its data between runs (chalicelib/local/snapshot.py).
LOCAL_DATA_DIR = "LOCAL_DATA_DIR"
# Set by others, read by the local servers: Chalice's CLI sets AWS_CHALICE_CLI_MODE
# in every command it runs (never on Lambda); the rest are boto3's own.
AWS_CHALICE_CLI_MODE = "AWS_CHALICE_CLI_MODE"
AWS_ENDPOINT_URL = "AWS_ENDPOINT_URL"
AWS_PROFILE = "AWS_PROFILE"
AWS_ACCESS_KEY_ID = "AWS_ACCESS_KEY_ID"
AWS_SECRET_ACCESS_KEY = "AWS_SECRET_ACCESS_KEY"
AWS_DEFAULT_REGION = "AWS_DEFAULT_REGION"


def _text(name: str, default: str) -> str:
    value = os.environ.get(name, "").strip()
    return value or default


# The largest limit a server may set: any count up to it is an exact DynamoDB number.
MAX_LIMIT = 1_000_000_000


def _number(name: str, default: float, minimum: float, maximum: float = math.inf) -> float:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError as exc:
        raise ConfigurationError(f"{name} must be a number, got {raw!r}") from exc
    if not math.isfinite(value) or value < minimum:
        raise ConfigurationError(f"{name} must be at least {minimum}, got {raw!r}")
    if value > maximum:
        raise ConfigurationError(f"{name} must be at most {maximum:.0f}, got {raw!r}")
    return value


def _limit(name: str, default: int) -> int:
    return int(_number(name, default, minimum=0, maximum=MAX_LIMIT))


def _choice(name: str, choices: tuple[str, ...]) -> str:
    value = _text(name, choices[0]).lower()
    if value not in choices:
        raise ConfigurationError(f"{name} must be one of {', '.join(choices)}, got {value!r}")
    return value


# What a Gemini model id looks like: gemini-2.5-flash, gemini-3-pro-preview, gemma-3-27b-it.
_MODEL_ID = re.compile(r"[a-z][a-z0-9]*(?:[.-][a-z0-9]+)*")


def _models(name: str) -> tuple[str, ...]:
    raw = os.environ.get(name, "")
    names = tuple(dict.fromkeys(part.strip() for part in raw.split(",") if part.strip()))
    wrong = [model for model in names if len(model) > 64 or not _MODEL_ID.fullmatch(model)]
    if wrong:
        raise ConfigurationError(
            f"{name} must list Gemini model ids such as {DEFAULT_ALLOWED_MODELS[0]} "
            f"(lowercase letters, digits, '.' and '-'), separated by commas; "
            f"got {', '.join(map(repr, wrong))}"
        )
    return names or DEFAULT_ALLOWED_MODELS


def _safety_minimum(name: str) -> dict[str, str]:
    try:
        return parse_minimum(os.environ.get(name, ""))
    except ValueError as exc:
        raise ConfigurationError(f"{name}: {exc}") from None


def _tools(name: str) -> tuple[str, ...]:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return TOOL_NAMES
    if raw.lower() == "none":
        return ()
    names = tuple(dict.fromkeys(part.strip() for part in raw.split(",") if part.strip()))
    unknown = [tool for tool in names if tool not in TOOL_NAMES]
    if unknown:
        raise ConfigurationError(
            f"{name} may name only {', '.join(TOOL_NAMES)} (or be none), got {raw!r}"
        )
    return names


@dataclass(frozen=True)
class Settings:
    config_bucket: str
    sessions_table: str
    allowed_models: tuple[str, ...]
    # The built-in tools agents may switch on (see core/tools.py).
    allowed_tools: tuple[str, ...]
    # The strictest-of floor of each safety category (see core/safety.py); empty: none.
    safety_minimum: dict[str, str]
    model_timeout_seconds: float
    # No reply is stored after this long into its request: API Gateway gives up at 29 s.
    request_deadline_seconds: float
    # Bounds a whole streamed reply; MODEL_TIMEOUT_SECONDS bounds its first chunk.
    model_stream_timeout_seconds: float
    history_char_budget: int
    # Earlier messages sent with a new one, at most: a send reads them all (with
    # the session item) in one Query page, whatever their length.
    history_max_messages: int
    max_output_tokens: int
    # "" means share links point at this API's own web app.
    frontend_base_url: str
    cors_allow_origin: str
    stage: str
    gemini_api_key: str
    gemini_api_key_parameter: str
    # Server-wide limits: the defaults for every config, and the ceilings creators
    # may lower but never raise.
    limit_messages_per_session: int
    limit_messages_per_day: int
    # The operator's tokens per UTC day over every model call; 0 means no budget.
    budget_tokens_per_day: int
    # Default and ceiling of an agent's tokensPerDay; 0 means no ceiling and no default.
    limit_tokens_per_day: int
    limit_sessions_per_day: int
    # "open": anyone may create agents; "operator": only with the operator's token.
    agent_creation: str
    # Agents created per UTC day on the whole server, exactly.
    limit_agents_per_day: int
    # Per client address (a keyed hash of it); 0 switches a limit off.
    limit_agents_per_client_per_day: int
    limit_sessions_per_client_per_hour: int
    limit_messages_per_client_per_minute: int
    # Proxies in front of API Gateway (or chalice local) whose X-Forwarded-For is trusted.
    trusted_proxy_hops: int
    operator_token: str
    operator_token_parameter: str
    client_hash_secret: str
    client_hash_secret_parameter: str
    # Files (see chalicelib/services/files.py): ceilings too, and creators may lower them.
    file_max_bytes: int
    limit_files_per_config: int
    limit_files_per_session: int
    # Read-only snapshots a session may have shared at once (see services/shares.py).
    limit_shares_per_session: int
    limit_file_bytes_per_day: int
    # Below this estimate of a prompt and its knowledge, no context cache is made.
    context_cache_min_tokens: int
    # From this estimate of an agent's knowledge up, `knowledgeMode: auto` searches it
    # (a File Search store) instead of sending it with every message.
    knowledge_search_min_tokens: int
    local_aws: str
    # Where WebSocket clients connect (the template sets it on AWS, the local gateway locally).
    websocket_url: str | None
    # Where this API's pages are served (the template sets it, the local gateway locally):
    # the origin browsers may open WebSockets from. "" when unknown.
    api_origin: str

    @property
    def default_model(self) -> str:
        return self.allowed_models[0]

    @property
    def is_production(self) -> bool:
        return self.stage == "prod"


def get_settings() -> Settings:
    """Read the settings from the environment now."""
    return Settings(
        config_bucket=_text(CONFIG_BUCKET, "ai-maker-configs"),
        sessions_table=_text(SESSIONS_TABLE, "ai-maker-sessions"),
        allowed_models=_models(ALLOWED_MODELS),
        allowed_tools=_tools(ALLOWED_TOOLS),
        safety_minimum=_safety_minimum(SAFETY_MINIMUM),
        model_timeout_seconds=_number(MODEL_TIMEOUT_SECONDS, 30.0, minimum=0.1),
        request_deadline_seconds=_number(REQUEST_DEADLINE_SECONDS, 28.0, minimum=0.1),
        model_stream_timeout_seconds=_number(MODEL_STREAM_TIMEOUT_SECONDS, 120.0, minimum=0.1),
        history_char_budget=int(_number(HISTORY_CHAR_BUDGET, 60000, minimum=0)),
        history_max_messages=int(
            _number(HISTORY_MAX_MESSAGES, 50, minimum=0, maximum=MAX_HISTORY_MESSAGES)
        ),
        max_output_tokens=int(_number(MAX_OUTPUT_TOKENS, 2048, minimum=1)),
        frontend_base_url=_text(FRONTEND_BASE_URL, "").rstrip("/"),
        cors_allow_origin=_text(CORS_ALLOW_ORIGIN, "*"),
        stage=_text(STAGE, "dev"),
        gemini_api_key=os.environ.get(GEMINI_API_KEY, "").strip(),
        gemini_api_key_parameter=os.environ.get(GEMINI_API_KEY_PARAMETER, "").strip(),
        limit_messages_per_session=_limit(LIMIT_MESSAGES_PER_SESSION, 500),
        limit_messages_per_day=_limit(LIMIT_MESSAGES_PER_DAY, 2000),
        budget_tokens_per_day=int(_number(BUDGET_TOKENS_PER_DAY, 0, minimum=0)),
        limit_tokens_per_day=int(_number(LIMIT_TOKENS_PER_DAY, 0, minimum=0)),
        limit_sessions_per_day=_limit(LIMIT_SESSIONS_PER_DAY, 1000),
        agent_creation=_choice(AGENT_CREATION, AGENT_CREATION_MODES),
        limit_agents_per_day=_limit(LIMIT_AGENTS_PER_DAY, 1000),
        limit_agents_per_client_per_day=_limit(LIMIT_AGENTS_PER_CLIENT_PER_DAY, 20),
        limit_sessions_per_client_per_hour=_limit(LIMIT_SESSIONS_PER_CLIENT_PER_HOUR, 30),
        limit_messages_per_client_per_minute=_limit(LIMIT_MESSAGES_PER_CLIENT_PER_MINUTE, 20),
        trusted_proxy_hops=int(_number(TRUSTED_PROXY_HOPS, 0, minimum=0, maximum=10)),
        operator_token=os.environ.get(OPERATOR_TOKEN, "").strip(),
        operator_token_parameter=os.environ.get(OPERATOR_TOKEN_PARAMETER, "").strip(),
        client_hash_secret=os.environ.get(CLIENT_HASH_SECRET, "").strip(),
        client_hash_secret_parameter=os.environ.get(CLIENT_HASH_SECRET_PARAMETER, "").strip(),
        file_max_bytes=_limit(FILE_MAX_BYTES, 10 * 1024 * 1024),
        limit_files_per_config=_limit(LIMIT_FILES_PER_CONFIG, 10),
        limit_files_per_session=_limit(LIMIT_FILES_PER_SESSION, 20),
        limit_shares_per_session=_limit(LIMIT_SHARES_PER_SESSION, 20),
        limit_file_bytes_per_day=_limit(LIMIT_FILE_BYTES_PER_DAY, 200 * 1024 * 1024),
        context_cache_min_tokens=int(_number(CONTEXT_CACHE_MIN_TOKENS, 4096, minimum=0)),
        # 100k tokens: a tenth of the context window, which every message would pay for
        # (a quarter of it even cached), where a search sends a few thousand tokens of passages.
        knowledge_search_min_tokens=int(_number(KNOWLEDGE_SEARCH_MIN_TOKENS, 100_000, minimum=0)),
        local_aws=_text(LOCAL_AWS, "").lower(),
        websocket_url=os.environ.get(WEBSOCKET_URL, "").strip() or None,
        api_origin=_text(API_ORIGIN, "").rstrip("/"),
    )
