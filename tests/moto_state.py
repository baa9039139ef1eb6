"""One moto per test process, emptied between tests instead of made anew for each.

Starting moto, and creating the bucket and table through boto3, cost a tenth of a second
or more per test. The mock stays on for the whole session instead; before each test the
bucket's objects and the table's items are dropped inside moto. A test that touched
anything else (another bucket, table, account, region or service) leaves moto to a full
reset, and the bucket and table are made again, so every test still starts from an AWS
holding exactly an empty bucket and an empty table.
"""

from __future__ import annotations

from collections import defaultdict

from moto import mock_aws
from moto.core.base_backend import BackendDict
from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.dynamodb.models import dynamodb_backends
from moto.iam.models import iam_backends
from moto.s3.models import FakeKey, s3_backends
from moto.s3.utils import _VersionedKeyStore

from chalicelib.core import aws, provisioning

REGION = "us-east-1"


class MotoWorld:
    """The session's moto, holding one bucket and one table."""

    def __init__(self, bucket: str, table: str) -> None:
        self.bucket, self.table = bucket, table
        self._mock = mock_aws()
        # What moto held right after the bucket and table were made (None: not yet).
        self._provisioned: object = None

    def start(self) -> None:
        self._mock.start()

    def stop(self) -> None:
        self._mock.stop()

    def fresh(self) -> None:
        """An empty bucket and an empty table, and nothing else (call with the test's env set)."""
        if self._provisioned is not None and self._only_ours():
            self._empty()
            return
        BackendDict.reset()  # the backends only: moto's mock of `requests` keeps its routes
        aws.reset_clients()
        provisioning.ensure_bucket(aws.get_s3_client(), self.bucket)
        provisioning.ensure_table(aws.get_dynamodb_resource(), self.table)
        aws.reset_clients()
        self._provisioned = _fingerprint()

    def _only_ours(self) -> bool:
        return self._provisioned == _fingerprint() and set(
            s3_backends[DEFAULT_ACCOUNT_ID]["aws"].buckets
        ) | set(dynamodb_backends[DEFAULT_ACCOUNT_ID][REGION].tables) == {self.bucket, self.table}

    def _empty(self) -> None:
        bucket = s3_backends[DEFAULT_ACCOUNT_ID]["aws"].buckets[self.bucket]
        for key in bucket.keys.values():
            if isinstance(key, FakeKey):
                key.dispose()
        for part in bucket.multiparts.values():
            part.dispose()
        bucket.keys = _VersionedKeyStore()
        bucket.multiparts.clear()
        dynamodb_backends[DEFAULT_ACCOUNT_ID][REGION].tables[self.table].items = defaultdict(dict)


def _fingerprint() -> object:
    """Which services, accounts and regions moto has state for, and what IAM holds."""
    loaded = {}
    for backends in BackendDict._instances:  # type: ignore[misc]
        for account, regions in backends.items():
            loaded[(backends.service_name, account)] = frozenset(regions)
    iam = {
        (account, partition): tuple(
            len(getattr(backend, name, ()))
            for name in ("users", "roles", "groups", "managed_policies", "instance_profiles")
        )
        for account, partitions in iam_backends.items()
        for partition, backend in partitions.items()
    }
    return loaded, iam
