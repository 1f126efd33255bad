"""Refused work is counted every time and logged at most once per interval."""

from __future__ import annotations

import logging

from prometheus_client import CollectorRegistry, Counter

from gateway.capacity import REPORT_EVERY, Capacity, Overloaded, Refusals


def test_each_refusal_is_counted_and_logged_once_per_interval(caplog) -> None:
    counter = Counter("refused", "test", registry=CollectorRegistry())
    now = [100.0]
    refusals = Refusals(counter, monotonic=lambda: now[0])
    capacity = Capacity(in_flight=8, wait=0.5, retry_after=1.2)

    with caplog.at_level(logging.WARNING, logger="gateway.capacity"):
        errors = [refusals.refused(capacity, "8 Redis commands in flight") for _ in range(5)]
        now[0] += REPORT_EVERY
        refusals.refused(capacity, "8 Redis commands in flight")

    assert counter._value.get() == 6
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 2
    assert "refused 1 requests" in lines[0] and "refused 5 requests" in lines[1]
    assert "8 Redis commands in flight" in lines[0]
    assert all(isinstance(e, Overloaded) and isinstance(e, ConnectionError) for e in errors)
    assert (errors[0].retry_after_ms, errors[0].retry_after_seconds) == (1200, 2)
