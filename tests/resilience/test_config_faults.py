"""Config create, edit and delete under S3 and DynamoDB faults: S3 and its mirror agree after."""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from tests.fault_proxy import INTERNAL_ERROR, SLOW_DOWN, THROTTLED, FaultProxy
from tests.local_stack import LocalStack
from tests.resilience.client import Answer, call
from tests.resilience.harness import BUCKET, Storage

CONFIG = {"title": "Faults", "model": "gemini-2.5-flash", "systemPrompt": "", "temperature": 0.5}
CONFIGS = 20
EDITS = 4
THREADS = CONFIGS


def stored_config(storage: Storage, config_id: str) -> dict[str, Any] | None:
    try:
        body = storage.s3.get_object(Bucket=BUCKET, Key=f"chat-configs/{config_id}.json")["Body"]
    except storage.s3.exceptions.NoSuchKey:
        return None
    return dict(json.loads(body.read()))


def mirror(storage: Storage, config_id: str) -> dict[str, Any]:
    key = {"pk": f"CONFIG#{config_id}", "sk": "STATE#0"}
    return dict(storage.table.get_item(Key=key, ConsistentRead=True).get("Item") or {})


def assert_fault_answer(answer: Answer, *ok: int) -> None:
    if answer.status in ok:
        return
    assert answer.status == 503, answer.body
    assert answer.body["code"] == "storage_unavailable"
    assert int(answer.headers["retry-after"]) >= 1


@pytest.mark.timeout(180)
def test_configs_and_their_mirror_agree_after_s3_and_dynamodb_faults(
    proxy: FaultProxy, storage: Storage, start_app: Callable[..., LocalStack]
) -> None:
    app = start_app()
    proxy.add("s3.PutObject", SLOW_DOWN, rate=0.5)
    proxy.add("s3.DeleteObject", SLOW_DOWN, rate=0.5)
    proxy.add("dynamodb.TransactWriteItems", THROTTLED, INTERNAL_ERROR, rate=0.5)  # the mirror
    statuses: Counter[int] = Counter()
    created: dict[str, str] = {}
    unfinished_deletes: list[tuple[str, str]] = []
    lock = threading.Lock()

    def count(answer: Answer, *ok: int) -> Answer:
        assert_fault_answer(answer, *ok)
        with lock:
            statuses[answer.status] += 1
        return answer

    def lifetime(number: int) -> None:
        """Create a config, edit it, and delete every other one."""
        answer = count(call(app.port, "POST", "/create-chat", CONFIG), 201)
        if answer.status != 201:
            return
        config_id, token = answer.body["chatConfigId"], answer.body["editToken"]
        with lock:
            created[config_id] = token
        path = f"/chat-config/{config_id}"
        for edit in range(EDITS):
            body = {**CONFIG, "sharing": edit % 2 == 0, "limits": {"messagesPerDay": 10 + edit}}
            count(call(app.port, "PUT", path, body, token=token), 200)
        if number % 2 and count(call(app.port, "DELETE", path, token=token), 204).status != 204:
            with lock:
                unfinished_deletes.append((path, token))

    with ThreadPoolExecutor(THREADS) as pool:
        list(pool.map(lifetime, range(CONFIGS)))
    proxy.clear()
    print(f"\nconfig faults: {dict(statuses)}, {proxy.tally.faults_injected} faults injected")
    assert statuses[503] > 0, "no fault reached a client: the run shows nothing"

    # A client repeats what was answered 503; then everyone sees one state.
    for path, token in unfinished_deletes:
        assert call(app.port, "DELETE", path, token=token).status == 204
    for config_id in created:
        read = call(app.port, "GET", f"/chat-config/{config_id}")
        in_s3 = stored_config(storage, config_id)
        state = mirror(storage, config_id)
        if in_s3 is None:
            assert read.status == 404 and "deletedAt" in state, config_id
            continue
        assert read.status == 200 and "deletedAt" not in state
        assert in_s3["mirrorPending"] is False, config_id
        assert state["sharing"] == in_s3["sharing"], config_id
        assert int(state["limitsVersion"]) == in_s3["limitsVersion"], config_id
        assert state.get("messagesPerDay") == in_s3["limits"]["messagesPerDay"], config_id
