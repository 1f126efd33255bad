"""Clocks a test moves by hand, so time-bound behaviour (expiry, retention) shows at once."""

from __future__ import annotations

import time


class FakeClock:
    """A fixed instant that only moves when a test sets `now`."""

    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


class SteppedClock:
    """Wall-clock time plus an offset the test moves forward, so retention can pass at once."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset
