"""`make bootstrap` and `make deploy`: the client hash secret, which CloudFormation cannot create.

The app hashes client IP addresses with this HMAC key for its rate limits. A
SecureString cannot be a CloudFormation resource, so it is created here
(`python -m infra.secrets --stage <stage>`): 32 random bytes, hex, once. It is never
overwritten: a new key would give every client a new hash and so reset the rate
limits. The other SecureStrings the app reads (the Gemini key, the operator token)
are the operator's to store (docs/deployment.md).
"""

from __future__ import annotations

import argparse
import logging
import sys
from secrets import token_hex
from typing import TYPE_CHECKING

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from infra.package import CLIENT_HASH_SECRET, STAGES

if TYPE_CHECKING:
    from mypy_boto3_ssm.client import SSMClient

log = logging.getLogger("infra.secrets")

SECRET_BYTES = 32


def ensure_client_hash_secret(ssm: SSMClient, name: str) -> bool:
    """Create the secret unless it exists; returns whether it was created.

    A put without Overwrite is the condition: no read-then-write race between two deploys.
    """
    try:
        ssm.put_parameter(
            Name=name,
            Value=token_hex(SECRET_BYTES),
            Type="SecureString",
            Description="AI Maker: HMAC key for hashing client addresses (rate limits)",
            Overwrite=False,
        )
    except ssm.exceptions.ParameterAlreadyExists:
        log.info("%s exists: kept", name)
        return False
    log.info("%s created (%d random bytes, SecureString)", name, SECRET_BYTES)
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stage", default="dev", choices=STAGES)
    parser.add_argument(
        "--name", help="the client hash secret's parameter (default: /ai-maker/<stage>/...)"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    try:
        ensure_client_hash_secret(
            boto3.client("ssm"), args.name or CLIENT_HASH_SECRET.default_name(args.stage)
        )
    except (ClientError, BotoCoreError) as exc:
        log.error("could not create the client hash secret: %s", exc)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
