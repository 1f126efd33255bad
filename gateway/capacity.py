"""Capacity: how much work one node keeps in flight against its store, and how it says no.

A node bounds the Redis commands it has in flight (`Capacity.in_flight`). Work past that
queues, first come first served, for at most `Capacity.wait` seconds; only then is it refused
with `Overloaded`, which a socket answers with an `overloaded` error frame and HTTP with 503
and `Retry-After`. `unavailable` stays for a store that does not answer."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from prometheus_client import Counter

log = logging.getLogger("gateway.capacity")

REPORT_EVERY = 10.0  # seconds between two log lines about refused work


@dataclass(frozen=True, slots=True)
class Capacity:
    # Redis commands one node has in flight at once. Redis answers one at a time, so more
    # connections add no speed; 64 keeps a 2-core node's queue short (bench/: make bench).
    in_flight: int = 64
    # Seconds work may wait before it is refused: a Redis command for a free slot, and a
    # send in its socket's line (a CPU-bound node would otherwise answer later and later).
    wait: float = 1.0
    retry_after: float = 1.0  # seconds a refused client is told to wait

    @property
    def retry_after_ms(self) -> int:
        return math.ceil(self.retry_after * 1000)

    @property
    def retry_after_seconds(self) -> int:
        """For HTTP's Retry-After, which counts whole seconds."""
        return max(1, math.ceil(self.retry_after))


class Overloaded(ConnectionError):
    """The node queued this work as long as it may and still could not take it: the store
    answers, the node is busy. A ConnectionError, so background loops that ride out a store
    blip (the job workers) ride this out too; what a client is told is `overloaded`, never
    `unavailable`."""

    def __init__(self, capacity: Capacity, why: str) -> None:
        super().__init__(f"{why}; retry after {capacity.retry_after_ms} ms")
        self.retry_after_ms = capacity.retry_after_ms
        self.retry_after_seconds = capacity.retry_after_seconds


class Refusals:
    """Counts refused work in a metric and logs it at most once per `REPORT_EVERY` seconds,
    so an overloaded node does not also drown its log."""

    def __init__(self, counter: Counter, *, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._counter = counter
        self._monotonic = monotonic
        self._since_report = 0
        self._reported_at: float | None = None

    def refused(self, capacity: Capacity, why: str) -> Overloaded:
        """Records one refusal (`why`: what was full); returns the error to raise."""
        self._counter.inc()
        self._since_report += 1
        now = self._monotonic()
        if self._reported_at is None or now - self._reported_at >= REPORT_EVERY:
            log.warning(
                "node past capacity: refused %d requests since the last report (the last: %s); "
                "clients are told to retry after %d ms",
                self._since_report, why, capacity.retry_after_ms,
            )
            self._since_report = 0
            self._reported_at = now
        return Overloaded(capacity, why)

