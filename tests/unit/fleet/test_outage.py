"""Outage bookkeeping: Redis is asked while up, probed once per interval while down, and an
outage is logged once when it starts and once when it ends."""

from __future__ import annotations

import logging

import pytest

from passway.fleet.outage import Outage


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_failure_pauses_redis_use_then_allows_one_probe_per_interval() -> None:
    clock = FakeClock()
    outage = Outage(retry_after=1.0, clock=clock)
    assert outage.usable() and outage.usable()
    outage.failed(ConnectionError("refused"))
    assert outage.down and not outage.usable()
    clock.now += 1.0
    assert outage.usable()  # the probe
    assert not outage.usable()  # everyone else waits for its outcome
    outage.succeeded()
    assert not outage.down and outage.usable()


def test_an_outage_is_logged_once_and_its_end_once(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="passway.fleet")
    clock = FakeClock()
    outage = Outage(retry_after=1.0, clock=clock)
    outage.succeeded()
    for _ in range(5):
        outage.failed(ConnectionError("refused"))
    outage.succeeded()
    outage.succeeded()
    messages = [r.getMessage() for r in caplog.records if r.name == "passway.fleet"]
    assert len(messages) == 2
    assert "unreachable" in messages[0] and "refused" in messages[0]
    assert "reachable again" in messages[1]
