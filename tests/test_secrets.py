"""The client hash secret (infra/secrets.py): created once, as a SecureString, never replaced."""

from __future__ import annotations

from typing import Any

import boto3

from infra import secrets
from infra.package import CLIENT_HASH_SECRET, OPERATOR_TOKEN

NAME = "/ai-maker/dev/client-hash-secret"


def parameter(name: str) -> dict[str, Any]:
    found = boto3.client("ssm").get_parameter(Name=name, WithDecryption=True)["Parameter"]
    return dict(found)


def test_the_default_names_follow_the_gemini_keys() -> None:
    assert CLIENT_HASH_SECRET.default_name("dev") == NAME
    assert OPERATOR_TOKEN.default_name("prod") == "/ai-maker/prod/operator-token"


def test_created_once_as_a_secure_string_of_32_random_bytes_and_kept() -> None:
    ssm = boto3.client("ssm")
    assert secrets.ensure_client_hash_secret(ssm, NAME) is True
    first = parameter(NAME)
    assert first["Type"] == "SecureString"
    assert len(bytes.fromhex(first["Value"])) == secrets.SECRET_BYTES == 32
    assert secrets.ensure_client_hash_secret(ssm, NAME) is False
    assert parameter(NAME)["Value"] == first["Value"]
    assert parameter(NAME)["Version"] == first["Version"]


def test_each_stage_gets_its_own_secret() -> None:
    ssm = boto3.client("ssm")
    secrets.ensure_client_hash_secret(ssm, NAME)
    assert secrets.main(["--stage", "prod"]) == 0
    assert parameter("/ai-maker/prod/client-hash-secret")["Value"] != parameter(NAME)["Value"]


def test_one_the_operator_stored_is_never_overwritten() -> None:
    boto3.client("ssm").put_parameter(Name=NAME, Value="the operator's own", Type="SecureString")
    assert secrets.main(["--stage", "dev"]) == 0
    assert parameter(NAME)["Value"] == "the operator's own"


def test_a_named_parameter() -> None:
    assert secrets.main(["--name", "/elsewhere/hash-key"]) == 0
    assert parameter("/elsewhere/hash-key")["Type"] == "SecureString"
