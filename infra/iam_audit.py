"""The IAM actions the app's code needs, read from chalicelib's source.

`tests/test_packaging.py` compares them with the role in the packaged template,
so the role grants exactly what the code calls: a new boto3 call without its
permission, or a permission no code uses any more, fails the suite. The same goes
for the SSM parameters the app reads: each is named by a `*_PARAMETER` setting, and
the role may read exactly the parameters of infra/package.py's SECURE_PARAMETERS.
"""

from __future__ import annotations

import ast
from pathlib import Path

CHALICELIB = Path(__file__).resolve().parent.parent / "chalicelib"
SETTINGS = CHALICELIB / "core" / "settings.py"

# boto3 method -> the IAM action it needs, per service.
DYNAMODB_CALLS = {
    "get_item": "GetItem",
    "put_item": "PutItem",
    "update_item": "UpdateItem",
    "delete_item": "DeleteItem",
    "query": "Query",
    "scan": "Scan",
    "batch_get_item": "BatchGetItem",
    "batch_write_item": "BatchWriteItem",
    "batch_writer": "BatchWriteItem",
}
# IAM authorizes TransactWriteItems through the actions of its parts.
TRANSACTION_PARTS = {
    "Put": "PutItem",
    "Update": "UpdateItem",
    "Delete": "DeleteItem",
    "ConditionCheck": "ConditionCheckItem",
}
S3_CALLS = {
    "get_object": "GetObject",
    "head_object": "GetObject",
    "put_object": "PutObject",
    "copy_object": "PutObject",
    "delete_object": "DeleteObject",
    "delete_objects": "DeleteObject",
    "list_objects_v2": "ListBucket",
}
SSM_CALLS = {"get_parameter": "GetParameter", "get_parameters": "GetParameters"}
# The WebSocket handler posts frames to (and could inspect or close) its connections.
CONNECTIONS_CALLS = {
    "post_to_connection": "ManageConnections",
    "get_connection": "ManageConnections",
    "delete_connection": "ManageConnections",
}
# Needed although no call is named after them: S3 answers a missing key with
# NoSuchKey (404) only to a caller with ListBucket, and AccessDenied otherwise;
# the stack always configures the key's parameter, read with decryption; and
# the function writes its own log lines.
ALWAYS_NEEDED = {
    "s3:ListBucket",
    "ssm:GetParameter",
    "kms:Decrypt",
    "logs:CreateLogStream",
    "logs:PutLogEvents",
}
# Runs only locally and in tests, with the developer's own credentials.
NOT_ON_LAMBDA = {"provisioning.py"}
# Packages that only `chalice local` runs (chalicelib/local).
LOCAL_ONLY_PACKAGES = {"local"}


def _batch_writers(tree: ast.AST) -> set[str]:
    """Names bound by `with table.batch_writer() as name`."""
    return {
        item.optional_vars.id
        for node in ast.walk(tree)
        if isinstance(node, ast.With)
        for item in node.items
        if isinstance(item.optional_vars, ast.Name)
        and isinstance(item.context_expr, ast.Call)
        and isinstance(item.context_expr.func, ast.Attribute)
        and item.context_expr.func.attr == "batch_writer"
    }


def _transaction_parts(tree: ast.AST) -> set[str]:
    """Transaction items, `{"Put": {"TableName": ..., ...}}`, wherever they are built."""
    parts = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.Dict):
            continue
        for key, value in zip(node.keys, node.values, strict=True):
            if (
                isinstance(key, ast.Constant)
                and key.value in TRANSACTION_PARTS
                and isinstance(value, ast.Dict)
                and any(isinstance(k, ast.Constant) and k.value == "TableName" for k in value.keys)
            ):
                parts.add(f"dynamodb:{TRANSACTION_PARTS[key.value]}")
    return parts


def actions_in_code(source: Path = CHALICELIB) -> set[str]:
    """The IAM actions chalicelib's boto3 calls need, read from its source."""
    actions: set[str] = set()
    transactions: set[str] = set()
    uses_transactions = False
    for path in sorted(source.rglob("*.py")):
        if path.name in NOT_ON_LAMBDA or path.relative_to(source).parts[0] in LOCAL_ONLY_PACKAGES:
            continue
        tree = ast.parse(path.read_text())
        # A batch writer's put_item/delete_item are parts of its BatchWriteItem.
        batches = _batch_writers(tree)
        called = {
            node.func.attr
            for node in ast.walk(tree)
            if isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and not (isinstance(node.func.value, ast.Name) and node.func.value.id in batches)
        }
        for calls, service in (
            (DYNAMODB_CALLS, "dynamodb"),
            (S3_CALLS, "s3"),
            (SSM_CALLS, "ssm"),
            (CONNECTIONS_CALLS, "execute-api"),
        ):
            actions |= {f"{service}:{calls[name]}" for name in called & calls.keys()}
        uses_transactions |= "transact_write_items" in called
        transactions |= _transaction_parts(tree)
    return actions | (transactions if uses_transactions else set())


def parameter_settings(settings: Path = SETTINGS) -> set[str]:
    """The environment variables that name an SSM parameter the app reads: settings.py's
    constants `NAME = "NAME"` whose name ends in _PARAMETER."""
    return {
        target.id
        for node in ast.parse(settings.read_text()).body
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant)
        for target in node.targets
        if isinstance(target, ast.Name)
        and target.id.endswith("_PARAMETER")
        and node.value.value == target.id
    }
