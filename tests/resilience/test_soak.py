"""Soak under storage faults: what is answered is what is stored, and quotas match storage."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.fault_proxy import FaultProxy
from tests.local_stack import LocalStack
from tests.resilience.harness import Storage
from tests.resilience.soak import LIMITS, hot_config, soak

# The bench runs 500 sends and 50 hot senders; this checks exactness in fewer (100 sends
# still meet some 80 faults).
HOT_SENDERS = 20


@pytest.mark.timeout(300)
def test_sends_under_dynamodb_faults_store_exactly_what_was_answered(
    proxy: FaultProxy, storage: Storage, start_app: Callable[..., LocalStack]
) -> None:
    app = start_app(**LIMITS)
    report = soak(app.port, proxy, storage, sends=100, sessions=20, threads=10, fault_rate=0.2)
    print(f"\nsoak: {report.line()}")
    assert report.faults > 0 and report.retries > 0
    assert set(report.statuses) <= {200, 503}, report.statuses
    assert report.bad_errors == []
    assert (report.lost, report.stray, report.duplicated, report.half_stored) == (0, 0, 0, 0)
    assert report.unmatched_replies == 0
    assert report.stored == report.statuses[200]
    assert report.counter_mismatches == []


@pytest.mark.timeout(300)
def test_a_tight_token_budget_holds_under_dynamodb_faults(
    proxy: FaultProxy, storage: Storage, start_app: Callable[..., LocalStack]
) -> None:
    """Concurrent sends run the budget out while DynamoDB calls fail: the tokens of what
    was answered never pass the budget, and every hold is settled or given back."""
    budget = 4000
    app = start_app(**{**LIMITS, "BUDGET_TOKENS_PER_DAY": str(budget), "MAX_OUTPUT_TOKENS": "40"})
    report = soak(
        app.port,
        proxy,
        storage,
        sends=60,
        sessions=10,
        threads=10,
        fault_rate=0.2,
        refusals=("budget_exhausted",),
    )
    print(f"\ntight budget: {report.line()}")
    assert report.faults > 0
    assert report.statuses[200] > 0 and report.statuses[429] > 0, report.statuses
    assert report.bad_errors == []
    assert (report.lost, report.stray, report.duplicated, report.half_stored) == (0, 0, 0, 0)
    # The budget's items hold what the stored replies used, nothing reserved (checked
    # there), and that is within the budget.
    assert report.counter_mismatches == []
    budget_items = storage.partition("OPERATOR", "BUDGET#")
    used = sum(int(str(item.get("tokens", 0))) for item in budget_items)
    assert 0 < used <= budget


@pytest.mark.timeout(240)
def test_a_hot_config_stays_exact_under_transaction_conflicts(
    proxy: FaultProxy, storage: Storage, start_app: Callable[..., LocalStack]
) -> None:
    app = start_app(**LIMITS)
    # A wide window, so that conflicts happen however slow this machine is: this test is
    # about exactness under conflicts; the bench measures how many there are.
    report = hot_config(
        app.port, proxy, storage, senders=HOT_SENDERS, sends_each=3, conflict_window=0.5
    )
    print(f"\nhot config: {report.line()}")
    assert report.conflicts > 0, "conflict mode made no conflict: the run shows nothing"
    assert set(report.statuses) <= {200, 503}, report.statuses
    assert report.counter_mismatches == []
