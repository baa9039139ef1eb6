"""Capability tokens and ids.

A token carries 256 random bits, is shown to its holder once, and is stored
only as its SHA-256 hash. Comparison is constant-time.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

EDIT_TOKEN_PREFIX = "et_"
SESSION_TOKEN_PREFIX = "st_"
# An agent's API key, for its OpenAI-compatible endpoints.
API_KEY_PREFIX = "aim_"

# Ids appear in URLs and S3 keys; anything else cannot name a stored item.
ID_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"
_ID = re.compile(ID_PATTERN)


def new_id() -> str:
    """A random, URL-safe id (128 bits)."""
    return secrets.token_hex(16)


def is_valid_id(value: str) -> bool:
    return bool(_ID.match(value))


def new_token(prefix: str) -> str:
    return prefix + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def token_matches(token: str, stored_hash: str) -> bool:
    return hmac.compare_digest(hash_token(token), stored_hash)
