"""Metrics counted in batches give the same samples as one observation per call."""

from __future__ import annotations

import random

import pytest
from prometheus_client import CollectorRegistry, Histogram

from passway.observability.metrics import DURATION_BUCKETS, Metrics, observe_many
from passway.operations.record import OperationRecord


def _samples(registry: CollectorRegistry) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in registry.collect()
        for s in family.samples
        if not s.name.endswith("_created")
    }


def test_observe_many_counts_as_one_observation_each() -> None:
    rng = random.Random(7)
    # On the bounds themselves, between them, beyond the last finite one, zero and negatives.
    values = [*DURATION_BUCKETS, 0.0, -1.0, 99.0, *(rng.uniform(0, 3) for _ in range(500))]
    one, many = CollectorRegistry(), CollectorRegistry()
    by_one = Histogram("d", "d", ["p"], registry=one, buckets=DURATION_BUCKETS)
    by_many = Histogram("d", "d", ["p"], registry=many, buckets=DURATION_BUCKETS)
    for value in values:
        by_one.labels("x").observe(value)
    observe_many(by_many.labels("x"), values)
    assert _samples(one) == _samples(many)


def _call(
    provider: str | None, status: int, error: str | None, ms: float, up: float | None
) -> OperationRecord:
    return OperationRecord(
        "0" * 32, "p", None, None, None, None, provider, "GET", "/", status, error, None,
        ms, up, 0, 0, False, False, 0.0, None,
    )  # fmt: skip


def test_a_batch_of_calls_counts_as_the_calls_one_by_one() -> None:
    rng = random.Random(3)
    calls = [
        _call(
            rng.choice(["slack", "hubspot", None]),
            rng.choice([200, 201, 404, 429, 502, 499]),
            rng.choice([None, None, "provider_timeout"]),
            rng.uniform(0, 2000),
            rng.choice([None, rng.uniform(0, 1500)]),
        )
        for _ in range(300)
    ]
    one_by_one, batched = Metrics(), Metrics()
    for call in calls:
        one_by_one.record_calls([call])
    batched.record_calls(calls[:100])
    batched.record_calls(calls[100:])
    # The same counts; sums equal up to the order floats were added in.
    assert _samples(one_by_one.registry) == pytest.approx(_samples(batched.registry), rel=1e-12)
    labels = {"provider": "", "status_class": "4xx", "error_code": ""}
    expected = sum(1 for c in calls if c.provider is None and c.status in (404, 429, 499)
                   and c.error_code is None)  # fmt: skip
    assert batched.registry.get_sample_value("passway_proxy_calls_total", labels) == expected
